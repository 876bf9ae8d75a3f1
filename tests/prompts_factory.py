"""Arranging prompt schedules for tests: one through the service, or many at once (due now)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from lms.models import Membership, PromptSchedule, User
from lms.services.access import Actor
from lms.services.prompts import ScheduleSpec, set_schedule

DAILY_8 = ScheduleSpec(kind="daily", at=time(8, 0), time_zone="Europe/London")


def schedule(
    db: Session, membership: Membership, spec: ScheduleSpec = DAILY_8, *, now: datetime | None = None
):
    """A schedule the person set for themselves (committed)."""
    made = set_schedule(db, Actor(membership.user, membership), spec, now=now)
    db.commit()
    return made


def many_due(db: Session, membership: Membership, count: int, *, due: datetime) -> None:
    """`count` daily schedules of one person, all due at `due` (committed)."""
    user: User = membership.user
    db.execute(
        insert(PromptSchedule),
        [
            {
                "user_id": user.id,
                "org_id": membership.org_id,
                "kind": "daily",
                "at": time(8, 0),
                "time_zone": "UTC",
                "weekdays": "",
                "tags": "",
                "set_by_id": user.id,
                "consented_at": due - timedelta(days=1),
                "active": True,
                "next_due_at": due,
                "rotation": "",
                "created_at": due - timedelta(days=1),
                "updated_at": due - timedelta(days=1),
            }
            for _ in range(count)
        ],
    )
    db.commit()
