"""`python -m bench dataset --size S|M|L|XL`: one health system of 500, 5,000, 50,000 or 500,000 staff with
its unit tree, stakeholder roles, the dose assignments the default policy gives them, and progress,
written in bulk (COPY on PostgreSQL, multi-row INSERTs on SQLite), then its coverage built once
(`coverage.refresh`). The `coverage` benchmark measures pages on it; run alone it reports how long each
part took and how many rows it wrote.

The shape: facilities of 10 departments of 10 units, about 50 staff per unit (so units, and the cells
coverage keeps, grow with staff as in a real system); roles as in a hospital (mostly clinicians); each
person assigned on a day of the last two years (hiring spreads them), due as the policy says; 70% of
awareness, 50% of foundational and 35% of the higher levels completed, some of the rest overdue.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select, text

from bench import BenchmarkFailed, progress
from curricula.corpus import load_corpus
from curricula.stakeholders import StakeholderRole
from lms.db import get_db
from lms.models import Assignment, Membership, Module, Organization, OrgUnit, Progress, User
from lms.services import content as publishing
from lms.services import coverage, dosing

CONTENT = Path(__file__).resolve().parent.parent / "content"
SIZES = {"S": 500, "M": 5_000, "L": 50_000, "XL": 500_000}
STAFF_PER_UNIT = 50
UNITS_PER_DEPARTMENT = 10
DEPARTMENTS_PER_FACILITY = 10
# Share of staff per role (the rest are clinicians).
ROLE_SHARE = {
    StakeholderRole.UNIT_LEADER: 0.04,
    StakeholderRole.QUALITY_STAFF: 0.01,
    StakeholderRole.DEPARTMENTAL_LEADER: 0.01,
    StakeholderRole.EXECUTIVE: 0.002,
    StakeholderRole.BOARD: 0.001,
    StakeholderRole.PATIENT_FAMILY_PARTNER: 0.01,
}
DONE_SHARE = {"awareness": 0.7, "foundational": 0.5}  # other levels: 0.35
ASSIGNED_WITHIN_DAYS = 730
HR_EMAIL = "hr@staff.example"
BATCH = 5_000  # people per round of bulk writes
SLUG = "bench-health"


@dataclasses.dataclass
class Built:
    org_id: int
    hr_user_id: int
    facility_id: int  # the first facility, for "one facility" measurements
    counts: dict[str, int]
    seconds: dict[str, float]


def _copy_or_insert(db, table, columns: list[str], rows: list[tuple]) -> None:
    """Rows in bulk: COPY on PostgreSQL (several times faster than INSERT), executemany elsewhere."""
    if not rows:
        return
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


def _tree(db, org: Organization, staff: int) -> tuple[list[int], list[int], int]:
    """The unit tree: returns (unit ids, department ids, first facility id)."""
    units_needed = max(1, -(-staff // STAFF_PER_UNIT))
    departments_needed = max(1, -(-units_needed // UNITS_PER_DEPARTMENT))
    facilities_needed = max(1, -(-departments_needed // DEPARTMENTS_PER_FACILITY))
    next_id = (db.scalar(select(func.max(OrgUnit.id))) or 0) + 1
    rows: list[tuple] = []
    now = datetime.now(UTC)

    def add(name: str, kind: str, parent: tuple | None) -> tuple:
        nonlocal next_id
        path = f"{parent[4] if parent else '/'}{next_id}/"
        row = (next_id, org.id, parent[0] if parent else None, kind, path, name, now)
        rows.append(row)
        next_id += 1
        return row

    system = add(org.name, "system", None)
    units, departments, first_facility = [], [], None
    for f in range(facilities_needed):
        facility = add(f"Facility {f + 1}", "facility", system)
        first_facility = first_facility or facility[0]
        for d in range(DEPARTMENTS_PER_FACILITY):
            if len(departments) >= departments_needed:
                break
            department = add(f"F{f + 1} Department {d + 1}", "department", facility)
            departments.append(department[0])
            for u in range(UNITS_PER_DEPARTMENT):
                if len(units) >= units_needed:
                    break
                units.append(add(f"F{f + 1} D{d + 1} Unit {u + 1}", "unit", department)[0])
    columns = ["id", "org_id", "parent_id", "kind", "path", "name", "created_at"]
    _copy_or_insert(db, OrgUnit.__table__, columns, rows)
    _fix_sequence(db, OrgUnit.__table__)
    return units, departments, first_facility or system[0]


def _fix_sequence(db, table) -> None:
    """Ids were given explicitly: move PostgreSQL's sequence past them (SQLite needs nothing)."""
    if db.connection().dialect.name == "postgresql":
        name = table.name  # one of our own tables, never input
        last = f"(SELECT max(id) FROM {name})"  # noqa: S608
        db.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {last})"))


def _roles(staff: int, rng: random.Random) -> Iterator[StakeholderRole]:
    roles = [r for r, share in ROLE_SHARE.items() for _ in range(max(1, int(staff * share)))]
    roles += [StakeholderRole.CLINICIAN] * max(0, staff - len(roles))
    rng.shuffle(roles)
    return iter(roles[:staff])


def build(app: Flask, size: str, *, seed: int = 12) -> Built:
    """Publish content/, then write the organisation, its tree, people, assignments and progress, and
    build its coverage. Commits as it goes (it is a data load, not a unit of work)."""
    if size not in SIZES:
        raise BenchmarkFailed(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    staff = SIZES[size]
    rng = random.Random(seed)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with app.app_context():
        db = get_db()
        if db.scalar(select(func.count()).select_from(Module)) == 0:
            corpus = load_corpus(CONTENT)
            publishing.sync(db, dataclasses.replace(corpus, problems=()))
        org = Organization(slug=SLUG, name="Bench Health", time_zone="America/New_York")
        db.add(org)
        db.commit()
        units, departments, facility_id = _tree(db, org, staff)
        db.commit()
        seconds["tree"] = time.perf_counter() - started
        policy = dosing.effective_policy(db, org.id)
        by_level: dict[str, list[int]] = {}
        for module_id, dose in db.execute(select(Module.id, Module.dose).where(Module.retired_at.is_(None))):
            by_level.setdefault(dose, []).append(module_id)
        progress(f"{size}: {staff:,} staff in {len(units):,} units; writing people, assignments, progress")
        counts = _people(db, org, staff, units, departments, policy, by_level, rng)
        seconds["people_assignments_progress"] = time.perf_counter() - started - seconds["tree"]
        db.commit()
        mark = time.perf_counter()
        progress(f"{size}: building coverage")
        coverage.refresh(db, org.id)
        db.commit()
        seconds["coverage_refresh"] = time.perf_counter() - mark
        engine = db.get_bind()
        if engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum would give them soon
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        hr_user_id = db.scalar(select(User.id).where(User.email == HR_EMAIL))
        counts |= {
            "units": len(units) + len(departments) + 1 + -(-len(departments) // DEPARTMENTS_PER_FACILITY),
            "coverage_cells": db.scalar(
                text("SELECT count(*) FROM coverage_cell WHERE org_id = :o"), {"o": org.id}
            ),
            "coverage_open_rows": db.scalar(
                text("SELECT count(*) FROM coverage_open WHERE org_id = :o"), {"o": org.id}
            ),
        }
        seconds["total"] = time.perf_counter() - started
        return Built(org.id, hr_user_id, facility_id, counts, {k: round(v, 2) for k, v in seconds.items()})


def _people(db, org, staff, units, departments, policy, by_level, rng) -> dict[str, int]:
    next_user = (db.scalar(select(func.max(User.id))) or 0) + 1
    next_membership = (db.scalar(select(func.max(Membership.id))) or 0) + 1
    next_assignment = (db.scalar(select(func.max(Assignment.id))) or 0) + 1
    next_progress = (db.scalar(select(func.max(Progress.id))) or 0) + 1
    now = datetime.now(UTC)
    today = now.date()
    roles = _roles(staff, rng)
    counts = {"staff": staff, "assignments": 0, "progress": 0}
    user_cols = ["id", "email", "name", "time_zone", "active", "created_at", "is_operator"]
    member_cols = [
        "id", "user_id", "org_id", "unit_id", "job_code", "employee_id", "stakeholder_role",
        "is_hr", "is_coach", "is_faculty", "is_org_admin", "active", "created_at", "learning_version",
    ]  # fmt: skip
    assign_cols = [
        "id",
        "membership_id",
        "org_id",
        "user_id",
        "module_id",
        "source",
        "level",
        "assigned_at",
        "due_on",
    ]
    progress_cols = [
        "id",
        "user_id",
        "module_id",
        "status",
        "started_at",
        "last_seen_at",
        "completed_at",
        "completed_hash",
        "score",
    ]
    for start in range(0, staff, BATCH):
        users, members, assignments, progresses = [], [], [], []
        for n in range(start, min(staff, start + BATCH)):
            role = next(roles)
            is_hr = n == 0
            email = HR_EMAIL if is_hr else f"p{n}@staff.example"
            users.append((next_user, email, f"Person {n:06d}", "UTC", True, now, False))
            place = departments if role is StakeholderRole.DEPARTMENTAL_LEADER else units
            unit_id = (
                place[n % len(place)]
                if role not in (StakeholderRole.EXECUTIVE, StakeholderRole.BOARD)
                else place[0]
            )
            members.append(
                (next_membership, next_user, org.id, unit_id, "RN2", f"E{n:07d}", role.value,
                 is_hr, False, False, is_hr, True, now, 0)
            )  # fmt: skip
            assigned_on = today - timedelta(days=rng.randrange(ASSIGNED_WITHIN_DAYS))
            assigned_at = datetime.combine(assigned_on, clock(12), tzinfo=UTC)
            for level, days in policy.get(role.value, {}).items():
                share = DONE_SHARE.get(level, 0.35)
                done_level = rng.random() < share
                for module_id in by_level.get(level, ()):
                    assignments.append(
                        (next_assignment, next_membership, org.id, next_user, module_id, "dose", level,
                         assigned_at, assigned_on + timedelta(days=days))
                    )  # fmt: skip
                    next_assignment += 1
                    if done_level or rng.random() < 0.3:
                        finished = assigned_at + timedelta(days=rng.randrange(1, days + 1))
                        finished = min(finished, now)
                        progresses.append(
                            (next_progress, next_user, module_id, "completed", assigned_at, finished,
                             finished, "bench", 1.0)
                        )  # fmt: skip
                        next_progress += 1
            next_user += 1
            next_membership += 1
        _copy_or_insert(db, User.__table__, user_cols, users)
        _copy_or_insert(db, Membership.__table__, member_cols, members)
        _copy_or_insert(db, Assignment.__table__, assign_cols, assignments)
        _copy_or_insert(db, Progress.__table__, progress_cols, progresses)
        db.commit()
        counts["assignments"] += len(assignments)
        counts["progress"] += len(progresses)
        if (start // BATCH) % 10 == 9:
            progress(f"  {start + BATCH:,} of {staff:,} people")
    for table in (User.__table__, Membership.__table__, Assignment.__table__, Progress.__table__):
        _fix_sequence(db, table)
    db.commit()
    return counts


def run(size: str = "M", database: str = "sqlite", database_url: str | None = None) -> dict[str, Any]:
    """`python -m bench dataset`: generate one size on a fresh database, report times and rows."""
    from bench.coverage import fresh_app

    with fresh_app(database, database_url) as (app, where):
        built = build(app, size)
    return {
        "size": size,
        "database": where,
        "rows": built.counts,
        "seconds": built.seconds,
    }


def result_name(size: str = "M", database: str = "sqlite", database_url: str | None = None) -> str:
    return f"dataset-{size}-{'postgresql' if database == 'postgresql' or database_url else 'sqlite'}"
