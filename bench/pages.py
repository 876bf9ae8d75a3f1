"""Benchmark `pages`: req/s and latency of real pages against a bare endpoint on the same server stack.

The app runs as production runs it (gunicorn, sync workers, SQLite in a fresh instance folder), with a
realistic organisation of about 200 people and the project's curricula plus generated modules
published. A signed-in learner holding exactly 60 assignments (some completed, some in progress with
check attempts and reflections, some overdue, over several dose levels) opens the home page, My
learning and a module page; these and /healthz are compared with /_bench/bare, a route that does
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, session
from flask_wtf.csrf import generate_csrf

from bench import BenchmarkFailed, package_versions, progress, server, wrk
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
}


# The organisation: a system, 2 facilities, 3 departments each, 3 units per department.
def run() -> dict[str, Any]:
    wrk_version = wrk.version()  # fails early, with how to install it, when wrk is missing
    with tempfile.TemporaryDirectory(prefix="lms-bench-pages-") as tmp:
        instance = Path(tmp) / "instance"
        env = {
            "LMS_INSTANCE_PATH": str(instance),
            "LMS_SECRET_KEY": secrets.token_urlsafe(48),
        }
        # The server's environment is production's; this process only seeds, so it logs less.
        app = create_app(
            {
                "INSTANCE_PATH": env["LMS_INSTANCE_PATH"],
                "SECRET_KEY": env["LMS_SECRET_KEY"],
                "LOG_LEVEL": "WARNING",
            }
        )
        progress(f"migrating and seeding a fresh SQLite database in {instance}")
        migrate.upgrade(app)
        dataset = seed(app)
        progress(
            f"publishing content/ and {GENERATED_MODULES} generated modules; the learner's 60 assignments"
        )
        learned, facts = publish_learning(app, dataset["learner_id"], Path(tmp))
        dataset |= learned
        cookie = session_cookie(app, dataset["learner_id"])
        dialect = app.extensions["lms.engine"].dialect
        db_facts = {"dialect": dialect.name, "version": ".".join(map(str, dialect.server_version_info or ()))}
        with server.gunicorn("bench.wsgi:app", env, log=Path(tmp) / "gunicorn.log") as srv:
            memory = {"before_load": srv.rss_mb()}
            endpoints = measure(srv, {**dataset, **facts}, cookie)
            memory["after_load"] = srv.rss_mb()
    return {
        "figures": figures(endpoints),
        "server": {
            "stack": "gunicorn (sync workers) + Flask, SQLite in WAL mode",
            "command": " ".join(["gunicorn", *srv.command[3:]]),
            "workers": srv.workers,
            "production_command": f"gunicorn --workers {srv.workers} --bind 127.0.0.1:8000 'lms.wsgi:app'",
            # Resident memory: the workers grow by what they load and keep (pages kept rendered,
            # lms.web.fragments, at most LMS_PAGE_CACHE_ENTRIES of them per worker).
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
        "versions": {"wrk": wrk_version, **package_versions("gunicorn", "Flask", "Werkzeug", "SQLAlchemy")},
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


def measure(srv: server.Server, facts: dict[str, Any], cookie: str) -> dict[str, dict[str, Any]]:
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
    for round_no in range(ROUNDS):
        for e in ENDPOINTS[round_no:] + ENDPOINTS[:round_no]:
            progress(f"round {round_no + 1}/{ROUNDS}: {e.name} for {ROUND_S}s, {wrk.CONNECTIONS} connections")
            before = srv.cpu_seconds()
            report = wrk.run(srv.url(paths[e.name]), ROUND_S, headers(e, cookie))
            after = srv.cpu_seconds()
            print(report, file=sys.stderr)
            runs[e.name].append(wrk.parse(report))
            cpu[e.name].append(None if before is None or after is None else after - before)
    for e in ENDPOINTS:  # still the page we meant to measure (nobody signed out meanwhile)
        check(srv, e, facts, cookie)
    return {
        e.name: {
            "path": paths[e.name],
            **summary(runs[e.name]),
            "server_cpu_ms_per_request": cpu_per_request(cpu[e.name], runs[e.name]),
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
    return {
        "endpoints": endpoints,
        "ratios": ratios,
        "ratios_by_round": ratio_rounds,
        "ratios_by_server_cpu": cpu_ratios,
        "meets": meets,
    }
