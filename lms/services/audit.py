"""Recording and reading the audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from lms.models import AuditEvent, Membership, OrgUnit, Permission, User
from lms.services import Invalid
from lms.services.access import Actor
from lms.services.search import contains

# The kinds of change an organisation's trail holds, as a person would name them (the action filter).
ACTIONS: dict[str, str] = {
    "person.added": "Person added",
    "person.invited": "Person invited",
    "person.updated": "Details changed",
    "person.role_changed": "Stakeholder role changed",
    "person.permissions_changed": "Permissions changed",
    "person.deactivated": "Person deactivated",
    "person.reactivated": "Person reactivated",
    "person.extra_level_changed": "Extra dose level changed",
    "invitation.accepted": "Invitation accepted",
    "invitation.declined": "Invitation declined",
    "invitation.cancelled": "Invitation withdrawn",
    "invitation.updated": "Invitation changed",
    "unit.added": "Unit added",
    "unit.renamed": "Unit renamed",
    "unit.moved": "Unit moved",
    "unit.archived": "Unit archived",
    "unit.restored": "Unit restored",
    "dosing.policy_changed": "Dosing policy changed",
    "organization.created": "Organisation created",
    "organization.second_factor_required": "Two-step sign-in rule changed",
    "coaching.created": "Coach set",
    "coaching.proposed": "Coaching proposed",
    "coaching.accepted": "Coaching accepted",
    "coaching.declined": "Coaching declined",
    "coaching.withdrawn": "Coaching proposal withdrawn",
    "coaching.ended": "Coaching ended",
    "gemba.settings_changed": "Gemba settings changed",
    "scim.token_created": "SCIM token created",
    "scim.token_revoked": "SCIM token revoked",
    "job_code.mapped": "Job code mapped",
    "job_code.changed": "Job code's role changed",
    "job_code.removed": "Job code mapping removed",
    "roster.imported": "Roster imported",
}


def record(
    db: Session,
    *,
    actor_id: int | None,
    org_id: int | None,
    action: str,
    target_type: str,
    target_id: int | None,
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (the caller commits)."""
    event = AuditEvent(
        actor_id=actor_id,
        org_id=org_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        changes=dict(changes or {}),
    )
    db.add(event)
    return event


def by(
    db: Session,
    actor: Actor,
    *,
    action: str,
    target_type: str,
    target_id: int | None,
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Record what an actor did in their organisation (the caller's transaction)."""
    return record(
        db,
        actor_id=actor.user.id,
        org_id=actor.org_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        changes=changes,
    )


def on_own_account(
    db: Session, user: User, action: str, changes: Mapping[str, Any] | None = None
) -> AuditEvent:
    """Record what a person did to their own account (a password, a second factor): no organisation's."""
    return record(
        db,
        actor_id=user.id,
        org_id=None,
        action=action,
        target_type="user",
        target_id=user.id,
        changes=changes,
    )


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


@dataclass(frozen=True)
class EventFilter:
    """What the trail is narrowed to: a person (name or email, as the actor or the one changed), a kind of
    change (a key of ACTIONS), and days in the organisation's time zone, both ends included."""

    person: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None


@dataclass
class Names:
    """Who and what the events name, for sentences: membership id -> name, a person's membership id here by
    their account id, unit id -> unit."""

    people: dict[int, str] = field(default_factory=dict)
    membership_of_user: dict[int, int] = field(default_factory=dict)
    units: dict[int, OrgUnit] = field(default_factory=dict)


def list_events(
    db: Session,
    actor: Actor,
    *,
    limit: int = 100,
    before_id: int | None = None,
    only: EventFilter | None = None,
) -> list[AuditEvent]:
    """Newest first, for org admins and HR of the actor's organisation; `before_id` pages back."""
    actor.require(Permission.ORG_ADMIN, Permission.HR)
    q = (
        select(AuditEvent)
        .where(AuditEvent.org_id == actor.org_id)
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        q = q.where(AuditEvent.id < before_id)
    if only is not None:
        q = q.where(*_conditions(actor, only))
    return list(db.scalars(q))


def _conditions(actor: Actor, only: EventFilter) -> list[Any]:
    conditions: list[Any] = []
    if only.action:
        if only.action not in ACTIONS:
            raise Invalid("Choose a kind of change from the list.", "action")
        conditions.append(AuditEvent.action == only.action)
    if only.since and only.until and only.since > only.until:
        raise Invalid("The first day must not be after the last day.", "until")
    zone = ZoneInfo(actor.org.time_zone)
    if only.since:
        conditions.append(AuditEvent.created_at >= _start_of(only.since, zone))
    if only.until:
        conditions.append(AuditEvent.created_at < _start_of(only.until + timedelta(days=1), zone))
    text = only.person.strip().lower()
    if text:
        matching = (
            select(Membership.id, Membership.user_id)
            .join(User, Membership.user_id == User.id)
            .where(
                Membership.org_id == actor.org_id,
                or_(contains(func.lower(User.name), text), contains(func.lower(User.email), text)),
            )
        )
        conditions.append(
            or_(
                AuditEvent.actor_id.in_(select(matching.subquery().c.user_id)),
                and_(
                    AuditEvent.target_type == "membership",
                    AuditEvent.target_id.in_(select(matching.subquery().c.id)),
                ),
            )
        )
    return conditions


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of a day in a time zone (the database compares in UTC)."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def names_for(db: Session, actor: Actor, events: Iterable[AuditEvent]) -> Names:
    """The names the events refer to, in the actor's organisation only (two queries)."""
    events = list(events)
    member_ids = {e.target_id for e in events if e.target_type == "membership" and e.target_id}
    user_ids = {e.actor_id for e in events if e.actor_id}
    names = Names()
    if member_ids or user_ids:
        rows = db.execute(
            select(Membership.id, Membership.user_id, User.name)
            .join(User, Membership.user_id == User.id)
            .where(
                Membership.org_id == actor.org_id,
                or_(Membership.id.in_(member_ids), Membership.user_id.in_(user_ids)),
            )
        ).all()
        for membership_id, user_id, name in rows:
            names.people[membership_id] = name
            names.membership_of_user[user_id] = membership_id
    unit_ids = {e.target_id for e in events if e.target_type == "org_unit" and e.target_id}
    unit_ids |= {v for e in events for k, v in e.changes.items() if k == "unit_id" and isinstance(v, int)}
    unit_ids |= {
        side
        for e in events
        for k, v in e.changes.items()
        if k in ("unit_id", "parent") and isinstance(v, list)
        for side in v
        if isinstance(side, int)
    }
    if unit_ids:
        units = db.scalars(select(OrgUnit).where(OrgUnit.org_id == actor.org_id, OrgUnit.id.in_(unit_ids)))
        names.units = {u.id: u for u in units}
    return names
