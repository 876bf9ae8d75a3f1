"""Personal access tokens for the JSON API (`Authorization: Bearer lms_...`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import ApiToken, User
from lms.security import digest, new_secret
from lms.services import Invalid, audit

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
    db.commit()
    return secret


def user_for_token(db: Session, secret: str) -> User | None:
    """The active user a live token belongs to, else None. Read-only: last use is not written per call."""
    if not secret.startswith(PREFIX):
        return None
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    user = token.user
    return user if user.is_active else None
