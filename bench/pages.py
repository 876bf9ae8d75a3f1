"""Benchmark `pages`: req/s and latency of real pages against a bare endpoint on the same server stack.

The app runs as production runs it (gunicorn, sync workers, SQLite in a fresh instance folder), with a
realistic organisation of about 200 people. A signed-in learner's home page and /healthz are compared
with /_bench/bare, a route that does nothing (bench/wsgi.py): the ratio says how much of the server's
capacity a page's own work (session, queries, template) costs. Add a page to ENDPOINTS with one line.
"""

from __future__ import annotations

import dataclasses
import http.client
import secrets
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, session
from flask_login import login_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select

from bench import BenchmarkFailed, package_versions, progress, server, wrk
from curricula.corpus import load_corpus
from curricula.stakeholders import StakeholderRole
from lms import create_app, migrate
from lms.db import get_db, utcnow
from lms.models import Assignment, Membership, Module, Organization, OrgUnit, Progress, UnitKind, User
from lms.models.learning import ProgressStatus
from lms.security import hash_password
from lms.services import content as publishing
from lms.services import dosing

WARMUP_S = 2
ROUNDS = 3
ROUND_S = 4  # so each endpoint is measured for ROUNDS * ROUND_S seconds
USER_AGENT = "lms-bench/1 (wrk)"
LEARNER_EMAIL = "learner@bench.example"
CONTENT = Path(__file__).resolve().parent.parent / "content"


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str  # may name dataset fields, e.g. "/o/{org}/"
    expect: tuple[str, ...]  # texts the page must contain, checked before and after the load
    signed_in: bool = False


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("home", "/", expect=("Welcome", "Your learning", "Next:"), signed_in=True),
    Endpoint("healthz", "/healthz", expect=('"status":"ok"',)),
    Endpoint("bare", "/_bench/bare", expect=("ok",)),
)
BASELINE = "bare"
# name -> (endpoint, least share of the baseline's req/s it should reach)
TARGETS: dict[str, tuple[str, float]] = {"home_quarter_of_bare": ("home", 0.25)}

# The organisation: a system, 2 facilities, 3 departments each, 3 units per department.
FACILITIES = ("Riverside General Hospital", "Northgate Community Hospital")
DEPARTMENTS = ("Medicine", "Surgery", "Emergency")
UNITS = ("Ward A", "Ward B", "Day Unit")
# Stakeholder roles of the 200 people; whoever is left over is a clinician.
PEOPLE = 200
ROLE_COUNTS = {
    StakeholderRole.EXECUTIVE: 4,
    StakeholderRole.BOARD: 4,
    StakeholderRole.DEPARTMENTAL_LEADER: 6,
    StakeholderRole.UNIT_LEADER: 18,
    StakeholderRole.QUALITY_STAFF: 8,
    StakeholderRole.PATIENT_FAMILY_PARTNER: 10,
}


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
        dataset |= publish_learning(app, dataset["learner_id"])
        cookie = session_cookie(app, dataset["learner_id"])
        dialect = app.extensions["lms.engine"].dialect
        db_facts = {"dialect": dialect.name, "version": ".".join(map(str, dialect.server_version_info or ()))}
        with server.gunicorn("bench.wsgi:app", env, log=Path(tmp) / "gunicorn.log") as srv:
            endpoints = measure(srv, dataset, cookie)
    return {
        "figures": figures(endpoints),
        "server": {
            "stack": "gunicorn (sync workers) + Flask, SQLite in WAL mode",
            "command": " ".join(["gunicorn", *srv.command[3:]]),
            "workers": srv.workers,
            "production_command": f"gunicorn --workers {srv.workers} --bind 127.0.0.1:8000 'lms.wsgi:app'",
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


def seed(app: Flask) -> dict[str, Any]:
    """One organisation with its unit tree and PEOPLE people, written directly with the models."""
    with app.app_context():
        db = get_db()
        org = Organization(slug="riverside", name="Riverside Health", time_zone="America/New_York")
        db.add(org)
        db.flush()

        def unit(name: str, kind: UnitKind, parent: OrgUnit | None) -> OrgUnit:
            node = OrgUnit(
                org_id=org.id, parent_id=parent.id if parent else None, kind=kind, name=name, path=""
            )
            db.add(node)
            db.flush()
            node.path = f"{parent.path if parent else '/'}{node.id}/"
            return node

        system = unit(org.name, UnitKind.SYSTEM, None)
        facilities, departments, units = [], [], []
        for f_name in FACILITIES:
            facility = unit(f_name, UnitKind.FACILITY, system)
            facilities.append(facility)
            for d_name in DEPARTMENTS:
                department = unit(d_name, UnitKind.DEPARTMENT, facility)
                departments.append(department)
                units += [unit(f"{d_name} {u_name}", UnitKind.UNIT, department) for u_name in UNITS]

        password_hash = hash_password("bench-password")  # one hash for all: hashing 200 takes seconds
        home_of = {
            StakeholderRole.EXECUTIVE: [system],
            StakeholderRole.BOARD: [system],
            StakeholderRole.QUALITY_STAFF: facilities,
            StakeholderRole.DEPARTMENTAL_LEADER: departments,
        }
        roles = [role for role, n in ROLE_COUNTS.items() for _ in range(n)]
        roles += [StakeholderRole.CLINICIAN] * (PEOPLE - len(roles))
        learner = None
        for n, role in enumerate(roles):
            places = home_of.get(role, units)
            is_learner = learner is None and role is StakeholderRole.CLINICIAN
            user = User(
                email=LEARNER_EMAIL if is_learner else f"person{n:03d}@riverside.example",
                name="Lee Learner" if is_learner else f"Person {n:03d}",
                password_hash=password_hash,
            )
            db.add(user)
            db.flush()
            db.add(
                Membership(
                    user_id=user.id,
                    org_id=org.id,
                    unit_id=places[n % len(places)].id,
                    stakeholder_role=role,
                    job_code="RN2" if role is StakeholderRole.CLINICIAN else role.value[:8].upper(),
                    employee_id=f"E{n:05d}",
                    is_org_admin=n in (0, 14),
                    is_hr=n in (1, 2, 3) and role is StakeholderRole.EXECUTIVE,
                    is_coach=role is StakeholderRole.QUALITY_STAFF and n % 2 == 0,
                    is_faculty=role is StakeholderRole.QUALITY_STAFF and n % 2 == 1,
                )
            )
            if is_learner:
                learner = user
        db.commit()
        assert learner is not None  # PEOPLE leaves room for clinicians
        counts = {
            "organizations": db.scalar(select(func.count()).select_from(Organization)),
            "units": db.scalar(select(func.count()).select_from(OrgUnit)),
            "people": db.scalar(select(func.count()).select_from(User)),
            "memberships": db.scalar(select(func.count()).select_from(Membership)),
        }
        return {
            "learner_id": learner.id,
            "learner": f"{LEARNER_EMAIL} (clinician)",
            "org": org.slug,
            **counts,
        }


def publish_learning(app: Flask, learner_id: int) -> dict[str, Any]:
    """Publish the project's own curricula (content/) and assign them by dose, as `lms content sync` does.

    The learner has completed their first assignment and started the second, so the home page's
    "Your learning" card shows progress and a next step, as it would for someone a few weeks in.
    """
    with app.app_context():
        db = get_db()
        corpus = load_corpus(CONTENT)
        if not corpus.modules:
            raise BenchmarkFailed(f"no modules in {CONTENT}")
        # Problems (say, a link to a module not written yet) stop a real sync but not a measurement:
        # publish the modules that parsed, and record how many problems were set aside.
        publishing.sync(db, dataclasses.replace(corpus, problems=()))
        dosing.reconcile_all(db)
        assigned = db.scalars(
            select(Assignment).where(Assignment.user_id == learner_id).order_by(Assignment.due_on)
        ).all()
        if len(assigned) < 2:
            raise BenchmarkFailed(
                f"dosing gave the learner {len(assigned)} modules; the home card needs some"
            )
        now = utcnow()
        for assignment, status in zip(
            assigned[:2], (ProgressStatus.COMPLETED, ProgressStatus.IN_PROGRESS), strict=True
        ):
            module = db.get(Module, assignment.module_id)
            assert module is not None
            done = status is ProgressStatus.COMPLETED
            db.add(
                Progress(
                    user_id=learner_id,
                    module_id=module.id,
                    status=status,
                    completed_at=now if done else None,
                    completed_hash=module.content_hash if done else None,
                    score=1.0 if done else None,
                )
            )
        db.commit()
        return {
            "modules": db.scalar(select(func.count()).select_from(Module)),
            "assignments": db.scalar(select(func.count()).select_from(Assignment)),
            "learner_assignments": len(assigned),
            "content_problems_set_aside": len(corpus.problems),
        }


def session_cookie(app: Flask, user_id: int) -> str:
    """`name=value` of the session a real sign-in leaves behind, signed with the server's SECRET_KEY.

    Built as Flask-Login's login_user() builds it (user id, freshness, the session-protection id of
    this client's address and User-Agent) plus the CSRF secret a rendered form stores, so every
    measured request is a steady signed-in request, independent of the sign-in page.
    """
    with app.test_request_context(
        "/", environ_base={"REMOTE_ADDR": server.HOST}, headers={"User-Agent": USER_AGENT}
    ):
        user = get_db().get(User, user_id)
        if user is None or not login_user(user):
            raise BenchmarkFailed("the benchmark learner cannot sign in (inactive?)")
        generate_csrf()
        value = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def headers(endpoint: Endpoint, cookie: str) -> dict[str, str]:
    sent = {"User-Agent": USER_AGENT}
    if endpoint.signed_in:
        sent["Cookie"] = cookie
    return sent


def check(srv: server.Server, endpoint: Endpoint, path: str, cookie: str) -> dict[str, Any]:
    """Fail loudly unless the endpoint answers 200 with its expected text (no redirect to sign-in)."""
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers(endpoint, cookie))
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
    finally:
        conn.close()
    missing = [text for text in endpoint.expect if text not in body]
    if response.status != 200 or missing:
        where = response.getheader("Location")
        raise BenchmarkFailed(
            f"{endpoint.name} ({path}) answered {response.status}"
            + (f" -> {where}" if where else "")
            + f" without {missing!r}; body starts: {body[:300]!r}"
        )
    return {"bytes": len(body.encode()), "sets_cookie": response.getheader("Set-Cookie") is not None}


def measure(srv: server.Server, dataset: dict[str, Any], cookie: str) -> dict[str, dict[str, Any]]:
    """Check each endpoint, warm it up, then load it in ROUNDS short runs, interleaved and rotated.

    Interleaving spreads every endpoint over the same minute, so a change in the machine's load (other
    processes on these 2 cores) moves all of them alike instead of skewing one ratio.
    """
    paths = {e.name: e.path.format(**dataset) for e in ENDPOINTS}
    responses = {e.name: check(srv, e, paths[e.name], cookie) for e in ENDPOINTS}
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
        check(srv, e, paths[e.name], cookie)
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
