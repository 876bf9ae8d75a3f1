"""Database plumbing: the declarative base, the engine, one session per request, and the boundaries.

Services change and flush; the boundary owns the transaction and commits once: the request (after a
successful answer, `finish_request`), each `lms` command (`finish_command`, wired by lms.cli), each
scheduler job run and each piece of work after a response (`unit_of_work`, `commit_each`).

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout, so the web
process and the scheduler can share one file. PostgreSQL uses the same models and migrations.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, has_app_context
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import DateTime, TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (portable across SQLite and PostgreSQL); returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is UTC:  # the common case (utcnow, values read back), without a conversion
            return value.replace(tzinfo=None)
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()

        @event.listens_for(engine, "savepoint")
        def _savepoint_inside_a_transaction(conn: Any, _name: str) -> None:
            # pysqlite opens a transaction only before a write: a SAVEPOINT that came first would open one
            # of its own, and releasing it would commit. Begin first, so a savepoint (a race on a unique key,
            # `begin_nested`) stays part of the unit of work the boundary commits or rolls back.
            dbapi_conn = conn.connection.dbapi_connection
            if not dbapi_conn.in_transaction:
                dbapi_conn.execute("BEGIN")

        return engine
    return _postgresql_engine(url)


# A pooled connection idle longer than this is pinged before use (a server restart, a dropped link);
# one in steady use is not: a ping on every checkout was a round trip on every request.
PING_AFTER_IDLE_S = 30.0
_IDLE_SINCE = "lms.idle_since"


def reads_only(statement: str) -> bool:
    """A statement that writes nothing and locks nothing (a plain SELECT, a SHOW)."""
    return statement.startswith(("SELECT", "SHOW")) and " FOR " not in statement


def _postgresql_engine(url: str) -> Engine:
    """PostgreSQL as SQLite's driver already works: a transaction begins at the first write.

    Reads before it run on their own (READ COMMITTED, PostgreSQL's default, gives each statement its own
    snapshot either way), so a request that only reads sends no BEGIN and no COMMIT; from the first write
    (or savepoint, or locking read) on, everything until the boundary's commit or rollback is one
    transaction, as before.
    """
    from psycopg.pq import TransactionStatus  # only PostgreSQL needs the driver

    engine = create_engine(url, pool_size=5, max_overflow=10, pool_recycle=3600)

    def begin(dbapi_conn: Any) -> None:
        if dbapi_conn.autocommit:
            dbapi_conn.autocommit = False  # psycopg sends BEGIN before the next statement

    @event.listens_for(engine, "connect")
    def _read_outside_a_transaction(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.autocommit = True

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_before_a_write(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not reads_only(statement):
            begin(conn.connection.dbapi_connection)

    @event.listens_for(engine, "savepoint")
    def _begin_before_a_savepoint(conn: Any, _name: str) -> None:
        begin(conn.connection.dbapi_connection)

    @event.listens_for(engine, "checkin")
    def _back_to_reading(dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()
        # The pool has rolled back whatever was left open: the connection is idle.
        if (
            dbapi_conn is not None
            and not dbapi_conn.closed
            and dbapi_conn.info.transaction_status == TransactionStatus.IDLE
        ):
            dbapi_conn.autocommit = True

    @event.listens_for(engine, "checkout")
    def _ping_after_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            dbapi_conn.execute("SELECT 1")
        except Exception as exc:  # the pool replaces the connection and tries again
            raise DisconnectionError() from exc

    return engine


def settle(db: Session, *, keep: bool) -> None:
    """The one rule for ending a unit of work: commit it (keep) or roll it back.

    A commit that fails is rolled back and raised, so the boundary that called it answers with an error.
    """
    if not keep:
        db.rollback()
        return
    try:
        db.commit()
    except BaseException:
        db.rollback()
        raise


@contextmanager
def unit_of_work(db: Session | None = None) -> Iterator[Session]:
    """One transaction at a boundary (an `lms` command, a scheduler job run, work after a response): the
    session (by default the context's, lms.db.get_db) commits when the block ends and rolls back when it
    raises. Services never commit: the caller at the boundary does, here or in the request hook."""
    session = get_db() if db is None else db
    try:
        yield session
    except BaseException:
        settle(session, keep=False)
        raise
    settle(session, keep=True)


T = TypeVar("T")
_END: Any = object()


def commit_each(steps: Iterable[T], db: Session | None = None) -> list[T]:
    """Run a service that works in steps (one email, one organisation) and commit after each step, so an
    error loses only the step it happened in; returns what the steps yielded."""
    session = get_db() if db is None else db
    iterator = iter(steps)
    done: list[T] = []
    while True:
        with unit_of_work(session):
            step = next(iterator, _END)
        if step is _END:
            return done
        done.append(step)


def keep_refused() -> None:
    """Keep this request's changes although it answers 4xx: a refused sign-in still records its attempt
    (the throttle counts it). Without this, a request answered with a status of 400 or more rolls back."""
    g.lms_keep_refused = True


def finish_request(response: Response) -> Response:
    """The request's boundary (an after_request hook, so a failed commit still becomes an error answer):
    commit when the answer is a success (status < 400), roll back when it refuses or fails."""
    db: Session | None = g.get("lms_db")
    if db is not None:
        settle(db, keep=response.status_code < 400 or g.pop("lms_keep_refused", False))
    return response


def finish_command(*, succeeded: bool) -> None:
    """An `lms` command's boundary (lms.cli wraps every command in it): commit what the command's session
    changed when it returned, roll it back when it raised."""
    db: Session | None = g.get("lms_db") if has_app_context() else None
    if db is not None:
        settle(db, keep=succeeded)


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["lms.engine"] = engine
    app.extensions["lms.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    # Registered first, so it runs after every other after_request hook: their changes are in the commit.
    app.after_request(finish_request)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        # Closing rolls back whatever was not committed (a view that raised, a command that failed).
        db: Session | None = g.pop("lms_db", None)
        if db is not None:
            db.close()


def get_db() -> Session:
    """The session of the current request (or CLI command); closed when the context ends."""
    if "lms_db" not in g:
        g.lms_db = current_app.extensions["lms.sessionmaker"]()
    return g.lms_db


def engine() -> Engine:
    return current_app.extensions["lms.engine"]
