"""Leader standard work: how often each leader is expected at the point of care, and how they kept to it.

The seed (Whole System Quality) asks middle managers to be present where the work is done at least daily
and senior leaders at least weekly. DEFAULT_TARGETS says so by stakeholder role; an organisation may
override it (`parse_targets`).

Periods are counted in the leader's local dates (the organisation's time zone):

- a "day" target counts working days only, Monday to Friday: a walk on a Saturday or Sunday is welcome
  but meets no day's target, and a weekend is never a day missed;
- a "week" target counts weeks from Monday to Sunday; a week only partly inside the range is still a
  period, and only the walks inside the range count towards it.

A period is met when it holds at least `count` walks. Adherence counts at most `count` walks per period,
so five walks on Monday do not make up for none the rest of the week.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, Literal

from coaching.errors import FieldError
from curricula.stakeholders import StakeholderRole, role_named

PERIODS = ("day", "week")
MOST = 50  # walks per period: anything above is a typing slip, not a target


class TargetError(FieldError):
    """A target that cannot be; `field` is the stakeholder role it was given for."""


@dataclass(frozen=True)
class Target:
    per: Literal["day", "week"]
    count: int = 1

    def __post_init__(self) -> None:
        if self.per not in PERIODS:
            raise TargetError("per", f"A target is per day (Monday to Friday) or per week, not {self.per!r}.")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or not 1 <= self.count <= MOST:
            raise TargetError("count", f"A target is a whole number of walks from 1 to {MOST}.")

    def describe(self) -> str:
        """'1 walk each working day (Monday to Friday)', '2 walks each week'."""
        walks = f"{self.count} walk{'' if self.count == 1 else 's'}"
        return f"{walks} each working day (Monday to Friday)" if self.per == "day" else f"{walks} each week"


DEFAULT_TARGETS: Mapping[str, Target] = MappingProxyType(
    {
        StakeholderRole.UNIT_LEADER.value: Target("day"),
        StakeholderRole.DEPARTMENTAL_LEADER.value: Target("day"),
        StakeholderRole.EXECUTIVE.value: Target("week"),
    }
)


def parse_targets(mapping: Mapping[str, Any] | None) -> dict[str, Target]:
    """An organisation's targets: DEFAULT_TARGETS with `mapping`'s overrides.

    Each key is a stakeholder role; each value a Target, a mapping {per: day|week, count: N}, a phrase
    ("daily", "weekly", "2 per week"), or None for no target for that role. A mistake raises TargetError
    naming the role.
    """
    targets = dict(DEFAULT_TARGETS)
    if mapping is None:
        return targets
    if not isinstance(mapping, Mapping):
        raise TargetError("targets", "Give the targets as a mapping from stakeholder role to a target.")
    for role, value in mapping.items():
        if role_named(role) is None:
            known = ", ".join(r.value for r in StakeholderRole)
            raise TargetError(str(role), f"{role!r} is not a stakeholder role: use one of {known}.")
        if value is None:
            targets.pop(str(role), None)
            continue
        targets[str(role)] = _target(str(role), value)
    return targets


def _target(role: str, value: Any) -> Target:
    if isinstance(value, Target):
        return value
    per: Any
    count: Any = 1
    if isinstance(value, str):
        words = value.lower().split()
        if words in (["daily"], ["weekly"]):
            per = {"daily": "day", "weekly": "week"}[words[0]]
        elif len(words) == 3 and words[1] == "per" and words[0].isdigit():
            count, per = int(words[0]), words[2]
        else:
            raise TargetError(role, f"Write the target for {role} as 'daily', 'weekly' or 'N per day|week'.")
    elif isinstance(value, Mapping):
        unknown = set(value) - {"per", "count"}
        if unknown:
            raise TargetError(role, f"A target for {role} has only 'per' and 'count', not {sorted(unknown)}.")
        per, count = value.get("per"), value.get("count", 1)
    else:
        raise TargetError(role, f"Give the target for {role} as {{per: day|week, count: N}}.")
    if per not in PERIODS:
        raise TargetError(
            role, f"A target for {role} is per day (Monday to Friday) or per week, not {per!r}."
        )
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MOST:
        raise TargetError(role, f"The number of walks for {role} must be a whole number from 1 to {MOST}.")
    return Target(per, count)


@dataclass(frozen=True)
class Adherence:
    """`periods`: each (first date of the period, walks in it, met); `expected` and `done` count walks."""

    expected: int
    done: int
    periods: tuple[tuple[date, int, bool], ...]

    @property
    def ratio(self) -> float:
        """Walks done towards the target over walks expected, 0 to 1; 1 when nothing was expected."""
        return self.done / self.expected if self.expected else 1.0

    @property
    def met(self) -> int:
        """How many periods were met."""
        return sum(1 for _, _, met in self.periods if met)


def adherence(walk_dates: Iterable[date], target: Target, start: date, end: date) -> Adherence:
    """How walks on `walk_dates` (local dates, repeated for several walks in a day) kept to `target` from
    `start` to `end`, both included."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    walks = Counter(d for d in walk_dates if start <= d <= end)
    periods = []
    if target.per == "day":
        day = start
        while day <= end:
            if day.weekday() < 5:
                periods.append((day, walks[day]))
            day += timedelta(days=1)
    else:
        per_week: Counter[date] = Counter()
        for day, n in walks.items():
            per_week[day - timedelta(days=day.weekday())] += n
        week = start - timedelta(days=start.weekday())
        while week <= end:
            periods.append((week, per_week[week]))
            week += timedelta(days=7)
    return Adherence(
        expected=target.count * len(periods),
        done=sum(min(n, target.count) for _, n in periods),
        periods=tuple((first, n, n >= target.count) for first, n in periods),
    )
