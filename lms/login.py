"""Who is signed in: session cookies (Flask-Login) for pages, bearer tokens for the API."""

from __future__ import annotations

from flask import Flask, Request, session
from flask_login import LoginManager, login_user, logout_user

from lms.db import get_db
from lms.models import User
from lms.services import accounts, sessions, tokens

login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


# The session cookie's key for the server-side session (lms.services.sessions).
SESSION_KEY = "lms_sid"


def sign_in(user: User, *, ip: str | None, user_agent: str | None) -> None:
    """Start a session on the server and in the cookie for a person who has proved who they are.

    Whatever the cookie held before (a half-finished sign-in, another person's flashes) is dropped, so
    a session made before signing in cannot be fixed on the person."""
    session.clear()
    session[SESSION_KEY] = sessions.start(get_db(), user, ip=ip, user_agent=user_agent)
    # force: the caller has decided (accounts.may_sign_in), which lets in a person with no active
    # organisation but an invitation waiting; User.is_active alone would refuse them.
    login_user(user, force=True)


def sign_out() -> None:
    """End this session on the server, then forget it in the cookie."""
    key = session.get(SESSION_KEY)
    if isinstance(key, str):
        sessions.end(get_db(), key)
    logout_user()
    session.clear()


def current_session_key() -> str | None:
    key = session.get(SESSION_KEY)
    return key if isinstance(key, str) else None


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    key = current_session_key()
    if key is None or not user_id.isascii() or not user_id.isdigit() or len(user_id) > 18:
        return None
    db = get_db()
    user = sessions.user_for(db, int(user_id), key)
    if user is None or user.is_active:
        return user
    # No active organisation: signed in only while an invitation waits (one query, on this rare path).
    return user if accounts.may_sign_in(db, user) else None


@login_manager.request_loader
def _load_user_from_bearer(request: Request) -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return tokens.user_for_token(get_db(), raw.strip())


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
