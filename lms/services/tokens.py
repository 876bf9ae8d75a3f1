"""Personal access tokens for the JSON API (`Authorization: Bearer lms_...`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import ApiToken, User
from lms.security import digest, new_secret
from lms.services import Invalid, NotFound, audit

PREFIX = "lms_"


def create_token(db: Session, user: User, *, name: str, days: int | None = None) -> str:
    """Create a token and return its secret: the only time it is ever shown."""
    name = name.strip()
    if not name or len(name) > 120:
        raise Invalid("Give the token a name of 1 to 120 characters.", "name")
    if days is not None and days < 1:
        raise Invalid("A token must live at least one day.", "days")
    secret = new_secret(PREFIX)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=digest(secret),
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    db.add(token)
    db.flush()
    audit.record(
        db,
        actor_id=user.id,
        org_id=None,
        action="token.created",
        target_type="api_token",
        target_id=token.id,
        changes={"name": name, "expires_at": str(token.expires_at)},
    )
    db.flush()
    return secret


LAST_USE_STEP = timedelta(minutes=5)  # last use is written at most this often, not on every call


def user_for_token(db: Session, secret: str) -> User | None:
    """The active user a live token belongs to, else None. Notes the token's use (to within minutes)."""
    if not secret.startswith(PREFIX):
        return None
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    user = token.user
    if not user.is_active:
        return None
    if token.last_used_at is None or token.last_used_at <= now - LAST_USE_STEP:
        token.last_used_at = now
        db.flush()
    return user


def tokens_of(db: Session, user: User) -> list[ApiToken]:
    """A person's tokens that still work, newest first (their profile)."""
    now = utcnow()
    return list(
        db.scalars(
            select(ApiToken)
            .where(
                ApiToken.user_id == user.id,
                ApiToken.revoked_at.is_(None),
                (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now),
            )
            .order_by(ApiToken.id.desc())
        )
    )


def revoke(db: Session, token_id: int, *, owner: User | None) -> ApiToken:
    """Revoke one token: the owner's own (from the profile), or any (`owner=None`: an operator)."""
    token = db.get(ApiToken, token_id)
    if token is None or (owner is not None and token.user_id != owner.id):
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            db,
            actor_id=owner.id if owner else None,
            org_id=None,
            action="token.revoked",
            target_type="api_token",
            target_id=token.id,
            changes={"name": token.name},
        )
    db.flush()
    return token


def revoke_all(db: Session, user_id: int) -> int:
    """Revoke every live token of a person, in the caller's transaction (no commit); returns how many."""
    result = db.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0
