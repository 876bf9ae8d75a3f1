"""Benchmark `scheduler`: what one pass of the prompt job costs, against writing its rows and nothing else.

The job (lms.scheduler.deliver_prompts, lms.services.prompt_delivery) finds the due schedules, works out
each one's latest due time and next time (coaching.cadence), picks the next prompt of its rotation,
inserts the deliveries (ON CONFLICT DO NOTHING), queues one email each in the outbox and moves the
schedules on, committing after each batch. Its floor is writing the deliveries themselves: "bare" is a
bulk insert of the same 10,000 delivery rows (one executemany, one commit) on the same database.

Data: a fresh SQLite instance (WAL, as production's default) with 10,000 people in one organisation,
10 schedules each: 100,000 active schedules. 10,000 of them are due: daily cadences whose time fell in
the last hour, in five time zones (300 distinct cadences); one in ten of those is limited to the Kata
tag, and its owner has two gemba walks, so its text is filled per person from the later one. The other
90,000 mix every kind of cadence, next due later. Rounds alternate bare and pass (the pass's work undone
between rounds: deliveries and emails deleted, the due schedules put back), and a pass with nothing due
follows each pass.

Each pass must deliver exactly 10,000 prompts (1,000 of them Kata prompts, each carrying its own owner's
walk and no one else's) and queue 10,000 emails, and the empty pass none, or the benchmark fails: a fast
pass that skipped the work would measure nothing.

Goals (issue 11): a pass at most 3x bare; a pass with nothing due under 5% of bare.
"""

from __future__ import annotations

import os
import re
import secrets
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, select, update

from bench import BenchmarkFailed, package_versions, postgres, progress
from coaching.cadence import Cadence
from coaching.prompts import KATA_TAG
from curricula.stakeholders import StakeholderRole
from lms import create_app, migrate
from lms.db import commit_each, get_db
from lms.models import (
    GembaWalk,
    Membership,
    Organization,
    OrgUnit,
    OutboxMessage,
    PromptDelivery,
    PromptSchedule,
    UnitKind,
    User,
)
from lms.services.prompt_delivery import BATCH, delivery_batches
from lms.services.prompts import kata_library, prompt_library

PEOPLE = 10_000
PER_PERSON = 10
DUE = 10_000
ROUNDS = 7
KATA_EVERY = 10  # one due schedule in ten is limited to the Kata tag: its text is filled per person
ZONES = ("America/New_York", "America/Chicago", "Europe/London", "Australia/Sydney", "Asia/Kolkata")
GOALS = {"pass_over_bare_at_most": 3.0, "empty_pass_over_bare_under": 0.05}
# The 90,000 schedules not due: every kind, several times and zones.
LATER = (
    {"kind": "daily"},
    {"kind": "weekdays"},
    {"kind": "weekly", "weekdays": frozenset({0, 3})},
    {"kind": "fortnightly", "weekdays": frozenset({2}), "anchor": date(2026, 1, 5)},
    {"kind": "monthly-day", "day_of_month": 31},
    {"kind": "monthly-nth", "nth": -1, "weekday": 4},
)


def result_name(database: str = "sqlite", database_url: str | None = None) -> str:
    return postgres.result_name("scheduler", database, database_url)


def run(database: str = "sqlite", database_url: str | None = None) -> dict[str, Any]:
    with ExitStack() as stack:
        db = postgres.database_for(stack, database, database_url)
        instance = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lms-bench-scheduler-")))
        config = {
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": secrets.token_urlsafe(32),
            "LOG_LEVEL": "WARNING",
        }
        where = "SQLite (WAL) in a fresh instance folder"
        if db.url:
            config["DATABASE_URL"] = db.url
            where = f"PostgreSQL, {db.where['server']}"
        app = create_app(config)
        try:
            return measure(app, where)
        finally:
            app.extensions["lms.engine"].dispose()


def measure(app: Any, where: str) -> dict[str, Any]:
    progress(f"migrating a fresh database: {where}")
    migrate.upgrade(app)
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        started = time.perf_counter()
        due = seed(now)
        seeded_s = time.perf_counter() - started
        vacuum()
        progress(f"seeded {PEOPLE * PER_PERSON:,} schedules ({DUE:,} due) in {seeded_s:.1f} s")
        rows = delivery_rows(due, now)
        bare, passes, empty = [], [], []
        for n in range(ROUNDS):
            bare.append(time_bare_insert(rows))
            undo(due)
            passes.append(time_pass(now, expect=DUE))
            empty.append(time_pass(now, expect=0))
            undo(due)
            progress(
                f"round {n + 1}/{ROUNDS}: bare {bare[-1] * 1000:.1f} ms, "
                f"pass {passes[-1] * 1000:.1f} ms, nothing due {empty[-1] * 1000:.2f} ms"
            )
    bare_ms, pass_ms, empty_ms = (statistics.median(x) * 1000 for x in (bare, passes, empty))
    return {
        "figures": {
            "bare_insert_ms": round(bare_ms, 2),
            "pass_ms": round(pass_ms, 2),
            "pass_over_bare": round(pass_ms / bare_ms, 3),
            # Each round's pass over the bare insert just before it: less moved by a busy machine's drift.
            "pass_over_bare_by_round_median": round(
                statistics.median(p / b for p, b in zip(passes, bare, strict=True)), 3
            ),
            "empty_pass_ms": round(empty_ms, 3),
            "empty_pass_over_bare": round(empty_ms / bare_ms, 4),
            "rounds": {
                "bare_ms": [round(x * 1000, 2) for x in bare],
                "pass_ms": [round(x * 1000, 2) for x in passes],
                "empty_pass_ms": [round(x * 1000, 3) for x in empty],
            },
        },
        "goals": GOALS,
        "met": {
            "pass_over_bare": pass_ms / bare_ms <= GOALS["pass_over_bare_at_most"],
            "empty_pass_over_bare": empty_ms / bare_ms < GOALS["empty_pass_over_bare_under"],
        },
        "dataset": {
            "schedules": PEOPLE * PER_PERSON,
            "due": DUE,
            "people": PEOPLE,
            "prompts_in_library": len(prompt_library()),
            "due_kata_schedules": DUE // KATA_EVERY,
            "kata_prompts_in_library": len(kata_library()),
            "batch": BATCH,
            "seconds_to_seed": round(seeded_s, 1),
        },
        "setup": {
            "database": where,
            "rounds": ROUNDS,
            "statistic": "median of the rounds",
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": package_versions("SQLAlchemy", "Flask"),
    }


def seed(now: datetime) -> list[tuple[int, datetime]]:
    """The organisation, its people and their schedules; answers the due schedules (id, next due)."""
    db = get_db()
    org = Organization(slug="bench", name="Bench Health", time_zone="America/New_York")
    db.add(org)
    db.flush()
    db.execute(
        insert(User),
        [{"email": f"p{n}@bench.example", "name": f"Person {n}", "time_zone": "UTC"} for n in range(PEOPLE)],
    )
    user_ids = list(db.scalars(select(User.id).order_by(User.id)))
    unit = OrgUnit(org_id=org.id, kind=UnitKind.UNIT, name="4 West", path="/1/")
    db.add(unit)
    db.flush()
    db.execute(
        insert(Membership),
        [
            {
                "user_id": uid,
                "org_id": org.id,
                "stakeholder_role": StakeholderRole.EXECUTIVE,
                "employee_id": str(uid),
            }
            for uid in user_ids
        ],
    )
    kata_people = user_ids[::KATA_EVERY]
    walks(org.id, unit.id, kata_people, now)
    schedules = []
    for n in range(PEOPLE * PER_PERSON):
        owner = user_ids[n // PER_PERSON]
        zone = ZONES[n % len(ZONES)]
        if n % PER_PERSON == 0:  # one in ten: due, a daily time that fell in the last hour
            at = (now - timedelta(minutes=1 + (n // PER_PERSON) % 60)).astimezone(ZoneInfo(zone)).time()
            fields: dict[str, Any] = {"kind": "daily", "at": at.replace(second=0)}
            cadence = Cadence(time_zone=zone, **fields)
            next_due = cadence.next_after(now - timedelta(days=1))
        else:
            fields = {**LATER[n % len(LATER)], "at": clock(6 + n % 12, 15 * (n % 4))}
            cadence = Cadence(time_zone=zone, **fields)
            next_due = cadence.next_after(now)
        schedules.append(
            {
                "user_id": owner,
                "org_id": org.id,
                "kind": fields["kind"],
                "at": fields["at"],
                "time_zone": zone,
                "weekdays": ",".join(str(d) for d in sorted(fields.get("weekdays", ()))),
                "day_of_month": fields.get("day_of_month"),
                "nth": fields.get("nth"),
                "weekday": fields.get("weekday"),
                "anchor": fields.get("anchor"),
                "tags": KATA_TAG if n % PER_PERSON == 0 and (n // PER_PERSON) % KATA_EVERY == 0 else "",
                "set_by_id": owner,
                "consented_at": now - timedelta(days=30),
                "active": True,
                "next_due_at": next_due,
                "rotation": "",
                "created_at": now - timedelta(days=30),
                "updated_at": now - timedelta(days=30),
            }
        )
    db.execute(insert(PromptSchedule), schedules)
    db.commit()
    due = db.execute(
        select(PromptSchedule.id, PromptSchedule.next_due_at).where(PromptSchedule.next_due_at <= now)
    ).all()
    if len(due) != DUE:
        raise BenchmarkFailed(f"seeded {len(due)} due schedules, not {DUE}")
    return [(row.id, row.next_due_at) for row in due]


def walks(org_id: int, unit_id: int, people: list[int], now: datetime) -> None:
    """Two walks of each Kata schedule's owner (the later one fills the prompt), with what they saw and the
    next step they expected."""
    db = get_db()
    leaders = dict(
        db.execute(select(Membership.user_id, Membership.id).where(Membership.org_id == org_id)).all()
    )
    db.execute(
        insert(GembaWalk),
        [
            {
                "org_id": org_id,
                "leader_id": leaders[uid],
                "unit_id": unit_id,
                "question_set": "bench",
                "walked_at": now - timedelta(days=days, minutes=uid % 600),
                "answers": {},
                "observations": f"Call bells answered slowly at shift change ({uid}, walk {days}).",
                "expected_next": f"Bells answered within two minutes by the next walk ({uid}).",
                "client_key": f"bench-{uid}-{days}",
                "created_at": now - timedelta(days=days),
            }
            for uid in people
            for days in (9, 2)
        ],
    )


def delivery_rows(due: list[tuple[int, datetime]], now: datetime) -> list[dict[str, Any]]:
    """The same rows a pass inserts: one delivery per due schedule, with a prompt of the library."""
    db = get_db()
    owners = dict(db.execute(select(PromptSchedule.id, PromptSchedule.user_id)).all())
    prompt = next(iter(prompt_library().values()))
    return [
        {
            "schedule_id": schedule_id,
            "user_id": owners[schedule_id],
            "due_at": next_due,
            "prompt_key": prompt.key,
            "prompt_text": prompt.text,
            "delivered_at": now,
        }
        for schedule_id, next_due in due
    ]


def checkpoint() -> None:
    """Move the write-ahead log into the database file: each timed part pays for the pages it wrote, the
    same whether SQLite checkpointed during it (the pass's 20 commits do) or would do so later."""
    db = get_db()
    if db.get_bind().dialect.name == "postgresql":
        return  # PostgreSQL writes its WAL as it goes; its dead rows are vacuumed by undo(), untimed
    db.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.commit()


def time_bare_insert(rows: list[dict[str, Any]]) -> float:
    db = get_db()
    checkpoint()
    started = time.perf_counter()
    db.execute(insert(PromptDelivery), rows)
    db.commit()
    checkpoint()
    return time.perf_counter() - started


def time_pass(now: datetime, *, expect: int) -> float:
    db = get_db()
    before = db.scalar(select(func.count()).select_from(OutboxMessage))
    checkpoint()
    started = time.perf_counter()
    delivered = sum(commit_each(delivery_batches(db, now), db))
    checkpoint()
    elapsed = time.perf_counter() - started
    emails = db.scalar(select(func.count()).select_from(OutboxMessage)) - before
    if delivered != expect or emails != expect:
        raise BenchmarkFailed(
            f"a pass delivered {delivered} prompts and queued {emails} emails, not {expect}"
        )
    if expect:
        check_kata(db)
    return elapsed


def check_kata(db) -> None:
    """Each Kata delivery carries its own owner's walk (the walks name their leader's user id), no one
    else's, and one in ten deliveries is one."""
    kata = db.execute(
        select(PromptDelivery.user_id, PromptDelivery.prompt_text).where(
            PromptDelivery.prompt_key.in_(list(kata_library()))
        )
    ).all()
    if len(kata) != DUE // KATA_EVERY:
        raise BenchmarkFailed(f"a pass delivered {len(kata)} Kata prompts, not {DUE // KATA_EVERY}")
    for user_id, text in kata:
        if "4 West" not in text or set(re.findall(r"\((\d+)", text)) != {str(user_id)}:
            raise BenchmarkFailed(f"a Kata prompt for user {user_id} does not carry their own walk: {text!r}")


def undo(due: list[tuple[int, datetime]]) -> None:
    """Put the database back as before a pass: no deliveries, no emails, the due schedules due again."""
    db = get_db()
    db.execute(delete(PromptDelivery))
    db.execute(delete(OutboxMessage))
    db.execute(
        update(PromptSchedule.__table__)
        .where(PromptSchedule.__table__.c.id == bindparam("b_id"))
        .values(next_due_at=bindparam("b_due"), rotation=""),
        [{"b_id": schedule_id, "b_due": next_due} for schedule_id, next_due in due],
    )
    db.commit()
    vacuum()


def vacuum() -> None:
    """PostgreSQL: VACUUM ANALYZE, as autovacuum would between passes (the deleted rows and the schedules'
    old versions gone), outside a transaction, on the driver's connection. Nothing on SQLite."""
    db = get_db()
    if db.get_bind().dialect.name != "postgresql":
        return
    db.commit()
    raw = db.get_bind().raw_connection()
    try:
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute("VACUUM ANALYZE")
    finally:
        raw.close()
