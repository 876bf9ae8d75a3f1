"""The learner's path: what a person must learn, the catalogue, a module's page, answering its checks,
writing reflections, and the record of what they completed.

A learner sees only their own learning: every query here is filtered by the signed-in person's own id
and no function takes another person's id (DESIGN.md section 6; coaches and HR read progress through
their own services). Published modules are shared by every organisation, so any signed-in person may
open any active one from the catalogue.

Completion follows the content hash: a module is completed when the latest attempt at every check,
made against the module's current content, is right. A completed progress keeps the hash it was
completed against and stays completed, whatever is answered or published later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Text, and_, bindparam, case, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only

from curricula.model import Check, Option, Term
from curricula.stakeholders import LABELS, StakeholderRole
from lms.db import utcnow
from lms.models import (
    Assignment,
    AssignmentSource,
    CheckAttempt,
    ContentRelease,
    Module,
    Progress,
    ProgressStatus,
    Reflection,
    User,
)
from lms.services import Invalid, NotFound
from lms.services.access import Actor

CATALOGUE_FILTERS = ("q", "curriculum", "component", "principle", "role", "dose")
REFLECTION_MAX = 10_000
SEARCH_MAX = 200
SEEN_AGAIN_AFTER = timedelta(minutes=1)  # a visit within this of the last one is not written down


# What lists of modules show of each (My learning, the record): never the content.
LISTED_MODULE_FIELDS = (
    Module.slug,
    Module.title,
    Module.curriculum,
    Module.dose,
    Module.minutes,
    Module.requires,
    Module.position,
    Module.retired_at,
)


class LearningStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"

    @property
    def label(self) -> str:
        return {"not_started": "Not started", "in_progress": "In progress", "completed": "Completed"}[self]


def _status(progress: Progress | None) -> LearningStatus:
    if progress is None:
        return LearningStatus.NOT_STARTED
    return LearningStatus(progress.status.value)


# --- the vocabularies of the latest content release ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Titles for the ids modules use, from the latest `lms content sync` (empty before the first)."""

    curricula: tuple[Term, ...] = ()
    levels: tuple[Term, ...] = ()
    components: tuple[Term, ...] = ()
    principles: tuple[Term, ...] = ()

    @property
    def published(self) -> bool:
        return bool(self.levels or self.curricula)

    def title(self, kind: str, term_id: str | None) -> str:
        """The title of a curriculum/level/component/principle id, or the id itself when unknown."""
        if term_id is None:
            return ""
        terms: tuple[Term, ...] = getattr(self, kind)
        return next((t.title for t in terms if t.id == term_id), term_id)

    def level(self, level_id: str) -> Term:
        return next((t for t in self.levels if t.id == level_id), Term(level_id, level_id))

    def level_key(self, level_id: str) -> tuple[int, str]:
        """Sort key: the release's order of levels first, then unknown levels by name."""
        order = {t.id: i for i, t in enumerate(self.levels)}
        return (order.get(level_id, len(order)), level_id)


def _terms(entries: Iterable[Any]) -> tuple[Term, ...]:
    terms = []
    for entry in entries or ():
        if isinstance(entry, str):
            terms.append(Term(entry, entry))
        else:
            terms.append(Term(entry["id"], entry.get("title") or entry["id"], entry.get("summary") or ""))
    return tuple(terms)


_LATEST_RELEASE = (
    select(ContentRelease.id, ContentRelease.synced_at).order_by(ContentRelease.id.desc()).limit(1)
)
# A release never changes once written, so its vocabulary is built once per process: keyed by the
# release's id and time (ids restart in a wiped database; the time tells such releases apart).
_VOCABULARIES: dict[tuple[int, datetime], Vocabulary] = {}


def vocabulary(db: Session) -> Vocabulary:
    latest = db.execute(_LATEST_RELEASE).first()
    if latest is None:
        return Vocabulary()
    key = (latest.id, latest.synced_at)
    words = _VOCABULARIES.get(key)
    if words is None:
        release = db.get(ContentRelease, latest.id)
        entries = (release.vocabulary if release else None) or {}
        words = Vocabulary(
            curricula=_terms(entries.get("curricula", ())),
            levels=_terms(entries.get("levels", ())),
            components=_terms(entries.get("components", ())),
            principles=_terms(entries.get("principles", ())),
        )
        if len(_VOCABULARIES) >= 8:
            _VOCABULARIES.clear()
        _VOCABULARIES[key] = words
    return words


# --- My learning ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListedModule:
    """What a list shows of a module (its content is not read for a list)."""

    slug: str
    title: str
    minutes: int
    dose: str
    requires: list[str]


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
        Module.requires,
        Progress.status,
        Progress.completed_at,
    )
    .join(Module, Assignment.module_id == Module.id)
    .outerjoin(Progress, and_(Progress.module_id == Module.id, Progress.user_id == bindparam("user_id")))
    .where(
        Assignment.membership_id == bindparam("membership_id"),
        Assignment.cancelled_at.is_(None),
        Module.retired_at.is_(None),
    )
    .order_by(Assignment.due_on, Module.position, Module.title)
)


def _assigned(db: Session, actor: Actor, today: date) -> list[AssignedModule]:
    """The actor's open assignments with their modules and progress: one query, plain rows.

    Plain rows, not entities: for 60 assignments, loading three entities per row (and the modules'
    content) cost more than the rest of the page.
    """
    rows = db.execute(_ASSIGNED, {"user_id": actor.user.id, "membership_id": actor.membership.id})
    return [_item(row, today) for row in rows]


def _item(row: Row, today: date) -> AssignedModule:
    status = LearningStatus(row.status.value) if row.status else LearningStatus.NOT_STARTED
    done = status is LearningStatus.COMPLETED
    return AssignedModule(
        assignment_id=row.id,
        source=row.source,
        assigned_at=row.assigned_at,
        due_on=row.due_on,
        module=ListedModule(row.slug, row.title, row.minutes, row.dose, row.requires or []),
        status=status,
        completed_at=row.completed_at if done else None,
        overdue=row.due_on < today and not done,
    )


def my_learning(db: Session, actor: Actor, *, now: datetime | None = None) -> MyLearning:
    """The actor's active assignments in their organisation, by dose level, and the next thing to do.

    A constant number of queries whatever the number of assignments: the vocabulary, the assignments
    with their modules and the person's progress in one join, and (only when a module waiting to be
    started has prerequisites) the ids of the modules the person has completed.
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
    params = {"user_id": actor.user.id, "membership_id": actor.membership.id}
    return MyLearning(groups=groups, next_up=_next_up_of(db, actor, params, today), today=today)


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


_OPEN = and_(
    Assignment.membership_id == bindparam("membership_id"),
    Assignment.cancelled_at.is_(None),
    Module.retired_at.is_(None),
)
_MINE = and_(Progress.module_id == Module.id, Progress.user_id == bindparam("user_id"))
_IS_DONE = Progress.status == ProgressStatus.COMPLETED
_NOT_COMPLETED = or_(Progress.status.is_(None), ~_IS_DONE)
_COUNTS = (
    select(
        func.count(),
        func.count(case((_IS_DONE, 1))),
        func.count(
            case((and_(Assignment.due_on < bindparam("today"), or_(Progress.status.is_(None), ~_IS_DONE)), 1))
        ),
    )
    .select_from(Assignment)
    .join(Module, Assignment.module_id == Module.id)
    .outerjoin(Progress, _MINE)
    .where(_OPEN)
)
_IN_PROGRESS = _ASSIGNED.where(Progress.status == ProgressStatus.IN_PROGRESS).limit(1)
_NOT_STARTED = _ASSIGNED.where(Progress.status.is_(None))


def learning_summary(db: Session, actor: Actor, *, now: datetime | None = None) -> LearningSummary:
    """My learning in brief for the home page: counted in SQL, the next thing to do found without
    reading the whole list, so the home page costs the same for 6 assignments as for 60."""
    today = org_today(actor, now)
    params = {"user_id": actor.user.id, "membership_id": actor.membership.id}
    total, done, overdue = db.execute(_COUNTS, {**params, "today": today}).one()
    return LearningSummary(
        total=total, done=done, overdue=overdue, next_up=_next_up_of(db, actor, params, today)
    )


def _next_up_of(db: Session, actor: Actor, params: dict[str, int], today: date) -> AssignedModule | None:
    """The same choice as `_next_up`, made in SQL order: the first module in progress, else the first
    not started whose prerequisites are done, else the first not started."""
    row = db.execute(_IN_PROGRESS, params).first()
    if row is not None:
        return _item(row, today)
    waiting = db.execute(_NOT_STARTED, params).all()
    completed: set[str] | None = None
    for row in waiting:
        if row.requires:
            completed = _completed_slugs(db, actor.user) if completed is None else completed
            if not set(row.requires) <= completed:
                continue
        return _item(row, today)
    return _item(waiting[0], today) if waiting else None


def _completed_slugs(db: Session, user: User) -> set[str]:
    return set(
        db.scalars(
            select(Module.slug)
            .join(Progress, Progress.module_id == Module.id)
            .where(Progress.user_id == user.id, Progress.status == ProgressStatus.COMPLETED)
        )
    )


# --- the catalogue --------------------------------------------------------------------------------


def catalogue(
    db: Session,
    user: User,
    *,
    q: str = "",
    curriculum: str = "",
    component: str = "",
    principle: str = "",
    role: str = "",
    dose: str = "",
) -> list[Module]:
    """Active modules matching every filter given, prerequisites first.

    `q` matches words anywhere in the title, summary and objectives: every word must match. An unknown
    filter value is Invalid (naming the filter), never an empty list that looks like "no modules".
    """
    words = vocabulary(db)
    _check_filters(
        words, curriculum=curriculum, component=component, principle=principle, role=role, dose=dose
    )
    if len(q) > SEARCH_MAX:
        raise Invalid(f"Search for at most {SEARCH_MAX} characters.", "q")
    query = select(Module).where(Module.retired_at.is_(None))
    for word in q.lower().split():
        query = query.where(Module.search_text.like(f"%{_escape_like(word)}%", escape="\\"))
    if curriculum:
        query = query.where(Module.curriculum == curriculum)
    if component:
        query = query.where(Module.component == component)
    if dose:
        query = query.where(Module.dose == dose)
    if principle:
        query = query.where(_json_list_has(Module.principles, principle))
    if role:
        query = query.where(_json_list_has(Module.roles, role))
    # Everything but the content (segments, checks, reflections): a list never shows it.
    listed = load_only(
        *LISTED_MODULE_FIELDS,
        Module.summary,
        Module.component,
        Module.principles,
        Module.roles,
        Module.objectives,
    )
    return list(db.scalars(query.order_by(Module.position, Module.title).options(listed)))


def _check_filters(words: Vocabulary, **filters: str) -> None:
    known = {
        "curriculum": {t.id for t in words.curricula},
        "component": {t.id for t in words.components},
        "principle": {t.id for t in words.principles},
        "dose": {t.id for t in words.levels},
        "role": {r.value for r in StakeholderRole},
    }
    names = {
        "curriculum": "curriculum",
        "component": "framework component",
        "principle": "principle",
        "dose": "dose level",
        "role": "stakeholder role",
    }
    errors: dict[str, list[str]] = {}
    for name, value in filters.items():
        # Before the first content sync there is no vocabulary to check against: nothing matches then.
        if value and (known[name] or name == "role") and value not in known[name]:
            errors[name] = [f"Choose a {names[name]} from the list."]
    if errors:
        raise Invalid(errors)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _json_list_has(column: Any, value: str) -> Any:
    """A JSON list of ids contains `value` (ids are lowercase letters, digits and hyphens, so the quoted
    form cannot appear by accident); the same SQL on SQLite and PostgreSQL."""
    return cast(column, Text).like(f'%"{_escape_like(value)}"%', escape="\\")


def role_label(role: str) -> str:
    try:
        return LABELS[StakeholderRole(role)]
    except ValueError:
        return role


# --- a module's page ------------------------------------------------------------------------------


def _as_check(data: dict[str, Any]) -> Check:
    options = tuple(Option(o["text_html"], bool(o["correct"])) for o in data["options"])
    return Check(data["key"], data["question_html"], options, data.get("explanation_html") or "", 0)


@dataclass(frozen=True, slots=True)
class ModuleView:
    module: Module
    progress: Progress | None
    attempts: dict[str, CheckAttempt]  # the latest per check key, against the module's current content
    reflections: dict[str, Reflection]  # by prompt key
    missing_prerequisites: tuple[Row, ...]  # (slug, title) of required modules not completed yet
    vocabulary: Vocabulary = field(default_factory=Vocabulary)

    @property
    def status(self) -> LearningStatus:
        return _status(self.progress)

    @property
    def completed(self) -> bool:
        return self.status is LearningStatus.COMPLETED

    @property
    def completed_earlier_version(self) -> bool:
        return self.completed and self.progress.completed_hash != self.module.content_hash  # type: ignore[union-attr]

    @property
    def prerequisites_complete(self) -> bool:
        return not self.missing_prerequisites

    def check(self, key: str) -> Check:
        return _as_check(next(c for c in self.module.checks if c["key"] == key))

    def check_number(self, key: str) -> int:
        """1 for the module's first check, and so on: "Knowledge check 2 of 3"."""
        return 1 + next(i for i, c in enumerate(self.module.checks) if c["key"] == key)

    def prompt_html(self, key: str) -> str:
        return next(r["prompt_html"] for r in self.module.reflections if r["key"] == key)

    @property
    def resume_anchor(self) -> str | None:
        """The anchor of the block the person answered last, for "Continue where you stopped"."""
        key = self.progress.resume_at if self.progress else None
        if key is None:
            return None
        if any(c["key"] == key for c in self.module.checks):
            return f"check-{key}"
        if any(r["key"] == key for r in self.module.reflections):
            return f"reflection-{key}"
        return None  # the block is gone from the current content

    @property
    def checks_right(self) -> int:
        return sum(1 for a in self.attempts.values() if a.correct)


# The module page's statements, built once (building them cost as much as running them).
_MODULE_AND_PROGRESS = (
    select(Module, Progress)
    .outerjoin(Progress, and_(Progress.module_id == Module.id, Progress.user_id == bindparam("user_id")))
    .where(Module.slug == bindparam("slug"))
)
_PROGRESS = select(Progress).where(
    Progress.user_id == bindparam("user_id"), Progress.module_id == bindparam("module_id")
)
_ATTEMPTS = (
    select(CheckAttempt)
    .where(
        CheckAttempt.user_id == bindparam("user_id"),
        CheckAttempt.module_id == bindparam("module_id"),
        CheckAttempt.content_hash == bindparam("content_hash"),
    )
    .order_by(CheckAttempt.id)
)
_REFLECTIONS = select(Reflection).where(
    Reflection.user_id == bindparam("user_id"), Reflection.module_id == bindparam("module_id")
)


def _find_module(db: Session, user: User, slug: str) -> tuple[Module, Progress | None]:
    """The module and the person's progress (one query); NotFound for an unknown slug, and for a
    retired module the person never started (it is gone from the catalogue, but whoever worked on it
    keeps it)."""
    row = db.execute(_MODULE_AND_PROGRESS, {"user_id": user.id, "slug": slug}).first()
    if row is None:
        raise NotFound("No such module.")
    module, progress = row
    if not module.active and progress is None:
        raise NotFound("No such module.")
    return module, progress


def _progress(db: Session, user: User, module: Module) -> Progress | None:
    return db.scalar(_PROGRESS, {"user_id": user.id, "module_id": module.id})


def module_view(db: Session, user: User, slug: str) -> ModuleView:
    module, progress = _find_module(db, user, slug)
    return _view(db, user, module, progress)


def _view(db: Session, user: User, module: Module, progress: Progress | None) -> ModuleView:
    attempts: dict[str, CheckAttempt] = {}
    mine = {"user_id": user.id, "module_id": module.id}
    for attempt in db.scalars(_ATTEMPTS, {**mine, "content_hash": module.content_hash}):
        attempts[attempt.check_key] = attempt
    reflections = {r.prompt_key: r for r in db.scalars(_REFLECTIONS, mine)}
    missing: tuple[Row, ...] = ()
    if module.requires:
        done = select(Progress.module_id).where(
            Progress.user_id == user.id, Progress.status == ProgressStatus.COMPLETED
        )
        missing = tuple(
            db.execute(
                select(Module.slug, Module.title)
                .where(Module.slug.in_(module.requires), Module.id.not_in(done))
                .order_by(Module.position)
            )
        )
    return ModuleView(module, progress, attempts, reflections, missing, vocabulary(db))


def open_module(db: Session, user: User, module: Module) -> Progress:
    """Start the person's progress on their first visit; note the visit (at most once a minute, so
    reading a page does not write on every request)."""
    return _note_visit(db, user, module, _progress(db, user, module))


def _note_visit(db: Session, user: User, module: Module, progress: Progress | None) -> Progress:
    now = utcnow()
    if progress is None:
        progress = _start(db, user, module, now)
    elif now - progress.last_seen_at < SEEN_AGAIN_AFTER:
        return progress
    progress.last_seen_at = now
    db.commit()
    return progress


def visit_module(db: Session, user: User, slug: str) -> ModuleView:
    """The module page: the module as `module_view` shows it, with the visit recorded."""
    module, progress = _find_module(db, user, slug)
    return _view(db, user, module, _note_visit(db, user, module, progress))


def _start(db: Session, user: User, module: Module, now: datetime) -> Progress:
    """A new in-progress row; if a parallel request of the same person made it first, that one."""
    progress = Progress(
        user_id=user.id,
        module_id=module.id,
        status=ProgressStatus.IN_PROGRESS,
        started_at=now,
        last_seen_at=now,
    )
    db.add(progress)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        progress = _progress(db, user, module)
        if progress is None:  # pragma: no cover - the row that collided is committed
            raise
    return progress


# --- answering checks and writing reflections ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    attempt: CheckAttempt
    correct: bool
    explanation_html: str | None  # given once the check is answered correctly
    progress: Progress
    just_completed: bool  # this answer completed the module

    @property
    def module_completed(self) -> bool:
        return self.progress.status is ProgressStatus.COMPLETED


def answer_check(db: Session, user: User, slug: str, key: str, chosen: Iterable[int]) -> Answer:
    module, progress = _find_module(db, user, slug)
    data = next((c for c in module.checks if c["key"] == key), None)
    if data is None:
        raise NotFound("No such check in this module.")
    check = _as_check(data)
    picked = frozenset(chosen)
    _validate_choice(check, picked)
    now = utcnow()
    if progress is None:
        progress = _start(db, user, module, now)
    correct = check.is_right(picked)
    attempt = CheckAttempt(
        user_id=user.id,
        module_id=module.id,
        check_key=key,
        chosen=sorted(picked),
        correct=correct,
        content_hash=module.content_hash,
        answered_at=now,
    )
    db.add(attempt)
    progress.resume_at = key
    progress.last_seen_at = now
    just_completed = progress.status is not ProgressStatus.COMPLETED and _complete_if_done(
        db, user, module, progress, now
    )
    db.commit()
    return Answer(attempt, correct, check.explanation_html if correct else None, progress, just_completed)


def _validate_choice(check: Check, picked: frozenset[int]) -> None:
    if not picked:
        raise Invalid("Choose an answer.", "chosen")
    if not picked <= set(range(len(check.options))):
        raise Invalid("Choose from the options given.", "chosen")
    if len(picked) > 1 and not check.multiple:
        raise Invalid("Choose one answer.", "chosen")


def _complete_if_done(db: Session, user: User, module: Module, progress: Progress, now: datetime) -> bool:
    """Complete the progress when the latest attempt at every check, against the current content, is
    right. The score is the share of checks answered right at the first attempt."""
    db.flush()
    first: dict[str, bool] = {}
    latest: dict[str, bool] = {}
    for key, correct in db.execute(
        select(CheckAttempt.check_key, CheckAttempt.correct)
        .where(
            CheckAttempt.user_id == user.id,
            CheckAttempt.module_id == module.id,
            CheckAttempt.content_hash == module.content_hash,
        )
        .order_by(CheckAttempt.id)
    ):
        first.setdefault(key, correct)
        latest[key] = correct
    keys = [c["key"] for c in module.checks]
    if not keys or not all(latest.get(k) for k in keys):
        return False
    progress.status = ProgressStatus.COMPLETED
    progress.completed_at = now
    progress.completed_hash = module.content_hash
    progress.score = sum(1 for k in keys if first.get(k)) / len(keys)
    return True


def save_reflection(db: Session, user: User, slug: str, key: str, text: str) -> Reflection:
    """Save (or replace) the person's answer to a reflection prompt; private to them."""
    module, progress = _find_module(db, user, slug)
    if not any(r["key"] == key for r in module.reflections):
        raise NotFound("No such reflection prompt in this module.")
    text = (text or "").strip()
    if not text:
        raise Invalid("Write your reflection before saving it.", "text")
    if len(text) > REFLECTION_MAX:
        raise Invalid(
            f"Keep your reflection to {REFLECTION_MAX:,} characters or fewer: it has {len(text):,}.", "text"
        )
    now = utcnow()
    if progress is None:
        progress = _start(db, user, module, now)
    reflection = db.scalar(
        select(Reflection).where(
            Reflection.user_id == user.id, Reflection.module_id == module.id, Reflection.prompt_key == key
        )
    )
    if reflection is None:
        reflection = Reflection(user_id=user.id, module_id=module.id, prompt_key=key, created_at=now)
        db.add(reflection)
    reflection.text = text
    reflection.content_hash = module.content_hash
    reflection.updated_at = now
    progress.resume_at = key
    progress.last_seen_at = now
    db.commit()
    return reflection


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

    @property
    def completed_levels(self) -> list[RecordLevel]:
        return [lv for lv in self.levels if lv.complete]


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
    required = db.execute(
        select(Module.dose, Module.id)
        .join(Assignment, Assignment.module_id == Module.id)
        .where(
            Assignment.membership_id == actor.membership.id,
            Assignment.cancelled_at.is_(None),
            Module.retired_at.is_(None),
        )
    ).all()
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
    return LearningRecord(actor.user.name, actor.org.name, levels)
