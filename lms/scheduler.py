"""Background jobs (APScheduler 3): find what is due and call the services; no business rule lives here.

Each job run is a boundary: it commits its work (lms.db.unit_of_work, or lms.db.commit_each after each
message, organisation or batch of prompts) and rolls back on error. Each job answers its counts (what
`lms scheduler --once` prints, one line per job).

Run either inside `lms run` (one machine, one process) or as the dedicated `lms scheduler` process.
Never once per web worker. Every job is safe to run twice at once (services claim rows with
FOR UPDATE SKIP LOCKED on PostgreSQL), and on PostgreSQL a second `lms scheduler` waits on an advisory
lock until the first one stops.
"""

from __future__ import annotations

import functools
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import text

from lms.db import commit_each, get_db, unit_of_work
from lms.mail import transport_from_url
from lms.services import accounts, coverage, dosing, escalation, outbox, prompt_delivery

log = logging.getLogger(__name__)

# pg_advisory_lock key held by the running `lms scheduler` ("lmssched" in ASCII, fits a bigint).
SCHEDULER_LOCK_KEY = 0x6C6D7373636865


Counts = dict[str, int]


def deliver_prompts(app: Flask) -> Counts:
    """Deliver the reflection prompts that are due, committing after each batch (a crash mid-pass loses
    and doubles nothing); their emails wait in the outbox."""
    with app.app_context():
        delivered = sum(commit_each(prompt_delivery.delivery_batches(get_db())))
        if delivered:
            log.info("Prompts: delivered %s", delivered)
        return {"prompts delivered": delivered}


def deliver_outbox(app: Flask) -> Counts:
    """Send the email that is due, committing after each message (a crash never resends one)."""
    with app.app_context():
        delivery = outbox.Delivery.of(
            commit_each(outbox.deliveries(get_db(), transport_from_url(app.config["SMTP_URL"])))
        )
        if delivery.sent:
            log.info("Outbox: sent %s message(s)", delivery.sent)
        return {"emails sent": delivery.sent, "emails failed": delivery.failed}


def reconcile_dose_assignments(app: Flask) -> Counts:
    """Hourly: re-plan the dose assignments of each organisation where it is 02:00-02:59 local time, each
    organisation in a transaction of its own."""
    with app.app_context():
        done = commit_each(dosing.reconcile_nightly(get_db()))
        for slug, counts in done:
            log.info("Dose assignments in %s: %s", slug, counts)
        return {"organisations re-planned": len(done)}


def fold_coverage(app: Flask) -> Counts:
    """Hourly: count in each organisation's coverage cells what fell overdue since its last fold (one write
    per cell a day, never per learner), each organisation in a transaction of its own."""
    with app.app_context():
        folded = commit_each(coverage.fold_all(get_db()))
    return {"coverage cells folded": sum(rows for _, rows in folded)}


def forget_old_sign_in_attempts(app: Flask) -> Counts:
    """Daily: sign-in attempts are kept 30 days, then deleted."""
    with app.app_context(), unit_of_work() as db:
        deleted = accounts.forget_old_attempts(db)
        if deleted:
            log.info("Deleted %s sign-in attempts older than 30 days", deleted)
        return {"old sign-in attempts deleted": deleted}


def escalate_overdue_follow_ups(app: Flask) -> Counts:
    """Every 15 minutes: move overdue open follow-ups up to the next level's leader (idempotent)."""
    with app.app_context(), unit_of_work() as db:
        moved = escalation.escalate_overdue(db)
    if moved:
        log.info("Follow-ups escalated: %s", moved)
    return {"follow-ups escalated": moved}


# Prompts and escalations first: `--once` then sends their emails in the same run.
JOBS: tuple[tuple[Callable[[Flask], Counts], int], ...] = (
    (deliver_prompts, 60),
    (escalate_overdue_follow_ups, 900),
    (deliver_outbox, 15),
    (reconcile_dose_assignments, 3600),
    (fold_coverage, 3600),
    (forget_old_sign_in_attempts, 86400),
)  # (job, seconds between runs)


def _guarded(job: Callable[[Flask], Counts]) -> Callable[[Flask], Counts | None]:
    """A failing run is logged (answering None) and the schedule goes on; the next run retries."""

    @functools.wraps(job)
    def run(app: Flask) -> Counts | None:
        try:
            return job(app)
        except Exception:
            log.exception("Scheduled job %s failed; it runs again at its next time", job.__name__)
            return None

    return run


def run_once(app: Flask) -> list[tuple[str, Counts | None]]:
    """Run every job once, in order (`lms scheduler --once`): each job's name and counts, or None for a
    job that failed (the log says why)."""
    return [(job.__name__, _guarded(job)(app)) for job, _ in JOBS]


def _add_jobs(scheduler: BaseScheduler, app: Flask) -> None:
    # APScheduler logs every run at INFO; a run every 15 seconds would drown the log. Failures still show.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    for job, seconds in JOBS:
        scheduler.add_job(
            _guarded(job),
            "interval",
            seconds=seconds,
            args=[app],
            id=job.__name__,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def start_in_process(app: Flask) -> BackgroundScheduler:
    """Start the jobs on a background thread of this process (for `lms run`)."""
    scheduler = BackgroundScheduler(timezone=UTC, daemon=True)
    _add_jobs(scheduler, app)
    scheduler.start()
    log.info("Scheduler started in this process: %s", ", ".join(job.__name__ for job, _ in JOBS))
    return scheduler


def run_forever(app: Flask) -> None:
    """Run the jobs in this process until it is stopped (for `lms scheduler`)."""
    engine = app.extensions["lms.engine"]
    lock = None
    if engine.dialect.name == "postgresql":
        # A session-level lock on a connection of its own, held while this process lives.
        lock = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if not lock.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}):
            log.info("Another scheduler is running; waiting until it stops")
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY})
    scheduler = BlockingScheduler(timezone=UTC)
    _add_jobs(scheduler, app)
    log.info("Scheduler running: %s", ", ".join(job.__name__ for job, _ in JOBS))
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # a service manager's stop: finish the running job
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        if scheduler.running:
            scheduler.shutdown()  # waits for a job that is running
        log.info("Scheduler stopped")
    finally:
        if lock is not None:
            lock.invalidate()  # ends the server session, releasing the lock (never back to the pool)
            lock.close()
