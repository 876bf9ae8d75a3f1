"""One person's learning in an organisation, as HR and org admins read it (access.READS_COVERAGE): their
assignments with progress and what is overdue. Never their reflections or journal (DESIGN.md section 6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from lms.models import Assignment, Membership, Module, Progress, ProgressStatus
from lms.services.access import READS_COVERAGE, Actor, membership_in_org
from lms.services.catalogue import vocabulary
from lms.services.coverage_upkeep import org_today


@dataclass(frozen=True, slots=True)
class RecordItem:
    module_slug: str
    module_title: str
    level: str | None
    level_title: str
    source: str
    due_on: date
    status: str  # not-started, in-progress, completed
    completed_at: object | None
    overdue: bool
    cancelled: bool


@dataclass(frozen=True, slots=True)
class PersonRecord:
    membership: Membership
    items: list[RecordItem]  # open assignments first (by due date), then cancelled ones kept for history
    today: date

    @property
    def open_items(self) -> list[RecordItem]:
        return [i for i in self.items if not i.cancelled]

    @property
    def overdue(self) -> list[RecordItem]:
        return [i for i in self.items if i.overdue]

    @property
    def completed(self) -> int:
        return sum(1 for i in self.open_items if i.status == "completed")


def person_record(db: Session, actor: Actor, membership_id: int) -> PersonRecord:
    """A person's assignments in this organisation, with their progress and what is overdue (HR and org
    admins). Reflections and journal entries are never part of it (DESIGN.md section 6)."""
    actor.require(*READS_COVERAGE)
    membership = membership_in_org(db, actor, membership_id)
    today = org_today(db, actor.org_id)
    words = vocabulary(db)
    rows = db.execute(
        select(
            Assignment, Module.slug, Module.title, Module.retired_at, Progress.status, Progress.completed_at
        )
        .join(Module, Module.id == Assignment.module_id)
        .outerjoin(Progress, and_(Progress.user_id == Assignment.user_id, Progress.module_id == Module.id))
        .where(Assignment.membership_id == membership.id)
        .order_by(Assignment.cancelled_at.is_not(None), Assignment.due_on, Module.position)
    )
    items = []
    for a, slug, title, retired_at, status, completed_at in rows:
        done = status == ProgressStatus.COMPLETED
        cancelled = a.cancelled_at is not None or retired_at is not None
        items.append(
            RecordItem(
                slug,
                title,
                a.level,
                words.level(a.level).title if a.level else "",
                a.source.value,
                a.due_on,
                "completed" if done else ("in-progress" if status else "not-started"),
                completed_at if done else None,
                not cancelled and not done and membership.active and a.due_on < today,
                cancelled,
            )
        )
    return PersonRecord(membership, items, today)
