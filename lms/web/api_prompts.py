"""The JSON API for reflection prompts: the caller's schedules (read, set, change, pause; a coach's
suggestion to a person, which waits for their consent), their delivered prompts (list, answer) and their
calendar feed's secret URL (make, revoke). Registered on lms.web.api's blueprint and document.

Everything is the caller's own: another person's schedule or prompt answers 404.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import available_timezones

from flask import request, url_for
from flask_login import current_user
from pydantic import BeforeValidator, Field, RootModel
from spectree import Response as Answers
from werkzeug.exceptions import Conflict

from coaching.cadence import Kind
from lms.db import get_db
from lms.models import PromptDelivery, PromptSchedule, User
from lms.services import NotFound, calendar, journal, prompts
from lms.services.access import Actor, actor_for
from lms.services.prompts import ScheduleSpec
from lms.web import api, api_models
from lms.web.api import BAD_REQUEST, NOT_FOUND, UNAUTHORIZED, answers, bp, reply, spec
from lms.web.api_fields import NOT_BLANK, Shape, Timestamp, enum_values, whole_float
from lms.web.params import ID_MAX

api.UNION_TAGS.update(kind.value for kind in Kind)
api_models.PATH_PARAMETERS.update(
    {
        "schedule_id": Annotated[int, Field(ge=1, le=ID_MAX, description="A prompt schedule's id.")],
        "delivery_id": Annotated[int, Field(ge=1, le=ID_MAX, description="A delivered prompt's id.")],
    }
)

Weekday = Annotated[
    int,
    Field(ge=0, le=6, strict=True, description="0 for Monday to 6 for Sunday."),
    BeforeValidator(whole_float),
]


# Every value the document allows is one the services take: a schema-valid request is never refused.
TimeZone = Literal[tuple(sorted(available_timezones()))]  # type: ignore[valid-type]
TagName = Literal[tuple(prompts.schedule_tags()) or ("",)]  # type: ignore[valid-type]
Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local time, HH:MM.")]
Days = Annotated[list[Weekday], Field(min_length=1, max_length=7)]


class _Rhythm(Shape):
    at: Clock
    time_zone: Annotated[TimeZone, Field(description="IANA time zone name.")]
    tags: Annotated[list[TagName], Field(description="Only prompts with one of these tags; [] for all.")] = []
    active: Annotated[bool, Field(description="False pauses it (nothing is caught up on resuming).")] = True

    def spec(self) -> ScheduleSpec:
        kind = getattr(self, "kind")  # noqa: B009 - each kind of rhythm declares it
        return ScheduleSpec(
            kind=kind,
            at=time.fromisoformat(self.at),
            time_zone=self.time_zone,
            weekdays=frozenset(getattr(self, "weekdays", ())),
            day_of_month=getattr(self, "day_of_month", None),
            nth=getattr(self, "nth", None),
            weekday=getattr(self, "weekday", None),
            # A two-weekly rhythm set through the API counts its weeks from the week it is set in.
            anchor=date.today() if kind == Kind.FORTNIGHTLY else None,
            tags=frozenset(t for t in self.tags if t),
        )


class Daily(_Rhythm):
    kind: Literal["daily"]


class Weekdays(_Rhythm):
    """Monday to Friday."""

    kind: Literal["weekdays"]


class Weekly(_Rhythm):
    kind: Literal["weekly"]
    weekdays: Days


class Fortnightly(_Rhythm):
    """Every second week from the week it is set in, on the chosen days."""

    kind: Literal["fortnightly"]
    weekdays: Days


class MonthlyDay(_Rhythm):
    """A month without that day (the 31st in April) has its prompt on its last day."""

    kind: Literal["monthly-day"]
    day_of_month: Annotated[int, Field(ge=1, le=31, strict=True), BeforeValidator(whole_float)]


class MonthlyNth(_Rhythm):
    """The first, second, third, fourth or last (-1) such weekday of the month."""

    kind: Literal["monthly-nth"]
    nth: Annotated[Literal[1, 2, 3, 4, -1], BeforeValidator(whole_float)]
    weekday: Weekday


class ScheduleRequest(
    RootModel[
        Annotated[
            Daily | Weekdays | Weekly | Fortnightly | MonthlyDay | MonthlyNth, Field(discriminator="kind")
        ]
    ]
):
    """A rhythm in an IANA time zone: its kind and the fields that kind takes."""


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
    body: Annotated[
        str,
        Field(
            pattern=NOT_BLANK,
            max_length=journal.BODY_MAX,
            description="Markdown; becomes a private entry of the caller's journal.",
        ),
    ]


class NoBody(Shape):
    """An empty JSON object, `{}`: every write sends a JSON object, this one has nothing to say."""


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
    schedule = prompts.set_schedule(get_db(), actor, body.root.spec())
    if not body.root.active:
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
    schedule = prompts.set_schedule(db, actor, body.root.spec(), schedule_id=schedule_id)
    if schedule.user_id == actor.user.id and found.active != body.root.active:
        schedule = prompts.pause(db, actor, schedule_id, paused=not body.root.active)
    return reply(ScheduleOut.of(schedule))


@bp.post("/orgs/<org>/prompt-schedules/<int:schedule_id>/consent")
@spec.validate(
    json=NoBody,
    resp=answers(ScheduleOut, "The accepted schedule.", "404"),
    operation_id="acceptPromptSchedule",
)
def accept_prompt_schedule(org: str, schedule_id: int):
    """Accept the schedule a coach suggested to the caller: it starts at its next time."""
    schedule = prompts.consent(get_db(), actor_for(_user(), org), schedule_id, accept=True)
    return reply(ScheduleOut.of(schedule))


@bp.post("/orgs/<org>/people/<int:membership_id>/prompt-suggestions")
@spec.validate(
    json=ScheduleRequest,
    resp=answers(ScheduleOut, "The suggested schedule, waiting for consent.", "403", "404"),
    operation_id="suggestPromptSchedule",
)
def suggest_prompt_schedule(org: str, membership_id: int):
    """A coach suggests a rhythm to a person of the organisation; nothing is sent until they accept."""
    body: ScheduleRequest = _body()
    actor = actor_for(_user(), org)
    schedule = prompts.set_schedule(get_db(), actor, body.root.spec(), for_membership_id=membership_id)
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
    resp=Answers(
        HTTP_200=(DeliveryOut, "The answered prompt, linked to its journal entry."),
        HTTP_400=BAD_REQUEST,
        HTTP_401=UNAUTHORIZED,
        HTTP_404=NOT_FOUND,
        HTTP_409=(api_models.Error, "The prompt was answered already."),
    ),
    operation_id="answerPrompt",
)
def answer_prompt(delivery_id: int):
    """Answer a delivered prompt: the answer becomes a private entry of the caller's journal."""
    body: AnswerPromptRequest = _body()
    db, user = get_db(), _user()
    delivery = prompts.delivery(db, user, delivery_id)
    if delivery.answered_at is not None:
        raise Conflict("You answered this prompt already: your answer is in your journal.")
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
    json=NoBody,
    resp=answers(CalendarFeed, "The feed's new secret address."),
    operation_id="createCalendarFeed",
)
def create_calendar_feed():
    """Make the caller's calendar feed address (the previous one stops working)."""
    secret = calendar.create_token(get_db(), _user())
    return reply(CalendarFeed(url=url_for("prompts.feed", secret=secret, _external=True)))


@bp.post("/me/calendar-token/revoke")
@spec.validate(
    json=NoBody,
    resp=answers(CalendarRevoked, "Whether an address was turned off."),
    operation_id="revokeCalendarFeed",
)
def revoke_calendar_feed():
    """Turn the caller's calendar feed off: its address answers 404 from then on."""
    return reply(CalendarRevoked(revoked=calendar.revoke(get_db(), _user())))
