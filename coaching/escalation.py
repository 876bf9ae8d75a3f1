"""Follow-up escalation: an overdue follow-up climbs the unit tree until someone acts on it.

A follow-up raised on a gemba walk belongs first to its unit's leaders (Tier.UNIT). Once it is overdue by
the policy's first number of days it reaches the department (Tier.DEPARTMENT), by the second the
facility, by the third the executives of the system: one tier at a time, never down, and never past the
top. Who holds each tier comes from the unit tree and its memberships: `leader_for` is given the chain
from the follow-up's unit up to the system, each node with the people leading it.

The seed documents name an unkept follow-up as destructive to staff morale; escalation is the safety
net, so a level with nobody in it passes the follow-up further up rather than letting it rest with no one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum

from coaching.errors import FieldError


class EscalationError(FieldError):
    """An escalation policy that cannot be; `field` is "days"."""


class Tier(IntEnum):
    UNIT = 1
    DEPARTMENT = 2
    FACILITY = 3
    EXECUTIVE = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()


# The unit-tree level each tier is held at (lms.models.organization.UnitKind's values), bottom up.
KIND_RANK = {"unit": 1, "department": 2, "facility": 3, "system": 4}


@dataclass(frozen=True)
class EscalationPolicy:
    """`days`: how many days overdue a follow-up reaches DEPARTMENT, FACILITY and EXECUTIVE."""

    days: tuple[int, int, int] = (3, 7, 14)

    def __post_init__(self) -> None:
        days = self.days
        if isinstance(days, str | bytes) or not hasattr(days, "__iter__"):
            raise EscalationError("days", "Give three numbers of days, such as 3, 7 and 14.")
        days = tuple(days)
        if len(days) != 3 or any(isinstance(d, bool) or not isinstance(d, int) for d in days):
            raise EscalationError(
                "days",
                "Give three whole numbers of days overdue: when a follow-up reaches the department, "
                "the facility and the executives.",
            )
        if days[0] < 1:
            raise EscalationError(
                "days", "A follow-up can reach the department 1 day overdue at the earliest."
            )
        if not days[0] < days[1] < days[2]:
            raise EscalationError(
                "days",
                f"Each tier needs more days overdue than the one before it: {days[0]}, {days[1]} and "
                f"{days[2]} do not rise.",
            )
        object.__setattr__(self, "days", days)

    def tier_for(self, due: date, today: date) -> Tier:
        """The tier a follow-up due on `due` has reached on `today` (local dates); UNIT until overdue."""
        overdue = (today - due).days
        tier = Tier.UNIT
        for threshold, reached in zip(
            self.days, (Tier.DEPARTMENT, Tier.FACILITY, Tier.EXECUTIVE), strict=True
        ):
            if overdue >= threshold:
                tier = reached
        return tier

    def reaches(self, tier: Tier, due: date) -> date:
        """The local date on which a follow-up due on `due` reaches `tier` (its due date for UNIT)."""
        return due if tier is Tier.UNIT else due + timedelta(days=self.days[tier - 2])

    def describe(self) -> str:
        first, second, third = self.days
        return (
            f"An open follow-up reaches the department {first} days after it was due, the facility after "
            f"{second} days and the executives after {third} days."
        )


@dataclass(frozen=True)
class UnitNode:
    """One unit of the tree as escalation sees it: its id, its kind (system, facility, department, unit)
    and the people (membership ids) holding the leader role for it."""

    id: int
    kind: str
    leaders: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KIND_RANK:
            raise ValueError(f"unit {self.id} has kind {self.kind!r}: expected one of {', '.join(KIND_RANK)}")
        object.__setattr__(self, "leaders", tuple(self.leaders))


def leader_for(tier: Tier, chain: Sequence[UnitNode]) -> int | None:
    """Who holds a follow-up at `tier`: the lowest-id leader of the level the tier names, or of the first
    level above it that has a leader; None when nobody up to the system leads anything.

    `chain` is the follow-up's unit, then its ancestors up to the system. UNIT is held by the unit itself
    (whatever its kind), DEPARTMENT by the nearest department, FACILITY by the nearest facility,
    EXECUTIVE by the system; a level missing from the chain is passed over upward, never downward.
    """
    if not chain:
        return None
    rank = Tier(tier).value
    start = (
        0
        if rank == Tier.UNIT
        else next((i for i, node in enumerate(chain) if KIND_RANK[node.kind] >= rank), len(chain))
    )
    for node in chain[start:]:
        if node.leaders:
            return min(node.leaders)
    return None


def holder(
    policy: EscalationPolicy, due: date, today: date, chain: Sequence[UnitNode]
) -> tuple[Tier, int | None]:
    """The tier a follow-up has reached today and who holds it there."""
    tier = policy.tier_for(due, today)
    return tier, leader_for(tier, chain)
