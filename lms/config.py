"""Configuration from environment variables, each with a documented default.

The README's "Configuration" table is generated from SETTINGS, so the two never disagree.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("LMS_INSTANCE_PATH", "./instance", "Folder for the SQLite database, the secret key and uploads."),
    Setting(
        "LMS_DATABASE_URL",
        "sqlite:///<instance>/lms.sqlite3",
        "SQLAlchemy URL; postgresql+psycopg://user:pass@host/db for PostgreSQL.",
    ),
    Setting(
        "LMS_SECRET_KEY",
        "generated into <instance>/secret_key on first start",
        "Signs session cookies and CSRF tokens; every worker must share it.",
    ),
    Setting("LMS_BASE_URL", "http://127.0.0.1:5000", "Public address used in links sent by email."),
    Setting(
        "LMS_SMTP_URL",
        "(empty: mail is written to the log)",
        "smtp://user:pass@host:587 (STARTTLS), smtps://host:465 or smtp+plain://host:25.",
    ),
    Setting("LMS_MAIL_FROM", "Lead with Quality <no-reply@localhost>", "Sender of every email."),
    Setting(
        "LMS_COOKIE_SECURE",
        "auto (on when LMS_BASE_URL is https)",
        "Send the session cookie over HTTPS only.",
    ),
    Setting(
        "LMS_TRUSTED_PROXIES", "0", "How many reverse proxies set X-Forwarded-* headers in front of the app."
    ),
    Setting("LMS_LOGIN_MAX_FAILURES", "5", "Failed sign-ins per email (x4 per address) before a pause."),
    Setting("LMS_LOGIN_WINDOW_MINUTES", "15", "Window, and pause, for sign-in rate limiting."),
    Setting(
        "LMS_SCIM_REQUESTS_PER_MINUTE",
        "1200",
        "Requests a minute one SCIM token may make (per worker); beyond it 429 with Retry-After.",
    ),
    Setting("LMS_RESET_TOKEN_MINUTES", "60", "How long a password-reset link stays valid."),
    Setting("LMS_PASSWORD_PROFILE", "RFC_9106_LOW_MEMORY", "argon2id cost profile (argon2.profiles)."),
    Setting(
        "LMS_PAGE_CACHE_ENTRIES",
        "1000",
        "Page parts (My learning, the home card, module pages, journal pages, follow-up boards) kept "
        "rendered per worker (0: none).",
    ),
    Setting(
        "LMS_SIGNED_IN_ENTRIES",
        "5000",
        "On PostgreSQL, people signed in through a worker that it keeps a copy of, told of changes by the "
        "database, so a page asks it nothing (0: ask on every request).",
    ),
    Setting("LMS_SCHEDULER", "on for `lms run`", "Run the scheduler (outbox delivery) inside `lms run`."),
    Setting("LMS_LOG_LEVEL", "INFO", "Python logging level."),
)


# The file in the instance folder that holds the generated secret key.
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def _secret_key(instance: Path) -> str:
    key_file = instance / SECRET_KEY_FILE
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    # Created with 0600 and only if absent, so two workers starting at once agree on one key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


class MissingInstance(Exception):
    """An `lms` command that uses an instance found none where LMS_INSTANCE_PATH (or ./instance) points."""

    def __init__(self, instance: Path, what: str) -> None:
        self.instance = instance
        super().__init__(
            f"No {what} in {instance}: run lms from the folder that holds the instance, or set "
            "LMS_INSTANCE_PATH to it (a new instance is made by `lms db upgrade` or `lms demo`)."
        )


def instance_path(env: Mapping[str, str] | None = None) -> Path:
    """The instance folder, resolved once: LMS_INSTANCE_PATH, or ./instance in the current folder."""
    env = os.environ if env is None else env
    return Path(env.get("LMS_INSTANCE_PATH") or "instance").resolve()


def load(
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    create_instance: bool = True,
) -> dict[str, Any]:
    """Build the Flask config dict from the environment (and test overrides).

    With `create_instance` (serving, `lms db upgrade`, `lms demo`) a missing instance folder and secret
    key are made; without it (every other command) they must exist, or MissingInstance says where the
    command looked, so a command run from the wrong folder never starts a new, empty instance."""
    env = os.environ if env is None else env
    overrides = dict(overrides or {})
    given = overrides.pop("INSTANCE_PATH", None)
    instance = Path(given).resolve() if given else instance_path(env)
    if create_instance:
        instance.mkdir(parents=True, exist_ok=True)
    elif not instance.is_dir():
        raise MissingInstance(instance, "instance folder")

    base_url = env.get("LMS_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    secure = env.get("LMS_COOKIE_SECURE", "auto").lower()
    cookie_secure = (
        base_url.startswith("https://") if secure == "auto" else secure in {"1", "true", "yes", "on"}
    )

    cfg: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": env.get("LMS_DATABASE_URL") or f"sqlite:///{instance / 'lms.sqlite3'}",
        "SECRET_KEY": env.get("LMS_SECRET_KEY") or None,
        "BASE_URL": base_url,
        "SMTP_URL": env.get("LMS_SMTP_URL", ""),
        "MAIL_FROM": env.get("LMS_MAIL_FROM", "Lead with Quality <no-reply@localhost>"),
        "TRUSTED_PROXIES": int(env.get("LMS_TRUSTED_PROXIES", "0")),
        "LOGIN_MAX_FAILURES": int(env.get("LMS_LOGIN_MAX_FAILURES", "5")),
        "LOGIN_WINDOW_MINUTES": int(env.get("LMS_LOGIN_WINDOW_MINUTES", "15")),
        "RESET_TOKEN_MINUTES": int(env.get("LMS_RESET_TOKEN_MINUTES", "60")),
        "SCIM_REQUESTS_PER_MINUTE": int(env.get("LMS_SCIM_REQUESTS_PER_MINUTE", "1200")),
        "PASSWORD_PROFILE": env.get("LMS_PASSWORD_PROFILE", "RFC_9106_LOW_MEMORY"),
        "PAGE_CACHE_ENTRIES": int(env.get("LMS_PAGE_CACHE_ENTRIES", "1000")),
        "SIGNED_IN_ENTRIES": int(env.get("LMS_SIGNED_IN_ENTRIES", "5000")),
        "SCHEDULER": env.get("LMS_SCHEDULER", ""),
        "LOG_LEVEL": env.get("LMS_LOG_LEVEL", "INFO"),
        "SESSION_COOKIE_NAME": "lms_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": cookie_secure,
        "REMEMBER_COOKIE_SECURE": cookie_secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 12,
        "WTF_CSRF_TIME_LIMIT": 60 * 60 * 12,
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    }
    cfg.update(overrides)
    if not cfg["SECRET_KEY"]:
        if not create_instance and not (instance / SECRET_KEY_FILE).exists():
            raise MissingInstance(instance, "secret key (secret_key)")
        cfg["SECRET_KEY"] = _secret_key(instance)
    return cfg
