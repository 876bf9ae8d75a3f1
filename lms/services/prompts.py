"""Reflection prompts on a rhythm: a person's schedules (set by them, or by their coach with their
consent), the inbox of delivered prompts, and answering one (a private journal entry of their own).

The scheduler's side, delivering what is due, is lms.services.prompt_delivery.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coaching.cadence import USES, Cadence, CadenceError
from coaching.prompts import KATA_TAG, PROMPTS, Prompt, load_prompts
from lms.db import utcnow
from lms.models import Membership, Permission, PromptDelivery, PromptSchedule, User
from lms.models.journal import JournalSource
from lms.services import Forbidden, Invalid, NotFound, coaching, journal, outbox
from lms.services.access import Actor, membership_in_org

# content/ beside the lms package, as `lms content sync` reads it by default.
PROMPTS_FOLDER = Path(__file__).resolve().parents[2] / "content" / PROMPTS
PREVIEW_COUNT = 5

log = logging.getLogger(__name__)


# --- the prompt library ---------------------------------------------------------------------------


def prompt_library(folder: Path = PROMPTS_FOLDER) -> Mapping[str, Prompt]:
    """The reflection prompts schedules deliver (content/coaching/prompts/*.md), by key in library order;
    read again only when a file there changes. A file with problems (`lms content check` names them) adds
    none."""
    return _libraries(folder)["reflection"]


def kata_library(folder: Path = PROMPTS_FOLDER) -> Mapping[str, Prompt]:
    """The Kata prompts: delivered only by a schedule limited to the Kata tag, each filled from its owner's
    own last gemba walk (lms.services.prompt_delivery)."""
    return _libraries(folder)["kata"]


def any_prompt(key: str) -> Prompt | None:
    """The prompt of the library with this key, of either kind."""
    return prompt_library().get(key) or kata_library().get(key)


def _libraries(folder: Path) -> Mapping[str, Mapping[str, Prompt]]:
    stamp = tuple((f.name, f.stat().st_mtime_ns) for f in sorted(folder.glob("*.md")))
    return _library(folder, stamp)


@functools.lru_cache(maxsize=4)
def _library(folder: Path, _stamp: tuple) -> Mapping[str, Mapping[str, Prompt]]:
    library, problems = load_prompts(folder)
    if problems:
        log.warning("The prompt library has %s problem(s); `lms content check` lists them", len(problems))
    return MappingProxyType(
        {
            kind: MappingProxyType({key: p for key, p in library.items() if p.kind == kind})
            for kind in ("reflection", "kata")
        }
    )


def library_tags(library: Mapping[str, Prompt]) -> list[str]:
    return sorted({tag for prompt in library.values() for tag in prompt.tags})


def schedule_tags() -> list[str]:
    """The tags a schedule may be limited to: those of the reflection prompts, and the Kata tag (Kata
    prompts from one's own last walk) while the library has Kata prompts."""
    return library_tags(prompt_library()) + ([KATA_TAG] if kata_library() else [])


# --- what a schedule is made of -------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleSpec:
    """A cadence and a tag filter as a person (a form, the API) gives them."""

    kind: str
    at: time | None
    time_zone: str
    weekdays: frozenset[int] = frozenset()
    day_of_month: int | None = None
    nth: int | None = None
    weekday: int | None = None
    anchor: date | None = None
    tags: frozenset[str] = field(default_factory=frozenset)

    def keeping_what_the_kind_uses(self) -> ScheduleSpec:
        """The same spec without the fields its kind does not use (a form sends every field it shows)."""
        uses = USES.get(self.kind, frozenset())  # type: ignore[call-overload]
        return replace(
            self,
            weekdays=self.weekdays if "weekdays" in uses else frozenset(),
            day_of_month=self.day_of_month if "day_of_month" in uses else None,
            nth=self.nth if "nth" in uses else None,
            weekday=self.weekday if "weekday" in uses else None,
            anchor=self.anchor if "anchor" in uses else None,
        )

    @classmethod
    def of(cls, schedule: PromptSchedule) -> ScheduleSpec:
        return cls(
            kind=schedule.kind,
            at=schedule.at,
            time_zone=schedule.time_zone,
            weekdays=schedule.weekday_set,
            day_of_month=schedule.day_of_month,
            nth=schedule.nth,
            weekday=schedule.weekday,
            anchor=schedule.anchor,
            tags=schedule.tag_set,
        )


def cadence_of(spec: ScheduleSpec | PromptSchedule) -> Cadence:
    """The cadence a schedule (or what was typed for one) stands for; Invalid, by field, if it is none."""
    if isinstance(spec, PromptSchedule):
        spec = ScheduleSpec.of(spec)
    try:
        return Cadence(
            kind=spec.kind,  # type: ignore[arg-type]  # Cadence reads and checks it
            at=spec.at,
            time_zone=spec.time_zone,
            weekdays=spec.weekdays,
            day_of_month=spec.day_of_month,
            nth=spec.nth,
            weekday=spec.weekday,
            anchor=spec.anchor,
        )
    except CadenceError as exc:
        raise Invalid(exc.message, exc.field) from None


def preview(spec: ScheduleSpec | PromptSchedule, *, now: datetime | None = None, count: int = PREVIEW_COUNT):
    """The next `count` times (aware UTC) a schedule would deliver, from now."""
    cadence = cadence_of(spec)
    moment, times = now or utcnow(), []
    for _ in range(count):
        moment = cadence.next_after(moment)
        times.append(moment)
    return times


def _checked_tags(tags: frozenset[str]) -> str:
    known = set(schedule_tags())
    unknown = sorted(tags - known)
    if unknown:
        raise Invalid(
            f"No prompt has the tag {', '.join(unknown)}: choose from {', '.join(sorted(known))}.", "tags"
        )
    return ",".join(sorted(tags))


def default_time_zone(actor: Actor) -> str:
    """A new schedule's zone: the person's own, or their organisation's while theirs is the default UTC."""
    return actor.user.time_zone if actor.user.time_zone != "UTC" else actor.org.time_zone


# --- setting, editing, pausing, consenting --------------------------------------------------------


def set_schedule(
    db: Session,
    actor: Actor,
    spec: ScheduleSpec,
    *,
    schedule_id: int | None = None,
    for_membership_id: int | None = None,
    now: datetime | None = None,
) -> PromptSchedule:
    """Create (no `schedule_id`) or change a schedule. The actor's own, or, for a coach, one for a person
    of their organisation (`for_membership_id`), which runs only once that person consents."""
    now = now or utcnow()
    cadence = cadence_of(spec)
    tags = _checked_tags(spec.tags)
    if schedule_id is None:
        owner = actor.membership if for_membership_id is None else coachee(db, actor, for_membership_id)
        schedule = PromptSchedule(user_id=owner.user_id, org_id=actor.org_id, set_by_id=actor.user.id)
        db.add(schedule)
    else:
        schedule = _editable(db, actor, schedule_id)
        schedule.set_by_id = actor.user.id
    schedule.kind = cadence.kind.value
    schedule.at = spec.at
    schedule.time_zone = spec.time_zone
    schedule.weekdays = ",".join(str(d) for d in sorted(spec.weekdays))
    schedule.day_of_month = spec.day_of_month
    schedule.nth = spec.nth
    schedule.weekday = spec.weekday
    schedule.anchor = spec.anchor
    schedule.tags = tags
    schedule.updated_at = now
    schedule.rotation = schedule.rotation or ""
    schedule.active = True if schedule_id is None else schedule.active
    own = schedule.user_id == actor.user.id
    schedule.consented_at = now if own else None
    db.flush()
    _reschedule(db, schedule, now)
    if not own:
        _ask_consent(db, schedule, actor)
    db.flush()
    return schedule


def pause(db: Session, actor: Actor, schedule_id: int, *, paused: bool, now: datetime | None = None):
    """Pause (nothing is delivered, nothing is caught up later) or resume one's own schedule."""
    schedule = _own(db, actor, schedule_id)
    schedule.active = not paused
    schedule.updated_at = now or utcnow()
    _reschedule(db, schedule, schedule.updated_at)
    db.flush()
    return schedule


def consent(db: Session, actor: Actor, schedule_id: int, *, accept: bool, now: datetime | None = None):
    """The owner accepts the schedule their coach set (it starts) or declines it (it is deleted).
    Answers the schedule, or None once declined."""
    schedule = _own(db, actor, schedule_id)
    now = now or utcnow()
    if not accept:
        if schedule.consented_at is not None:
            raise Invalid("You accepted this schedule already: pause it instead.")
        db.delete(schedule)
        db.flush()
        return None
    schedule.consented_at = schedule.consented_at or now
    _reschedule(db, schedule, now)
    db.flush()
    return schedule


def remove(db: Session, actor: Actor, schedule_id: int) -> None:
    """Delete a schedule that has delivered nothing yet (one that has is paused instead, to keep its
    prompts and their answers)."""
    schedule = _editable(db, actor, schedule_id)
    delivered = db.scalar(select(func.count()).where(PromptDelivery.schedule_id == schedule.id))
    if delivered:
        raise Invalid("This schedule has delivered prompts: pause it instead, so they stay in your inbox.")
    db.delete(schedule)
    db.flush()


def _reschedule(db: Session, schedule: PromptSchedule, now: datetime) -> None:
    """The next due time: the first occurrence after now and after the last one delivered (so an edit
    never delivers the same occurrence again), or none while paused or waiting for consent."""
    if not schedule.active or schedule.consented_at is None:
        schedule.next_due_at = None
        return
    last = db.scalar(select(func.max(PromptDelivery.due_at)).where(PromptDelivery.schedule_id == schedule.id))
    schedule.next_due_at = cadence_of(schedule).next_after(max(now, last) if last else now)


def _ask_consent(db: Session, schedule: PromptSchedule, coach: Actor) -> None:
    owner = db.get(User, schedule.user_id)
    assert owner is not None
    outbox.enqueue(
        db,
        to=owner.email,
        subject=f"{coach.user.name} suggests a rhythm for your reflection prompts",
        body=(
            f"Hello {owner.name},\n\n{coach.user.name}, your coach, suggests reflection prompts "
            f"{cadence_of(schedule).describe()}.\n\nNothing is sent until you accept it: "
            f"{current_app.config['BASE_URL']}/prompts/schedule\n"
        ),
    )


def coachee(db: Session, actor: Actor, membership_id: int) -> Membership:
    """A person the actor coaches now (an active coaching relationship), or NotFound."""
    if not actor.can(Permission.COACH):
        raise Forbidden("Only a coach may suggest a schedule for someone else.")
    membership = membership_in_org(db, actor, membership_id)
    relationship = coaching.current_coach(db, membership)
    if relationship is None or relationship.coach_id != actor.membership.id or not membership.usable:
        raise NotFound("No such person among the people you coach.")
    return membership


def _schedule(db: Session, actor: Actor, schedule_id: int) -> PromptSchedule:
    schedule = db.get(PromptSchedule, schedule_id)
    if schedule is None or schedule.org_id != actor.org_id:
        raise NotFound("No such schedule.")
    return schedule


def _own(db: Session, actor: Actor, schedule_id: int) -> PromptSchedule:
    schedule = _schedule(db, actor, schedule_id)
    if schedule.user_id != actor.user.id:
        raise NotFound("No such schedule.")
    return schedule


def _editable(db: Session, actor: Actor, schedule_id: int) -> PromptSchedule:
    """The owner's schedule, or one a coach set that still waits for its owner's consent."""
    schedule = _schedule(db, actor, schedule_id)
    own = schedule.user_id == actor.user.id
    suggested = schedule.set_by_id == actor.user.id and schedule.consented_at is None
    if not own and not (suggested and actor.can(Permission.COACH)):
        raise NotFound("No such schedule.")
    return schedule


def schedules_of(db: Session, actor: Actor) -> list[PromptSchedule]:
    """The actor's own schedules in this organisation, oldest first (waiting ones included)."""
    return list(
        db.scalars(
            select(PromptSchedule)
            .where(PromptSchedule.user_id == actor.user.id, PromptSchedule.org_id == actor.org_id)
            .order_by(PromptSchedule.id)
        )
    )


def suggested_by(db: Session, actor: Actor) -> list[PromptSchedule]:
    """Schedules a coach set for others that wait for their consent."""
    return list(
        db.scalars(
            select(PromptSchedule)
            .where(
                PromptSchedule.set_by_id == actor.user.id,
                PromptSchedule.user_id != actor.user.id,
                PromptSchedule.org_id == actor.org_id,
                PromptSchedule.consented_at.is_(None),
            )
            .order_by(PromptSchedule.id)
        )
    )


def get_schedule(db: Session, actor: Actor, schedule_id: int) -> PromptSchedule:
    return _editable(db, actor, schedule_id)


# --- the inbox ------------------------------------------------------------------------------------


def inbox(
    db: Session, user: User, *, answered: bool | None = False, limit: int = 100
) -> list[PromptDelivery]:
    """A person's delivered prompts, newest first: unanswered ones (the default), answered ones, or all."""
    query = select(PromptDelivery).where(PromptDelivery.user_id == user.id)
    if answered is not None:
        query = query.where(
            PromptDelivery.answered_at.is_not(None) if answered else PromptDelivery.answered_at.is_(None)
        )
    return list(
        db.scalars(query.order_by(PromptDelivery.due_at.desc(), PromptDelivery.id.desc()).limit(limit))
    )


def delivery(db: Session, user: User, delivery_id: int) -> PromptDelivery:
    """One of the person's own deliveries; NotFound for anyone else's."""
    found = db.get(PromptDelivery, delivery_id)
    if found is None or found.user_id != user.id:
        raise NotFound("No such prompt.")
    return found


def answer(db: Session, actor: Actor, delivery_id: int, body: str, *, now: datetime | None = None):
    """Answer a delivered prompt: a private journal entry of the person's own, titled with the prompt and
    carrying the prompt's tags the journal knows (framework components, principles), linked to it."""
    found = delivery(db, actor.user, delivery_id)
    if found.answered_at is not None:
        raise Invalid("You answered this prompt already: your answer is in your journal.", "body")
    prompt = any_prompt(found.prompt_key)
    known = {tag for tag, _ in journal.tag_choices(db)}
    entry = journal.write_entry(
        db,
        actor,
        body=body,
        title=found.prompt_text[: journal.TITLE_MAX],
        tags=sorted(prompt.tags & known) if prompt else (),
        source=JournalSource.PROMPT,
    )
    found.answered_at = now or utcnow()
    found.journal_entry_id = entry.id
    db.flush()
    return entry
