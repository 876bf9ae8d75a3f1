"""Invitations: how an organisation adds a person whose account exists already.

An account is its person's (DESIGN.md section 6). An organisation that adds an email known elsewhere does
not join that account to itself: it invites the person, by email and by a notice on their home page, and
the person accepts while signed in. Until then the organisation sees only what it typed; the account's
name and everything else it holds stay out of sight.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import Invitation, Membership, Organization, Permission, User
from lms.services import Invalid, NotFound, audit, dosing, outbox
from lms.services.access import MANAGES_PEOPLE, Actor


def invite(
    db: Session,
    actor: Actor | None,
    org_id: int,
    fields: dict[str, Any],
    permissions: Iterable[Permission],
) -> Invitation:
    """Invite the holder of an existing account (`fields` are a person's cleaned details); the caller
    has checked who may add people. Emails the person; the caller commits."""
    already = db.scalar(
        select(Invitation.id).where(
            Invitation.org_id == org_id, Invitation.email == fields["email"], Invitation.open
        )
    )
    if already is not None:
        raise Invalid("This person has been invited already and has not answered yet.", "email")
    invitation = Invitation(
        org_id=org_id,
        email=fields["email"],
        name=fields["name"],
        unit_id=fields["unit_id"],
        job_code=fields["job_code"],
        employee_id=fields["employee_id"],
        stakeholder_role=fields["stakeholder_role"],
        permissions_granted=",".join(sorted(p.value for p in permissions)),
        invited_by_id=actor.user.id if actor else None,
    )
    db.add(invitation)
    db.flush()
    org = db.get(Organization, org_id)
    assert org is not None
    audit.record(
        db,
        actor_id=actor.user.id if actor else None,
        org_id=org_id,
        action="person.invited",
        target_type="invitation",
        target_id=invitation.id,
        changes={"email": invitation.email, "name": invitation.name},
    )
    outbox.enqueue(
        db,
        to=invitation.email,
        subject=f"{org.name} invites you to join it on Lead with Quality",
        body=(
            f"Hello,\n\n{org.name} would like to add you to its organisation on Lead with Quality, where "
            f"you already have an account as {invitation.email}.\n"
            "Nothing is shared with them until you accept. To answer, sign in and look at your home "
            "page:\n\n"
            f"{current_app.config['BASE_URL']}/\n\n"
            "If you do not know this organisation, decline the invitation or ignore this email.\n"
        ),
    )
    return invitation


def waiting_in_org(db: Session, actor: Actor) -> list[Invitation]:
    """The organisation's invitations that have no answer yet, newest first (HR and org admins)."""
    actor.require(*MANAGES_PEOPLE)
    return list(
        db.scalars(
            select(Invitation)
            .where(Invitation.org_id == actor.org_id, Invitation.open)
            .order_by(Invitation.id.desc())
        )
    )


def cancel(db: Session, actor: Actor, invitation_id: int) -> Invitation:
    """Withdraw an invitation that has no answer yet."""
    actor.require(*MANAGES_PEOPLE)
    invitation = db.get(Invitation, invitation_id)
    if invitation is None or invitation.org_id != actor.org_id or not invitation.open:
        raise NotFound("No such invitation waiting in this organisation.")
    invitation.closed_at = utcnow()
    invitation.closed_reason = "cancelled"
    audit.by(
        db,
        actor,
        action="invitation.cancelled",
        target_type="invitation",
        target_id=invitation.id,
        changes={"email": invitation.email},
    )
    db.flush()
    return invitation


def waiting_for(db: Session, user: User) -> list[Invitation]:
    """Invitations addressed to this person's email that have no answer yet (their home page)."""
    return list(
        db.scalars(
            select(Invitation).where(Invitation.email == user.email, Invitation.open).order_by(Invitation.id)
        )
    )


def accept(db: Session, user: User, invitation_id: int) -> Membership:
    """Join the inviting organisation with the details it typed; the person's own name and email stay."""
    invitation = _addressed_to(db, user, invitation_id)
    if db.scalar(
        select(Membership.id).where(Membership.user_id == user.id, Membership.org_id == invitation.org_id)
    ):
        raise Invalid(f"You already belong to {invitation.organization.name}.")
    employee_id = invitation.employee_id
    if employee_id and db.scalar(
        select(Membership.id).where(
            Membership.org_id == invitation.org_id, Membership.employee_id == employee_id
        )
    ):
        employee_id = None  # taken since: HR sets it again; the person is not kept out for it
    unit_id = invitation.unit_id if invitation.unit is None or invitation.unit.active else None
    membership = Membership(
        user_id=user.id,
        org_id=invitation.org_id,
        unit_id=unit_id,
        stakeholder_role=invitation.stakeholder_role,
        job_code=invitation.job_code,
        employee_id=employee_id,
        **{f"is_{p.value}": True for p in invitation.permissions},
    )
    db.add(membership)
    db.flush()
    invitation.accepted_at = utcnow()
    invitation.membership_id = membership.id
    audit.record(
        db,
        actor_id=user.id,
        org_id=invitation.org_id,
        action="invitation.accepted",
        target_type="membership",
        target_id=membership.id,
        changes={"email": user.email, "name": user.name},
    )
    dosing.plan_for(db, membership)
    db.flush()
    db.refresh(user)
    return membership


def decline(db: Session, user: User, invitation_id: int) -> Invitation:
    invitation = _addressed_to(db, user, invitation_id)
    invitation.closed_at = utcnow()
    invitation.closed_reason = "declined"
    audit.record(
        db,
        actor_id=user.id,
        org_id=invitation.org_id,
        action="invitation.declined",
        target_type="invitation",
        target_id=invitation.id,
        changes={"email": invitation.email},
    )
    db.flush()
    return invitation


def _addressed_to(db: Session, user: User, invitation_id: int) -> Invitation:
    """An open invitation to this person's current email; NotFound for any other."""
    invitation = db.get(Invitation, invitation_id)
    if invitation is None or invitation.email != user.email or not invitation.open:
        raise NotFound("No such invitation is waiting for you.")
    return invitation
