"""Test harness: an app on a throwaway database, factories for organisations, units and people by
role, a signed-in client per person, a real SMTP server, and a live server for browser tests.

The database is SQLite in a temporary folder, or PostgreSQL when LMS_TEST_DATABASE_URL names a server
(a fresh database is created on it for the run and dropped afterwards). Each test runs in a transaction
rolled back at its end (`_rolled_back`); tests marked `committed`, and browser tests, commit for real and
every table is emptied after them (`_wipe`). Tests that need a part that is missing (PostgreSQL,
Chromium) skip with a reason locally and fail in CI (CI=true).
"""

from __future__ import annotations

import itertools
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from email import message_from_bytes
from email.message import Message
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from curricula.stakeholders import StakeholderRole
from lms import create_app, kept, migrate
from lms.db import Base, get_db, unit_of_work
from lms.login import SESSION_KEY
from lms.models import Membership, Organization, OrgUnit, UnitKind, User
from lms.security import hash_password
from lms.services import sessions
from lms.web import after_response

IN_CI = os.environ.get("CI", "").lower() == "true"
# The test organisations' time zone. Due dates and "overdue" count in the organisation's date, which
# differs from the machine's (UTC) for part of every day: tests take today from `org_today`.
ORG_TIME_ZONE = "America/New_York"
PASSWORD = "correct horse battery"


def org_today() -> date:
    """Today where the test organisations are (`date.today()` is the machine's day, UTC here)."""
    return datetime.now(ZoneInfo(ORG_TIME_ZONE)).date()


def missing(reason: str) -> None:
    """Skip locally; in CI a missing part is a failure, never a silent skip."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


# --- the database -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = os.environ.get("LMS_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    url = make_url(server)
    name = f"lms_test_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def commit_the_tests_work() -> None:
    """Commit what the test did through the session of its own app context (the `db` fixture), as a
    request, a command or a job would at its boundary. Tests that call a service and then look through
    another session (a request, a command, a job) call this, or let the test client do it."""
    if has_app_context() and "lms_db" in g:
        g.lms_db.commit()


class IsolatedClient(FlaskClient):
    """Runs each request in an app context of its own, as a server does.

    The `db` fixture holds an app context for the whole test, and Flask would reuse it for the client's
    requests, so `g` (the signed-in user, the actor, the session) would leak from one request, or one
    client, into the next and hide bugs such as a sign-out that does not sign out.

    Services never commit (the request, the command or the job does): what the test itself did through
    its own session (the `db` fixture) is committed first, the test being the boundary of its own work,
    so the request sees it as it would see a committed change.
    """

    def open(self, *args, **kwargs):
        commit_the_tests_work()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # Work a request started (lms.web.after_response) has finished before the test's next step.
        assert after_response.wait(60), "work started by the request still runs after 60 s"
        return response


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
            "DATABASE_URL": database_url,
            "PASSWORD_PROFILE": "CHEAPEST",
            "SECRET_KEY": "test-secret",
            "LOG_LEVEL": "WARNING",
        }
    )
    app.test_client_class = IsolatedClient
    migrate.upgrade(app)
    return app


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "committed: the test's work is really committed and every table emptied after it, for tests that "
        "look through a connection of their own or serve requests from another thread (browser tests are)",
    )


def _wipe(app: Flask) -> None:
    engine = app.extensions["lms.engine"]
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@contextmanager
def _rolled_back(app: Flask) -> Iterator[None]:
    """Every session the app makes while the test runs (the `db` fixture's, each request's, each
    command's, work after a response) joins one outer transaction on one connection, rolled back when
    the test ends (SQLAlchemy's "joining a Session into an external transaction").

    Each session works in a savepoint of its own (join_transaction_mode="create_savepoint"): its commit
    releases the savepoint, so what it did is visible to the sessions after it, as a commit would be; its
    rollback (a refused request, a failed command) rolls back to the savepoint, and its next transaction
    opens a new one. On SQLite, lms.db's "savepoint" hook emits the BEGIN pysqlite would defer, so the
    first savepoint opens the outer transaction rather than a transaction that its release commits.
    """
    engine = app.extensions["lms.engine"]
    made = app.extensions["lms.sessionmaker"]
    with engine.connect() as connection:
        outer = connection.begin()
        app.extensions["lms.sessionmaker"] = sessionmaker(
            **{**made.kw, "bind": connection, "join_transaction_mode": "create_savepoint"}
        )
        try:
            yield
        finally:
            app.extensions["lms.sessionmaker"] = made
            outer.rollback()
    with engine.connect() as check:
        left = check.scalar(
            text("SELECT (SELECT count(*) FROM organization) + (SELECT count(*) FROM user_account)")
        )
    assert left == 0, "a test's work outlived its transaction (mark it `committed` if it commits for real)"


@pytest.fixture(autouse=True)
def _isolated(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test that uses the app runs in a transaction rolled back at its end (`_rolled_back`).

    Tests marked `committed`, and browser tests (the live server answers from threads of its own, each
    with a connection of its own), commit for real instead, and every table is emptied after them.
    """
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    entries = app.config["SIGNED_IN_ENTRIES"]
    try:
        if request.node.get_closest_marker("committed") or "live_server" in request.fixturenames:
            try:
                yield
            finally:
                _wipe(app)
        else:
            # Nothing is committed, so PostgreSQL never tells the workers' copy of the signed-in people
            # (lms.signed_in) that anything changed: requests look the person up every time.
            app.config["SIGNED_IN_ENTRIES"] = 0
            with _rolled_back(app):
                yield
    finally:
        app.config["SIGNED_IN_ENTRIES"] = entries
        # Ids start again after a wipe (and on SQLite after a rollback): pages kept for this test's people
        # must go with them, as must the copy of who is signed in.
        kept.store(app).clear()
        if (copy := app.extensions.get("lms.signed_in")) is not None:
            copy.forget_all()


@pytest.fixture
def ctx(app: Flask, _isolated: None) -> Iterator[None]:
    with app.app_context():
        yield


@pytest.fixture
def db(app: Flask, ctx: None) -> Session:
    """The session services use in this app context."""
    return get_db()


@pytest.fixture
def is_postgres(app: Flask) -> bool:
    return app.extensions["lms.engine"].dialect.name == "postgresql"


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    """Tests marked `postgres` check PostgreSQL-only behaviour (row locks, advisory locks).

    On SQLite they skip: .ci/run runs the whole suite a second time on PostgreSQL, where they run.
    """
    if request.node.get_closest_marker("postgres") and not os.environ.get("LMS_TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL-only behaviour: runs in the PostgreSQL pass (LMS_TEST_DATABASE_URL)")


# --- factories ------------------------------------------------------------------------------------

_seq = itertools.count(1)


@dataclass
class OrgTree:
    org: Organization
    system: OrgUnit
    facility: OrgUnit
    department: OrgUnit
    unit: OrgUnit
    extra: dict[str, OrgUnit] = field(default_factory=dict)


class Factory:
    """Builds organisations and people directly in the database (committed), for arranging tests."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def unit(self, org: Organization, name: str, kind: UnitKind, parent: OrgUnit | None) -> OrgUnit:
        unit = OrgUnit(org_id=org.id, parent_id=parent.id if parent else None, kind=kind, name=name, path="")
        self.db.add(unit)
        self.db.flush()
        unit.path = f"{parent.path if parent else '/'}{unit.id}/"
        self.db.commit()
        return unit

    def org(self, slug: str | None = None, name: str | None = None) -> OrgTree:
        n = next(_seq)
        slug = slug or f"org-{n}"
        org = Organization(slug=slug, name=name or f"Health System {n}", time_zone=ORG_TIME_ZONE)
        self.db.add(org)
        self.db.commit()
        system = self.unit(org, f"{org.name}", UnitKind.SYSTEM, None)
        facility = self.unit(org, "General Hospital", UnitKind.FACILITY, system)
        department = self.unit(org, "Medicine", UnitKind.DEPARTMENT, facility)
        unit = self.unit(org, "Ward 4B", UnitKind.UNIT, department)
        return OrgTree(org, system, facility, department, unit)

    def person(
        self,
        tree: OrgTree,
        role: StakeholderRole = StakeholderRole.CLINICIAN,
        *,
        email: str | None = None,
        name: str | None = None,
        password: str | None = PASSWORD,
        unit: OrgUnit | None = None,
        hr: bool = False,
        coach: bool = False,
        faculty: bool = False,
        org_admin: bool = False,
        active: bool = True,
    ) -> Membership:
        n = next(_seq)
        email = email or f"person{n}@{tree.org.slug}.example"
        user = self.db.query(User).filter_by(email=email).one_or_none()
        if user is None:
            user = User(
                email=email,
                name=name or f"Person {n}",
                password_hash=hash_password(password) if password else None,
            )
            self.db.add(user)
            self.db.flush()
        m = Membership(
            user_id=user.id,
            org_id=tree.org.id,
            unit_id=(unit or tree.unit).id,
            stakeholder_role=role,
            job_code="RN1",
            employee_id=f"E{n:05d}",
            is_hr=hr,
            is_coach=coach,
            is_faculty=faculty,
            is_org_admin=org_admin,
            active=active,
        )
        self.db.add(m)
        self.db.commit()
        self.db.refresh(user)
        return m


@pytest.fixture
def make(db: Session) -> Factory:
    return Factory(db)


@pytest.fixture
def tree(make: Factory) -> OrgTree:
    return make.org(slug="alpha", name="Alpha Health")


@pytest.fixture
def other_tree(make: Factory) -> OrgTree:
    """A second organisation: nothing of it may ever be visible from `tree`."""
    return make.org(slug="beta", name="Beta Health")


@pytest.fixture
def lib(db: Session):
    """A published content release to add modules to (tests/learning_factory.py)."""
    from learning_factory import Library

    library = Library(db)
    library.release()
    return library


@pytest.fixture
def learner(make: Factory, tree: OrgTree) -> Membership:
    return make.person(tree, StakeholderRole.CLINICIAN, name="Lena Learner", email="lena@alpha.test")


# --- clients --------------------------------------------------------------------------------------


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def login_as(app: Flask):
    """login_as(membership_or_user) -> a test client whose session is signed in as that person."""

    def _login(who: Membership | User) -> FlaskClient:
        user = who.user if isinstance(who, Membership) else who
        c = app.test_client()
        commit_the_tests_work()
        with app.app_context(), unit_of_work() as db:
            key = sessions.start(db, db.get(User, user.id), ip="127.0.0.1", user_agent="pytest")
        with c.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess[SESSION_KEY] = key
            sess["_fresh"] = True
        return c

    return _login


def csrf_token(client: FlaskClient, path: str) -> str:
    """GET a page and read its CSRF token the way a browser would submit it."""
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


# --- real SMTP ------------------------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        with self.lock:
            self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Mailbox]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; yields (smtp URL, mailbox)."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:  # pragma: no cover - dev extra missing
        missing("aiosmtpd is not installed (pip install -e '.[dev]')")
    box = Mailbox()
    # aiosmtpd connects to its own port to see that it is up, so it needs a real port number, not 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp+plain://127.0.0.1:{controller.port}", box
    finally:
        controller.stop()
