"""An organisation's SCIM bearer tokens: created and revoked by HR and org admins, stored as digests.

A token acts for the person who created it, with the permissions they hold at the time of each request
(lms.services.access): it stops working the moment they leave or lose HR and org admin, and it never
manages anyone who holds more than they do. Every SCIM change is audited as theirs.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import Membership, ScimRecord, ScimToken, User
from lms.security import digest, new_secret
from lms.services import Invalid, NotFound, audit
from lms.services.access import MANAGES_PEOPLE, Actor
from lms.services.tokens import LAST_USE_STEP

PREFIX = "scim_"


def create(db: Session, actor: Actor, *, name: str, by_operator: bool = False) -> str:
    """Create a token for the actor's organisation, acting for the actor, and return its secret: the only
    time it is shown. `by_operator`: a platform operator made it at the command line (`lms scim token
    create`) for that HR person or org admin, and the audit trail says so."""
    actor.require(*MANAGES_PEOPLE)
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise Invalid("Give the token a name of 1 to 120 characters (the identity provider's, say).", "name")
    secret = new_secret(PREFIX)
    token = ScimToken(
        org_id=actor.org_id, name=name, token_hash=digest(secret), created_by_id=actor.membership.id
    )
    db.add(token)
    db.flush()
    audit.record(
        db,
        actor_id=None if by_operator else actor.user.id,
        org_id=actor.org_id,
        action="scim.token_created",
        target_type="scim_token",
        target_id=token.id,
        changes={
            "name": name,
            "acts_for": actor.user.email,
            **({"made_at": "the command line"} if by_operator else {}),
        },
    )
    db.flush()
    return secret


def live_tokens(db: Session, actor: Actor) -> list[ScimToken]:
    """The organisation's tokens that still work, newest first."""
    actor.require(*MANAGES_PEOPLE)
    return list(
        db.scalars(
            select(ScimToken)
            .where(ScimToken.org_id == actor.org_id, ScimToken.revoked_at.is_(None))
            .order_by(ScimToken.id.desc())
        )
    )


def revoke(db: Session, actor: Actor, token_id: int) -> ScimToken:
    actor.require(*MANAGES_PEOPLE)
    token = db.get(ScimToken, token_id)
    if token is None or token.org_id != actor.org_id:
        raise NotFound("No such SCIM token in this organisation.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.by(
            db,
            actor,
            action="scim.token_revoked",
            target_type="scim_token",
            target_id=token.id,
            changes={"name": token.name},
        )
    db.flush()
    return token


def command_line_actor(db: Session, org_id: int, email: str | None) -> Actor:
    """Whom a token made at the command line acts for: the HR person or org admin named by email, or the
    organisation's first org admin. NotFound when there is none."""
    query = (
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org_id, Membership.active.is_(True))
        .order_by(Membership.id)
    )
    if email:
        query = query.where(User.email == email.strip().lower())
    else:
        query = query.where(Membership.is_org_admin.is_(True))
    for membership in db.scalars(query):
        actor = Actor(membership.user, membership)
        if actor.can(*MANAGES_PEOPLE):
            return actor
    raise NotFound(
        f"No active HR person or org admin {email} in this organisation."
        if email
        else "The organisation has no active org admin: name an HR person with --as."
    )


def actor_for_token(db: Session, secret: str) -> Actor | None:
    """The actor a live token acts for, else None (unknown, revoked, or its creator no longer a usable
    member). Notes the token's use, to within minutes."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = db.scalar(select(ScimToken).where(ScimToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None:
        return None
    creator: Membership = token.created_by
    if not creator.usable or not creator.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or token.last_used_at <= now - LAST_USE_STEP:
        token.last_used_at = now
        db.flush()
    return Actor(creator.user, creator)


def reported(db: Session, actor: Actor, *, limit: int = 50) -> list[ScimRecord]:
    """People whose provider's data could not be applied as sent (a job code with no role, a department
    that is no unit, a name the account's person keeps), latest first: what HR should look at."""
    actor.require(*MANAGES_PEOPLE)
    return [
        record
        for record in db.scalars(
            select(ScimRecord)
            .where(ScimRecord.org_id == actor.org_id, ScimRecord.deleted_at.is_(None))
            .order_by(ScimRecord.updated_at.desc(), ScimRecord.id.desc())
            .limit(limit * 4)
        )
        if record.problems
    ][:limit]
