"""Recording and reading the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lms.models import AuditEvent, Permission, User
from lms.services.access import Actor


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


def list_events(
    db: Session, actor: Actor, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEvent]:
    """Newest first, for org admins and HR of the actor's organisation."""
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
    return list(db.scalars(q))
