"""Signing in (with rate limiting) and resetting a forgotten password by an emailed link.

Neither flow tells a stranger whether an email has an account: a wrong password and an unknown email
get the same message after the same work, and a reset request answers the same either way.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import Invitation, LoginAttempt, PasswordResetToken, User
from lms.security import digest, hash_password, new_secret, password_needs_rehash, verify_password
from lms.services import Invalid, Throttled, audit, outbox, sessions

NO_MATCH = "That email and password do not match an account."
NOT_ACTIVE = "This account is not active. Ask your organisation's administrator."
LINK_UNKNOWN = "This reset link is not valid. Ask for a new one."
LINK_EXPIRED = "This reset link has expired. Ask for a new one."
LINK_USED = "This reset link has already been used. Ask for a new one if you need to."

PASSWORD_MIN, PASSWORD_MAX = 10, 128
RESETS_PER_HOUR = 3
IP_FACTOR = 4  # one address (a ward PC, a hospital's NAT) may fail this many times more than one email


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- signing in ---------------------------------------------------------------------------------


def sign_in(db: Session, *, email: str, password: str, ip: str | None) -> User:
    """The user these credentials belong to, if they may sign in; every attempt is recorded."""
    email = normalise_email(email)[:254]
    ip = (ip or "unknown")[:64]
    now = utcnow()
    _check_throttle(db, email=email, ip=ip, now=now)

    user = db.scalar(select(User).where(User.email == email))
    matches = verify_password(user.password_hash if user else None, password)
    succeeded = user is not None and matches and may_sign_in(db, user)
    db.add(LoginAttempt(email=email, ip=ip, succeeded=succeeded, attempted_at=now))
    if user is not None and succeeded and user.password_hash and password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.flush()

    if user is None or not matches:
        raise Invalid(NO_MATCH)
    if not succeeded:
        raise Invalid(NOT_ACTIVE)
    return user


def may_sign_in(db: Session, user: User) -> bool:
    """An account signs in while it is active and belongs to an active organisation that is not archived,
    while an invitation waits for it (someone who has left one organisation can still accept another's),
    or when it is a platform operator's (who may belong to no organisation)."""
    if not user.active:
        return False
    if user.is_operator or any(m.usable for m in user.memberships):
        return True
    waiting = select(Invitation.id).where(Invitation.email == user.email, Invitation.open).limit(1)
    return db.scalar(waiting) is not None


def record_attempt(db: Session, *, email: str, ip: str | None, succeeded: bool) -> None:
    """Record one attempt at a sign-in step after the password (the second factor).

    A refused step answers 4xx: the view keeps the attempt anyway (lms.db.keep_refused)."""
    db.add(
        LoginAttempt(email=email[:254], ip=(ip or "unknown")[:64], succeeded=succeeded, attempted_at=utcnow())
    )
    db.flush()


def check_throttle(db: Session, *, email: str, ip: str | None) -> None:
    """Raise Throttled while an email or an address has failed too often (the second factor counts)."""
    _check_throttle(db, email=email[:254], ip=(ip or "unknown")[:64], now=utcnow())


def _check_throttle(db: Session, *, email: str, ip: str, now: datetime) -> None:
    window = timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    since = now - window
    for column, value, allowed in (
        (LoginAttempt.email, email, limit),
        (LoginAttempt.ip, ip, limit * IP_FACTOR),
    ):
        failures = select(LoginAttempt.attempted_at).where(
            column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at > since
        )
        count = db.scalar(select(func.count()).select_from(failures.subquery())) or 0
        if count < allowed:
            continue
        # Sign-in opens again when enough failures have left the window to bring the count below the limit.
        reopening = (
            db.scalar(failures.order_by(LoginAttempt.attempted_at).offset(count - allowed).limit(1)) or now
        )
        minutes = max(1, math.ceil((reopening + window - now).total_seconds() / 60))
        raise Throttled(
            f"Too many sign-in attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            retry_after_minutes=minutes,
        )


ATTEMPTS_KEPT = timedelta(days=30)  # long enough to look into a burst of failed sign-ins


def forget_old_attempts(db: Session, *, now: datetime | None = None) -> int:
    """Delete sign-in attempts older than ATTEMPTS_KEPT (throttling reads only the last minutes)."""
    cutoff = (now or utcnow()) - ATTEMPTS_KEPT
    deleted = db.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < cutoff)).rowcount
    db.flush()
    return deleted or 0


# --- password reset -----------------------------------------------------------------------------


WELCOME_DAYS = 7  # how long the link to choose a first password stays valid


def request_password_reset(db: Session, *, email: str) -> None:
    """Email a reset link if an active account uses this address; answer the same either way."""
    user = db.scalar(select(User).where(User.email == normalise_email(email)[:254]))
    if user is None or not may_sign_in(db, user):
        return
    now = utcnow()
    recent = db.scalar(
        select(func.count())
        .select_from(PasswordResetToken)
        .where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.created_at > now - timedelta(hours=1)
        )
    )
    if (recent or 0) >= RESETS_PER_HOUR:
        return  # silently: the person already has fresh links, and nobody can flood their inbox
    minutes = current_app.config["RESET_TOKEN_MINUTES"]
    link = _password_link(db, user, purpose="reset", valid=timedelta(minutes=minutes))
    outbox.enqueue(
        db,
        to=user.email,
        subject="Reset your Lead with Quality password",
        body=(
            f"Hello {user.name},\n\n"
            "Someone, hopefully you, asked to reset the password of your Lead with Quality account.\n"
            f"To choose a new password, open this link within {minutes} minutes:\n\n"
            f"{link}\n\n"
            "The link works once. If you did not ask for it, ignore this email: your password stays "
            "as it is.\n"
        ),
    )
    db.flush()


def send_welcome(db: Session, user: User, *, org_name: str) -> None:
    """Email a new account's holder a link to choose their first password (the caller commits).

    Any link sent before (to this or an earlier address) stops working."""
    cancel_password_links(db, user)
    link = _password_link(db, user, purpose="welcome", valid=timedelta(days=WELCOME_DAYS))
    outbox.enqueue(
        db,
        to=user.email,
        subject=f"{org_name} has created your Lead with Quality account",
        body=(
            f"Hello {user.name},\n\n"
            f"{org_name} has created a Lead with Quality account for you, to sign in as {user.email}.\n"
            f"To choose your password, open this link within {WELCOME_DAYS} days:\n\n"
            f"{link}\n\n"
            "The link works once. If it expires, ask for a new one on the sign-in page with "
            '"Forgot your password?".\n'
        ),
    )


def cancel_password_links(db: Session, user: User) -> None:
    """Every unused reset or welcome link of this person stops working (the caller commits)."""
    db.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


def _password_link(db: Session, user: User, *, purpose: str, valid: timedelta) -> str:
    secret = new_secret()
    now = utcnow()
    db.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=digest(secret),
            created_at=now,
            expires_at=now + valid,
            purpose=purpose,
        )
    )
    # The link is built from the configured address, never from the request's Host header, which an
    # attacker could set to their own site to harvest the secret.
    return f"{current_app.config['BASE_URL']}/reset/{secret}"


def check_reset_link(db: Session, *, secret: str) -> PasswordResetToken:
    """The reset or welcome link, or Invalid with the reason it cannot be used (read only)."""
    return _usable_token(db, secret, utcnow())


def reset_password(db: Session, *, secret: str, password: str, confirm: str) -> User:
    """Set a new password through a reset link; signs the person out everywhere else."""
    now = utcnow()
    token = _usable_token(db, secret, now)
    user = token.user
    errors = password_problems(password, confirm, email=user.email)
    if errors:
        raise Invalid(errors)

    user.password_hash = hash_password(password)
    cancel_password_links(db, user)
    ended = sessions.end_all(db, user.id, now=now)
    audit.on_own_account(
        db,
        user,
        "password.chosen" if token.purpose == "welcome" else "password.reset",
        {"other_links_cancelled": True, "sessions_ended": ended},
    )
    db.flush()
    return user


def _usable_token(db: Session, secret: str, now: datetime) -> PasswordResetToken:
    token = db.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == digest(secret)))
    if token is None or not may_sign_in(db, token.user):
        raise Invalid(LINK_UNKNOWN)
    if token.used_at is not None:
        raise Invalid(LINK_USED)
    if token.expires_at <= now:
        raise Invalid(LINK_EXPIRED)
    return token


def password_problems(password: str, confirm: str, *, email: str) -> dict[str, list[str]]:
    """Field errors for a new password ({} when it is acceptable)."""
    errors: dict[str, list[str]] = {}
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        errors["password"] = [
            f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters; a short sentence works well."
        ]
    elif password.strip().lower() == email.lower():
        errors["password"] = ["Choose a password that is not your email address."]
    if password != confirm:
        errors["confirm"] = ["The two passwords do not match. Type the same password twice."]
    return errors
