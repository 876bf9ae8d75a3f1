"""The JSON API for reflection prompts: the caller's schedules (read, set, change, pause; a coach's
suggestion to a person, which waits for their consent), their delivered prompts (list, answer) and their
calendar feed's secret URL (make, revoke). Registered on lms.web.api's blueprint and document.

Everything is the caller's own: another person's schedule or prompt answers 404.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated

from flask import request, url_for
from flask_login import current_user
from pydantic import Field

from coaching.cadence import Kind
from lms.db import get_db
from lms.models import PromptDelivery, PromptSchedule, User
from lms.services import NotFound, calendar, prompts
from lms.services.access import Actor, actor_for
from lms.services.prompts import ScheduleSpec
from lms.web import api_models
from lms.web.api import answers, bp, reply, spec
from lms.web.api_fields import Shape, Timestamp, enum_values
from lms.web.params import ID_MAX

api_models.PATH_PARAMETERS.update(
    {
        "schedule_id": Annotated[int, Field(ge=1, le=ID_MAX, description="A prompt schedule's id.")],
        "delivery_id": Annotated[int, Field(ge=1, le=ID_MAX, description="A delivered prompt's id.")],
    }
)

Weekday = Annotated[int, Field(ge=0, le=6, strict=True, description="0 for Monday to 6 for Sunday.")]


class ScheduleRequest(Shape):
    """A rhythm: the kind and the fields that kind uses (leave the others out), in an IANA time zone.

    daily, weekdays: `at` only; weekly: `weekdays`; fortnightly: `weekdays` and `anchor` (a date in the
    first week); monthly-day: `day_of_month` (a month without it has its prompt on its last day);
    monthly-nth: `nth` (1-4, or -1 for the last) and `weekday`."""

    kind: enum_values(Kind)  # type: ignore[valid-type]
    at: Annotated[time, Field(description="Local time of day, HH:MM.")]
    time_zone: Annotated[str, Field(max_length=64, description="IANA time zone name.")]
    weekdays: list[Weekday] = []
    day_of_month: Annotated[int | None, Field(ge=1, le=31)] = None
    nth: Annotated[int | None, Field(ge=-1, le=4)] = None
    weekday: Weekday | None = None
    anchor: date | None = None
    tags: Annotated[list[str], Field(description="Only prompts with one of these tags; [] for all.")] = []
    active: Annotated[bool, Field(description="False pauses it (nothing is caught up on resuming).")] = True

    def spec(self) -> ScheduleSpec:
        return ScheduleSpec(
            kind=self.kind.value,
            at=self.at,
            time_zone=self.time_zone,
            weekdays=frozenset(self.weekdays),
            day_of_month=self.day_of_month,
            nth=self.nth,
            weekday=self.weekday,
            anchor=self.anchor,
            tags=frozenset(self.tags),
        )


class SuggestionRequest(ScheduleRequest):
    """A coach's suggestion for a person of the organisation: it waits for that person's consent."""

    membership_id: Annotated[int, Field(ge=1, le=ID_MAX, description="The person's `Person.id`.")]


class ScheduleOut(Shape):
    id: int
    user_id: int
    kind: enum_values(Kind)  # type: ignore[valid-type]
    at: Annotated[str, Field(description="Local time of day, HH:MM.")]
    time_zone: str
    weekdays: list[int]
    day_of_month: int | None
    nth: int | None
    weekday: int | None
    anchor: date | None
    tags: list[str]
    description: Annotated[str, Field(description="The rhythm in a sentence.")]
    active: bool
    waiting_for_consent: Annotated[bool, Field(description="Suggested by a coach, not yet accepted.")]
    set_by_user_id: int
    next_times: Annotated[list[Timestamp], Field(description="The next 5 prompt times (none while paused).")]

    @classmethod
    def of(cls, schedule: PromptSchedule) -> ScheduleOut:
        return cls(
            id=schedule.id,
            user_id=schedule.user_id,
            kind=Kind(schedule.kind),
            at=schedule.at.strftime("%H:%M"),
            time_zone=schedule.time_zone,
            weekdays=sorted(schedule.weekday_set),
            day_of_month=schedule.day_of_month,
            nth=schedule.nth,
            weekday=schedule.weekday,
            anchor=schedule.anchor,
            tags=sorted(schedule.tag_set),
            description=prompts.cadence_of(schedule).describe(),
            active=schedule.active,
            waiting_for_consent=schedule.waiting_for_consent,
            set_by_user_id=schedule.set_by_id,
            next_times=prompts.preview(schedule) if schedule.next_due_at else [],
        )


class ScheduleList(Shape):
    items: list[ScheduleOut]


class DeliveryOut(Shape):
    id: int
    due_at: Timestamp
    delivered_at: Timestamp
    prompt_key: str
    prompt_text: str
    answered_at: Timestamp | None
    journal_entry_id: Annotated[int | None, Field(description="The answer, in the caller's journal.")]

    @classmethod
    def of(cls, delivery: PromptDelivery) -> DeliveryOut:
        return cls.model_validate(delivery)


class DeliveryList(Shape):
    items: list[DeliveryOut]


class AnswerPromptRequest(Shape):
    body: Annotated[str, Field(description="Markdown; becomes a private entry of the caller's journal.")]


class CalendarFeed(Shape):
    url: Annotated[str, Field(description="The feed's secret address: shown only in this answer.")]


class CalendarRevoked(Shape):
    revoked: Annotated[int, Field(description="How many live addresses stopped working (0 or 1).")]


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _body():
    return request.context.json  # type: ignore[attr-defined]


# --- schedules ------------------------------------------------------------------------------------


@bp.get("/orgs/<org>/prompt-schedules")
@spec.validate(
    resp=answers(ScheduleList, "The caller's schedules here.", "404"), operation_id="listPromptSchedules"
)
def list_prompt_schedules(org: str):
    """The caller's own prompt schedules in the organisation, waiting ones included."""
    schedules = prompts.schedules_of(get_db(), actor_for(_user(), org))
    return reply(ScheduleList(items=[ScheduleOut.of(s) for s in schedules]))


@bp.post("/orgs/<org>/prompt-schedules")
@spec.validate(
    json=ScheduleRequest,
    resp=answers(ScheduleOut, "The new schedule.", "404"),
    operation_id="createPromptSchedule",
)
def create_prompt_schedule(org: str):
    """Set a new rhythm for the caller's prompts; it starts at once."""
    body: ScheduleRequest = _body()
    actor = actor_for(_user(), org)
    schedule = prompts.set_schedule(get_db(), actor, body.spec())
    if not body.active:
        schedule = prompts.pause(get_db(), actor, schedule.id, paused=True)
    return reply(ScheduleOut.of(schedule))


@bp.put("/orgs/<org>/prompt-schedules/<int:schedule_id>")
@spec.validate(
    json=ScheduleRequest,
    resp=answers(ScheduleOut, "The schedule as changed.", "404"),
    operation_id="setPromptSchedule",
)
def set_prompt_schedule(org: str, schedule_id: int):
    """Change one of the caller's schedules, or pause (`active: false`) or resume it."""
    body: ScheduleRequest = _body()
    actor, db = actor_for(_user(), org), get_db()
    found = prompts.get_schedule(db, actor, schedule_id)
    schedule = prompts.set_schedule(db, actor, body.spec(), schedule_id=schedule_id)
    if schedule.user_id == actor.user.id and found.active != body.active:
        schedule = prompts.pause(db, actor, schedule_id, paused=not body.active)
    return reply(ScheduleOut.of(schedule))


@bp.post("/orgs/<org>/prompt-schedules/<int:schedule_id>/consent")
@spec.validate(
    resp=answers(ScheduleOut, "The accepted schedule.", "404"), operation_id="acceptPromptSchedule"
)
def accept_prompt_schedule(org: str, schedule_id: int):
    """Accept the schedule a coach suggested to the caller: it starts at its next time."""
    schedule = prompts.consent(get_db(), actor_for(_user(), org), schedule_id, accept=True)
    return reply(ScheduleOut.of(schedule))


@bp.post("/orgs/<org>/prompt-suggestions")
@spec.validate(
    json=SuggestionRequest,
    resp=answers(ScheduleOut, "The suggested schedule, waiting for consent.", "403", "404"),
    operation_id="suggestPromptSchedule",
)
def suggest_prompt_schedule(org: str):
    """A coach suggests a rhythm to a person of the organisation; nothing is sent until they accept."""
    body: SuggestionRequest = _body()
    actor = actor_for(_user(), org)
    schedule = prompts.set_schedule(get_db(), actor, body.spec(), for_membership_id=body.membership_id)
    return reply(ScheduleOut.of(schedule))


# --- delivered prompts ----------------------------------------------------------------------------


@bp.get("/me/prompts")
@spec.validate(
    resp=answers(DeliveryList, "The caller's unanswered prompts, newest first."), operation_id="listPrompts"
)
def list_prompts():
    """The caller's delivered prompts that wait for an answer, newest first."""
    return reply(DeliveryList(items=[DeliveryOut.of(d) for d in prompts.inbox(get_db(), _user())]))


@bp.post("/me/prompts/<int:delivery_id>/answer")
@spec.validate(
    json=AnswerPromptRequest,
    resp=answers(DeliveryOut, "The answered prompt, linked to its journal entry.", "404"),
    operation_id="answerPrompt",
)
def answer_prompt(delivery_id: int):
    """Answer a delivered prompt: the answer becomes a private entry of the caller's journal."""
    body: AnswerPromptRequest = _body()
    db, user = get_db(), _user()
    delivery = prompts.delivery(db, user, delivery_id)
    actor = _actor_in(user, delivery.schedule.org_id)
    prompts.answer(db, actor, delivery_id, body.body)
    return reply(DeliveryOut.of(delivery))


def _actor_in(user: User, org_id: int) -> Actor:
    for membership in user.memberships:
        if membership.org_id == org_id and membership.usable:
            return Actor(user, membership)
    raise NotFound("No such prompt.")


# --- the calendar feed ----------------------------------------------------------------------------


@bp.post("/me/calendar-token")
@spec.validate(
    resp=answers(CalendarFeed, "The feed's new secret address."), operation_id="createCalendarFeed"
)
def create_calendar_feed():
    """Make the caller's calendar feed address (the previous one stops working)."""
    secret = calendar.create_token(get_db(), _user())
    return reply(CalendarFeed(url=url_for("prompts.feed", secret=secret, _external=True)))


@bp.delete("/me/calendar-token")
@spec.validate(
    resp=answers(CalendarRevoked, "Whether an address was turned off."), operation_id="revokeCalendarFeed"
)
def revoke_calendar_feed():
    """Turn the caller's calendar feed off: its address answers 404 from then on."""
    return reply(CalendarRevoked(revoked=calendar.revoke(get_db(), _user())))
