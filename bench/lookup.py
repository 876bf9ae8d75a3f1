"""Where a signed-in page's CPU goes, step by step, on SQLite or PostgreSQL (`python -m bench lookup`).

`bench pages` measures pages as a browser meets them (gunicorn, wrk, many processes on the same cores).
This benchmark stays in one process and splits one signed-in request into steps that each contain the
one before: the driver's round trip (`SELECT 1` on the raw connection), the same through the pool and
SQLAlchemy's Core, the signed-in person's lookup asking the database (`sessions.user_for` in a fresh ORM
session: the page's one statement), and the whole home page (Flask's test client, cookie to HTML), as
production serves it. On PostgreSQL a fifth step times the lookup answered from the worker's copy of the
signed-in people (`lms.signed_in`), which the home page step uses too. For each step it reports
the CPU this process spent per call and, on a PostgreSQL server started here, the server's CPU per call.
The differences between steps say what each layer costs; the same steps on both databases say what a
round trip to PostgreSQL adds to every page.
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench import BenchmarkFailed, package_versions, postgres, progress, server
from bench.dataset import publish_learning, seed
from bench.pages import USER_AGENT, session_cookie
from lms import create_app, login, migrate
from lms.services import sessions

CALLS = 2000  # per step and round
WARM_UP = 200  # calls before each measured round: prepared statements, caches, the pool
ROUNDS = 3


def result_name(database: str = "sqlite", database_url: str | None = None) -> str:
    return postgres.result_name("lookup", database, database_url)


def run(database: str = "sqlite", database_url: str | None = None) -> dict[str, Any]:
    with ExitStack() as stack:
        db = postgres.database_for(stack, database, database_url)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lms-bench-lookup-")))
        config = {
            "INSTANCE_PATH": str(tmp / "instance"),
            "SECRET_KEY": secrets.token_urlsafe(32),
            "LOG_LEVEL": "WARNING",
        }
        if db.url:
            config["DATABASE_URL"] = db.url
        app = create_app(config)
        try:
            return measure(app, tmp, db.where, db.server_cpu)
        finally:
            app.extensions["lms.engine"].dispose()


def measure(
    app: Any, tmp: Path, where: dict[str, Any], server_cpu: Callable[[], float | None] | None
) -> dict[str, Any]:
    engine = app.extensions["lms.engine"]
    progress(f"migrating and seeding a fresh {engine.dialect.name} database")
    migrate.upgrade(app)
    dataset = seed(app)
    learned, _facts = publish_learning(app, dataset["learner_id"], tmp)
    user_id = dataset["learner_id"]
    cookie = session_cookie(app, user_id)
    name, value = cookie.split("=", 1)
    key = app.session_interface.get_signing_serializer(app).loads(value)[login.SESSION_KEY]

    raw = engine.raw_connection()  # the pool's own connection, set up as every request's is

    def driver_round_trip() -> None:
        cursor = raw.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchall()
        cursor.close()

    def pool_and_core() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1")).all()

    def signed_in_lookup() -> None:
        with Session(engine) as db:
            if sessions.user_for(db, user_id, key) is None:
                raise BenchmarkFailed("the benchmark learner's session was not found")

    client = app.test_client()
    client.set_cookie(name, value, domain="localhost")
    environ = {"REMOTE_ADDR": server.HOST}
    sent = {"User-Agent": USER_AGENT}

    def home_page() -> None:
        response = client.get("/", headers=sent, environ_base=environ)
        if response.status_code != 200:
            raise BenchmarkFailed(f"the home page answered {response.status_code}, not 200")

    # Each step, and whether the worker's copy of the signed-in people (lms.signed_in, PostgreSQL only)
    # may answer in it: the lookup is timed asking the database, then, on PostgreSQL, from the copy.
    steps: dict[str, tuple[Callable[[], None], bool]] = {
        "driver_round_trip": (driver_round_trip, False),
        "pool_and_core": (pool_and_core, False),
        "signed_in_lookup": (signed_in_lookup, False),
        "home_page": (home_page, True),
    }
    if "lms.signed_in" in app.extensions:
        steps["signed_in_from_copy"] = (signed_in_lookup, True)
    entries = app.config["SIGNED_IN_ENTRIES"]
    figures: dict[str, Any] = {}
    try:
        for step, (call, copy) in steps.items():
            app.config["SIGNED_IN_ENTRIES"] = entries if copy else 0
            # A request pushes an app context of its own (and so a new ORM session) only when none is
            # active: the home page is timed outside one, as a server serves it.
            with nullcontext() if step == "home_page" else app.app_context():
                rounds = [_round(call, server_cpu) for _ in range(ROUNDS)]
                figures[step] = {
                    "client_cpu_ms": _median(rounds, "client_cpu_ms"),
                    "wall_ms": _median(rounds, "wall_ms"),
                    "database_cpu_ms": _median(rounds, "database_cpu_ms"),
                    "rounds": rounds,
                }
                progress(
                    f"{step}: {figures[step]['client_cpu_ms']} ms of this process's CPU, "
                    f"database {figures[step]['database_cpu_ms']} ms, wall {figures[step]['wall_ms']} ms"
                )
    finally:
        app.config["SIGNED_IN_ENTRIES"] = entries
        raw.close()
    lookup, page = figures["signed_in_lookup"], figures["home_page"]
    # The lookup as the page makes it: from the copy where there is one.
    as_paged = figures.get("signed_in_from_copy", lookup)
    return {
        "figures": {
            "steps": figures,
            # What the lookup's statement costs this process beyond the pool's bare round trip, what the
            # copy saves of it, and what share of the whole page the lookup (as the page makes it) is.
            "lookup_over_round_trip_ms": round(
                lookup["client_cpu_ms"] - figures["pool_and_core"]["client_cpu_ms"], 3
            ),
            "copy_saves_ms": round(lookup["client_cpu_ms"] - as_paged["client_cpu_ms"], 3),
            "lookup_share_of_page": round(as_paged["client_cpu_ms"] / page["client_cpu_ms"], 3),
        },
        "dataset": {**dataset, **learned},
        "setup": {
            "database": engine.dialect.name,
            "where": where,
            "calls_per_round": CALLS,
            "warm_up_calls": WARM_UP,
            "rounds": ROUNDS,
            "packages": package_versions("flask", "sqlalchemy", "psycopg", "werkzeug", "jinja2"),
        },
    }


def _round(call: Callable[[], None], server_cpu: Callable[[], float | None] | None) -> dict[str, Any]:
    for _ in range(WARM_UP):
        call()
    db0 = server_cpu() if server_cpu else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(CALLS):
        call()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    db1 = server_cpu() if server_cpu else None
    return {
        "client_cpu_ms": round(cpu / CALLS * 1000, 3),
        "wall_ms": round(wall / CALLS * 1000, 3),
        "database_cpu_ms": None if db0 is None or db1 is None else round((db1 - db0) / CALLS * 1000, 3),
    }


def _median(rounds: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rounds if r[key] is not None]
    return round(statistics.median(values), 3) if values else None
