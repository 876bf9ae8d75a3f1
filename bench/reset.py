"""Benchmark `reset`: does a password-reset request take the same time whether or not the email exists?

A request for an email with an account does more work (look the person up, count their recent links,
make a link, queue an email) than one for an unknown email, which only looks it up. If that work
happens before the answer, the answer's latency tells a stranger which emails have accounts. The
`/reset` view answers first and does the work after the response has been sent
(lms.web.after_response); `/_bench/reset-inline` (bench/wsgi.py only) does the same work before
answering, as the view did before, and shows the difference the benchmark is able to see.

The app is served as `bench pages` serves it (gunicorn, 2 sync workers, SQLite in WAL mode, a fresh
instance folder, the same 200-person organisation) plus one person per request for a known email, so
every such request does the whole work (the limit of RESETS_PER_HOUR links per person never stops
one). One client sends the requests one after another, each on a new connection, the four kinds
(route x known/unknown) shuffled together so that any drift of the machine hits all of them alike, and
times each from sending the request to reading the last byte of the answer.

Two placements of client and server (PLACEMENTS), measured in alternating blocks: `shared_cores`, as
`bench pages` runs (client and gunicorn on the same 2 cores), where the work done after the answer
competes for a core with the client still reading that answer; and `separate_cores`, the client pinned
to one core and gunicorn with its workers to the other, as a client on another machine would be.
Afterwards the outbox must hold exactly one email per known request and none for an unknown one: the
work was done, not skipped.
"""

from __future__ import annotations

import bisect
import http.client
import os
import random
import re
import secrets
import statistics
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench import BenchmarkFailed, package_versions, progress, server
from bench.dataset import seed
from lms import create_app, migrate
from lms.db import get_db
from lms.models import Membership, OutboxMessage, User
from lms.services.accounts import RESETS_PER_HOUR

SAMPLES = 1000  # timed requests per placement, route and kind of email
BLOCKS = 2  # each placement's samples in this many blocks, the placements alternating
WARMUP = 50  # untimed requests per route and kind first
SEED = 20261124  # the shuffle is the same on every run
ROUTES = {"deferred": "/reset", "inline": "/_bench/reset-inline"}
KINDS = ("known", "unknown")
PLACEMENTS = ("shared_cores", "separate_cores")
ANSWER = "If an account uses that address, we have sent a link"
USER_AGENT = "lms-bench/1 (reset)"
DOMAIN = "riverside.example"
WORK_DONE_TIMEOUT_S = 30

Plan = list[tuple[str, str, str]]  # (route, kind of email, email)


def email(kind: str, n: int) -> str:
    """Known and unknown addresses of the same length, so the request bodies are the same size."""
    return f"{'asker' if kind == 'known' else 'stray'}{n:05d}@{DOMAIN}"


def plans(rng: random.Random) -> tuple[Plan, dict[str, list[Plan]], list[str]]:
    """The warm-up, each placement's timed requests in BLOCKS shuffled blocks, and the known emails
    they use (each once)."""
    numbers = iter(range(10**5))

    def shuffled(count: int) -> Plan:
        plan = [(r, k, email(k, next(numbers))) for r in ROUTES for k in KINDS for _ in range(count)]
        rng.shuffle(plan)
        return plan

    warmup = shuffled(WARMUP)
    blocks = {p: [shuffled(SAMPLES // BLOCKS) for _ in range(BLOCKS)] for p in PLACEMENTS}
    every = [warmup, *(plan for placement in blocks.values() for plan in placement)]
    return warmup, blocks, [address for plan in every for _, kind, address in plan if kind == "known"]


def run() -> dict[str, Any]:
    if SAMPLES % BLOCKS:
        raise BenchmarkFailed(f"SAMPLES ({SAMPLES}) must split into {BLOCKS} blocks")
    warmup, blocks, known_emails = plans(random.Random(SEED))
    with tempfile.TemporaryDirectory(prefix="lms-bench-reset-") as tmp:
        instance = Path(tmp) / "instance"
        env = {"LMS_INSTANCE_PATH": str(instance), "LMS_SECRET_KEY": secrets.token_urlsafe(48)}
        app = create_app(
            {"INSTANCE_PATH": str(instance), "SECRET_KEY": env["LMS_SECRET_KEY"], "LOG_LEVEL": "WARNING"}
        )
        progress(f"migrating and seeding a fresh SQLite database in {instance}")
        migrate.upgrade(app)
        dataset = seed(app)
        add_askers(app, known_emails)
        dialect = app.extensions["lms.engine"].dialect

        samples: dict[tuple[str, str, str], list[float]] = {
            (p, r, k): [] for p in PLACEMENTS for r in ROUTES for k in KINDS
        }
        with server.gunicorn("bench.wsgi:app", env, log=Path(tmp) / "gunicorn.log") as srv:
            cookie, token = csrf_session(srv)
            progress(f"warm-up: {len(warmup)} requests")
            for route, _kind, address in warmup:
                ask(srv, ROUTES[route], address, cookie, token)
            for b in range(BLOCKS):
                for placement in PLACEMENTS[b % len(PLACEMENTS) :] + PLACEMENTS[: b % len(PLACEMENTS)]:
                    plan = blocks[placement][b]
                    progress(
                        f"block {b + 1}/{BLOCKS}, {placement}: timing {len(plan)} requests, one at a time"
                    )
                    with placed(srv, placement):
                        for route, kind, address in plan:
                            samples[placement, route, kind].append(
                                ask(srv, ROUTES[route], address, cookie, token)
                            )
            work_done = wait_for_the_work(app, expected=len(known_emails))

    return {
        "figures": {
            placement: {
                route: compare(samples[placement, route, "known"], samples[placement, route, "unknown"])
                for route in ROUTES
            }
            for placement in PLACEMENTS
        },
        "work_done": work_done,
        "server": {
            "stack": "gunicorn (sync workers) + Flask, SQLite in WAL mode",
            "command": " ".join(["gunicorn", *srv.command[3:]]),
            "workers": srv.workers,
            "routes": ROUTES,
        },
        "load": {
            "client": "http.client, one request at a time, a new connection each",
            "from": "this process on 127.0.0.1 (same 2-core machine)",
            "placements": {
                "shared_cores": "client and gunicorn on all cores (as bench pages)",
                "separate_cores": "client pinned to the first core, gunicorn and its workers to the others",
            },
            "samples_per_placement_route_and_kind": SAMPLES,
            "blocks_per_placement": BLOCKS,
            "warmup_per_route_and_kind": WARMUP,
            "order": f"each block's four kinds shuffled together (random.Random({SEED}))",
            "timed": "from sending the request to reading the last byte of the answer",
        },
        "database": {
            "dialect": dialect.name,
            "version": ".".join(map(str, dialect.server_version_info or ())),
        },
        "dataset": {
            **{k: v for k, v in dataset.items() if k != "learner_id"},
            "askers": len(known_emails),
            "resets_per_hour_per_person": RESETS_PER_HOUR,
        },
        "versions": package_versions("gunicorn", "Flask", "Werkzeug", "SQLAlchemy"),
    }


@contextmanager
def placed(srv: server.Server, placement: str) -> Iterator[None]:
    """Run the block with the client and the server on the same cores or on separate ones."""
    if placement == "shared_cores":
        yield
        return
    everywhere = os.sched_getaffinity(0)
    if len(everywhere) < 2:
        raise BenchmarkFailed("separate_cores needs at least 2 cores")
    client, rest = {min(everywhere)}, everywhere - {min(everywhere)}
    threads = server_threads(srv)
    try:
        for tid in threads:
            os.sched_setaffinity(tid, rest)
        os.sched_setaffinity(0, client)
        yield
    finally:
        os.sched_setaffinity(0, everywhere)
        for tid in threads:
            with suppress(ProcessLookupError):  # a worker that has since been replaced
                os.sched_setaffinity(tid, everywhere)


def server_threads(srv: server.Server) -> list[int]:
    """Every thread of the gunicorn master and its workers (Linux /proc)."""
    try:
        children = Path(f"/proc/{srv.pid}/task/{srv.pid}/children").read_text().split()
        return [int(t) for pid in [srv.pid, *map(int, children)] for t in os.listdir(f"/proc/{pid}/task")]
    except OSError as exc:
        raise BenchmarkFailed(f"cannot list gunicorn's threads to pin them: {exc}") from exc


def add_askers(app, emails: list[str]) -> None:
    """One active person for each known-email request, in a unit of the seeded organisation."""
    with app.app_context():
        db = get_db()
        template = db.scalar(select(Membership).order_by(Membership.id.desc()).limit(1))
        if template is None:
            raise BenchmarkFailed("the seeded organisation has nobody")
        for n, address in enumerate(emails):
            user = User(email=address, name=f"Asker {n:05d}", password_hash=None)
            db.add(user)
            db.flush()
            db.add(
                Membership(
                    user_id=user.id,
                    org_id=template.org_id,
                    unit_id=template.unit_id,
                    stakeholder_role=template.stakeholder_role,
                    job_code=template.job_code,
                    employee_id=f"A{n:05d}",
                )
            )
        db.commit()
        users = db.scalars(select(User).where(User.email.like(f"asker%@{DOMAIN}"))).all()
        active = sum(1 for u in users if u.is_active)
    if active != len(emails):
        raise BenchmarkFailed(f"{active} of {len(emails)} askers are active: their requests would do no work")


def csrf_session(srv: server.Server) -> tuple[str, str]:
    """The session cookie and CSRF token a browser gets from GET /reset, reused by every request."""
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        conn.request("GET", "/reset", headers={"User-Agent": USER_AGENT})
        response = conn.getresponse()
        page = response.read().decode()
        cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    finally:
        conn.close()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if response.status != 200 or token is None or not cookie:
        raise BenchmarkFailed(f"GET /reset answered {response.status} without a CSRF token and a cookie")
    return cookie, token[1]


def ask(srv: server.Server, path: str, address: str, cookie: str, token: str) -> float:
    """POST one reset request; its latency in ms. Fails unless it is answered 200 with the usual page."""
    body = urllib.parse.urlencode({"email": address, "csrf_token": token})
    headers = {
        "User-Agent": USER_AGENT,
        "Cookie": cookie,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        started = time.perf_counter_ns()
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        page = response.read()
        elapsed = time.perf_counter_ns() - started
    finally:
        conn.close()
    if response.status != 200 or ANSWER.encode() not in page:
        raise BenchmarkFailed(f"POST {path} for {address} answered {response.status}: {page[:300]!r}")
    return elapsed / 1e6


def wait_for_the_work(app, expected: int) -> dict[str, int]:
    """Exactly one email per known request and none for an unknown one (the work after the response
    may still be finishing when the last answer arrives)."""
    with app.app_context():
        db = get_db()
        deadline = time.monotonic() + WORK_DONE_TIMEOUT_S
        while True:
            known = db.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.to_addr.like(f"asker%@{DOMAIN}"))
            )
            if known >= expected or time.monotonic() > deadline:
                break
            db.rollback()
            time.sleep(0.2)
        unknown = db.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.to_addr.like(f"stray%@{DOMAIN}"))
        )
    if known != expected or unknown:
        raise BenchmarkFailed(
            f"{known} emails queued for {expected} known requests, {unknown} for unknown ones"
        )
    return {"emails_queued_for_known": known, "emails_queued_for_unknown": unknown}


def describe(ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "median_ms": round(statistics.median(ms), 3),
        "p90_ms": round(cuts[89], 3),
        "p99_ms": round(cuts[98], 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "min_ms": round(min(ms), 3),
        "samples": len(ms),
    }


def compare(known: list[float], unknown: list[float]) -> dict[str, Any]:
    """Each kind's percentiles and known minus unknown; `known_slower_share` is the chance that a known
    request chosen at random took longer than an unknown one (0.5: indistinguishable)."""
    a, b = describe(known), describe(unknown)
    ordered = sorted(unknown)
    slower = 0.0
    for t in known:  # ties count half (the Mann-Whitney U statistic, divided by its maximum)
        below = _count_below(ordered, t)
        slower += below + (_count_below(ordered, t, inclusive=True) - below) / 2
    return {
        "known": a,
        "unknown": b,
        "known_minus_unknown_ms": {
            key.removesuffix("_ms"): round(a[key] - b[key], 3) for key in ("median_ms", "p90_ms", "p99_ms")
        },
        "known_slower_share": round(slower / (len(known) * len(unknown)), 3),
    }


def _count_below(ordered: list[float], value: float, inclusive: bool = False) -> int:
    return (bisect.bisect_right if inclusive else bisect.bisect_left)(ordered, value)
