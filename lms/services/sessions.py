"""Signed-in browsers, held on the server so that they can be ended there.

The session cookie carries a random key; only its digest is stored. Signing out ends this session; a new
password, an email change, a deactivation and "sign out everywhere" end all of a person's sessions. A
session also ends by itself once it is older than the configured lifetime, whatever the cookie says.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, defer, joinedload, undefer

from lms import signed_in
from lms.db import utcnow
from lms.models import Membership, Organization, OrgUnit, User, UserSession
from lms.security import digest, new_secret
from lms.services.catalogue import LATEST_RELEASE_COLUMNS, release_read

# The signed-in person with their memberships, organisations and units (navigation and the actor need
# them on every page), whether an invitation waits and how many prompts wait for an answer (the menu's
# count), found through a live session, and the latest content release (kept pages are versioned by it):
# one query, its statement built once.
_NOT_ON_EVERY_PAGE = (
    User.password_hash,
    User.created_at,
    User.last_login_at,
    User.totp_secret,
    User.totp_last_step,
)
_MEMBERSHIP_NOT_ON_EVERY_PAGE = (
    Membership.created_at,
    Membership.deactivated_at,
    Membership.employee_id,
    Membership.extra_level,
    Membership.extra_level_days,
)
_USER_BY_SESSION = (
    select(User, UserSession.created_at.label("session_started"), *LATEST_RELEASE_COLUMNS)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        UserSession.key_hash == bindparam("key_hash"),
        UserSession.user_id == bindparam("user_id"),
        UserSession.ended_at.is_(None),
        UserSession.created_at > bindparam("since"),
    )
    .options(
        # Columns no page's navigation or actor reads are left out (each column costs the driver and the
        # ORM work on every request); a page that needs one loads it when it reads it.
        *(defer(c) for c in _NOT_ON_EVERY_PAGE),
        joinedload(User.memberships).options(
            *(defer(c) for c in _MEMBERSHIP_NOT_ON_EVERY_PAGE),
            joinedload(Membership.organization).defer(Organization.created_at),
            joinedload(Membership.unit).defer(OrgUnit.created_at),
        ),
        undefer(User.invited),
        undefer(User.prompts_waiting),
    )
)


def lifetime() -> timedelta:
    return timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])


def start(db: Session, user: User, *, ip: str | None, user_agent: str | None) -> str:
    """Open a session for a person who has just proved who they are; returns the key for the cookie."""
    key = new_secret()
    now = utcnow()
    db.add(
        UserSession(
            user_id=user.id,
            key_hash=digest(key),
            created_at=now,
            ip=(ip or "")[:64],
            user_agent=(user_agent or "")[:255],
        )
    )
    user.last_login_at = now
    db.flush()
    return key


def user_for(db: Session, user_id: int, key: str) -> User | None:
    """The person a live session key belongs to, else None (read only). The latest content release is
    read in the same statement (`catalogue.release_read`).

    On PostgreSQL the worker's copy (`lms.signed_in`) answers instead when it can vouch for the session."""
    key_hash = digest(key)
    since = utcnow() - lifetime()
    copy = signed_in.copy()
    # Only a session with nothing loaded yet takes the copy's objects (they join it as loaded).
    generation = copy.refresh() if copy is not None and not db.identity_map else None
    if generation is not None and (kept := copy.get(user_id, key_hash, since)) is not None:
        user = kept.restore(db)  # joins the session's transaction, which the release is noted for
        release_read(db, *kept.release)
        return user
    row = (
        db.execute(_USER_BY_SESSION, {"key_hash": key_hash, "user_id": user_id, "since": since})
        .unique()
        .one_or_none()
    )
    if row is None:
        return None
    release = (row.release_id, row.release_synced_at)
    release_read(db, *release)
    user: User = row.User
    if generation is not None and user.is_active:
        copy.keep(generation, user_id, key_hash, signed_in.Snapshot.of(user, release, row.session_started))
    return user


def end(db: Session, key: str) -> None:
    """End one session (signing out)."""
    db.execute(
        update(UserSession)
        .where(UserSession.key_hash == digest(key), UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    db.flush()


def end_all(db: Session, user_id: int, *, now: datetime | None = None) -> int:
    """End every session of a person, in the caller's transaction (no commit); returns how many."""
    result = db.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )
    return result.rowcount or 0


def sign_out_everywhere(db: Session, user: User) -> int:
    """The profile's "sign out everywhere": every session of the person ends, this one included."""
    count = end_all(db, user.id)
    db.flush()
    return count


def live(db: Session, user: User) -> list[UserSession]:
    """The person's live sessions, newest first (shown on their profile)."""
    return list(
        db.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),
                UserSession.created_at > utcnow() - lifetime(),
            )
            .order_by(UserSession.created_at.desc())
        )
    )


def is_current(record: UserSession, key: str | None) -> bool:
    return key is not None and record.key_hash == digest(key)
