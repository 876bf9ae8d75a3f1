"""`python -m bench roster`: importing a roster file of 5,000 and of 50,000 rows (issue 12).

For each size, a fresh SQLite database with the project's content/ published (its dosing policy), one
organisation of 1 + 4 + 32 + 192 units with codes, and no people; a generated CSV roster (employee id,
name with non-ASCII letters, email, job code: mapped codes and role names, unit by code or by path, start
date, status) of that many new people. Timed, one after the other:

1. `preview_s`: `roster.preview` without the coverage forecast (read the file, check every row, plan).
2. `preview_with_coverage_s`: the Roster page's preview (the import applied in a savepoint, coverage
   read before and after, rolled back).
3. `apply_s`: `roster.apply` and the commit: every person added and audited, their dose assignments
   made (dosing.reconcile), coverage rebuilt. No welcome email (`--no-welcome`; sending 50,000 is the
   outbox's job, not the import's).
4. `reimport_unchanged_s`: the same file again, which must change nothing.

Memory: Python's own allocations (tracemalloc), peak above what was held before, measured in a second
pass of the preview (1., before the apply) and of the unchanged re-import's plan (4.), so the timings
above carry no tracing cost,
and the process's peak resident memory (VmHWM) during the apply. The preview holds one small record per
row that changes (the plan) and indexes of employee ids and emails; `bytes_per_row` shows that what it
needs grows linearly with rows and nothing else does: the file is read one row at a time and the writes
go a thousand rows at a time.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from bench import package_versions, progress
from bench.dosing import peak_memory
from curricula.corpus import load_corpus
from curricula.stakeholders import StakeholderRole
from lms import create_app, migrate
from lms.db import get_db
from lms.models import Assignment, JobCodeRole, Membership, Organization, OrgUnit, UnitKind
from lms.services import content as publishing
from lms.services import roster

SIZES = tuple(int(n) for n in os.environ.get("BENCH_ROSTER_SIZES", "5000,50000").split(","))
CONTENT = Path(__file__).resolve().parent.parent / "content"
FACILITIES, DEPARTMENTS, UNITS = 4, 8, 6
NAMES = ["Ana Souza", "Zoë Ødegård", "Nguyễn Thị Lan", "Łukasz Żółw", "Siobhán Ní Bhriain", "José Álvarez"]
# Job codes per 1,000 rows: HR-system codes mapped on the Job codes page, and roles' own names.
JOBS = [
    ("RN-1", 700),
    ("CNA-2", 200),
    ("unit-leader", 36),
    ("PFP", 36),
    ("departmental-leader", 12),
    ("QI-SPEC", 10),
    ("executive", 4),
    ("board", 2),
]
MAPPED = {
    "RN-1": "clinician",
    "CNA-2": "clinician",
    "PFP": "patient-family-partner",
    "QI-SPEC": "quality-staff",
}


def result_name(**_: Any) -> str:
    return "roster"


def run() -> dict[str, Any]:
    figures = {}
    for size in SIZES:
        with tempfile.TemporaryDirectory(prefix="lms-bench-roster-") as tmp:
            app = create_app(
                {
                    "INSTANCE_PATH": tmp,
                    "SECRET_KEY": "bench",
                    "DATABASE_URL": f"sqlite:///{Path(tmp) / 'lms.sqlite3'}",
                    "LOG_LEVEL": "WARNING",
                }
            )
            try:
                figures[str(size)] = measure(app, size)
            finally:
                app.extensions["lms.engine"].dispose()
    small, large = (figures[str(n)] for n in (min(SIZES), max(SIZES)))
    growth = max(SIZES) / min(SIZES)
    return {
        "figures": figures,
        "memory_growth": {
            "rows": round(growth, 1),
            "preview_peak": round(large["preview_peak_mb"] / small["preview_peak_mb"], 2),
            "reimport_unchanged_peak": round(
                large["reimport_unchanged_peak_mb"] / small["reimport_unchanged_peak_mb"], 2
            ),
        },
        "dataset": {
            "units": 1 + FACILITIES + FACILITIES * DEPARTMENTS + FACILITIES * DEPARTMENTS * UNITS,
            "job_codes_per_1000": dict(JOBS),
            "file": "CSV UTF-8 with a byte-order mark, CRLF; units by code (3 in 4) or by path",
            "database": "SQLite (WAL), a fresh file per size",
        },
        "versions": package_versions("SQLAlchemy", "python-calamine"),
    }


def measure(app: Flask, size: int) -> dict[str, Any]:
    migrate.upgrade(app)
    with app.app_context():
        db = get_db()
        publishing.sync(db, load_corpus(CONTENT))
        org_id, units = seed(db)
        db.commit()
        data = roster_file(size, units)
        progress(f"{size:,} rows ({len(data) / 1e6:.1f} MB): preview")
        plan, preview_s = timed(lambda: roster.preview(db, None, data, org_id=org_id, with_coverage=False))
        if plan.problem_count or plan.counts["add"] != size:
            raise RuntimeError(
                f"the generated file is not clean: {plan.summary()} {plan.problem_lines()[:3]}"
            )
        del plan
        db.rollback()
        progress(f"{size:,} rows: memory (tracemalloc) of the preview")
        preview_peak = traced(lambda: roster.preview(db, None, data, org_id=org_id, with_coverage=False))
        db.rollback()
        progress(f"{size:,} rows: preview with the coverage forecast")
        forecast, forecast_s = timed(lambda: roster.preview(db, None, data, org_id=org_id))
        moves = len(forecast.coverage)
        del forecast
        db.rollback()
        progress(f"{size:,} rows: apply")
        with peak_memory() as rss:
            done, apply_s = timed(lambda: _apply(db, org_id, data))
        progress(f"{size:,} rows: import again (nothing to change)")
        again, again_s = timed(lambda: _apply(db, org_id, data))
        if again.changed:
            raise RuntimeError(f"re-importing changed something: {again.summary()}")
        progress(f"{size:,} rows: memory (tracemalloc) of the unchanged re-import's plan")
        db.rollback()
        again_peak = traced(lambda: roster.preview(db, None, data, org_id=org_id, with_coverage=False))
        db.rollback()
        people = db.scalar(select(func.count()).select_from(Membership))
        assignments = db.scalar(select(func.count()).select_from(Assignment))
    return {
        "rows": size,
        "file_mb": round(len(data) / 1e6, 2),
        "preview_s": round(preview_s, 2),
        "preview_with_coverage_s": round(forecast_s, 2),
        "coverage_cells_moved": moves,
        "apply_s": round(apply_s, 2),
        "reimport_unchanged_s": round(again_s, 2),
        "rows_per_s": {"preview": round(size / preview_s), "apply": round(size / apply_s)},
        "preview_peak_mb": round(preview_peak / 1e6, 1),
        "reimport_unchanged_peak_mb": round(again_peak / 1e6, 1),
        "bytes_per_row": {
            "preview": round(preview_peak / size),
            "reimport_unchanged": round(again_peak / size),
        },
        "apply_peak_rss_mb": rss.get("peak_mb"),
        "added": done.counts["add"],
        "people_after": people,
        "assignments_after": assignments,
    }


def _apply(db: Any, org_id: int, data: bytes) -> roster.Preview:
    result = roster.apply(db, None, data, org_id=org_id, welcome=False)
    db.commit()
    return result


def timed(work: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def traced(work: Any) -> int:
    """Peak of Python's allocations during `work`, above what was allocated when it began."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        work()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def seed(db: Any) -> tuple[int, list[tuple[str, str]]]:
    """The organisation, its units with codes, its job-code mappings; (code, path) of each unit."""
    org = Organization(slug="bench-health", name="Bench Health", time_zone="America/New_York")
    db.add(org)
    db.flush()

    def unit(name: str, kind: UnitKind, parent: OrgUnit | None, code: str) -> OrgUnit:
        node = OrgUnit(
            org_id=org.id, parent_id=parent.id if parent else None, kind=kind, name=name, path="", code=code
        )
        db.add(node)
        db.flush()
        node.path = f"{parent.path if parent else '/'}{node.id}/"
        return node

    system = unit(org.name, UnitKind.SYSTEM, None, "SYS")
    leaves = []
    for f in range(FACILITIES):
        facility = unit(f"Facility {f + 1}", UnitKind.FACILITY, system, f"F{f + 1}")
        for d in range(DEPARTMENTS):
            department = unit(f"Department {d + 1}", UnitKind.DEPARTMENT, facility, f"F{f + 1}D{d + 1}")
            for u in range(UNITS):
                code = f"F{f + 1}D{d + 1}U{u + 1}"
                unit(f"Unit {u + 1}", UnitKind.UNIT, department, code)
                leaves.append((code, f"Facility {f + 1} > Department {d + 1} > Unit {u + 1}"))
    for code, role in MAPPED.items():
        db.add(
            JobCodeRole(
                org_id=org.id, job_code=code, job_key=code.casefold(), stakeholder_role=StakeholderRole(role)
            )
        )
    db.flush()
    return org.id, leaves


def roster_file(size: int, units: list[tuple[str, str]]) -> bytes:
    jobs = [code for code, n in JOBS for _ in range(n)]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["Employee ID", "Name", "Email", "Job Code", "Unit", "Start Date", "Status"])
    for i in range(size):
        code, path = units[i % len(units)]
        writer.writerow(
            [
                f"E{i:06d}",
                f"{NAMES[i % len(NAMES)]} {i}",
                f"person{i}@bench-health.example",
                jobs[i % len(jobs)],
                path if i % 4 == 3 else f" {code} ",
                f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "active",
            ]
        )
    return out.getvalue().encode("utf-8")
