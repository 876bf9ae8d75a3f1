"""Alembic, driven from the application's own configuration (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(app: Flask) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = app.extensions["lms.engine"]
    return cfg


def upgrade(app: Flask, revision: str = "head") -> None:
    command.upgrade(alembic_config(app), revision)


def check(app: Flask) -> None:
    """Raise if the models and the migrations disagree (alembic's own drift check)."""
    command.check(alembic_config(app))


class NotReady(Exception):
    """The database a command would use is missing, unreachable or not at the latest schema."""


def require_current(app: Flask) -> None:
    """Raise NotReady, with one line saying what to run, unless the database is migrated to the head.

    A SQLite file that does not exist is reported before connecting, since connecting would create it."""
    engine = app.extensions["lms.engine"]
    shown = engine.url.render_as_string(hide_password=True)
    database = engine.url.database
    if (
        engine.dialect.name == "sqlite"
        and database
        and database != ":memory:"
        and not Path(database).exists()
    ):
        raise NotReady(f"No database at {database}: run `lms db upgrade` (or `lms demo`) first.")
    head = ScriptDirectory.from_config(alembic_config(app)).get_current_head()
    try:
        with engine.connect() as conn:
            # Read directly rather than through alembic's MigrationContext, which logs as it starts.
            current = (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if inspect(conn).has_table("alembic_version")
                else None
            )
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise NotReady(f"Cannot reach the database {shown}: {reason}") from None
    if current is None:
        raise NotReady(f"The database {shown} has no tables yet: run `lms db upgrade` (or `lms demo`) first.")
    if current != head:
        raise NotReady(f"The database {shown} is at revision {current}, not {head}: run `lms db upgrade`.")
