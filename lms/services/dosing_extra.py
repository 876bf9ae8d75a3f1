"""One person's extra dose level: HR or an org admin gives a person a level on top of their role's (a
clinician who leads projects gets the practitioner level) without changing their role.

It is stored on the membership (Membership.extra_level, extra_level_days); the person then requires every
active module of that level, due the days given (curricula.dosing states the rule). Setting, changing or
clearing it is audited and plans the person at once, in the caller's transaction (lms.services.dosing
.plan_for); the nightly reconcile honours it too (lms.services.dosing_bulk), and coverage counts the
level among those the person needs, as it counts every open dose assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lms.models import Membership, Permission
from lms.services import Invalid, audit, dosing
from lms.services.access import MANAGES_PEOPLE, Actor, membership_in_org

DEFAULT_DAYS = 120  # offered in the form when a person has no extra level yet


@dataclass(frozen=True, slots=True)
class ExtraLevelChange:
    membership: Membership
    level: str | None  # the extra level now (None: none)
    days: int | None
    counts: dosing.PlanCounts


def set_extra_level(
    db: Session, actor: Actor, membership_id: int, level: str | None, days: Any = None
) -> ExtraLevelChange:
    """Give the person `level` on top of their role's, due `days` (1 to 730, as typed) after assignment;
    an empty `level` takes the extra level away (open assignments of it are cancelled, completed ones
    stay). Every problem is reported at once, keyed by field (`extra_level`, `extra_level_days`)."""
    actor.require(*MANAGES_PEOPLE)
    membership = membership_in_org(db, actor, membership_id)
    level = (level or "").strip() or None
    clean_days: int | None = None
    if level is not None:
        errors: dict[str, list[str]] = {}
        known = dosing.level_ids(db)
        if not known:
            raise Invalid("No content has been published yet: run `lms content sync` first.")
        if level not in known:
            errors["extra_level"] = [f"Choose a dose level: {', '.join(known)}."]
        clean_days = dosing.parse_days(days)
        if clean_days is None:
            errors["extra_level_days"] = [
                f"Enter a whole number of days from {dosing.DAYS_MIN} to {dosing.DAYS_MAX}."
            ]
        if errors:
            raise Invalid(errors)
    before = (membership.extra_level, membership.extra_level_days)
    if before == (level, clean_days):
        return ExtraLevelChange(membership, level, clean_days, dosing.PlanCounts())
    membership.extra_level, membership.extra_level_days = level, clean_days
    audit.by(
        db,
        actor,
        action="person.extra_level_changed",
        target_type="membership",
        target_id=membership.id,
        changes={"extra_level": [before[0], level], "extra_level_days": [before[1], clean_days]},
    )
    counts = dosing.plan_for(db, membership)
    db.flush()
    return ExtraLevelChange(membership, level, clean_days, counts)


def may_set(actor: Actor) -> bool:
    """Whether the actor may give people extra levels (the person page shows the form)."""
    return actor.can(Permission.HR, Permission.ORG_ADMIN)
