"""A person's own account: their name, and the email they sign in with.

Only the person changes the email of an account they have taken (DESIGN.md section 6). A new address
is confirmed by a link sent to it; the old address is told when the change is made. The change is
audited in every organisation the person belongs to and ends all their sessions.
"""

from __future__ import annotations

from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import EmailChange, User
from lms.security import digest, new_secret, verify_password
from lms.services import Invalid, accounts, audit, outbox, sessions

EMAIL_LINK_HOURS = 24
NAME_MAX = 120
LINK_PROBLEM = (
    "This confirmation link is not valid, has expired or was used. Ask for a new one on your profile."
)


def rename(db: Session, user: User, name: str) -> User:
    name = " ".join(name.split())
    if not name:
        raise Invalid("Enter your name.", "name")
    if len(name) > NAME_MAX:
        raise Invalid(f"Keep your name to {NAME_MAX} characters or fewer (it has {len(name)}).", "name")
    if name != user.name:
        _audit_everywhere(db, user, "person.renamed_self", {"name": [user.name, name]})
        user.name = name
    db.flush()
    return user


def request_email_change(db: Session, user: User, *, new_email: str, password: str) -> str:
    """Send a confirmation link to the new address; returns the normalised address."""
    errors: dict[str, list[str]] = {}
    email = " ".join(new_email.split())
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        errors["email"] = [f"Enter a valid email address ({exc})."]
    else:
        if len(email) > 254:
            errors["email"] = ["Use an email address of at most 254 characters."]
        elif email == user.email:
            errors["email"] = ["This is the address you sign in with already."]
        elif db.scalar(select(User.id).where(User.email == email)) is not None:
            errors["email"] = ["Another account uses this address. Sign in with that account instead."]
    if not verify_password(user.password_hash, password):
        errors["password"] = ["That is not your current password."]
    if errors:
        raise Invalid(errors)
    _cancel_email_links(db, user)
    secret = new_secret()
    now = utcnow()
    db.add(
        EmailChange(
            user_id=user.id,
            new_email=email,
            token_hash=digest(secret),
            created_at=now,
            expires_at=now + timedelta(hours=EMAIL_LINK_HOURS),
        )
    )
    outbox.enqueue(
        db,
        to=email,
        subject="Confirm your new email for Lead with Quality",
        body=(
            f"Hello {user.name},\n\n"
            f"You asked to sign in to Lead with Quality as {email} from now on. To confirm, open this link "
            f"within {EMAIL_LINK_HOURS} hours:\n\n"
            f"{current_app.config['BASE_URL']}/profile/email/{secret}\n\n"
            "If you did not ask for this, ignore this email: nothing changes.\n"
        ),
    )
    db.flush()
    return email


def confirm_email_change(db: Session, *, secret: str) -> User:
    """Make the confirmed address the one the person signs in with; every session ends."""
    change = db.scalar(select(EmailChange).where(EmailChange.token_hash == digest(secret)))
    now = utcnow()
    if change is None or change.used_at is not None or change.expires_at <= now:
        raise Invalid(LINK_PROBLEM)
    user = change.user
    if db.scalar(select(User.id).where(User.email == change.new_email, User.id != user.id)) is not None:
        raise Invalid("Another account has started using this address since. Choose another one.")
    old = user.email
    change.used_at = now
    user.email = change.new_email
    _cancel_email_links(db, user)
    accounts.cancel_password_links(db, user)  # links sent to the old address stop working
    sessions.end_all(db, user.id, now=now)
    _audit_everywhere(db, user, "person.email_changed_self", {"email": [old, user.email]})
    outbox.enqueue(
        db,
        to=old,
        subject="Your Lead with Quality email has changed",
        body=(
            f"Hello {user.name},\n\n"
            f"Your Lead with Quality account now signs in as {user.email} instead of this address, and "
            "every device was signed out.\n"
            "If you did not make this change, tell your organisation's administrator at once.\n"
        ),
    )
    db.flush()
    return user


def pending_email(db: Session, user: User) -> EmailChange | None:
    """The address waiting for confirmation, if any (shown on the profile)."""
    return db.scalar(
        select(EmailChange)
        .where(
            EmailChange.user_id == user.id, EmailChange.used_at.is_(None), EmailChange.expires_at > utcnow()
        )
        .order_by(EmailChange.id.desc())
        .limit(1)
    )


def _cancel_email_links(db: Session, user: User) -> None:
    db.execute(
        update(EmailChange)
        .where(EmailChange.user_id == user.id, EmailChange.used_at.is_(None))
        .values(used_at=utcnow())
    )


def _audit_everywhere(db: Session, user: User, action: str, changes: dict) -> None:
    """One event in the trail of each organisation the person belongs to, about their membership there."""
    for membership in user.memberships:
        audit.record(
            db,
            actor_id=user.id,
            org_id=membership.org_id,
            action=action,
            target_type="membership",
            target_id=membership.id,
            changes=changes,
        )
    if not user.memberships:
        audit.on_own_account(db, user, action, changes)
