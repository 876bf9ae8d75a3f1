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


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config["SESSION_COOKIE_SECURE"]:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Ward PCs are shared: no page or API answer may be kept for the next person to find in the cache
        # or behind the Back button. Only static files may be cached; a view may add to no-store, not
        # weaken it.
        is_static_file = request.endpoint == "static" and response.status_code < 400
        if not is_static_file and not response.cache_control.no_store:
            h["Cache-Control"] = "no-store"
        return response
