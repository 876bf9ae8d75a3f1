"""Follow-ups: the promises made on a gemba walk (or anywhere), with an owner, a due date and a history.

Who may see and change one (DESIGN.md section 6: gemba walks and follow-ups):
- the person who raised it, its owner, and the leader it was escalated to read it and change it
  (update, reassign, close): the raiser sees what became of their concern;
- the leaders of its unit (a unit leader of that unit, a departmental leader or executive above it) read it:
  it shows on their board as one of their units';
- an org admin reads it;
- anyone else gets NotFound, as for another organisation's follow-up.
Every change is a FollowUpEvent (who, when, what), shown on the follow-up's page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import ColumnElement

from curricula.stakeholders import StakeholderRole
from lms.db import utcnow
from lms.models import (
    FollowUp,
    FollowUpEvent,
    FollowUpEventKind,
    FollowUpStatus,
    GembaWalk,
    Membership,
    Organization,
    OrgUnit,
    Permission,
    User,
)
from lms.services import Forbidden, Invalid, NotFound, coaching, outbox
from lms.services.access import Actor

TITLE_MAX = 200
TEXT_MAX = 10_000
BOARD_LIMIT = 500  # the API's listing answers at most this many
BOARD_PAGE = 50  # follow-ups a section of the board shows on a page

# Who leads a node of the unit tree, by the kind of node (the same rule escalation uses).
LEADER_ROLE_BY_KIND: dict[str, StakeholderRole] = {
    "unit": StakeholderRole.UNIT_LEADER,
    "department": StakeholderRole.DEPARTMENTAL_LEADER,
    "facility": StakeholderRole.EXECUTIVE,
    "system": StakeholderRole.EXECUTIVE,
}


class Scope(StrEnum):
    """The board's sections."""

    MINE = "mine"
    UNITS = "units"
    ESCALATED = "escalated"
    RAISED = "raised"


SCOPE_TITLES = {
    Scope.MINE: "Mine",
    Scope.UNITS: "My units'",
    Scope.ESCALATED: "Escalated to me",
    Scope.RAISED: "Raised by me",
}


@dataclass(frozen=True)
class NewFollowUp:
    title: str
    owner_id: int | None
    due_on: date | None
    description: str = ""
    unit_id: int | None = None


@dataclass(frozen=True)
class CleanFollowUp:
    title: str
    description: str
    owner: Membership
    due_on: date
    unit: OrgUnit | None


def local_today(org: Organization, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(org.time_zone)).date()


def _text(value: str | None, limit: int, field_name: str, label: str, errors: dict[str, list[str]]) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        errors.setdefault(field_name, []).append(
            f"Keep {label} to {limit:,} characters or fewer (it has {len(text):,})."
        )
    return text


def _title(value: str | None, field_name: str, errors: dict[str, list[str]]) -> str:
    title = " ".join((value or "").split())
    if not title:
        errors[field_name] = ["Say what will be done."]
    elif len(title) > TITLE_MAX:
        errors[field_name] = [f"Keep the title to {TITLE_MAX} characters or fewer (it has {len(title)})."]
    return title


def member_of(db: Session, org_id: int, membership_id: int | None) -> Membership | None:
    """An active membership of the organisation by id, or None (another organisation's, unknown, left)."""
    if membership_id is None:
        return None
    membership = db.get(Membership, membership_id)
    if membership is None or membership.org_id != org_id or not membership.active:
        return None
    return membership


def check_new(
    db: Session, actor: Actor, new: NewFollowUp, *, prefix: str = "", today: date | None = None
) -> tuple[CleanFollowUp | None, dict[str, list[str]]]:
    """The cleaned follow-up and no errors, or None and every problem, keyed `prefix` + field name."""
    errors: dict[str, list[str]] = {}
    title = _title(new.title, f"{prefix}title", errors)
    description = _text(new.description, TEXT_MAX, f"{prefix}description", "the details", errors)
    owner = member_of(db, actor.org_id, new.owner_id)
    if owner is None:
        errors[f"{prefix}owner_id"] = [f"Choose an owner who is a member of {actor.org.name}."]
    today = today or local_today(actor.org)
    if new.due_on is None:
        errors[f"{prefix}due_on"] = ["Enter the date it is due, such as " + today.isoformat() + "."]
    elif new.due_on < today:
        errors[f"{prefix}due_on"] = [
            f"The due date {new.due_on.isoformat()} is in the past: choose today ({today.isoformat()}) "
            "or a later date."
        ]
    unit = None
    if new.unit_id is not None:
        unit = db.get(OrgUnit, new.unit_id)
        if unit is None or unit.org_id != actor.org_id or not unit.active:
            errors[f"{prefix}unit_id"] = ["Choose an active unit of this organisation."]
    if errors:
        return None, errors
    assert owner is not None and new.due_on is not None
    return CleanFollowUp(title, description, owner, new.due_on, unit), {}


def add(
    db: Session, actor: Actor, clean: CleanFollowUp, *, unit: OrgUnit, walk: GembaWalk | None
) -> FollowUp:
    """Add a checked follow-up (from `check_new`) and its first event; the owner is told by email."""
    follow_up = FollowUp(
        org_id=actor.org_id,
        walk=walk,
        raised_by_id=actor.membership.id,
        owner_id=clean.owner.id,
        unit_id=(clean.unit or unit).id,
        title=clean.title,
        description=clean.description,
        due_on=clean.due_on,
    )
    db.add(follow_up)
    _event(
        follow_up,
        actor,
        FollowUpEventKind.CREATED,
        {"owner": clean.owner.user.name, "due_on": str(clean.due_on)},
    )
    db.flush()
    if clean.owner.id != actor.membership.id:
        tell(db, clean.owner, follow_up, f"{actor.user.name} asked you to follow up: {follow_up.title}")
    return follow_up


def raise_follow_up(db: Session, actor: Actor, new: NewFollowUp) -> FollowUp:
    """Raise a follow-up outside a walk, in a unit of the organisation (by default the raiser's)."""
    clean, errors = check_new(db, actor, new)
    unit = (clean.unit if clean else None) or actor.membership.unit
    if clean is not None and unit is None:
        errors["unit_id"] = ["Choose the unit this follow-up is about."]
    if errors:
        raise Invalid(errors)
    assert clean is not None and unit is not None
    return add(db, actor, clean, unit=unit, walk=None)


# --- reading ----------------------------------------------------------------------------------------


def _leads(actor: Actor, unit: OrgUnit) -> bool:
    """The actor is a leader of the unit or of a node above it (by stakeholder role and their unit)."""
    mine = actor.membership.unit
    if mine is None or actor.membership.stakeholder_role != LEADER_ROLE_BY_KIND.get(mine.kind.value):
        return False
    return unit.path.startswith(mine.path)


def may_change(actor: Actor, follow_up: FollowUp) -> bool:
    me = actor.membership.id
    return follow_up.org_id == actor.org_id and me in (
        follow_up.raised_by_id,
        follow_up.owner_id,
        follow_up.escalated_to_id,
    )


def may_read(actor: Actor, follow_up: FollowUp) -> bool:
    if follow_up.org_id != actor.org_id:
        return False
    return may_change(actor, follow_up) or actor.can(Permission.ORG_ADMIN) or _leads(actor, follow_up.unit)


def get(db: Session, actor: Actor, follow_up_id: int) -> FollowUp:
    """One follow-up the actor may read (or, reading only, the coach of whoever raised it), or NotFound."""
    follow_up = db.get(FollowUp, follow_up_id)
    if follow_up is None or not (
        may_read(actor, follow_up)
        or (follow_up.org_id == actor.org_id and coaching.coaches_now(db, actor, follow_up.raised_by_id))
    ):
        raise NotFound("No such follow-up.")
    return follow_up


def _for_change(db: Session, actor: Actor, follow_up_id: int) -> FollowUp:
    follow_up = db.get(FollowUp, follow_up_id, with_for_update=True)
    if follow_up is None or not may_read(actor, follow_up):
        raise NotFound("No such follow-up.")
    if not may_change(actor, follow_up):
        raise Forbidden(
            "Only its owner, the person who raised it and the leader it was escalated to change a follow-up."
        )
    return follow_up


def _in_scope(actor: Actor, scope: Scope) -> ColumnElement[bool]:
    me = actor.membership.id
    if scope is Scope.MINE:
        return FollowUp.owner_id == me
    if scope is Scope.ESCALATED:
        return FollowUp.escalated_to_id == me
    if scope is Scope.RAISED:
        return FollowUp.raised_by_id == me
    mine = actor.membership.unit
    if mine is None or actor.membership.stakeholder_role != LEADER_ROLE_BY_KIND.get(mine.kind.value):
        return FollowUp.id.is_(None)  # leads no unit: nothing
    subtree = select(OrgUnit.id).where(OrgUnit.org_id == actor.org_id, OrgUnit.path.startswith(mine.path))
    return FollowUp.unit_id.in_(subtree)


def listing(
    db: Session,
    actor: Actor,
    scope: Scope,
    *,
    status: FollowUpStatus | None = None,
    limit: int = BOARD_LIMIT,
    offset: int = 0,
) -> list[FollowUp]:
    """Follow-ups in one of the board's sections: open ones first by due date, then closed, latest first."""
    query = (
        select(FollowUp)
        .where(FollowUp.org_id == actor.org_id, _in_scope(actor, scope))
        .options(
            selectinload(FollowUp.owner).selectinload(Membership.user),
            selectinload(FollowUp.raised_by).selectinload(Membership.user),
            selectinload(FollowUp.unit),
        )
        .order_by(
            case((FollowUp.status == FollowUpStatus.OPEN, 0), else_=1),
            case((FollowUp.status == FollowUpStatus.OPEN, FollowUp.due_on), else_=None),
            FollowUp.closed_at.desc(),
            FollowUp.id,
        )
        .limit(limit)
        .offset(offset)
    )
    if status is not None:
        query = query.where(FollowUp.status == status)
    return list(db.scalars(query))


@dataclass
class Section:
    """One section of the board: a page of its follow-ups and its exact counts."""

    scope: Scope
    items: list[FollowUp]
    open: int  # open follow-ups in the whole section
    total: int  # follow-ups in the whole section, open and closed
    page: int = 1
    per_page: int = BOARD_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class Board:
    sections: dict[Scope, Section] = field(default_factory=dict)
    today: date | None = None
    counts: dict[Scope, tuple[int, int]] = field(default_factory=dict)  # (open, total) of every section


def section_counts(db: Session, actor: Actor) -> dict[Scope, tuple[int, int]]:
    """Open and all follow-ups in each section of the actor's board, in one query."""
    is_open = FollowUp.status == FollowUpStatus.OPEN
    columns = []
    for scope in Scope:
        inside = _in_scope(actor, scope)
        columns += [func.count(case((and_(inside, is_open), 1))), func.count(case((inside, 1)))]
    row = db.execute(
        select(*columns).where(FollowUp.org_id == actor.org_id, or_(*(_in_scope(actor, s) for s in Scope)))
    ).one()
    return {scope: (row[2 * n] or 0, row[2 * n + 1] or 0) for n, scope in enumerate(Scope)}


def board(
    db: Session, actor: Actor, *, scope: Scope | None = None, page: int = 1, per_page: int = BOARD_PAGE
) -> Board:
    """The actor's board: the first page of every section, or page `page` of one section (`scope`),
    with the exact counts of every section."""
    counts = section_counts(db, actor)
    shown = [scope] if scope is not None else list(Scope)
    sections = {}
    for s in shown:
        at = page if s is scope else 1
        items = listing(db, actor, s, limit=per_page, offset=(at - 1) * per_page)
        sections[s] = Section(s, items, *counts[s], page=at, per_page=per_page)
    return Board(sections, local_today(actor.org), counts)


def history(db: Session, actor: Actor, follow_up_id: int) -> tuple[FollowUp, list[FollowUpEvent]]:
    follow_up = get(db, actor, follow_up_id)
    return follow_up, events_of(db, follow_up)


def events_of(db: Session, follow_up: FollowUp) -> list[FollowUpEvent]:
    """A follow-up's history, oldest first (for one the caller has read or just changed)."""
    return list(
        db.scalars(
            select(FollowUpEvent)
            .where(FollowUpEvent.follow_up_id == follow_up.id)
            .options(selectinload(FollowUpEvent.actor).selectinload(Membership.user))
            .order_by(FollowUpEvent.at, FollowUpEvent.id)
        )
    )


def owners(db: Session, actor: Actor) -> list[Membership]:
    """Who may own a follow-up: the organisation's active members, by name."""
    return list(
        db.scalars(
            select(Membership)
            .join(Membership.user)
            .where(Membership.org_id == actor.org_id, Membership.active)
            .options(selectinload(Membership.user))
            .order_by(User.name, Membership.id)
        )
    )


# --- changing ---------------------------------------------------------------------------------------


def update(
    db: Session, actor: Actor, follow_up_id: int, *, title: str, description: str, due_on: date | None
) -> FollowUp:
    """Change the title, the details or the due date of an open follow-up (the due date not into the past)."""
    follow_up = _for_change(db, actor, follow_up_id)
    _require_open(follow_up)
    errors: dict[str, list[str]] = {}
    new_title = _title(title, "title", errors)
    new_description = _text(description, TEXT_MAX, "description", "the details", errors)
    today = local_today(actor.org)
    if due_on is None:
        errors["due_on"] = ["Enter the date it is due."]
    elif due_on != follow_up.due_on and due_on < today:
        errors["due_on"] = [
            f"The due date {due_on.isoformat()} is in the past: choose today ({today.isoformat()}) or later."
        ]
    if errors:
        raise Invalid(errors)
    changes = _changes(follow_up, {"title": new_title, "description": new_description, "due_on": due_on})
    if changes:
        _event(follow_up, actor, FollowUpEventKind.UPDATED, changes)
        follow_up.updated_at = utcnow()
    db.flush()
    return follow_up


def reassign(
    db: Session, actor: Actor, follow_up_id: int, *, owner_id: int | None, note: str = ""
) -> FollowUp:
    """Give an open follow-up to another member of the organisation, who is told by email."""
    follow_up = _for_change(db, actor, follow_up_id)
    _require_open(follow_up)
    errors: dict[str, list[str]] = {}
    owner = member_of(db, actor.org_id, owner_id)
    if owner is None:
        errors["owner_id"] = [f"Choose an owner who is a member of {actor.org.name}."]
    elif owner.id == follow_up.owner_id:
        errors["owner_id"] = [f"{owner.user.name} owns it already: choose someone else."]
    note = _text(note, TEXT_MAX, "note", "the note", errors)
    if errors:
        raise Invalid(errors)
    assert owner is not None
    detail: dict[str, Any] = {"owner": [follow_up.owner.user.name, owner.user.name]}
    if note:
        detail["note"] = note
    follow_up.owner = owner
    follow_up.updated_at = utcnow()
    _event(follow_up, actor, FollowUpEventKind.REASSIGNED, detail)
    db.flush()
    if owner.id != actor.membership.id:
        tell(db, owner, follow_up, f"{actor.user.name} gave you a follow-up: {follow_up.title}")
    return follow_up


def close(db: Session, actor: Actor, follow_up_id: int, *, resolution: str) -> FollowUp:
    """Close an open follow-up with what was done; the person who raised it is told."""
    follow_up = _for_change(db, actor, follow_up_id)
    _require_open(follow_up)
    errors: dict[str, list[str]] = {}
    text = _text(resolution, TEXT_MAX, "resolution", "the resolution", errors)
    if not text and not errors:
        errors["resolution"] = ["Say what was done, so the person who raised it knows."]
    if errors:
        raise Invalid(errors)
    now = utcnow()
    follow_up.status = FollowUpStatus.CLOSED
    follow_up.resolution = text
    follow_up.closed_at = now
    follow_up.updated_at = now
    _event(follow_up, actor, FollowUpEventKind.CLOSED, {"resolution": text})
    db.flush()
    if follow_up.raised_by_id != actor.membership.id:
        tell(db, follow_up.raised_by, follow_up, f"Closed: {follow_up.title}")
    return follow_up


def _require_open(follow_up: FollowUp) -> None:
    if not follow_up.open:
        raise Invalid("This follow-up is closed; nothing more can change.")


def _changes(follow_up: FollowUp, wanted: Mapping[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for name, value in wanted.items():
        before = getattr(follow_up, name)
        if before != value:
            changes[name] = [str(before), str(value)]
            setattr(follow_up, name, value)
    return changes


def _event(
    follow_up: FollowUp, actor: Actor | None, kind: FollowUpEventKind, detail: Mapping[str, Any]
) -> FollowUpEvent:
    event = FollowUpEvent(
        kind=kind, actor_id=actor.membership.id if actor else None, detail=dict(detail), at=utcnow()
    )
    follow_up.events.append(event)
    return event


def record_event(follow_up: FollowUp, kind: FollowUpEventKind, detail: Mapping[str, Any]) -> FollowUpEvent:
    """An event made by the platform itself (the escalation job): no person acted."""
    return _event(follow_up, None, kind, detail)


def link(follow_up: FollowUp) -> str:
    base = current_app.config.get("BASE_URL", "") if has_app_context() else ""
    return f"{base}/follow-ups/{follow_up.id}"


def tell(db: Session, to: Membership, follow_up: FollowUp, subject: str, why: str = "") -> None:
    """Queue an email about a follow-up: its title, due date and link (never the walk's notes)."""
    outbox.enqueue(
        db,
        to=to.user.email,
        subject=subject,
        body=(
            f"Hello {to.user.name},\n\n{why + chr(10) + chr(10) if why else ''}"
            f"Follow-up: {follow_up.title}\nDue: {follow_up.due_on.isoformat()}\n"
            f"Status: {follow_up.status.value}\n\nSee it and its history: {link(follow_up)}\n"
        ),
    )
