"""Arranging gemba tests: the leaders of a unit tree, walks and follow-ups made through the services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from conftest import org_today
from sqlalchemy.orm import Session

from curricula.stakeholders import StakeholderRole
from lms.models import FollowUp, Membership
from lms.services import follow_ups, gemba
from lms.services.access import Actor

_keys = itertools.count(1)


def actor(m: Membership) -> Actor:
    return Actor(m.user, m)


def new_key() -> str:
    return f"walk-key-{next(_keys):06d}"


@dataclass
class Leaders:
    """Everyone who leads a level of the `tree` fixture's branch, plus a nurse who owns follow-ups."""

    unit: Membership
    department: Membership
    facility: Membership
    system: Membership
    nurse: Membership
    admin: Membership


def leaders_of(make, tree) -> Leaders:
    return Leaders(
        unit=make.person(tree, StakeholderRole.UNIT_LEADER, name="Uma Unit", unit=tree.unit),
        department=make.person(
            tree, StakeholderRole.DEPARTMENTAL_LEADER, name="Dev Department", unit=tree.department
        ),
        facility=make.person(tree, StakeholderRole.EXECUTIVE, name="Fay Facility", unit=tree.facility),
        system=make.person(tree, StakeholderRole.EXECUTIVE, name="Sy System", unit=tree.system),
        nurse=make.person(tree, StakeholderRole.CLINICIAN, name="Nia Nurse", unit=tree.unit),
        admin=make.person(tree, StakeholderRole.QUALITY_STAFF, name="Ada Admin", org_admin=True),
    )


def first_set() -> str:
    return next(iter(gemba.question_sets()))


def walk(
    db: Session,
    by: Membership,
    unit_id: int,
    *,
    key: str | None = None,
    owner: Membership | None = None,
    due_on: date | None = None,
    walked_at: datetime | None = None,
) -> gemba.Recorded:
    """A walk by `by` on the unit, with one follow-up for `owner` when given."""
    raised = ()
    if owner is not None:
        raised = (
            follow_ups.NewFollowUp(
                title="Fix the broken bed alarm",
                owner_id=owner.id,
                due_on=due_on or org_today() + timedelta(days=2),
            ),
        )
    questions = gemba.question_sets()[first_set()].questions
    return gemba.record_walk(
        db,
        actor(by),
        gemba.NewWalk(
            unit_id=unit_id,
            question_set=first_set(),
            client_key=key or new_key(),
            answers={questions[0].key: "Falls on nights"},
            observations="Call bells answered slowly at shift change.",
            follow_ups=raised,
            walked_at=walked_at,
        ),
    )


def follow_up(db: Session, raised_by: Membership, owner: Membership, unit_id: int, due_on: date) -> FollowUp:
    """A follow-up made directly (its due date may be in the past: for escalation tests)."""
    item = FollowUp(
        org_id=raised_by.org_id,
        raised_by_id=raised_by.id,
        owner_id=owner.id,
        unit_id=unit_id,
        title="Restock the crash cart",
        due_on=due_on,
    )
    db.add(item)
    db.flush()
    return item
