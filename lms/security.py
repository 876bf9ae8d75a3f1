"""Password hashing (argon2id), secret tokens, and the HTTP security headers every response carries
(including Cache-Control: no-store on everything but static files)."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

import argon2
from flask import Flask, Response, current_app, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@lru_cache(maxsize=4)
def _hasher(profile: str) -> argon2.PasswordHasher:
    return argon2.PasswordHasher.from_parameters(getattr(argon2.profiles, profile))


def hash_password(password: str) -> str:
    return _hasher(current_app.config["PASSWORD_PROFILE"]).hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account has a password, so timing tells nothing."""
    hasher = _hasher(current_app.config["PASSWORD_PROFILE"])
    if not password_hash:
        hasher.hash(password)
        return False
    try:
        return hasher.verify(password_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher(current_app.config["PASSWORD_PROFILE"]).check_needs_rehash(password_hash)


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret (reset link, API token): safe to store and to look up by."""
    return hashlib.sha256(secret.encode()).hexdigest()


# Every answer carries these unless its view set one of them itself (a view may tighten, never loosen).
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def init_app(app: Flask) -> None:
    wanted = SECURITY_HEADERS + ((HSTS,) if app.config["SESSION_COOKIE_SECURE"] else ())

    @app.after_request
    def _security_headers(response: Response) -> Response:
        h = response.headers
        present = {name.lower() for name, _value in h.items()}  # one pass, not one scan per name
        h.extend([(name, value) for name, value in wanted if name.lower() not in present])
        # Ward PCs are shared: no page or API answer may be kept for the next person to find in the cache
        # or behind the Back button. Only static files may be cached; a view may add to no-store, not
        # weaken it.
        is_static_file = request.endpoint == "static" and response.status_code < 400
        if not is_static_file and ("cache-control" not in present or not response.cache_control.no_store):
            h["Cache-Control"] = "no-store"
        return response
