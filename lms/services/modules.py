"""A module's page and the work a learner does on it: opening it, answering its checks, writing its
reflections, and completing it.

A learner sees only their own work: every query here is filtered by the signed-in person's own id and
no function takes another person's id (DESIGN.md section 6). Completion follows the content hash: a
module is completed when the latest attempt at every check, made against the module's current content,
is right. A completed progress keeps the hash it was completed against and stays completed, whatever is
answered or published later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from curricula.model import Check, Option
from lms.db import utcnow
from lms.models import (
    CheckAttempt,
    Module,
    Progress,
    ProgressStatus,
    Reflection,
    User,
)
from lms.services import Invalid, NotFound
from lms.services.catalogue import Vocabulary, vocabulary
from lms.services.learning import LearningStatus

REFLECTION_MAX = 10_000
REFLECTION_EMPTY = "Write your reflection before saving it."
REFLECTION_TOO_LONG = "Keep your reflection to {maximum:,} characters or fewer: it has {length:,}."
SEEN_AGAIN_AFTER = timedelta(minutes=1)  # a visit within this of the last one is not written down


# --- a module's page ------------------------------------------------------------------------------


def _block(blocks: Iterable[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The check or reflection prompt `key` of a module's current content, if it has one."""
    return next((b for b in blocks if b["key"] == key), None)


def check_data(module: Module, key: str) -> dict[str, Any]:
    """The module's check `key` in its current content; NotFound when the module has no such check."""
    data = _block(module.checks, key)
    if data is None:
        raise NotFound("No such check in this module.")
    return data


def reflection_data(module: Module, key: str) -> dict[str, Any]:
    """The module's reflection prompt `key` in its current content; NotFound when it has no such prompt."""
    data = _block(module.reflections, key)
    if data is None:
        raise NotFound("No such reflection prompt in this module.")
    return data


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
        return LearningStatus.of(self.progress.status if self.progress else None)

    @property
    def completed(self) -> bool:
        return self.status is LearningStatus.COMPLETED

    @property
    def completed_earlier_version(self) -> bool:
        return self.completed and self.progress.completed_hash != self.module.content_hash  # type: ignore[union-attr]

    @property
    def prerequisites_complete(self) -> bool:
        return not self.missing_prerequisites

    person_id: int = 0  # whose view: the order of each check's options is theirs

    def check(self, key: str) -> Check:
        return _as_check(check_data(self.module, key))

    def options(self, key: str) -> list[tuple[int, Option]]:
        """Check `key`'s options, each with its number (what an answer sends), in this person's order."""
        check = self.check(key)
        return [(n, check.options[n]) for n in check.order_for(f"{self.person_id}/{self.module.slug}")]

    def explanation_shown(self, key: str) -> bool:
        """Whether the page shows check `key`'s explanation: once its latest attempt is right, and for
        every check once the module is completed."""
        attempt = self.attempts.get(key)
        return self.completed or (attempt is not None and attempt.correct)

    def check_number(self, key: str) -> int:
        """1 for the module's first check, and so on: "Knowledge check 2 of 3"."""
        return 1 + next(i for i, c in enumerate(self.module.checks) if c["key"] == key)

    def prompt_html(self, key: str) -> str:
        return reflection_data(self.module, key)["prompt_html"]

    @property
    def resume_anchor(self) -> str | None:
        """The anchor of the block the person answered last, for "Continue where you stopped"."""
        key = self.progress.resume_at if self.progress else None
        if key is None:
            return None
        if _block(self.module.checks, key) is not None:
            return f"check-{key}"
        if _block(self.module.reflections, key) is not None:
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

# Of the modules named, those the person has not completed (slug, title), in the corpus's order.
_MISSING_PREREQUISITES = (
    select(Module.slug, Module.title)
    .where(
        Module.slug.in_(bindparam("slugs", expanding=True)),
        Module.id.not_in(
            select(Progress.module_id).where(
                Progress.user_id == bindparam("user_id"), Progress.status == ProgressStatus.COMPLETED
            )
        ),
    )
    .order_by(Module.position)
)


def _find_module(db: Session, user: User, slug: str) -> tuple[Module, Progress | None]:
    """The module and the person's progress (one query); NotFound for an unknown slug, and for a
    retired module the person never started (it is gone from the catalogue, but whoever worked on it
    keeps it)."""
    row = db.execute(_MODULE_AND_PROGRESS, {"user_id": user.id, "slug": slug}).first()
    if row is None or _gone(row.Module.retired_at, row.Progress):
        raise NotFound("No such module.")
    return row.Module, row.Progress


def _gone(retired_at: datetime | None, progress: Progress | None) -> bool:
    """A retired module is gone from the catalogue, but whoever worked on it keeps it."""
    return retired_at is not None and progress is None


def _progress(db: Session, user: User, module_id: int) -> Progress | None:
    return db.scalar(_PROGRESS, {"user_id": user.id, "module_id": module_id})


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
        missing = tuple(db.execute(_MISSING_PREREQUISITES, {"user_id": user.id, "slugs": module.requires}))
    return ModuleView(module, progress, attempts, reflections, missing, vocabulary(db), user.id)


def open_module(db: Session, user: User, module: Module) -> Progress:
    """Start the person's progress on their first visit; note the visit (at most once a minute, so
    reading a page does not write on every request)."""
    return _note_visit(db, user, module.id, _progress(db, user, module.id))


def _note_visit(db: Session, user: User, module_id: int, progress: Progress | None) -> Progress:
    now = utcnow()
    if progress is None:
        progress = _start(db, user, module_id, now)
    elif now - progress.last_seen_at < SEEN_AGAIN_AFTER:
        return progress
    progress.last_seen_at = now
    db.flush()
    return progress


@dataclass(frozen=True, slots=True)
class Identity:
    """What a module page needs of a module before its content: read once per release (lms.kept keeps
    it), the content itself only when the page is rendered."""

    module_id: int
    slug: str
    title: str
    content_hash: str
    retired_at: datetime | None


_IDENTITY = select(Module.id, Module.slug, Module.title, Module.content_hash, Module.retired_at).where(
    Module.slug == bindparam("slug")
)


def identity(db: Session, slug: str) -> Identity:
    """The module `slug` names, retired or not; NotFound for an unknown slug."""
    row = db.execute(_IDENTITY, {"slug": slug}).first()
    if row is None:
        raise NotFound("No such module.")
    return Identity(*row)


def visit(db: Session, user: User, module: Identity) -> Progress:
    """Open a module's page: NotFound for a retired module the person never started (as
    `module_view`); otherwise the visit is noted as `open_module` notes it."""
    progress = _progress(db, user, module.module_id)
    if _gone(module.retired_at, progress):
        raise NotFound("No such module.")
    return _note_visit(db, user, module.module_id, progress)


def view_of(db: Session, user: User, found: Identity, progress: Progress | None = None) -> ModuleView:
    """The module page's content for a module already visited (its progress read if not given)."""
    module = db.get(Module, found.module_id)
    if module is None:  # pragma: no cover - modules are retired, never deleted
        raise NotFound("No such module.")
    return _view(db, user, module, progress or _progress(db, user, module.id))


def visit_module(db: Session, user: User, slug: str) -> ModuleView:
    """The module page: the module as `module_view` shows it, with the visit recorded."""
    found = identity(db, slug)
    return view_of(db, user, found, visit(db, user, found))


def _start(db: Session, user: User, module_id: int, now: datetime) -> Progress:
    """A new in-progress row; if a parallel request of the same person made it first, that one."""
    progress = Progress(
        user_id=user.id,
        module_id=module_id,
        status=ProgressStatus.IN_PROGRESS,
        started_at=now,
        last_seen_at=now,
    )
    try:
        # A savepoint: a collision undoes this insert only, not the rest of the caller's unit of work.
        with db.begin_nested():
            db.add(progress)
    except IntegrityError:
        progress = _progress(db, user, module_id)
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
    check = _as_check(check_data(module, key))
    picked = frozenset(chosen)
    _validate_choice(check, picked)
    now = utcnow()
    if progress is None:
        progress = _start(db, user, module.id, now)
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
    db.flush()
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
    reflection_data(module, key)
    text = (text or "").strip()
    if not text:
        raise Invalid(REFLECTION_EMPTY, "text")
    if len(text) > REFLECTION_MAX:
        raise Invalid(REFLECTION_TOO_LONG.format(maximum=REFLECTION_MAX, length=len(text)), "text")
    now = utcnow()
    if progress is None:
        progress = _start(db, user, module.id, now)
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
    db.flush()
    return reflection
