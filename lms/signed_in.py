"""A worker's copy of the people signed in through it, so that a page asks PostgreSQL nothing.

A signed-in page needs one statement, the signed-in lookup (`lms.services.sessions`): the person, their
memberships, organisations and units, the menu's counts and the latest release, found through a live
session. On SQLite that statement costs a function call; on PostgreSQL it is a round trip, and was a
fifth of a page's worker CPU. So on PostgreSQL each worker keeps what the lookup read, per session, and
answers from it until the database says it changed:

- Triggers on every table the lookup reads (migration 0018) notify the channel `lms_signed_in` when a
  statement changes a row, with the user ids it touched, `o<id>` for an organisation (or one of its
  units) or `*` for everything. PostgreSQL delivers a notification when its transaction commits, to
  every worker, each of which listens on a connection of its own.
- Each request first reads what has arrived (no round trip: the notifications are already in the
  socket), drops what they name, then looks the session up in the copy.
- A change committed through this worker also empties its copy at once, before the answer is sent, so
  this worker's next request cannot see the state before it, even if the notification is still on its way.
- Whatever the copy cannot vouch for goes to the database, as without a copy: a worker that has no
  listening connection (not yet made, or lost: the copy is then emptied, since what was said while it
  was down is unknown), a lookup that raced a notification (the generation tells), an entry older
  than `MAX_AGE_S` (a listening connection that died without a word is not noticed otherwise), a
  session past its lifetime (checked on every request from the session's start), a person who is
  signed in only to answer an invitation.

Across workers the copy is as fresh as the database's notification: a change is seen by a request that
starts after the notification reached the worker, which is within a millisecond of the commit on a
healthy server. A request that started just before a commit is answered with what it read, copy or
not. `LMS_SIGNED_IN_ENTRIES=0` turns the copy off.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, attributes, make_transient_to_detached

from lms.db import reads_only
from lms.models import Membership, Organization, OrgUnit, User

log = logging.getLogger(__name__)

CHANNEL = "lms_signed_in"
# How long an entry is trusted at most: the bound on staleness if the listening connection dies in a way
# the socket does not report (the server's host gone without a reset), which would lose notifications.
MAX_AGE_S = 60.0
# How long to wait before trying again to listen, after a failure to connect.
RETRY_AFTER_S = 5.0
# The tables the lookup reads, each with a trigger notifying CHANNEL (migration 0018).
WATCHED_TABLES = (
    "user_account",
    "user_session",
    "membership",
    "organization",
    "org_unit",
    "invitation",
    "prompt_delivery",
    "content_release",
)
_WATCHED = re.compile(r"\b(?:" + "|".join(WATCHED_TABLES) + r")\b")
_WROTE_WATCHED = "lms.signed_in.wrote"
# Connections inherited from a parent process: kept referenced, never closed (closing would end the
# parent's session on the shared socket).
_INHERITED: list[Any] = []


def _columns(obj: Any) -> dict[str, Any]:
    """The column values a query loaded into an object (deferred ones it did not load are left out)."""
    loaded = attributes.instance_dict(obj)
    return {p.key: loaded[p.key] for p in type(obj).__mapper__.column_attrs if p.key in loaded}


def _restore(cls: type, values: dict[str, Any]) -> Any:
    obj = cls.__mapper__.class_manager.new_instance()
    attributes.instance_dict(obj).update(values)
    make_transient_to_detached(obj)  # as freshly loaded; what was not loaded is expired, read on use
    return obj


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the lookup read for one session, as plain values shared by no object."""

    user: dict[str, Any]
    memberships: tuple[tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None], ...]
    release: tuple[int | None, datetime | None]
    session_started: datetime
    org_ids: frozenset[int]
    kept_at: float

    @classmethod
    def of(
        cls, user: User, release: tuple[int | None, datetime | None], session_started: datetime
    ) -> Snapshot:
        return cls(
            user=_columns(user),
            memberships=tuple(
                (_columns(m), _columns(m.organization), None if m.unit is None else _columns(m.unit))
                for m in user.memberships
            ),
            release=release,
            session_started=session_started,
            org_ids=frozenset(m.org_id for m in user.memberships),
            kept_at=time.monotonic(),
        )

    def restore(self, db: Session) -> User:
        """The person as the lookup would have loaded them, persistent in `db`."""
        user = _restore(User, self.user)
        memberships = []
        for values, org_values, unit_values in self.memberships:
            membership = _restore(Membership, values)
            attributes.set_committed_value(membership, "organization", _restore(Organization, org_values))
            unit = None if unit_values is None else _restore(OrgUnit, unit_values)
            attributes.set_committed_value(membership, "unit", unit)
            attributes.set_committed_value(membership, "user", user)
            memberships.append(membership)
        attributes.set_committed_value(user, "memberships", memberships)
        db.add(user)  # the memberships, organisations and units follow (save-update cascade)
        return user


class SignedIn:
    """One worker's copy, and its listening connection."""

    def __init__(self, engine: Engine, entries: int) -> None:
        self._engine = engine
        self._entries = entries
        self._lock = threading.Lock()
        self._people: dict[int, dict[str, Snapshot]] = {}
        self._generation = 0
        self._listener: Any = None
        self._ending = False
        self._pid = os.getpid()
        self._retry_at = 0.0

    # --- what the lookup asks ------------------------------------------------------------------------

    def refresh(self) -> int | None:
        """Apply what the database has said since the last request. Returns the generation a lookup made
        now may be kept under, or None when the copy cannot vouch for anything (no listening connection)."""
        with self._lock:
            if self._pid != os.getpid():  # a forked worker: the parent's connection and copy are not ours
                if self._listener is not None:
                    _INHERITED.append(self._listener)
                self._listener = None
                self._pid = os.getpid()
                self._forget_all()
            if self._listener is None and not self._listen():
                return None
            pgconn = self._listener.pgconn
            try:
                pgconn.consume_input()
                while (notice := pgconn.notifies()) is not None:
                    self._apply(notice.extra.decode())
                if self._ending:  # the server said it ends the connection; the socket may not know yet
                    raise ConnectionError("the listening connection is ending")
            except Exception:  # the connection is gone: what was said since is unknown
                log.warning("lost the signed-in notifications; asking the database until listening again")
                self._close()
                return None
            return self._generation

    def get(self, user_id: int, key_hash: str, since: datetime) -> Snapshot | None:
        with self._lock:
            snapshot = self._people.get(user_id, {}).get(key_hash)
        if snapshot is None or snapshot.session_started <= since:
            return None
        if time.monotonic() - snapshot.kept_at > MAX_AGE_S:
            return None
        return snapshot

    def keep(self, generation: int, user_id: int, key_hash: str, snapshot: Snapshot) -> None:
        with self._lock:
            if generation != self._generation:  # something changed while the lookup ran
                return
            sessions = self._people.pop(user_id, None) or {}
            sessions[key_hash] = snapshot
            self._people[user_id] = sessions  # last in the order: the first are dropped when full
            while len(self._people) > self._entries:
                del self._people[next(iter(self._people))]

    def forget_all(self) -> None:
        with self._lock:
            self._forget_all()

    # --- inside the lock -----------------------------------------------------------------------------

    def _forget_all(self) -> None:
        self._people.clear()
        self._generation += 1

    def _apply(self, keys: str) -> None:
        self._generation += 1
        for key in keys.split(","):
            if key.isdigit():
                self._people.pop(int(key), None)
            elif key.startswith("o") and key[1:].isdigit():
                org_id = int(key[1:])
                touched = [
                    user_id
                    for user_id, kept in self._people.items()
                    if any(org_id in snapshot.org_ids for snapshot in kept.values())
                ]
                for user_id in touched:
                    del self._people[user_id]
            else:  # "*", or anything this version does not know: everyone
                self._people.clear()
                return

    def _listen(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        try:
            raw = self._engine.raw_connection()
            raw.detach()  # the pool forgets it: it listens for this worker's lifetime
            listener = raw.dbapi_connection
            listener.autocommit = True
            listener.add_notice_handler(self._on_notice)
            listener.execute(f"LISTEN {CHANNEL}")
        except Exception:
            log.warning("cannot listen for signed-in notifications; asking the database", exc_info=True)
            self._retry_at = time.monotonic() + RETRY_AFTER_S
            return False
        self._listener = listener
        self._ending = False
        self._forget_all()  # what was said before listening is unknown
        return True

    def _on_notice(self, diagnostic: Any) -> None:
        # A server that ends the connection (pg_terminate_backend, a shutdown) says so with a FATAL
        # message before it closes the socket; the close may reach this side only later.
        if diagnostic.severity_nonlocalized in ("FATAL", "PANIC"):
            self._ending = True

    def _close(self) -> None:
        listener, self._listener = self._listener, None
        self._forget_all()
        if listener is not None:
            try:
                listener.close()
            except Exception:  # already gone
                log.debug("closing the lost listening connection failed", exc_info=True)


def init_app(app: Flask) -> None:
    engine: Engine = app.extensions["lms.engine"]
    if engine.dialect.name != "postgresql":
        return
    signed_in = SignedIn(engine, app.config["SIGNED_IN_ENTRIES"])
    app.extensions["lms.signed_in"] = signed_in

    # A change committed through this worker: its copy is emptied before the answer goes out.
    @event.listens_for(engine, "before_cursor_execute")
    def _note_a_write(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not reads_only(statement) and _WATCHED.search(statement):
            conn.info[_WROTE_WATCHED] = True

    @event.listens_for(engine, "commit")
    def _after_commit(conn: Any) -> None:
        if conn.info.pop(_WROTE_WATCHED, False):
            signed_in.forget_all()

    @event.listens_for(engine, "rollback")
    def _after_rollback(conn: Any) -> None:
        conn.info.pop(_WROTE_WATCHED, None)


def copy() -> SignedIn | None:
    """This worker's copy, or None (SQLite, or turned off)."""
    if not current_app.config["SIGNED_IN_ENTRIES"]:
        return None
    return current_app.extensions.get("lms.signed_in")
