"""`python -m bench dosing`: planning the dose assignments of 50,000 new staff (issue 12).

One organisation with STAFF active people and no assignment yet, the project's content/ published (its
dosing policy: about 11 assignments a person with the role mix below). Timed in the same run, on the
same database:

1. `bare_insert`: the rows `dosing.reconcile` is to create, built in Python beforehand (built apart,
   timed apart), inserted with one Core executemany in one transaction, committed. The floor a reconcile
   is compared with. Then the rows are deleted again (PostgreSQL: TRUNCATE, ANALYZE).
2. `reconcile`: `dosing.reconcile(db, org_id)` and the commit, as the nightly job and `lms content sync`
   run it. It must leave exactly the rows of step 1 (count and checksum compared, else the run fails).
3. `reconcile_unchanged`: the same again, with nothing to change (it must report no change).

Each step's peak resident memory is measured too (Linux: the process's VmHWM, reset before the step).
Targets (issue 12): `reconcile` at most 2x `bare_insert`, `reconcile_unchanged` under 10% of it.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, insert, select, text

from bench import BenchmarkFailed, package_versions, postgres, progress
from curricula import dosing as rule
from curricula.corpus import load_corpus
from curricula.stakeholders import StakeholderRole
from lms import create_app, migrate
from lms.db import get_db, utcnow
from lms.models import (
    Assignment,
    AssignmentSource,
    Membership,
    Module,
    Organization,
    OrgUnit,
    UnitKind,
    User,
)
from lms.services import content as publishing
from lms.services import dosing

STAFF = int(os.environ.get("BENCH_DOSING_STAFF", "50000"))  # the figure; smaller for a trial
CONTENT = Path(__file__).resolve().parent.parent / "content"
ZONE = "America/New_York"
FACILITIES, DEPARTMENTS, UNITS = 4, 8, 6  # 1 + 4 + 32 + 192 units
# People per 1,000 staff by stakeholder role (a health system: mostly point-of-care staff). With
# content/'s policy this gives about 11.3 assignments a person: 566,000 for 50,000 staff.
ROLE_MIX = {
    StakeholderRole.CLINICIAN: 900,
    StakeholderRole.UNIT_LEADER: 36,
    StakeholderRole.PATIENT_FAMILY_PARTNER: 36,
    StakeholderRole.DEPARTMENTAL_LEADER: 12,
    StakeholderRole.QUALITY_STAFF: 10,
    StakeholderRole.EXECUTIVE: 4,
    StakeholderRole.BOARD: 2,
}
CHUNK = 10_000  # people written per statement while seeding


def result_name(database: str = "sqlite", database_url: str | None = None) -> str:
    return postgres.result_name("dosing", database, database_url)


def run(database: str = "sqlite", database_url: str | None = None) -> dict[str, Any]:
    with ExitStack() as stack:
        db = postgres.database_for(stack, database, database_url)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lms-bench-dosing-")))
        url = db.url or f"sqlite:///{tmp / 'lms.sqlite3'}"
        app = create_app(
            {"INSTANCE_PATH": str(tmp), "SECRET_KEY": "bench", "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        )
        try:
            return measure(app, db.where)
        finally:
            app.extensions["lms.engine"].dispose()


def measure(app: Flask, where: dict[str, Any]) -> dict[str, Any]:
    engine = app.extensions["lms.engine"]
    postgresql = engine.dialect.name == "postgresql"
    progress(f"migrating a fresh {engine.dialect.name} database; publishing content/; {STAFF:,} new staff")
    migrate.upgrade(app)
    with app.app_context():
        db = get_db()
        publishing.sync(db, load_corpus(CONTENT))
        db.commit()
        org_id = seed(db)
        if postgresql:
            analyze(db)  # as autovacuum would have, long before a nightly run
        rows, built_s = timed(planned_rows, db, org_id)
        expected = checksum(rows)

        progress(f"bare insert of the {len(rows):,} rows reconcile is to create")
        with peak_memory() as bare_memory:
            bare_s = timed(bare_insert, db, rows)[1]
        if checksum_in(db) != expected:
            raise BenchmarkFailed("the bare insert did not leave the planned rows")
        del rows
        empty(db, postgresql)

        progress("dosing.reconcile, everyone new")
        with peak_memory() as first_memory:
            first, first_s = timed(reconciled, db, org_id)
        if checksum_in(db) != expected or first.created != expected[0]:
            raise BenchmarkFailed(f"reconcile did not create the planned rows: {first} vs {expected}")
        if postgresql:
            analyze(db)

        progress("dosing.reconcile again, nothing to change")
        with peak_memory() as again_memory:
            again, again_s = timed(reconciled, db, org_id)
        if again.changed:
            raise BenchmarkFailed(f"a second reconcile changed something: {again}")
        dataset = {
            "staff": STAFF,
            "role_mix_per_1000": {role.value: n for role, n in ROLE_MIX.items()},
            "units": db.scalar(select(func.count()).select_from(OrgUnit)),
            "modules": db.scalar(select(func.count()).select_from(Module)),
            "assignments": expected[0],
            "policy": "content/dosing.yaml",
        }
    with engine.connect():
        pass
    return {
        "figures": {
            "bare_insert_s": round(bare_s, 2),
            "rows_built_s": round(built_s, 2),
            "reconcile_s": round(first_s, 2),
            "reconcile_unchanged_s": round(again_s, 3),
            "reconcile_over_bare": round(first_s / bare_s, 2),
            "unchanged_over_bare": round(again_s / bare_s, 3),
            "assignments_per_s": {
                "bare_insert": round(expected[0] / bare_s),
                "reconcile": round(expected[0] / first_s),
            },
            "peak_rss_mb": {
                "bare_insert": bare_memory.get("peak_mb"),
                "reconcile": first_memory.get("peak_mb"),
                "reconcile_unchanged": again_memory.get("peak_mb"),
            },
            "counts": {"reconcile": counts_of(first), "reconcile_unchanged": counts_of(again)},
            "meets": {
                "reconcile_at_most_twice_bare": first_s <= 2 * bare_s,
                "unchanged_under_a_tenth_of_bare": again_s < 0.1 * bare_s,
            },
        },
        "dataset": dataset,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "database": {
            "dialect": engine.dialect.name,
            "driver": engine.dialect.driver,
            "version": ".".join(map(str, engine.dialect.server_version_info or ())),
            **where,
        },
        "versions": package_versions("SQLAlchemy") | (package_versions("psycopg") if postgresql else {}),
    }


def seed(db: Any) -> int:
    """The organisation, its units (system, facilities, departments, units) and STAFF active people
    spread over the units, written with Core inserts; no assignment."""
    org = Organization(slug="bench-health", name="Bench Health", time_zone=ZONE)
    db.add(org)
    db.flush()

    def unit(name: str, kind: UnitKind, parent: OrgUnit | None) -> OrgUnit:
        node = OrgUnit(org_id=org.id, parent_id=parent.id if parent else None, kind=kind, name=name, path="")
        db.add(node)
        db.flush()
        node.path = f"{parent.path if parent else '/'}{node.id}/"
        return node

    system = unit(org.name, UnitKind.SYSTEM, None)
    leaves = []
    for f in range(FACILITIES):
        facility = unit(f"Facility {f + 1}", UnitKind.FACILITY, system)
        for d in range(DEPARTMENTS):
            department = unit(f"Department {f + 1}.{d + 1}", UnitKind.DEPARTMENT, facility)
            leaves += [
                unit(f"Unit {f + 1}.{d + 1}.{u + 1}", UnitKind.UNIT, department).id for u in range(UNITS)
            ]
    db.commit()
    roles = [role for role, n in ROLE_MIX.items() for _ in range(n)]
    now = utcnow()
    for start in range(0, STAFF, CHUNK):
        numbers = range(start, min(start + CHUNK, STAFF))
        db.execute(
            insert(User),
            [
                {"email": f"staff{n:06d}@bench.example", "name": f"Staff {n:06d}", "created_at": now}
                for n in numbers
            ],
        )
        ids = dict(
            db.execute(
                select(User.email, User.id).where(
                    User.email.between(f"staff{numbers[0]:06d}@", f"staff{numbers[-1]:06d}@~")
                )
            ).all()
        )
        db.execute(
            insert(Membership),
            [
                {
                    "user_id": ids[f"staff{n:06d}@bench.example"],
                    "org_id": org.id,
                    "unit_id": leaves[n % len(leaves)],
                    "stakeholder_role": roles[n % len(roles)],
                    "employee_id": f"E{n:06d}",
                    "job_code": roles[n % len(roles)].value[:8].upper(),
                    "created_at": now,
                }
                for n in numbers
            ],
        )
        db.commit()
    return org.id


def planned_rows(db: Any, org_id: int) -> list[dict[str, Any]]:
    """What the policy gives everyone of the organisation, as rows of the assignment table: built from
    the published policy and modules, without the dosing service."""
    policy = dosing.effective_policy(db, org_id)
    modules = [
        rule.Dosed(module_id, dose, tuple(roles))
        for module_id, dose, roles in db.execute(
            select(Module.id, Module.dose, Module.roles)
            .where(Module.retired_at.is_(None))
            .order_by(Module.position)
        )
    ]
    now = utcnow()
    today = now.astimezone(ZoneInfo(ZONE)).date()
    plans = {
        role: [
            (module_id, level, date.fromordinal(today.toordinal() + days))
            for module_id, (level, days) in wanted.items()
        ]
        for role, wanted in rule.by_role(modules, policy).items()
    }
    return [
        {
            "membership_id": membership_id,
            "org_id": org_id,
            "user_id": user_id,
            "module_id": module_id,
            "source": AssignmentSource.DOSE,
            "level": level,
            "assigned_at": now,
            "due_on": due_on,
        }
        for membership_id, user_id, role in db.execute(
            select(Membership.id, Membership.user_id, Membership.stakeholder_role)
            .where(Membership.org_id == org_id, Membership.active.is_(True))
            .order_by(Membership.id)
        )
        for module_id, level, due_on in plans.get(role.value, ())
    ]


def bare_insert(db: Any, rows: list[dict[str, Any]]) -> None:
    db.execute(insert(Assignment.__table__), rows)  # Core: one executemany, no ORM
    db.commit()


def reconciled(db: Any, org_id: int) -> dosing.PlanCounts:
    counts = dosing.reconcile(db, org_id)
    db.commit()  # the nightly job commits each organisation
    return counts


def empty(db: Any, postgresql: bool) -> None:
    """No assignment left, and the space they took ready for the next step."""
    db.expunge_all()
    if postgresql:
        db.execute(text("TRUNCATE assignment"))
        db.commit()
        analyze(db)
    else:
        db.execute(Assignment.__table__.delete())
        db.commit()


def analyze(db: Any) -> None:
    """PostgreSQL: VACUUM ANALYZE, as autovacuum would have before a nightly run (outside a transaction:
    on the driver's connection, which lms.db's listener would otherwise put in one)."""
    db.commit()
    raw = db.get_bind().raw_connection()
    try:
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute("VACUUM ANALYZE")
    finally:
        raw.close()


def checksum(rows: list[dict[str, Any]]) -> tuple[int, int, int]:
    return (
        len(rows),
        sum(r["membership_id"] * 7919 + r["module_id"] for r in rows),
        sum(r["due_on"].toordinal() for r in rows),
    )


def checksum_in(db: Any) -> tuple[int, int, int]:
    db.expire_all()
    due = [d.toordinal() for d in db.scalars(select(Assignment.due_on))]
    total = db.scalar(select(func.sum(Assignment.membership_id * 7919 + Assignment.module_id)))
    return len(due), int(total or 0), sum(due)


def counts_of(counts: dosing.PlanCounts) -> dict[str, int]:
    return {
        "people": counts.people,
        "created": counts.created,
        "reopened": counts.reopened,
        "cancelled": counts.cancelled,
        "redated": counts.redated,
    }


def timed(work: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work(*args)
    return result, time.perf_counter() - started


@contextmanager
def peak_memory() -> Iterator[dict[str, float | None]]:
    """The process's peak resident memory (MB) while the block runs: Linux's VmHWM, reset first
    (`/proc/self/clear_refs`); None elsewhere."""
    found: dict[str, float | None] = {"peak_mb": None}
    try:
        Path("/proc/self/clear_refs").write_text("5")
        resettable = True
    except OSError:
        resettable = False
    yield found
    if resettable:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                found["peak_mb"] = round(int(line.split()[1]) / 1024, 1)
