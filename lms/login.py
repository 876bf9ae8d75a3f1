"""Who is signed in: session cookies (Flask-Login) for pages, bearer tokens for the API."""

from __future__ import annotations

from flask import Flask, Request
from flask_login import LoginManager
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from lms.db import get_db
from lms.models import Membership, User
from lms.services import tokens

login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


# Every page needs the person's memberships, organisations and units (navigation, the actor): one query,
# its statement built once (building it on each request cost a third of loading the user).
_WITH_MEMBERSHIPS = (joinedload(User.memberships).joinedload(Membership.unit),)
_USER = select(User).where(User.id == bindparam("user_id")).options(*_WITH_MEMBERSHIPS)


@login_manager.user_loader
def _load_user(user_key: str) -> User | None:
    user_id, _, version = user_key.partition(":")
    if not user_id.isdigit():
        return None
    user = get_db().execute(_USER, {"user_id": int(user_id)}).unique().scalar_one_or_none()
    # A password change bumps session_version, which signs out every other session.
    if user is None or str(user.session_version) != version:
        return None
    return user


@login_manager.request_loader
def _load_user_from_bearer(request: Request) -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return tokens.user_for_token(get_db(), raw.strip())


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
