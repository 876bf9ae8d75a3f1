"""The learner's path: what a person must learn and by when (My learning, the home page's summary) and
the record of what they completed.

A learner sees only their own learning: every query here is filtered by the signed-in person's own id
and no function takes another person's id (DESIGN.md section 6; coaches and HR read progress through
their own services).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Row, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, load_only

from curricula.model import Term
from lms.db import utcnow
from lms.models import (
    Assignment,
    AssignmentSource,
    CheckAttempt,
    Module,
    Progress,
    ProgressStatus,
    User,
)
from lms.services.access import Actor
from lms.services.catalogue import LISTED_MODULE_FIELDS, vocabulary

T = TypeVar("T")


class LearningStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"

    @property
    def label(self) -> str:
        return {"not_started": "Not started", "in_progress": "In progress", "completed": "Completed"}[self]

    @classmethod
    def of(cls, status: ProgressStatus | None) -> LearningStatus:
        """Where a person stands on a module, from their progress's status (None: no progress yet)."""
        return cls.NOT_STARTED if status is None else cls(status.value)


def statuses(db: Session, user: User, module_ids: Sequence[int]) -> dict[int, LearningStatus]:
    """Where the person stands on each of these modules (one query; a module not started is absent)."""
    if not module_ids:
        return {}
    rows = db.execute(
        select(Progress.module_id, Progress.status).where(
            Progress.user_id == user.id, Progress.module_id.in_(module_ids)
        )
    )
    return {module_id: LearningStatus.of(status) for module_id, status in rows}


# --- My learning ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListedModule:
    """What a list shows of a module (its content is not read for a list)."""

    slug: str
    title: str
    minutes: int
    dose: str


@dataclass(frozen=True, slots=True)
class AssignedModule:
    assignment_id: int
    source: AssignmentSource
    assigned_at: datetime
    due_on: date
    module: ListedModule
    status: LearningStatus
    completed_at: datetime | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class LevelGroup:
    level: Term
    items: tuple[AssignedModule, ...]

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.status is LearningStatus.COMPLETED)


@dataclass(frozen=True, slots=True)
class FirstTry:
    """How many of a module's checks the person answered right at their first try."""

    right: int
    of: int


@dataclass(frozen=True, slots=True)
class MyLearning:
    groups: tuple[LevelGroup, ...]
    next_up: AssignedModule | None
    today: date  # in the organisation's time zone

    @property
    def items(self) -> list[AssignedModule]:
        return [i for g in self.groups for i in g.items]

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def done(self) -> int:
        return sum(g.done for g in self.groups)

    @property
    def to_do(self) -> int:
        return self.total - self.done

    @property
    def overdue(self) -> int:
        return sum(1 for i in self.items if i.overdue)


def org_today(actor: Actor, now: datetime | None = None) -> date:
    """Today's date where the organisation is: a module due today is overdue only tomorrow there."""
    return (now or utcnow()).astimezone(ZoneInfo(actor.org.time_zone)).date()


_IS_DONE = Progress.status == ProgressStatus.COMPLETED
_NOT_COMPLETED = or_(Progress.status.is_(None), ~_IS_DONE)
# The overdue rule, written once: due before today in the organisation's date and not completed. My
# learning reads it per row (`AssignedModule.overdue`), the home page's summary counts it.
_OVERDUE = and_(Assignment.due_on < bindparam("today"), _NOT_COMPLETED)
# An open assignment, the rule written once: the membership's own, not cancelled, of a module still
# published. My learning lists them, the home page's summary counts them, the record weighs a level by
# them; each statement joins Module to Assignment and binds `membership_id`.
_OPEN = and_(
    Assignment.membership_id == bindparam("membership_id"),
    Assignment.cancelled_at.is_(None),
    Module.retired_at.is_(None),
)
# The person's progress on a module, joined to it (outer: no row until they open it).
_MINE = and_(Progress.module_id == Module.id, Progress.user_id == bindparam("user_id"))

# Built once: constructing the statement cost more than running it, on a page served this often.
_ASSIGNED = (
    select(
        Assignment.id,
        Assignment.source,
        Assignment.assigned_at,
        Assignment.due_on,
        Module.slug,
        Module.title,
        Module.minutes,
        Module.dose,
        Progress.status,
        Progress.completed_at,
        _OVERDUE.label("overdue"),
    )
    .join(Module, Assignment.module_id == Module.id)
    .outerjoin(Progress, _MINE)
    .where(_OPEN)
    .order_by(Assignment.due_on, Module.position, Module.title)
)


def _assigned(db: Session, actor: Actor, today: date) -> list[AssignedModule]:
    """The actor's open assignments with their modules and progress: one query, plain rows.

    Plain rows, not entities: for 60 assignments, loading three entities per row (and the modules'
    content) cost more than the rest of the page.
    """
    # Through the connection: plain rows need none of the ORM's work on results.
    params = {"user_id": actor.user.id, "membership_id": actor.membership.id, "today": today}
    rows = db.connection().execute(_ASSIGNED, params).all()
    return [_item(row) for row in rows]


def _item(row: Row) -> AssignedModule:
    """A row of `_ASSIGNED` (or a statement built from it) as the item My learning lists."""
    status = LearningStatus.of(row.status)
    done = status is LearningStatus.COMPLETED
    return AssignedModule(
        assignment_id=row.id,
        source=row.source,
        assigned_at=row.assigned_at,
        due_on=row.due_on,
        module=ListedModule(row.slug, row.title, row.minutes, row.dose),
        status=status,
        completed_at=row.completed_at if done else None,
        overdue=bool(row.overdue),
    )


def my_learning(db: Session, actor: Actor, *, now: datetime | None = None) -> MyLearning:
    """The actor's active assignments in their organisation, by dose level, and the next thing to do.

    A constant number of queries whatever the number of assignments: the vocabulary, the assignments
    with their modules and the person's progress in one join and, only when nothing is in progress,
    the prerequisites of the modules waiting to be started and (when one has any) the slugs of the
    modules the person has completed.
    """
    today = org_today(actor, now)
    items = _assigned(db, actor, today)
    words = vocabulary(db)
    by_level: dict[str, list[AssignedModule]] = {}
    for item in items:
        by_level.setdefault(item.module.dose, []).append(item)
    groups = tuple(
        LevelGroup(words.level(level), tuple(by_level[level]))
        for level in sorted(by_level, key=words.level_key)
    )
    waiting = [i for i in items if i.status is LearningStatus.NOT_STARTED]
    requires: dict[str, list[str] | None] | None = None

    def requires_of(item: AssignedModule) -> list[str] | None:
        nonlocal requires  # read once, for every module waiting, when the first of them is weighed
        if requires is None:
            rows = db.execute(_REQUIRES, {"slugs": [i.module.slug for i in waiting]})
            requires = {slug: needed for slug, needed in rows}
        return requires.get(item.module.slug)

    started = next((i for i in items if i.status is LearningStatus.IN_PROGRESS), None)
    next_up = _next_up(db, actor.user, started, lambda: waiting, requires_of)
    return MyLearning(groups=groups, next_up=next_up, today=today)


# Each check's first answer by the person (their earliest attempt at it, whatever version of the module
# it was): right or not, counted per module.
_FIRST_TRIES = (
    select(Module.slug, func.count(), func.sum(case((CheckAttempt.correct, 1), else_=0)))
    .join(Module, Module.id == CheckAttempt.module_id)
    .where(
        CheckAttempt.id.in_(
            select(func.min(CheckAttempt.id))
            .where(CheckAttempt.user_id == bindparam("user_id"))
            .group_by(CheckAttempt.module_id, CheckAttempt.check_key)
        )
    )
    .group_by(Module.slug)
)


def first_tries(db: Session, user_id: int) -> dict[str, FirstTry]:
    """The person's first-try score per module they answered checks in, by slug."""
    rows = db.execute(_FIRST_TRIES, {"user_id": user_id})
    return {slug: FirstTry(int(right), of) for slug, of, right in rows}


@dataclass(frozen=True, slots=True)
class LearningSummary:
    """What the home page shows of My learning: counts and the next thing to do."""

    total: int
    done: int
    overdue: int
    next_up: AssignedModule | None

    @property
    def to_do(self) -> int:
        return self.total - self.done


_COUNTS = (
    select(func.count(), func.count(case((_IS_DONE, 1))), func.count(case((_OVERDUE, 1))))
    .select_from(Assignment)
    .join(Module, Assignment.module_id == Module.id)
    .outerjoin(Progress, _MINE)
    .where(_OPEN)
)
_IN_PROGRESS = _ASSIGNED.where(Progress.status == ProgressStatus.IN_PROGRESS).limit(1)
_NOT_STARTED = _ASSIGNED.add_columns(Module.requires).where(Progress.status.is_(None))
# Prerequisites are read only when the next step depends on them (nothing is in progress).
_REQUIRES = select(Module.slug, Module.requires).where(Module.slug.in_(bindparam("slugs", expanding=True)))


def learning_summary(db: Session, actor: Actor, *, now: datetime | None = None) -> LearningSummary:
    """My learning in brief for the home page: counted in SQL, the next thing to do found without
    reading the whole list, so the home page costs the same for 6 assignments as for 60."""
    today = org_today(actor, now)
    params = {"user_id": actor.user.id, "membership_id": actor.membership.id, "today": today}
    total, done, overdue = db.execute(_COUNTS, params).one()
    return LearningSummary(total=total, done=done, overdue=overdue, next_up=_next_up_of(db, actor, params))


def _next_up_of(db: Session, actor: Actor, params: dict[str, object]) -> AssignedModule | None:
    """My learning's choice (`_next_up`), made in SQL order without reading the whole list."""
    row = _next_up(
        db,
        actor.user,
        db.execute(_IN_PROGRESS, params).first(),
        lambda: db.execute(_NOT_STARTED, params).all(),
        lambda r: r.requires,
    )
    return None if row is None else _item(row)


def _next_up(
    db: Session,
    user: User,
    started: T | None,
    waiting: Callable[[], Sequence[T]],
    requires: Callable[[T], list[str] | None],
) -> T | None:
    """The next thing to do, the one rule My learning and the home page's summary both follow: the
    first module in progress (`started`), else the first of those not started (`waiting`, read only
    when nothing is in progress) whose prerequisites the person has completed, else the first not
    started."""
    if started is not None:
        return started
    waiting_now = waiting()
    completed: set[str] | None = None
    for candidate in waiting_now:
        needed = requires(candidate)
        if needed:
            completed = _completed_slugs(db, user) if completed is None else completed
            if not set(needed) <= completed:
                continue
        return candidate
    return waiting_now[0] if waiting_now else None


def _completed_slugs(db: Session, user: User) -> set[str]:
    return set(
        db.scalars(
            select(Module.slug)
            .join(Progress, Progress.module_id == Module.id)
            .where(Progress.user_id == user.id, Progress.status == ProgressStatus.COMPLETED)
        )
    )


# --- the printable record -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompletedModule:
    module: Module
    completed_at: datetime


@dataclass(frozen=True, slots=True)
class RecordLevel:
    level: Term
    modules: tuple[CompletedModule, ...]  # completed at this level, in the order of completion
    required: int  # active modules of this level the person's assignments require
    missing: int  # of those, not completed yet

    @property
    def complete(self) -> bool:
        """Every module of the level the person was required to take is completed."""
        return self.required > 0 and self.missing == 0

    @property
    def completed_on(self) -> datetime | None:
        return max((m.completed_at for m in self.modules), default=None) if self.complete else None


@dataclass(frozen=True, slots=True)
class LearningRecord:
    name: str
    organization: str
    levels: tuple[RecordLevel, ...]  # levels with at least one completed module, in level order
    first_tries: dict[str, FirstTry]  # by module slug: checks answered right at the first try

    @property
    def first_try(self) -> FirstTry:
        """Over every module completed: checks answered right at the first try, of checks answered."""
        slugs = {m.module.slug for level in self.levels for m in level.modules}
        scores = [score for slug, score in self.first_tries.items() if slug in slugs]
        return FirstTry(sum(s.right for s in scores), sum(s.of for s in scores))

    @property
    def completed_levels(self) -> list[RecordLevel]:
        return [lv for lv in self.levels if lv.complete]


# The modules of the person's open assignments, by level: what completing a level takes.
_REQUIRED = select(Module.dose, Module.id).join(Assignment, Assignment.module_id == Module.id).where(_OPEN)


def record(db: Session, actor: Actor) -> LearningRecord:
    """Per dose level, the modules the person completed (with dates), and whether they completed every
    active module of that level their assignments in this organisation require."""
    words = vocabulary(db)
    completed = db.execute(
        select(Module, Progress.completed_at)
        .join(Progress, Progress.module_id == Module.id)
        .where(Progress.user_id == actor.user.id, Progress.status == ProgressStatus.COMPLETED)
        .order_by(Progress.completed_at, Module.position)
        .options(load_only(*LISTED_MODULE_FIELDS))
    ).all()
    required = db.execute(_REQUIRED, {"membership_id": actor.membership.id}).all()
    done_ids = {module.id for module, _ in completed}
    by_level: dict[str, list[CompletedModule]] = {}
    for module, completed_at in completed:
        by_level.setdefault(module.dose, []).append(CompletedModule(module, completed_at))
    needed: dict[str, set[int]] = {}
    for dose, module_id in required:
        needed.setdefault(dose, set()).add(module_id)
    levels = tuple(
        RecordLevel(
            words.level(level),
            tuple(by_level[level]),
            len(needed.get(level, ())),
            len(needed.get(level, set()) - done_ids),
        )
        for level in sorted(by_level, key=words.level_key)
    )
    return LearningRecord(actor.user.name, actor.org.name, levels, first_tries(db, actor.user.id))
