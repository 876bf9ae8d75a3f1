"""Pages kept rendered: which parts are kept, what each one's version is made of, and how they are served.

A person comes back to a few pages often (My learning, the home page's learning card, a module page,
their journal and their follow-up board). Each worker keeps such a part rendered in memory under a
*version* made of everything the part shows, and serves it until the version changes; the least
recently used parts make room for new ones (LMS_PAGE_CACHE_ENTRIES per worker). Correctness never
depends on another worker, only on the version, and the database holds what the version is made of,
in counters read with the signed-in person (so a part read again costs no query of its own), each
bumped in the same transaction as any change to what it covers (the listeners below, registered by the
application factory): `Membership.learning_version` for assignments, a progress's status, an answer or
a reflection; `Membership.journal_version` for one's journal entries and the comments on them;
`Organization.follow_up_version` for the organisation's follow-ups, their history, its units and its
people's names. So no worker serves a part older than the data and no shared cache server is needed
(DESIGN.md section 8). Every part's key holds the membership (or the person) whose part it is, so a
part is never served to anyone else.

`KEPT` states, per kept template, what its version is made of; the functions below build exactly those
versions. Every key also holds the template's name and the application's root URL (parts hold links).
The templates themselves change only with a deploy, which restarts the workers and so empties their
stores.

A kept part is rendered from what is passed to it: no context processors run, so it sees no `request`,
`session`, `g`, `current_user` or `actor`, and a name it reads that was not passed is an error, not an
empty string. It builds its links with `url_for` (the root URL they start with is in the key). What
differs per response, the CSRF token of the session, goes in through a slot: the part is kept with a
hole where `slots.csrf_token` stands, and each response fills the hole with its own token.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from threading import Lock
from time import monotonic
from types import SimpleNamespace
from typing import Any

from flask import Flask, current_app, request
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup, escape
from sqlalchemy import event, inspect, or_, select, update
from sqlalchemy.orm import Session

from lms.models import (
    Assignment,
    CheckAttempt,
    FollowUp,
    FollowUpEvent,
    JournalComment,
    JournalEntry,
    Membership,
    Organization,
    OrgUnit,
    Progress,
    Reflection,
    User,
)
from lms.services import follow_ups, learning, modules
from lms.services.access import Actor
from lms.services.catalogue import release_key

# --- what each kept part's version is made of ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeptTemplate:
    template: str
    made_of: tuple[str, ...]  # what the version holds, in the order `version` gives it
    slots: tuple[str, ...] = ()  # filled per response, never kept


# What My learning and the home card show: the membership's assignments and the person's progress, the
# published modules and their order, and what is due or overdue today where the organisation is.
_LEARNING = (
    "the membership (its id)",
    "Membership.learning_version: every write to the membership's assignments, the person's progress "
    "statuses, answers or reflections bumps it",
    "the latest content release (its id and time): titles, dose levels and order of modules",
    "today's date in the organisation's time zone: due and overdue",
    "the organisation's time zone: the dates shown",
)

MY_LEARNING = KeptTemplate("learning/_my_learning.html", _LEARNING)
HOME_CARD = KeptTemplate("learning/_home_card.html", _LEARNING)
MODULE_PAGE = KeptTemplate(
    "learning/_module.html",
    (
        "the person (their id)",
        "the module: its id, content hash and whether it is retired",
        "Membership.learning_version: every answer to a check, every reflection and every change of the "
        "person's progress statuses bumps it (completing another module removes it from the "
        "prerequisites notice)",
        "the latest content release (its id and time): the vocabularies that title the page",
        "the organisation's time zone: the dates shown",
    ),
    slots=("csrf_token",),
)
JOURNAL_LIST = KeptTemplate(
    "journal/_list.html",
    (
        "the membership (its id): the person and the organisation whose journal it is",
        "Membership.journal_version: every write of the person's journal entries (written, answered from "
        "a prompt, edited, shared, unshared, deleted) and every comment on their entries or reflections "
        "bumps it",
        "Membership.learning_version: every write of one of the person's module reflections (written, "
        "changed, shared, unshared) bumps it",
        "the page shown (a search is never kept)",
        "the latest content release (its id and time): tag titles and the modules' titles",
        "the organisation's time zone: the times shown",
    ),
)
FOLLOW_UP_BOARD = KeptTemplate(
    "gemba/_board.html",
    (
        "the membership (its id): whose board it is",
        "the membership's unit, that unit's path and the membership's stakeholder role: which units are "
        '"my units\'"',
        "Organization.follow_up_version: every write of a follow-up of the organisation or of its history "
        "(raised, updated, reassigned, closed, escalated), of a unit of its tree (renamed, moved), and of "
        "the name of one of its people bumps it",
        "the section and the page shown",
        "today's date in the organisation's time zone: overdue",
        "the organisation's time zone",
    ),
)
KEPT = (MY_LEARNING, HOME_CARD, MODULE_PAGE, JOURNAL_LIST, FOLLOW_UP_BOARD)


def learning_version(db: Session, actor: Actor, *, now: datetime | None = None) -> tuple[object, ...]:
    """The version of My learning and of the home card (`_LEARNING`)."""
    membership = actor.membership
    return (
        membership.id,
        membership.learning_version,
        release_key(db),
        learning.org_today(actor, now),
        actor.org.time_zone,
    )


def module_version(db: Session, actor: Actor, module: modules.Identity) -> tuple[object, ...]:
    """The version of a module page (`MODULE_PAGE.made_of`): all of it known without reading the
    person's progress, so a page read again is served with no query of its own."""
    return (
        actor.user.id,
        module.module_id,
        module.content_hash,
        module.retired_at,
        actor.membership.learning_version,
        release_key(db),
        actor.org.time_zone,
    )


def journal_version(db: Session, actor: Actor, page: int) -> tuple[object, ...]:
    """The version of a page of the journal list (`JOURNAL_LIST.made_of`): held by the signed-in
    person's membership and the release read with them, so a page read again costs no query of its own."""
    membership = actor.membership
    return (
        membership.id,
        membership.journal_version,
        membership.learning_version,
        page,
        release_key(db),
        actor.org.time_zone,
    )


def board_version(
    actor: Actor, section: str | None, page: int, *, now: datetime | None = None
) -> tuple[object, ...]:
    """The version of the follow-up board, or of a page of one of its sections (`FOLLOW_UP_BOARD`)."""
    membership = actor.membership
    return (
        membership.id,
        membership.unit_id,
        membership.unit.path if membership.unit is not None else None,
        membership.stakeholder_role,
        actor.org.follow_up_version,
        section,
        page,
        follow_ups.local_today(actor.org, now),
        actor.org.time_zone,
    )


def module_identity(db: Session, slug: str) -> modules.Identity:
    """`modules.identity`, kept per content release (a sync that changes a module makes a release)."""
    key = ("module identity", release_key(db), slug)
    found = store(current_app).find(key)
    if found is None:
        found = modules.identity(db, slug)  # NotFound for an unknown slug, which is never kept
        store(current_app).put(key, found)
    return found


def note_visit(actor: Actor, module: modules.Identity, visit: Callable[[], object]) -> None:
    """Note a visit to a module page as `modules.visit` does, at most once a minute per worker.

    `visit` (the service: it reads the progress, refuses a retired module the person never started,
    starts or touches the progress) runs unless this worker ran it for this person and module within
    `modules.SEEN_AGAIN_AFTER` under the same `learning_version`: a visit that succeeded once keeps
    succeeding until the progress changes, and a change of progress bumps the version.
    """
    key = ("visit noted", actor.user.id, module.module_id)
    noted = store(current_app).find(key)
    now = monotonic()
    version = actor.membership.learning_version
    if noted is not None and noted[0] == version and now - noted[1] < _SEEN_AGAIN_AFTER_S:
        return
    visit()
    store(current_app).put(key, (actor.membership.learning_version, now))


_SEEN_AGAIN_AFTER_S = modules.SEEN_AGAIN_AFTER.total_seconds()


# --- the pages' kept parts -------------------------------------------------------------------------


def my_learning(db: Session, actor: Actor) -> Markup:
    """My learning's list (everything on the page but the layout)."""
    return _kept(
        MY_LEARNING,
        learning_version(db, actor),
        lambda: {"mine": learning.my_learning(db, actor), "time_zone": actor.org.time_zone},
    )


def home_card(db: Session, actor: Actor) -> Markup:
    """The home page's "Your learning" card."""
    return _kept(
        HOME_CARD,
        learning_version(db, actor),
        lambda: {"summary": learning.learning_summary(db, actor), "time_zone": actor.org.time_zone},
    )


def module_page(
    db: Session, actor: Actor, module: modules.Identity, view: Callable[[], modules.ModuleView]
) -> Markup:
    """A module page's body: kept, `view` read only when it is rendered."""
    return _kept(MODULE_PAGE, module_version(db, actor, module), lambda: _module_context(actor, view()))


def journal_list(
    db: Session, actor: Actor, page: int, context: Callable[[], Mapping[str, Any]], *, keep: bool = True
) -> Markup:
    """A page of the journal list (everything on the page but the layout); a search (`keep` False) is
    rendered for its response alone."""
    if not keep:
        return _render(JOURNAL_LIST, context()).fill({})
    return _kept(JOURNAL_LIST, journal_version(db, actor, page), context)


def follow_up_board(
    actor: Actor, section: str | None, page: int, context: Callable[[], Mapping[str, Any]]
) -> Markup:
    """The follow-up board, or a page of one of its sections (everything on the page but the layout)."""
    return _kept(FOLLOW_UP_BOARD, board_version(actor, section, page), context)


def refused_module_page(
    actor: Actor, view: modules.ModuleView, kind: str, key: str, form: FlaskForm
) -> Markup:
    """A module page's body with a refused form in it (its errors and what was typed): never kept."""
    part = _render(MODULE_PAGE, _module_context(actor, view, (kind, key, form)))
    return part.fill(_slot_values(MODULE_PAGE))


def _module_context(
    actor: Actor, view: modules.ModuleView, refused: tuple[str, str, FlaskForm | None] = ("", "", None)
) -> dict[str, Any]:
    kind, key, form = refused
    return {
        "view": view,
        "module": view.module,
        "time_zone": actor.org.time_zone,
        "refused_kind": kind,
        "refused_key": key,
        "refused_form": form,
    }


# --- slots: what each response puts in a kept part -----------------------------------------------

# Stands for a slot in a kept part; random, so no module's text can contain it.
_SLOT_MARK = secrets.token_hex(16)
_SLOT = re.compile(f"{_SLOT_MARK}([a-z_]+){_SLOT_MARK}")
_FILLS: dict[str, Callable[[], str]] = {"csrf_token": generate_csrf}


def _slot_values(kept: KeptTemplate) -> dict[str, str]:
    return {name: _FILLS[name]() for name in kept.slots}


@dataclass(frozen=True, slots=True)
class Part:
    """A rendered part: its text, with holes where slots stand (`holes[i]` follows `texts[i]`)."""

    texts: tuple[str, ...]
    holes: tuple[str, ...] = ()

    def fill(self, values: Mapping[str, str]) -> Markup:
        if not self.holes:
            return Markup(self.texts[0])  # noqa: S704 - a template's output, escaped by Jinja
        pieces = [self.texts[0]]
        for name, text in zip(self.holes, self.texts[1:], strict=True):
            pieces += [str(escape(values[name])), text]
        return Markup("".join(pieces))  # noqa: S704 - the template's output and escaped values


def _render(kept: KeptTemplate, context: Mapping[str, Any]) -> Part:
    """The template rendered from `context` and its slots only (no context processors, no request)."""
    env: Environment = current_app.extensions["lms.kept_templates"]
    slots = SimpleNamespace(**{name: f"{_SLOT_MARK}{name}{_SLOT_MARK}" for name in kept.slots})
    pieces = _SLOT.split(env.get_template(kept.template).render(**context, slots=slots))
    return Part(tuple(pieces[0::2]), tuple(pieces[1::2]))


def _kept(
    kept: KeptTemplate, version: tuple[object, ...], context: Callable[[], Mapping[str, Any]]
) -> Markup:
    part = store(current_app).get(
        (kept.template, request.script_root, *version), lambda: _render(kept, context())
    )
    return part.fill(_slot_values(kept))


# --- the store -----------------------------------------------------------------------------------

_STORE = "lms.kept"


def store(app: Flask) -> Store:
    """The app's store of kept parts (tests and the benchmark's cold paths empty it)."""
    return app.extensions[_STORE]


class Store:
    """Parts by key, at most `capacity` of them, the least recently used dropped first; beside them
    the little a worker notes to skip a query (a module's identity per release, a visit just noted)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._parts: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = Lock()  # waitress serves with threads

    def get(self, key: Hashable, render: Callable[[], Part]) -> Part:
        """The part kept under key; when there is none, `render`'s (called outside the lock), kept."""
        part = self.find(key)
        if part is None:
            part = render()
            self.put(key, part)
        return part

    def find(self, key: Hashable) -> Any:
        """What is kept under key, else None."""
        with self._lock:
            value = self._parts.get(key)
            if value is not None:
                self._parts.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._parts[key] = value
            self._parts.move_to_end(key)
            while len(self._parts) > self.capacity:
                self._parts.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()

    def __len__(self) -> int:
        return len(self._parts)


# --- what My learning shows has changed ------------------------------------------------------------


def _bump_learning_versions(session: Session, _context: Any) -> None:
    """Bump `Membership.learning_version` in the flush that writes an assignment, a progress's
    status, an answer to a check or a reflection, so a part kept under the old version is never served
    again. Any ORM write counts, whichever service makes it; a bulk UPDATE of these tables would have
    to bump it itself.

    The increment is made in SQL (`learning_version + 1`), so two transactions bumping at once both
    count, and it commits or rolls back with the change it marks.
    """
    memberships: set[int] = set()
    users: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Assignment) and (obj not in session.dirty or session.is_modified(obj)):
            memberships.add(obj.membership_id)
        elif isinstance(obj, CheckAttempt | Reflection) or (  # a module page shows answers, reflections
            isinstance(obj, Progress)
            and (obj not in session.dirty or _changed(obj, "status", "completed_at"))
        ):
            users.add(obj.user_id)
    if not (memberships or users):
        return
    table = Membership.__table__
    session.connection().execute(
        update(table)
        .where(or_(table.c.id.in_(memberships), table.c.user_id.in_(users)))
        .values(learning_version=table.c.learning_version + 1)
    )
    session.info["lms.learning_stale"] = (memberships, users)


def _expire_learning_versions(session: Session, _context: Any) -> None:
    """Memberships already loaded re-read the version they now hold."""
    memberships, users = session.info.pop("lms.learning_stale", ((), ()))
    if not (memberships or users):
        return
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Membership) and (obj.id in memberships or obj.user_id in users):
            session.expire(obj, ["learning_version"])


def _changed(obj: object, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


# --- what the journal list and the follow-up boards show has changed ----------------------------------


def _bump_coaching_versions(session: Session, _context: Any) -> None:
    """Bump `Membership.journal_version` of every membership of a person whose journal entry, or a
    comment on whose entry or reflection, this flush writes; and `Organization.follow_up_version` of
    every organisation one of whose follow-ups (or their history) or units it writes, or one of whose
    people it renames. Any ORM write counts, as for `_bump_learning_versions`, in SQL and in the same
    transaction as the change; a bulk UPDATE of these tables would have to bump them itself."""
    authors: set[int] = set()
    commented: dict[str, set[int]] = {"entry": set(), "reflection": set()}
    orgs: set[int] = set()
    follow_up_ids: set[int] = set()
    renamed: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        changed = obj not in session.dirty or session.is_modified(obj)
        if not changed:
            continue
        if isinstance(obj, JournalEntry):
            authors.add(obj.user_id)
        elif isinstance(obj, JournalComment):
            commented["entry" if obj.entry_id is not None else "reflection"].add(
                obj.entry_id or obj.reflection_id or 0
            )
        elif isinstance(obj, FollowUp | OrgUnit):
            orgs.add(obj.org_id)
        elif isinstance(obj, FollowUpEvent):
            follow_up_ids.add(obj.follow_up_id)
        elif isinstance(obj, User) and obj in session.dirty and _changed(obj, "name"):
            renamed.add(obj.id)
    journals, boards = bool(authors or any(commented.values())), bool(orgs or follow_up_ids or renamed)
    run = session.connection().execute
    if journals:
        m = Membership.__table__
        run(
            update(m)
            .where(
                or_(
                    m.c.user_id.in_(authors),
                    m.c.user_id.in_(
                        select(JournalEntry.user_id).where(JournalEntry.id.in_(commented["entry"]))
                    ),
                    m.c.user_id.in_(
                        select(Reflection.user_id).where(Reflection.id.in_(commented["reflection"]))
                    ),
                )
            )
            .values(journal_version=m.c.journal_version + 1)
        )
    if boards:
        o = Organization.__table__
        run(
            update(o)
            .where(
                or_(
                    o.c.id.in_(orgs),
                    o.c.id.in_(select(FollowUp.org_id).where(FollowUp.id.in_(follow_up_ids))),
                    o.c.id.in_(select(Membership.org_id).where(Membership.user_id.in_(renamed))),
                )
            )
            .values(follow_up_version=o.c.follow_up_version + 1)
        )
    if journals or boards:
        session.info["lms.coaching_stale"] = (journals, boards)


def _expire_coaching_versions(session: Session, _context: Any) -> None:
    """Memberships and organisations already loaded re-read the versions they now hold."""
    journals, boards = session.info.pop("lms.coaching_stale", (False, False))
    for obj in list(session.identity_map.values()) if journals or boards else ():
        if journals and isinstance(obj, Membership):
            session.expire(obj, ["journal_version"])
        elif boards and isinstance(obj, Organization):
            session.expire(obj, ["follow_up_version"])


_LISTENERS = (
    ("after_flush", _bump_learning_versions),
    ("after_flush_postexec", _expire_learning_versions),
    ("after_flush", _bump_coaching_versions),
    ("after_flush_postexec", _expire_coaching_versions),
)


def init_app(app: Flask) -> None:
    """Called by the application factory: the version listener (on every ORM session of the process,
    so a command, a job or a test session bumps versions as a request does; registered once), the
    store, and the template environment kept parts are rendered in (the application's, where a name
    not passed is an error)."""
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
    app.extensions[_STORE] = Store(app.config.get("PAGE_CACHE_ENTRIES", 1000))
    app.extensions["lms.kept_templates"] = app.jinja_env.overlay(undefined=StrictUndefined)
