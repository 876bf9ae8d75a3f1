"""Applying a roster import's plan (lms.services.roster_plan) in the caller's transaction: people added,
invited, changed, deactivated and reactivated, each audited; then dose assignment for everyone the file
changed (dosing.reconcile, set-based) and the coverage aggregates rebuilt once (coverage.deferred).
Writes go in batches, so a file of 50,000 new people is a few hundred statements, not 50,000."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import AuditEvent, Membership, Organization, User
from lms.services import accounts, coverage, dosing, invitations, sessions, tokens
from lms.services.access import Actor
from lms.services.roster_plan import Preview, Step

BATCH = 1000


def write(db: Session, actor: Actor | None, org_id: int, plan: Preview, *, welcome: bool) -> None:
    if not plan.changed:
        return  # importing the same file again changes nothing, and says nothing happened
    actor_id = actor.user.id if actor is not None else None
    org = db.get(Organization, org_id)
    assert org is not None
    with coverage.deferred(db, org_id):
        added = [s for s in plan.steps if s.kind == "add"]
        for start in range(0, len(added), BATCH):
            _add(db, actor_id, org, added[start : start + BATCH], welcome)
        for step in plan.steps:
            if step.kind == "invite":
                _invite(db, actor, org_id, step)
        held = [s for s in plan.steps if s.held is not None]
        for start in range(0, len(held), BATCH):
            _change(db, actor_id, org_id, held[start : start + BATCH])
        dosing.reconcile(db, org_id)
        db.add(
            AuditEvent(
                actor_id=actor_id,
                org_id=org_id,
                action="roster.imported",
                target_type="organization",
                target_id=org_id,
                changes={**{k: v for k, v in plan.counts.items() if v}, "rows": plan.rows},
            )
        )
    db.flush()


def _fields(step: Step) -> dict:
    row = step.row
    return {
        "email": row.email,
        "name": row.name,
        "stakeholder_role": row.role,
        "unit_id": row.unit_id,
        "job_code": row.job_code,
        "employee_id": row.employee_id,
    }


def _snapshot(fields: dict) -> dict:
    role = fields["stakeholder_role"]
    return {**fields, "stakeholder_role": role.value if role else None}


def _add(db: Session, actor_id: int | None, org: Organization, steps: list[Step], welcome: bool) -> None:
    users = [User(email=s.row.email, name=s.row.name) for s in steps]
    db.add_all(users)
    db.flush()
    members = [
        Membership(
            user_id=user.id,
            org_id=org.id,
            unit_id=step.row.unit_id,
            stakeholder_role=step.row.role,
            job_code=step.row.job_code,
            employee_id=step.row.employee_id,
        )
        for user, step in zip(users, steps, strict=True)
    ]
    db.add_all(members)
    db.flush()
    db.add_all(
        AuditEvent(
            actor_id=actor_id,
            org_id=org.id,
            action="person.added",
            target_type="membership",
            target_id=member.id,
            changes={
                **_snapshot(_fields(step)),
                "permissions": [],
                "source": "roster",
                **({"start_date": step.row.start_date.isoformat()} if step.row.start_date else {}),
            },
        )
        for member, step in zip(members, steps, strict=True)
    )
    if welcome:
        for user in users:
            accounts.send_welcome(db, user, org_name=org.name)
    db.flush()
    for obj in (*users, *members):
        db.expunge(obj)  # a batch at a time stays in memory, not the whole file


def _invite(db: Session, actor: Actor | None, org_id: int, step: Step) -> None:
    invitations.invite(db, actor, org_id, _fields(step), ())


def _change(db: Session, actor_id: int | None, org_id: int, steps: list[Step]) -> None:
    ids = [s.held.membership_id for s in steps if s.held is not None]
    members = {m.id: m for m in db.scalars(select(Membership).where(Membership.id.in_(ids)))}
    users = {
        u.id: u for u in db.scalars(select(User).where(User.id.in_([m.user_id for m in members.values()])))
    }
    now = utcnow()
    for step in steps:
        assert step.held is not None
        member = members[step.held.membership_id]
        user = users[member.user_id]
        changes = {k: [_plain(a), _plain(b)] for k, (a, b) in step.changes.items()}
        for name, (_, value) in step.changes.items():
            if name in ("name", "email"):
                setattr(user, name, value)
            elif name != "active":
                setattr(member, name, value)
        if step.kind == "deactivate":
            member.active, member.deactivated_at = False, now
            changes["sessions_ended"] = sessions.end_all(db, member.user_id)
            others = db.scalar(
                select(Membership.id).where(
                    Membership.user_id == member.user_id,
                    Membership.id != member.id,
                    Membership.active.is_(True),
                )
            )
            changes["tokens_revoked"] = 0 if others else tokens.revoke_all(db, member.user_id)
        elif step.kind == "reactivate":
            member.active, member.deactivated_at = True, None
        if "email" in step.changes:
            sessions.end_all(db, user.id)
        action = {
            "deactivate": "person.deactivated",
            "reactivate": "person.reactivated",
        }.get(step.kind, "person.role_changed" if "stakeholder_role" in changes else "person.updated")
        db.add(
            AuditEvent(
                actor_id=actor_id,
                org_id=org_id,
                action=action,
                target_type="membership",
                target_id=member.id,
                changes={**changes, "source": "roster"},
            )
        )
    db.flush()


def _plain(value: object) -> object:
    return getattr(value, "value", value)
