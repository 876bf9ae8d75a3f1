"""The journal and coaching operations of the JSON API (under /api/v1/orgs/<org>/): the caller's own
journal (entries and module reflections, private unless shared), sharing, coach comments and coaching
relationships; their models are built here from lms/web/api_fields.py's pieces.

A request the state of things refuses (sharing without a coach, a pair that cannot start) answers 409
with the same `fields` a 400 has; a request its model refuses answers 400.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from flask import jsonify, request
from flask_login import current_user
from pydantic import BeforeValidator, Field

from lms.db import get_db
from lms.models import CoachingRelationship, JournalComment
from lms.services import Invalid, catalogue, coaching, journal
from lms.services.access import Actor, actor_for
from lms.web import api_models as m
from lms.web.api import (
    DOCUMENT_HOOKS,
    ERRORS,
    REQUEST_MODELS,
    answers,
    bp,
    fields_at_fault,
    reply,
    spec,
)
from lms.web.api_fields import BLANK, NOT_BLANK, QueryText, Shape, Timestamp, number, whole_float
from lms.web.params import ID_MAX

T = TypeVar("T")
CONFLICT = (m.Error, "The request is well formed but the state of things refuses it: `fields` says why.")
# Werkzeug weighs the method before the id's range: PUT or DELETE of an id too large to be one, at an
# address that takes GET too, answers 405 rather than 404.
OUT_OF_RANGE = (m.Error, "The id is too large to be one (the address takes other methods for real ids).")
ERRORS.update({"405": OUT_OF_RANGE, "409": CONFLICT})
Id = Annotated[int, Field(ge=1, le=ID_MAX, strict=True), BeforeValidator(whole_float)]
Text = Annotated[str, Field(pattern="^[^\\x00]*$", strict=True)]

m.PATH_PARAMETERS.update(
    {
        "entry_id": Annotated[int, Field(ge=1, le=ID_MAX, description="A journal entry's id.")],
        "reflection_id": Annotated[int, Field(ge=1, le=ID_MAX, description="A module reflection's id.")],
        "relationship_id": Annotated[
            int, Field(ge=1, le=ID_MAX, description="A coaching relationship's id.")
        ],
    }
)


# --- requests ----------------------------------------------------------------------------------------


class JournalQuery(m.Query):
    q: Annotated[
        QueryText,
        Field(max_length=journal.SEARCH_MAX, description="Words that must all appear, in any case."),
    ] = ""
    tag: Annotated[
        QueryText, Field(description="Only items with this tag (a component or principle id).")
    ] = ""
    limit: Annotated[number(journal.LIST_MAX), Field(description="At most this many, newest first.")] = 50


class EntryRequest(Shape):
    """An entry: Markdown (raw HTML is shown as text), up to 20,000 characters; tags are the content
    release's framework component and principle ids (the served document lists them)."""

    refusals: ClassVar[dict[str, str]] = {
        "body/string_pattern_mismatch": journal.BODY_EMPTY,
        "body/string_too_long": journal.BODY_TOO_LONG,
        "title/string_too_long": journal.TITLE_TOO_LONG,
    }

    title: Annotated[Text, Field(max_length=journal.TITLE_MAX)] = ""
    body: Annotated[str, Field(pattern=NOT_BLANK, max_length=journal.BODY_MAX, strict=True)]
    tags: Annotated[list[Text], Field(max_length=50)] = []


class CommentRequest(Shape):
    refusals: ClassVar[dict[str, str]] = {"body/string_pattern_mismatch": journal.COMMENT_EMPTY}

    body: Annotated[str, Field(pattern=NOT_BLANK, max_length=journal.COMMENT_MAX, strict=True)]


class RelationshipRequest(Shape):
    """An org admin sets a member's coach (membership ids, `Person.id`)."""

    coach_id: Id
    coachee_id: Id


class ProposalRequest(Shape):
    """A coach proposes to coach the member with this email."""

    email: Annotated[str, Field(pattern=NOT_BLANK, max_length=254, strict=True)]


REQUEST_MODELS.update({model.__name__: model for model in (EntryRequest, CommentRequest, ProposalRequest)})


# --- answers -----------------------------------------------------------------------------------------


class CommentOut(Shape):
    id: int
    author: str
    body: str
    created_at: Timestamp

    @classmethod
    def of(cls, c: JournalComment) -> CommentOut:
        return cls(id=c.id, author=c.author.name, body=c.body, created_at=c.created_at)


class JournalItemOut(Shape):
    """An entry, or a module reflection (`module_slug` names its module; edit it there)."""

    kind: Literal["entry", "reflection"]
    id: int
    title: str
    body: Annotated[str, Field(description="As written: Markdown for an entry.")]
    html: Annotated[str, Field(description="The body rendered as modules are (raw HTML shown as text).")]
    tags: list[str]
    source: Annotated[str, Field(description="entry, prompt (an answer to a reflection prompt) or module.")]
    created_at: Timestamp
    updated_at: Timestamp
    shared: bool
    shared_at: Timestamp | None
    module_slug: str | None

    @classmethod
    def of(cls, i: journal.JournalItem, **more: Any) -> Any:
        return cls(
            kind=i.kind,
            id=i.id,
            title=i.title,
            body=i.body,
            html=i.html,
            tags=i.tags,
            source=i.source,
            created_at=i.created_at,
            updated_at=i.updated_at,
            shared=i.shared,
            shared_at=i.shared_at,
            module_slug=i.module_slug or None,
            **more,
        )


class JournalItemDetail(JournalItemOut):
    comments: list[CommentOut]

    @classmethod
    def of_item(cls, i: journal.JournalItem) -> JournalItemDetail:
        return cls.of(i, comments=[CommentOut.of(c) for c in i.comments])


class JournalList(Shape):
    items: list[JournalItemOut]


class Deleted(Shape):
    id: int
    deleted: bool


class MemberRef(Shape):
    id: Annotated[int, Field(description="The membership id (`Person.id`).")]
    name: str


class RelationshipOut(Shape):
    id: int
    coach: MemberRef
    coachee: MemberRef
    status: Literal["proposed", "active", "ended"]
    end_reason: str | None
    started_at: Timestamp
    accepted_at: Timestamp | None
    ended_at: Timestamp | None

    @classmethod
    def of(cls, r: CoachingRelationship) -> RelationshipOut:
        return cls(
            id=r.id,
            coach=MemberRef(id=r.coach_id, name=r.coach.user.name),
            coachee=MemberRef(id=r.coachee_id, name=r.coachee.user.name),
            status="active" if r.active else "proposed" if r.pending else "ended",
            end_reason=r.end_reason,
            started_at=r.started_at,
            accepted_at=r.accepted_at,
            ended_at=r.ended_at,
        )


class CoachingOut(Shape):
    """The caller's coaching: their coach, proposals waiting for their answer, whom they coach (with the
    titles of what each shared lately: never private entries, nor how many there are), their proposals."""

    coach: RelationshipOut | None
    proposals: list[RelationshipOut]
    coachees: list[RelationshipOut]
    proposed: list[RelationshipOut]


# --- helpers -------------------------------------------------------------------------------------------


def _bodiless(req, resp, error, instance, model_adapter) -> None:
    """The `before` hook of a write that takes no body (delete, share, accept): none is needed."""
    if error is not None:
        raise Invalid(fields_at_fault(error))


@contextmanager
def _conflicts() -> Iterator[None]:
    """A service's refusal of a well-formed request, answered 409 (the body is validated already)."""
    try:
        yield
    except Invalid as exc:
        raise Conflict(exc.errors) from exc


class Conflict(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(msg for msgs in errors.values() for msg in msgs))


@bp.errorhandler(Conflict)
def _conflict(exc: Conflict):
    return jsonify(error=str(exc), status=409, fields=exc.errors), 409


def _run(change: Callable[[], T]) -> T:
    with _conflicts():
        return change()


def _actor(org: str) -> Actor:
    return actor_for(current_user, org)  # type: ignore[arg-type]


def _query() -> Any:
    return request.context.query  # type: ignore[attr-defined]


def _json() -> Any:
    return request.context.json  # type: ignore[attr-defined]


def _list_tags(doc: dict, vocabulary: catalogue.Vocabulary | None) -> None:
    """The tags an entry and the list's filter take: the content release's components and principles."""
    if vocabulary is None:
        return
    tags = [t.id for t in (*vocabulary.components, *vocabulary.principles)]
    if not tags:
        return  # before the first content sync no tag exists, and every tag is refused
    enum = {"type": "string", "enum": tags}
    doc["components"]["schemas"]["EntryRequest"]["properties"]["tags"]["items"] = enum
    for operation in doc["paths"].get("/orgs/{org}/journal", {}).values():
        for parameter in operation["parameters"]:
            if parameter["name"] == "tag":
                parameter["schema"] = {"anyOf": [enum, BLANK], "default": ""}
    doc["components"]["schemas"].pop(JournalQuery.__name__, None)


DOCUMENT_HOOKS.append(_list_tags)


# --- the caller's journal ------------------------------------------------------------------------------


@bp.get("/orgs/<org>/journal")
@spec.validate(
    query=JournalQuery,
    resp=answers(JournalList, "The caller's entries and module reflections, newest first.", "404"),
    operation_id="listJournal",
)
def list_journal(org: str):
    """The caller's own journal in the organisation: entries and module reflections. Nobody else's."""
    query: JournalQuery = _query()
    items = journal.list_journal(
        get_db(), _actor(org), q=query.q, tags=[query.tag] if query.tag else [], limit=query.limit
    )
    return reply(JournalList(items=[JournalItemOut.of(i) for i in items]))


@bp.post("/orgs/<org>/journal/entries")
@spec.validate(
    json=EntryRequest,
    resp=answers(JournalItemDetail, "The new entry: private.", "404"),
    operation_id="createJournalEntry",
)
def create_entry(org: str):
    """Write a new entry, private to the caller."""
    body: EntryRequest = _json()
    actor = _actor(org)
    entry = journal.write_entry(get_db(), actor, title=body.title, body=body.body, tags=body.tags)
    return reply(JournalItemDetail.of_item(journal.entry_page(get_db(), actor, entry.id)))


@bp.get("/orgs/<org>/journal/entries/<int:entry_id>")
@spec.validate(
    resp=answers(JournalItemDetail, "One of the caller's entries, with comments.", "404"),
    operation_id="getJournalEntry",
)
def get_entry(org: str, entry_id: int):
    """One of the caller's own entries with their coach's comments; 404 for anyone else's."""
    return reply(JournalItemDetail.of_item(journal.entry_page(get_db(), _actor(org), entry_id)))


@bp.put("/orgs/<org>/journal/entries/<int:entry_id>")
@spec.validate(
    json=EntryRequest,
    resp=answers(JournalItemDetail, "The entry as changed.", "404", "405"),
    operation_id="updateJournalEntry",
)
def update_entry(org: str, entry_id: int):
    """Change one's own entry (a shared entry stays shared)."""
    body: EntryRequest = _json()
    actor = _actor(org)
    journal.edit_entry(get_db(), actor, entry_id, title=body.title, body=body.body, tags=body.tags)
    return reply(JournalItemDetail.of_item(journal.entry_page(get_db(), actor, entry_id)))


@bp.delete("/orgs/<org>/journal/entries/<int:entry_id>")
@spec.validate(
    resp=answers(Deleted, "The entry and its comments are deleted.", "404", "405"),
    operation_id="deleteJournalEntry",
    before=_bodiless,
)
def delete_entry(org: str, entry_id: int):
    """Delete one's own entry and the comments on it, for good."""
    journal.delete_entry(get_db(), _actor(org), entry_id)
    return reply(Deleted(id=entry_id, deleted=True))


@bp.get("/orgs/<org>/journal/reflections/<int:reflection_id>")
@spec.validate(
    resp=answers(JournalItemDetail, "One of the caller's module reflections, with comments.", "404"),
    operation_id="getJournalReflection",
)
def get_reflection(org: str, reflection_id: int):
    """One of the caller's own module reflections (write it with saveReflection)."""
    return reply(JournalItemDetail.of_item(journal.reflection_page(get_db(), _actor(org), reflection_id)))


def _sharing_route(kind: str, share: bool) -> None:
    noun = "entries" if kind == "entry" else "reflections"
    arg = f"{kind}_id"
    verb = "share" if share else "unshare"

    def view(org: str, **ids: int):
        actor = _actor(org)
        item_id = ids[arg]
        if share:
            _run(lambda: journal.share(get_db(), actor, kind, item_id))
        else:
            journal.unshare(get_db(), actor, kind, item_id)
        page = journal.entry_page if kind == "entry" else journal.reflection_page
        return reply(JournalItemDetail.of_item(page(get_db(), actor, item_id)))

    name = f"{verb}_{kind}"
    view.__name__ = name
    view.__doc__ = (
        f"Share one's own {kind} with one's current coach in the organisation (409 without one)."
        if share
        else f"Make one's own {kind} private again: the coach no longer reads it."
    )
    summary = f"The {kind}, {'shared' if share else 'private'}."
    operation = f"{verb}Journal{kind.capitalize()}"
    errors = ("404", "409") if share else ("404",)
    validated = spec.validate(
        resp=answers(JournalItemDetail, summary, *errors), operation_id=operation, before=_bodiless
    )(view)
    bp.add_url_rule(f"/orgs/<org>/journal/{noun}/<int:{arg}>/{verb}", name, validated, methods=["POST"])


for _kind in ("entry", "reflection"):
    _sharing_route(_kind, share=True)
    _sharing_route(_kind, share=False)


# --- coaching --------------------------------------------------------------------------------------------


@bp.get("/orgs/<org>/coaching")
@spec.validate(resp=answers(CoachingOut, "The caller's coaching.", "404"), operation_id="getMyCoaching")
def my_coaching(org: str):
    """The caller's coach, the proposals waiting for their answer, whom they coach and their proposals."""
    mine = coaching.my_coaching(get_db(), _actor(org))
    return reply(
        CoachingOut(
            coach=RelationshipOut.of(mine.coach) if mine.coach else None,
            proposals=[RelationshipOut.of(r) for r in mine.proposals],
            coachees=[RelationshipOut.of(r) for r in mine.coachees],
            proposed=[RelationshipOut.of(r) for r in mine.proposed],
        )
    )


@bp.post("/orgs/<org>/coaching/relationships")
@spec.validate(
    json=RelationshipRequest,
    resp=answers(RelationshipOut, "The relationship, active.", "403", "404", "409"),
    operation_id="createCoachingRelationship",
)
def create_relationship(org: str):
    """An org admin sets a member's coach, at once (ending the member's current coaching, if any)."""
    body: RelationshipRequest = _json()
    actor = _actor(org)
    rel = _run(lambda: coaching.create(get_db(), actor, coach_id=body.coach_id, coachee_id=body.coachee_id))
    return reply(RelationshipOut.of(rel))


@bp.post("/orgs/<org>/coaching/proposals")
@spec.validate(
    json=ProposalRequest,
    resp=answers(RelationshipOut, "The proposal, waiting for the member's answer.", "403", "404", "409"),
    operation_id="proposeCoaching",
)
def propose(org: str):
    """A coach proposes to coach a member (by email); it starts when they accept."""
    body: ProposalRequest = _json()
    actor = _actor(org)
    return reply(RelationshipOut.of(_run(lambda: coaching.propose(get_db(), actor, email=body.email))))


def _relationship_route(verb: str, change: Callable[..., CoachingRelationship], doc: str) -> None:
    def view(org: str, relationship_id: int):
        actor = _actor(org)
        return reply(RelationshipOut.of(_run(lambda: change(get_db(), actor, relationship_id))))

    view.__name__ = f"{verb}_relationship"
    view.__doc__ = doc
    validated = spec.validate(
        resp=answers(RelationshipOut, "The relationship as it now stands.", "404", "409"),
        operation_id=f"{verb}CoachingRelationship",
        before=_bodiless,
    )(view)
    rule = f"/orgs/<org>/coaching/relationships/<int:relationship_id>/{verb}"
    bp.add_url_rule(rule, view.__name__, validated, methods=["POST"])


_relationship_route("accept", coaching.accept, "The coachee accepts a coach's proposal.")
_relationship_route("decline", coaching.decline, "The coachee declines a coach's proposal.")
_relationship_route("end", coaching.end, "The coach, the coachee or an org admin ends a relationship.")


@bp.get("/orgs/<org>/coaching/coachees/<int:membership_id>/shared")
@spec.validate(
    resp=answers(JournalList, "What the coachee shares with the caller, newest first.", "404"),
    operation_id="listSharedWithMe",
)
def shared_with_me(org: str, membership_id: int):
    """For the coachee's active coach: the entries and reflections they share, nothing else."""
    items = journal.shared_by(get_db(), _actor(org), membership_id)
    return reply(JournalList(items=[JournalItemOut.of(i) for i in items]))


def _shared_routes(kind: str) -> None:
    noun = "entries" if kind == "entry" else "reflections"
    arg = f"{kind}_id"

    def read(org: str, **ids: int):
        return reply(JournalItemDetail.of_item(journal.shared_item(get_db(), _actor(org), kind, ids[arg])))

    def comment(org: str, **ids: int):
        body: CommentRequest = _json()
        return reply(CommentOut.of(journal.add_comment(get_db(), _actor(org), kind, ids[arg], body.body)))

    read.__name__, comment.__name__ = f"shared_{kind}", f"comment_on_{kind}"
    read.__doc__ = f"A {kind} shared with the caller as its author's coach, with the comments on it."
    comment.__doc__ = f"The coach comments on a {kind} shared with them; its author reads it."
    rule = f"/orgs/<org>/coaching/shared/{noun}/<int:{arg}>"
    title = kind.capitalize()
    bp.add_url_rule(
        rule,
        read.__name__,
        spec.validate(
            resp=answers(JournalItemDetail, f"The shared {kind}.", "404"), operation_id=f"getShared{title}"
        )(read),
        methods=["GET"],
    )
    bp.add_url_rule(
        f"{rule}/comments",
        comment.__name__,
        spec.validate(
            json=CommentRequest,
            resp=answers(CommentOut, "The comment.", "404"),
            operation_id=f"commentOnShared{title}",
        )(comment),
        methods=["POST"],
    )


_shared_routes("entry")
_shared_routes("reflection")
