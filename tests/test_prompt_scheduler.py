"""The scheduler and due prompts, for real: two schedulers at once on one database, a scheduler killed
mid-pass, and an SMTP server that is down. Every due prompt is delivered, and emailed, exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Mailbox
from prompts_factory import many_due, schedule
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from test_run_command import lms_executable

from curricula.stakeholders import StakeholderRole
from lms.cli import main as lms_cli
from lms.db import commit_each, get_db, utcnow
from lms.models import OutboxMessage, PromptDelivery, PromptSchedule
from lms.scheduler import run_once
from lms.services.prompt_delivery import delivery_batches

KILL_LIMIT = 120  # seconds to wait for the killed scheduler's first batch; a bound, not a timing claim


def read(app, statement):
    """What is committed, through a session of its own."""
    with Session(app.extensions["lms.engine"]) as fresh:
        return fresh.scalar(statement)


def exactly_once(app, due_count: int) -> None:
    """Every due schedule has one delivery, one email, and has moved on past now."""
    assert read(app, select(func.count()).select_from(PromptDelivery)) == due_count
    doubled = select(PromptDelivery.schedule_id).group_by(PromptDelivery.schedule_id).having(func.count() > 1)
    assert read(app, select(func.count()).select_from(doubled.subquery())) == 0
    assert read(app, select(func.count()).select_from(OutboxMessage)) == due_count
    still_due = select(func.count()).where(PromptSchedule.next_due_at <= utcnow())
    assert read(app, still_due) == 0


@pytest.mark.committed
def test_two_schedulers_at_once_deliver_every_prompt_exactly_once(app, db, make, tree):
    people = [make.person(tree, StakeholderRole.EXECUTIVE) for _ in range(3)]
    now = utcnow()
    for person in people:
        many_due(db, person, 200, due=now - timedelta(hours=1))
    start = threading.Barrier(2)
    delivered: list[int] = []
    failures: list[BaseException] = []

    def scheduler() -> None:
        try:
            with app.app_context():
                start.wait()
                delivered.append(sum(commit_each(delivery_batches(get_db(), now, batch=25))))
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sum(delivered) == 600, f"each prompt counted by the one scheduler that delivered it: {delivered}"
    exactly_once(app, 600)


@pytest.mark.committed
def test_a_scheduler_killed_mid_pass_loses_and_doubles_nothing(app, db, make, tree, database_url, tmp_path):
    due = 10_000
    many_due(db, make.person(tree, StakeholderRole.EXECUTIVE), due, due=utcnow() - timedelta(hours=1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env |= {
        "LMS_INSTANCE_PATH": str(tmp_path),
        "LMS_DATABASE_URL": database_url,
        "LMS_SECRET_KEY": "test-secret",
        "LMS_LOG_LEVEL": "WARNING",
    }
    scheduler = subprocess.Popen([lms_executable(), "scheduler"], env=env, stderr=subprocess.DEVNULL)
    try:
        delivered = 0
        deadline = time.monotonic() + KILL_LIMIT
        while delivered == 0 and time.monotonic() < deadline:
            delivered = read(app, select(func.count()).select_from(PromptDelivery))
    finally:
        scheduler.send_signal(signal.SIGKILL)
        scheduler.wait()
    at_kill = read(app, select(func.count()).select_from(PromptDelivery))
    assert 0 < at_kill < due, "killed after its first batch and before the end of its pass"

    result = app.test_cli_runner().invoke(lms_cli, ["scheduler", "--once"])

    assert f"prompts delivered: {due - at_kill}" in result.output.splitlines(), result.output
    exactly_once(app, due)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_prompt_emails_wait_while_smtp_is_down_and_go_out_once_when_it_is_back(app, db, learner, monkeypatch):
    from aiosmtpd.controller import Controller

    port, mailbox = free_port(), Mailbox()
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp+plain://127.0.0.1:{port}")
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    smtp.stop()  # the mail server is down
    schedule(db, learner, now=datetime.now(UTC) - timedelta(days=1))

    down = dict(run_once(app))

    assert down["deliver_prompts"] == {"prompts delivered": 1}
    assert down["deliver_outbox"] == {"emails sent": 0, "emails failed": 1}
    waiting = db.scalars(select(OutboxMessage)).one()
    assert waiting.sent_at is None and waiting.last_error
    assert db.scalar(select(func.count()).select_from(PromptDelivery)) == 1, "in the inbox all the same"

    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()  # the mail server is back
    try:
        db.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))  # its back-off has passed
        db.commit()
        back = dict(run_once(app))
        again = dict(run_once(app))
    finally:
        smtp.stop()

    assert back["deliver_outbox"] == {"emails sent": 1, "emails failed": 0}
    assert again["deliver_prompts"] == {"prompts delivered": 0}
    assert again["deliver_outbox"] == {"emails sent": 0, "emails failed": 0}
    assert [m["To"] for m in mailbox.messages] == [learner.user.email]
    prompt = db.scalars(select(PromptDelivery.prompt_text)).one()
    assert prompt in mailbox.messages[0].get_payload(decode=True).decode()
