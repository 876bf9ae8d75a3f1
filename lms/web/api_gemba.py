"""The API's gemba walks and follow-ups, for a mobile client (lms.services.gemba and .follow_ups decide
who sees what: a walk its leader and org admins; a follow-up its raiser, owner, the leader it was
escalated to, the leaders of its unit and org admins).

A walk is created with a key the client makes once per walk (`client_key`): sending the same walk again
(after a dropped connection) answers the walk made the first time, with `created` false.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar

from flask import request
from flask_login import current_user
from pydantic import BeforeValidator, Field

from lms.db import get_db
from lms.models import FollowUp, FollowUpEvent, FollowUpEventKind, FollowUpStatus, GembaWalk
from lms.services import follow_ups, gemba
from lms.services.access import Actor, actor_for
from lms.web import api_models as m
from lms.web.api import answers, bp, reply, spec
from lms.web.api_fields import NOT_BLANK, QueryValue, Shape, Timestamp, enum_values, whole_float
from lms.web.params import ID_MAX

Id = Annotated[int, Field(ge=1, le=ID_MAX, strict=True), BeforeValidator(whole_float)]
m.PATH_PARAMETERS.update(
    {
        "walk_id": Annotated[int, Field(ge=1, le=ID_MAX, description="The walk's id (`GembaWalk.id`).")],
        "follow_up_id": Annotated[
            int, Field(ge=1, le=ID_MAX, description="The follow-up's id (`FollowUp.id`).")
        ],
    }
)
Title = Annotated[str, Field(pattern=NOT_BLANK, max_length=follow_ups.TITLE_MAX, strict=True)]
Text = Annotated[str, Field(pattern="^[^\\u0000]*$", max_length=follow_ups.TEXT_MAX, strict=True)]


# --- requests -------------------------------------------------------------------------------------


class FollowUpIn(Shape):
    """A follow-up raised on the walk: an owner in the organisation, due today or later (its time zone)."""

    title: Title
    owner_id: Annotated[Id, Field(description="The owner's membership id (`Person.id`).")]
    due_on: date
    description: Text = ""


class WalkIn(Shape):
    """A walk. Send the same `client_key` again to get the walk it made, never a second one."""

    refusals: ClassVar[dict[str, str]] = {"client_key": gemba.CLIENT_KEY_HELP}

    unit_id: Annotated[Id, Field(description="The unit walked.")]
    question_set: Annotated[str, Field(max_length=64, description="The key of a gemba question set.")]
    client_key: Annotated[str, Field(pattern=gemba.CLIENT_KEY.pattern, description="Made once per walk.")]
    answers: Annotated[
        dict[
            Annotated[str, Field(max_length=64)],
            Annotated[str, Field(pattern="^[^\\u0000]*$", max_length=gemba.ANSWER_MAX)],
        ],
        Field(description="Answers by question key; questions left out are unanswered."),
    ] = {}
    observations: Annotated[str, Field(pattern="^[^\\u0000]*$", max_length=gemba.OBSERVATIONS_MAX)] = ""
    expected_next: Annotated[
        str,
        Field(
            pattern="^[^\\u0000]*$",
            max_length=gemba.EXPECTED_MAX,
            description="The next step the leader expects to see; a Kata prompt later asks what happened.",
        ),
    ] = ""
    follow_ups: Annotated[list[FollowUpIn], Field(max_length=20)] = []


class FollowUpsQuery(m.Query):
    filter: Annotated[
        enum_values(follow_ups.Scope),  # type: ignore[valid-type]
        QueryValue(),
        Field(description="Whose: the caller's own, their units', escalated to them, raised by them."),
    ] = follow_ups.Scope.MINE
    status: Annotated[
        enum_values(FollowUpStatus),  # type: ignore[valid-type]
        QueryValue(),
        Field(description="Only open or only closed ones."),
    ] = None


class FollowUpChange(Shape):
    """What to change; fields left out stay. A new `owner_id` reassigns it (the new owner is told)."""

    title: Title | None = None
    description: Text | None = None
    due_on: Annotated[date | None, Field(description="Today or later, in the organisation's zone.")] = None
    owner_id: Id | None = None
    note: Annotated[Text, Field(description="For the new owner, with `owner_id`.")] = ""


class CloseRequest(Shape):
    resolution: Annotated[str, Field(pattern=NOT_BLANK, max_length=follow_ups.TEXT_MAX, strict=True)]


# --- answers --------------------------------------------------------------------------------------


class PersonRef(Shape):
    id: Annotated[int, Field(description="Membership id (`Person.id`).")]
    name: str


class EventOut(Shape):
    kind: enum_values(FollowUpEventKind)  # type: ignore[valid-type]
    at: Timestamp
    by: Annotated[PersonRef | None, Field(description="None: the platform (an escalation).")]
    detail: dict[str, Any]

    @classmethod
    def of(cls, e: FollowUpEvent) -> EventOut:
        by = PersonRef(id=e.actor.id, name=e.actor.user.name) if e.actor else None
        return cls(kind=e.kind, at=e.at, by=by, detail=e.detail)


class FollowUpOut(Shape):
    id: int
    title: str
    description: str
    unit: m.UnitRef
    owner: PersonRef
    raised_by: PersonRef
    walk_id: int | None
    due_on: date
    status: enum_values(FollowUpStatus)  # type: ignore[valid-type]
    tier: Annotated[int, Field(description="1 unit, 2 department, 3 facility, 4 executive.")]
    escalated_to: PersonRef | None
    resolution: str | None
    closed_at: Timestamp | None
    created_at: Timestamp
    history: Annotated[list[EventOut] | None, Field(description="Every change; only on one follow-up.")]

    @classmethod
    def of(cls, f: FollowUp, events: list[FollowUpEvent] | None = None) -> FollowUpOut:
        def person(membership) -> PersonRef:
            return PersonRef(id=membership.id, name=membership.user.name)

        return cls(
            id=f.id,
            title=f.title,
            description=f.description,
            unit=m.UnitRef(id=f.unit.id, name=f.unit.name),
            owner=person(f.owner),
            raised_by=person(f.raised_by),
            walk_id=f.walk_id,
            due_on=f.due_on,
            status=f.status,
            tier=f.tier,
            escalated_to=person(f.escalated_to) if f.escalated_to else None,
            resolution=f.resolution,
            closed_at=f.closed_at,
            created_at=f.created_at,
            history=None if events is None else [EventOut.of(e) for e in events],
        )


class FollowUpList(Shape):
    items: list[FollowUpOut]


class WalkOut(Shape):
    id: int
    unit: m.UnitRef
    question_set: str
    walked_at: Timestamp
    answers: dict[str, str]
    observations: str
    expected_next: str
    client_key: str
    follow_up_ids: list[int]
    created: Annotated[bool, Field(description="False: this walk was sent before and is answered again.")]

    @classmethod
    def of(cls, w: GembaWalk, created: bool = False) -> WalkOut:
        return cls(
            id=w.id,
            unit=m.UnitRef(id=w.unit.id, name=w.unit.name),
            question_set=w.question_set,
            walked_at=w.walked_at,
            answers=w.answers,
            observations=w.observations,
            expected_next=w.expected_next,
            client_key=w.client_key,
            follow_up_ids=[f.id for f in w.follow_ups],
            created=created,
        )


class WalkList(Shape):
    items: list[WalkOut]


# --- endpoints ------------------------------------------------------------------------------------


def _actor(org: str) -> Actor:
    return actor_for(current_user, org)  # type: ignore[arg-type]


def _json() -> Any:
    return request.context.json  # type: ignore[attr-defined]


def _query() -> Any:
    return request.context.query  # type: ignore[attr-defined]


@bp.get("/orgs/<org>/gemba-walks")
@spec.validate(
    resp=answers(WalkList, "The caller's own walks, latest first.", "404"), operation_id="listGembaWalks"
)
def list_walks(org: str):
    """The caller's own gemba walks in the organisation, latest first (at most 100)."""
    return reply(WalkList(items=[WalkOut.of(w) for w in gemba.my_walks(get_db(), _actor(org))]))


@bp.post("/orgs/<org>/gemba-walks")
@spec.validate(
    json=WalkIn,
    resp=answers(WalkOut, "The walk (made now, or made before with the same client_key).", "404"),
    operation_id="createGembaWalk",
)
def create_walk(org: str):
    """Record a walk and its follow-ups, all or nothing. Idempotent by `client_key`."""
    body: WalkIn = _json()
    recorded = gemba.record_walk(
        get_db(),
        _actor(org),
        gemba.NewWalk(
            unit_id=body.unit_id,
            question_set=body.question_set,
            client_key=body.client_key,
            answers=body.answers,
            observations=body.observations,
            expected_next=body.expected_next,
            follow_ups=[
                follow_ups.NewFollowUp(f.title, f.owner_id, f.due_on, f.description) for f in body.follow_ups
            ],
        ),
    )
    return reply(WalkOut.of(recorded.walk, recorded.created))


@bp.get("/orgs/<org>/gemba-walks/<int:walk_id>")
@spec.validate(resp=answers(WalkOut, "One walk.", "404"), operation_id="getGembaWalk")
def get_walk(org: str, walk_id: int):
    """One walk: its leader's, or any for an org admin."""
    return reply(WalkOut.of(gemba.get_walk(get_db(), _actor(org), walk_id)))


@bp.get("/orgs/<org>/follow-ups")
@spec.validate(
    query=FollowUpsQuery,
    resp=answers(FollowUpList, "Follow-ups: open first by due date, then closed.", "404"),
    operation_id="listFollowUps",
)
def list_follow_ups(org: str):
    """The caller's follow-ups, their units', those escalated to them or raised by them."""
    query: FollowUpsQuery = _query()
    items = follow_ups.listing(get_db(), _actor(org), follow_ups.Scope(query.filter), status=query.status)
    return reply(FollowUpList(items=[FollowUpOut.of(f) for f in items]))


@bp.get("/orgs/<org>/follow-ups/<int:follow_up_id>")
@spec.validate(
    resp=answers(FollowUpOut, "One follow-up with its history.", "404"), operation_id="getFollowUp"
)
def get_follow_up(org: str, follow_up_id: int):
    """One follow-up with every change made to it."""
    item, events = follow_ups.history(get_db(), _actor(org), follow_up_id)
    return reply(FollowUpOut.of(item, events))


@bp.post("/orgs/<org>/follow-ups/<int:follow_up_id>/update")
@spec.validate(
    json=FollowUpChange,
    resp=answers(FollowUpOut, "The follow-up as changed, with its history.", "403", "404"),
    operation_id="updateFollowUp",
)
def update_follow_up(org: str, follow_up_id: int):
    """Change an open follow-up's title, details or due date, or give it to another owner. Its raiser,
    owner and the leader it was escalated to. (A POST to its own address: an address that takes two
    methods would answer an id out of range with 405 rather than 404.)"""
    db, actor, body = get_db(), _actor(org), _json()
    item = follow_ups.get(db, actor, follow_up_id)
    if {"title", "description", "due_on"} & body.model_fields_set:
        follow_ups.update(
            db,
            actor,
            follow_up_id,
            title=body.title if body.title is not None else item.title,
            description=body.description if body.description is not None else item.description,
            due_on=body.due_on or item.due_on,
        )
    if body.owner_id is not None and body.owner_id != item.owner_id:
        follow_ups.reassign(db, actor, follow_up_id, owner_id=body.owner_id, note=body.note)
    # Answered even when the caller gave it away (and so no longer reads it): they made this change.
    return reply(FollowUpOut.of(item, follow_ups.events_of(db, item)))


@bp.post("/orgs/<org>/follow-ups/<int:follow_up_id>/close")
@spec.validate(
    json=CloseRequest,
    resp=answers(FollowUpOut, "The closed follow-up, with its history.", "403", "404"),
    operation_id="closeFollowUp",
)
def close_follow_up(org: str, follow_up_id: int):
    """Close an open follow-up with what was done; the person who raised it is told."""
    db, actor, body = get_db(), _actor(org), _json()
    item = follow_ups.close(db, actor, follow_up_id, resolution=body.resolution)
    return reply(FollowUpOut.of(item, follow_ups.events_of(db, item)))
