"""The second factor: time-based one-time codes (RFC 6238, as authenticator apps make them) and
one-time recovery codes for a lost phone.

Any person may turn it on from their profile; an organisation may require it of its org admins, HR and
coaches (lms.services.access withholds those permissions until it is on). A code is accepted once: the
time step it was made for is remembered, so a code seen over a shoulder cannot be used again.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import Permission, RecoveryCode, User
from lms.security import digest, verify_password
from lms.services import Invalid, audit
from lms.services.access import Actor

ISSUER = "Lead with Quality"
RECOVERY_CODES = 10
WRONG_PASSWORD = "That is not your current password."  # noqa: S105 - a message, not a password
WRONG_CODE = "That code is not right. Type the 6 digits your app shows now."
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt


@dataclass(frozen=True)
class Setup:
    """A secret offered to a person who is turning the second factor on (not saved until confirmed)."""

    secret: str
    uri: str


def offer(user: User, secret: str | None = None) -> Setup:
    """A new secret (or the one being confirmed) and the otpauth:// address an app scans."""
    secret = secret or pyotp.random_base32()
    return Setup(secret, pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER))


def turn_on(db: Session, user: User, *, secret: str, code: str, password: str) -> list[str]:
    """Save the secret once the person proves their app makes its codes; returns new recovery codes."""
    errors: dict[str, list[str]] = {}
    if not verify_password(user.password_hash, password):
        errors["password"] = [WRONG_PASSWORD]
    step = _matching_step(secret, code)
    if step is None:
        errors["code"] = [WRONG_CODE]
    if errors:
        raise Invalid(errors)
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _new_recovery_codes(db, user)
    audit.on_own_account(db, user, "second_factor.on")
    db.flush()
    return codes


def turn_off(db: Session, user: User, *, password: str) -> None:
    if not verify_password(user.password_hash, password):
        raise Invalid(WRONG_PASSWORD, "password")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    _spend_recovery_codes(db, user)
    audit.on_own_account(db, user, "second_factor.off")
    db.flush()


def renew_recovery_codes(db: Session, user: User, *, password: str) -> list[str]:
    """Replace the person's recovery codes (the old ones stop working)."""
    if not user.second_factor_on:
        raise Invalid("Turn on two-step sign-in first.")
    if not verify_password(user.password_hash, password):
        raise Invalid(WRONG_PASSWORD, "password")
    codes = _new_recovery_codes(db, user)
    audit.on_own_account(db, user, "second_factor.recovery_codes_renewed")
    db.flush()
    return codes


def verify(db: Session, user: User, code: str) -> bool:
    """True, and the code is spent, when it is the app's current code or an unused recovery code."""
    if not user.second_factor_on or user.totp_secret is None:
        return False
    step = _matching_step(user.totp_secret, code)
    if step is not None and step > (user.totp_last_step or -1):
        user.totp_last_step = step
        db.flush()
        return True
    recovery = db.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == digest(_normalised(code)),
            RecoveryCode.used_at.is_(None),
        )
    )
    if recovery is None:
        return False
    recovery.used_at = utcnow()
    audit.on_own_account(db, user, "second_factor.recovery_code_used")
    db.flush()
    return True


def recovery_codes_left(db: Session, user: User) -> int:
    return len(
        db.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def set_required(db: Session, actor: Actor, required: bool) -> None:
    """An org admin requires (or stops requiring) a second factor of org admins, HR and coaches."""
    actor.require(Permission.ORG_ADMIN)
    org = actor.org
    if required and not actor.user.second_factor_on:
        raise Invalid(
            "Turn on two-step sign-in for yourself first (from your profile), so that you keep your "
            "administrator permissions.",
            "required",
        )
    if org.second_factor_required == required:
        return
    org.second_factor_required = required
    audit.by(
        db,
        actor,
        action="organization.second_factor_required",
        target_type="organization",
        target_id=org.id,
        changes={"second_factor_required": [not required, required]},
    )
    db.flush()


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (now, or one either side for a clock that drifts) whose code this is, else None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normalised(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def _new_recovery_codes(db: Session, user: User) -> list[str]:
    _spend_recovery_codes(db, user)
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.add(RecoveryCode(user_id=user.id, code_hash=digest(raw)))
    return codes


def _spend_recovery_codes(db: Session, user: User) -> None:
    db.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
