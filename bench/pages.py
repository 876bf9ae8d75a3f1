"""Benchmark `pages`: req/s and latency of real pages against a bare endpoint on the same server stack.

The app runs as production runs it (gunicorn, sync workers, SQLite in a fresh instance folder, or with
`--database postgresql` a PostgreSQL database made for the run, bench/postgres.py), with a
realistic organisation of about 200 people and the project's curricula plus generated modules
published. A signed-in learner holding exactly 60 assignments (some completed, some in progress with
check attempts and reflections, some overdue, over several dose levels) opens the home page, My
learning and a module page, their journal of 200 entries and their board of 500 follow-ups
(bench/coaching_data.py); these and /healthz are compared with /_bench/bare, a route that does
nothing (bench/wsgi.py): the ratio says how much of the server's capacity a page's own work (session,
queries, template) costs. Add a page to ENDPOINTS with one line.
"""

from __future__ import annotations

import http.client
import re
import secrets
import statistics
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy.engine import make_url

from bench import BenchmarkFailed, package_versions, postgres, progress, server, wrk
from bench.coaching_data import FOLLOW_UPS, JOURNAL_ENTRIES, seed_coaching
from bench.dataset import GENERATED_MODULES, publish_learning, seed
from lms import create_app, login, migrate
from lms.db import get_db
from lms.models import (
    User,
)

WARMUP_S = 2
ROUNDS = 3
ROUND_S = 4  # so each endpoint is measured for ROUNDS * ROUND_S seconds
USER_AGENT = "lms-bench/1 (wrk)"
LEARNER_EMAIL = "learner@bench.example"
CONTENT = Path(__file__).resolve().parent.parent / "content"


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str  # may name page facts, e.g. "/modules/{module}"
    expect: tuple[str, ...]  # texts the page must contain (may name page facts), before and after the load
    signed_in: bool = False
    # A page fact holding the exact set of module slugs the page must link to (/modules/<slug>), if any.
    links_modules: str | None = None


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("home", "/", expect=("Welcome", "Your learning", "Next:"), signed_in=True),
    Endpoint("my_learning", "/learning", expect=("My learning",), signed_in=True, links_modules="assigned"),
    Endpoint(
        "my_learning_rendered",
        "/_bench/my-learning-rendered",
        expect=("My learning",),
        signed_in=True,
        links_modules="assigned",
    ),
    Endpoint(
        "module",
        "/modules/{module}",
        expect=(
            "{module_title}",
            'action="/modules/{module}/checks/',
            'name="chosen"',
            "{module_reflection}",
        ),
        signed_in=True,
    ),
    Endpoint(
        "module_rendered",
        "/_bench/module-rendered/{module}",
        expect=("{module_title}", 'action="/modules/{module}/checks/', "{module_reflection}"),
        signed_in=True,
    ),
    # A journal of 200 entries and a board of 500 follow-ups (bench/coaching_data.py), their first pages.
    # Both kept rendered a page at a time (50 entries; 50 follow-ups to a section), and rendered afresh.
    Endpoint("journal", "/journal", expect=("Journal", "Week 200: the late shift"), signed_in=True),
    Endpoint(
        "journal_rendered",
        "/_bench/journal-rendered",
        expect=("Journal", "Week 200: the late shift"),
        signed_in=True,
    ),
    Endpoint(
        "follow_ups",
        "/follow-ups",
        expect=("Follow-ups", "fix what the team raised", "Mine (400 open)"),
        signed_in=True,
    ),
    Endpoint(
        "follow_ups_rendered",
        "/_bench/follow-ups-rendered",
        expect=("Follow-ups", "fix what the team raised", "Mine (400 open)"),
        signed_in=True,
    ),
    Endpoint("healthz", "/healthz", expect=('"status":"ok"',)),
    Endpoint("bare", "/_bench/bare", expect=("ok",)),
)
BASELINE = "bare"
MODULE_LINK = re.compile(r'href="/modules/([^"#?/]+)"')
# name -> (endpoint, least share of the baseline's req/s it should reach)
TARGETS: dict[str, tuple[str, float]] = {
    "home_quarter_of_bare": ("home", 0.25),
    "my_learning_quarter_of_bare": ("my_learning", 0.25),
    "module_quarter_of_bare": ("module", 0.25),
    "journal_quarter_of_bare": ("journal", 0.25),
    "follow_ups_quarter_of_bare": ("follow_ups", 0.25),
}


def result_name(database: str = "sqlite", database_url: str | None = None) -> str:
    return postgres.result_name("pages", database, database_url)


def run(database: str = "sqlite", database_url: str | None = None) -> dict[str, Any]:
    """Measure on SQLite (a file in the temporary instance folder), or on PostgreSQL: a throwaway server
    started here (bench/postgres.py), or the server `database_url` names; either way in a scratch
    database made for this run and dropped after it."""
    wrk_version = wrk.version()  # fails early, with how to install it, when wrk is missing
    with ExitStack() as stack:
        db = postgres.database_for(stack, database, database_url)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lms-bench-pages-")))
        return measure_on(tmp, db.url, db.where, wrk_version, db.server_cpu)


def measure_on(
    tmp: Path,
    url: str | None,
    where: dict[str, Any],
    wrk_version: str,
    db_cpu: Callable[[], float | None] | None = None,
) -> dict[str, Any]:
    """Seed a fresh database (SQLite in the instance folder when `url` is None), serve it, measure it."""
    instance = tmp / "instance"
    env = {
        "LMS_INSTANCE_PATH": str(instance),
        "LMS_SECRET_KEY": secrets.token_urlsafe(48),
    }
    # Named always (SQLite: the default file in the instance folder), so an LMS_DATABASE_URL in the
    # caller's environment cannot point the benchmark at another database.
    env["LMS_DATABASE_URL"] = url or f"sqlite:///{instance / 'lms.sqlite3'}"
    config = {
        "INSTANCE_PATH": env["LMS_INSTANCE_PATH"],
        "SECRET_KEY": env["LMS_SECRET_KEY"],
        "DATABASE_URL": env["LMS_DATABASE_URL"],
    }
    # The server's environment is production's; this process only seeds, so it logs less.
    app = create_app({**config, "LOG_LEVEL": "WARNING"})
    engine = app.extensions["lms.engine"]
    try:
        progress(
            f"migrating and seeding a fresh {engine.dialect.name} database "
            + (f"in {instance}" if url is None else make_url(url).render_as_string(hide_password=True))
        )
        migrate.upgrade(app)
        dataset = seed(app)
        progress(
            f"publishing content/ and {GENERATED_MODULES} generated modules; the learner's 60 assignments"
        )
        learned, facts = publish_learning(app, dataset["learner_id"], tmp)
        dataset |= learned
        progress(f"the learner's journal ({JOURNAL_ENTRIES} entries) and follow-ups ({FOLLOW_UPS})")
        dataset |= seed_coaching(app, dataset["learner_id"])
        cookie = session_cookie(app, dataset["learner_id"])
        with engine.connect():  # the dialect learns the server's version on the first connection
            pass
        db_facts = {
            "dialect": engine.dialect.name,
            "driver": engine.dialect.driver,
            "version": ".".join(map(str, engine.dialect.server_version_info or ())),
            **where,
        }
    finally:
        engine.dispose()  # the seeding connections, so only the server's own remain
    with server.gunicorn("bench.wsgi:app", env, log=tmp / "gunicorn.log") as srv:
        memory = {"before_load": srv.rss_mb()}
        endpoints = measure(srv, {**dataset, **facts}, cookie, db_cpu)
        memory["after_load"] = srv.rss_mb()
    stack_name = (
        "SQLite in WAL mode"
        if url is None
        else f"PostgreSQL {db_facts.get('version', '')} over TCP on 127.0.0.1 (psycopg)"
    )
    return {
        "figures": figures(endpoints),
        "server": {
            "stack": f"gunicorn (sync workers) + Flask, {stack_name}",
            "command": " ".join(["gunicorn", *srv.command[3:]]),
            "workers": srv.workers,
            "production_command": f"gunicorn --workers {srv.workers} --bind 127.0.0.1:8000 'lms.wsgi:app'",
            # Resident memory: the workers grow by what they load and keep (pages kept rendered,
            # lms.kept, at most LMS_PAGE_CACHE_ENTRIES of them per worker).
            "rss_mb": memory,
        },
        "load": {
            "tool": "wrk",
            "threads": wrk.THREADS,
            "connections": wrk.CONNECTIONS,
            "warmup_s": WARMUP_S,
            "rounds": ROUNDS,
            "round_s": ROUND_S,
            "from": "a second process on 127.0.0.1 (same 2-core machine)",
        },
        "database": db_facts,
        "dataset": {k: v for k, v in dataset.items() if k != "learner_id"},
        "versions": {
            "wrk": wrk_version,
            **package_versions("gunicorn", "Flask", "Werkzeug", "SQLAlchemy")
            | (package_versions("psycopg") if url else {}),
        },
    }


def session_cookie(app: Flask, user_id: int) -> str:
    """`name=value` of the session a real sign-in leaves behind, signed with the server's SECRET_KEY.

    Built as signing in builds it (a session held on the server, Flask-Login's user id, freshness and
    the session-protection id of this client's address and User-Agent) plus the CSRF secret a rendered
    form stores, so every measured request is a steady signed-in request, independent of the sign-in page.
    """
    with app.test_request_context(
        "/", environ_base={"REMOTE_ADDR": server.HOST}, headers={"User-Agent": USER_AGENT}
    ):
        user = get_db().get(User, user_id)
        if user is None or not user.is_active:
            raise BenchmarkFailed("the benchmark learner cannot sign in (inactive?)")
        login.sign_in(user, ip=server.HOST, user_agent=USER_AGENT)
        get_db().commit()  # the sign-in's session row: services flush, the request's boundary commits
        generate_csrf()
        value = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def headers(endpoint: Endpoint, cookie: str) -> dict[str, str]:
    sent = {"User-Agent": USER_AGENT}
    if endpoint.signed_in:
        sent["Cookie"] = cookie
    return sent


def check(srv: server.Server, endpoint: Endpoint, facts: dict[str, Any], cookie: str) -> dict[str, Any]:
    """Fail loudly unless the endpoint answers 200 with its expected text (no redirect to sign-in) and,
    for a list, links exactly the modules it should."""
    path = endpoint.path.format(**facts)
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers(endpoint, cookie))
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
    finally:
        conn.close()
    missing = [text for text in (e.format(**facts) for e in endpoint.expect) if text not in body]
    if response.status != 200 or missing:
        where = response.getheader("Location")
        raise BenchmarkFailed(
            f"{endpoint.name} ({path}) answered {response.status}"
            + (f" -> {where}" if where else "")
            + f" without {missing!r}; body starts: {body[:300]!r}"
        )
    checked: dict[str, Any] = {}
    if endpoint.links_modules:
        wanted = facts[endpoint.links_modules]
        linked = set(MODULE_LINK.findall(body))
        if linked != wanted:
            raise BenchmarkFailed(
                f"{endpoint.name} ({path}) links {len(linked)} modules, not the {len(wanted)} expected: "
                f"missing {sorted(wanted - linked)[:5]}, unexpected {sorted(linked - wanted)[:5]}"
            )
        checked["modules_linked"] = len(linked)
    return {
        "bytes": len(body.encode()),
        "sets_cookie": response.getheader("Set-Cookie") is not None,
        **checked,
    }


def measure(
    srv: server.Server,
    facts: dict[str, Any],
    cookie: str,
    db_cpu: Callable[[], float | None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Check each endpoint, warm it up, then load it in ROUNDS short runs, interleaved and rotated.

    Interleaving spreads every endpoint over the same minute, so a change in the machine's load (other
    processes on these 2 cores) moves all of them alike instead of skewing one ratio.
    """
    paths = {e.name: e.path.format(**facts) for e in ENDPOINTS}
    responses = {e.name: check(srv, e, facts, cookie) for e in ENDPOINTS}
    for e in ENDPOINTS:
        progress(f"warm-up {e.name} {paths[e.name]} for {WARMUP_S}s")
        wrk.run(srv.url(paths[e.name]), WARMUP_S, headers(e, cookie), latency=False)
    runs: dict[str, list[wrk.Figures]] = {e.name: [] for e in ENDPOINTS}
    cpu: dict[str, list[float | None]] = {e.name: [] for e in ENDPOINTS}
    dbcpu: dict[str, list[float | None]] = {e.name: [] for e in ENDPOINTS}
    for round_no in range(ROUNDS):
        for e in ENDPOINTS[round_no:] + ENDPOINTS[:round_no]:
            progress(f"round {round_no + 1}/{ROUNDS}: {e.name} for {ROUND_S}s, {wrk.CONNECTIONS} connections")
            before, db_before = srv.cpu_seconds(), db_cpu() if db_cpu else None
            report = wrk.run(srv.url(paths[e.name]), ROUND_S, headers(e, cookie))
            after, db_after = srv.cpu_seconds(), db_cpu() if db_cpu else None
            print(report, file=sys.stderr)
            runs[e.name].append(wrk.parse(report))
            cpu[e.name].append(None if before is None or after is None else after - before)
            dbcpu[e.name].append(None if db_before is None or db_after is None else db_after - db_before)
    for e in ENDPOINTS:  # still the page we meant to measure (nobody signed out meanwhile)
        check(srv, e, facts, cookie)
    return {
        e.name: {
            "path": paths[e.name],
            **summary(runs[e.name]),
            "server_cpu_ms_per_request": cpu_per_request(cpu[e.name], runs[e.name]),
            # PostgreSQL's own processes (only for a throwaway server: a given one may serve others).
            **(
                {"database_cpu_ms_per_request": cpu_per_request(dbcpu[e.name], runs[e.name])}
                if db_cpu
                else {}
            ),
            "response": responses[e.name],
        }
        for e in ENDPOINTS
    }


def cpu_per_request(cpu: list[float | None], runs: list[wrk.Figures]) -> float | None:
    if any(c is None for c in cpu):
        return None
    return round(sum(c for c in cpu if c is not None) * 1000 / sum(r.requests for r in runs), 3)


def summary(runs: list[wrk.Figures]) -> dict[str, Any]:
    """All rounds of one endpoint: req/s over all of them, the median round's latency percentiles."""
    errors = {key: sum(r.errors[key] for r in runs) for key in runs[0].errors}
    if errors["non_2xx_3xx"]:
        raise BenchmarkFailed(f"{errors['non_2xx_3xx']} error responses under load: the figures would lie")
    requests = sum(r.requests for r in runs)
    return {
        "requests_per_sec": round(requests / sum(r.seconds for r in runs), 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in runs), 3),
        "p99_ms": round(statistics.median(r.p99_ms for r in runs), 3),
        "requests": requests,
        "socket_errors": {k: v for k, v in errors.items() if k != "non_2xx_3xx"},
        "rounds": [{k: v for k, v in r.as_dict().items() if k != "seconds"} for r in runs],
    }


def figures(endpoints: dict[str, dict[str, Any]]) -> dict[str, Any]:
    base = endpoints[BASELINE]
    ratios = {
        f"{name}/{BASELINE}": round(e["requests_per_sec"] / base["requests_per_sec"], 3)
        for name, e in endpoints.items()
        if name != BASELINE
    }
    # The same ratio round by round: how far the machine's noise moves it.
    ratio_rounds = {
        f"{name}/{BASELINE}": [
            round(r["requests_per_sec"] / b["requests_per_sec"], 3)
            for r, b in zip(e["rounds"], base["rounds"], strict=True)
        ]
        for name, e in endpoints.items()
        if name != BASELINE
    }
    # The capacity ratio the server's own CPU cost per request predicts, whatever else runs meanwhile.
    base_cpu = base["server_cpu_ms_per_request"]
    cpu_ratios = {
        f"{name}/{BASELINE}": round(base_cpu / e["server_cpu_ms_per_request"], 3)
        for name, e in endpoints.items()
        if name != BASELINE and base_cpu and e["server_cpu_ms_per_request"]
    }
    meets = {target: ratios[f"{name}/{BASELINE}"] >= share for target, (name, share) in TARGETS.items()}
    # With a database server of its own (PostgreSQL), a page's cost is gunicorn's CPU plus the database's,
    # both taken from the same cores.
    total = {
        name: e["server_cpu_ms_per_request"] + e["database_cpu_ms_per_request"]
        for name, e in endpoints.items()
        if e.get("server_cpu_ms_per_request") is not None and e.get("database_cpu_ms_per_request") is not None
    }
    total_ratios = {
        f"{name}/{BASELINE}": round(total[BASELINE] / cost, 3)
        for name, cost in total.items()
        if name != BASELINE and BASELINE in total and cost
    }
    return {
        "endpoints": endpoints,
        "ratios": ratios,
        "ratios_by_round": ratio_rounds,
        "ratios_by_server_cpu": cpu_ratios,
        **({"ratios_by_total_cpu": total_ratios} if total_ratios else {}),
        "meets": meets,
    }
