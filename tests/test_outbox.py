"""The email outbox: mail waits in the database until the SMTP server takes it, and is never lost."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.cli import main as lms_cli
from lms.db import utcnow
from lms.mail import LogTransport, SmtpTransport, transport_from_url
from lms.models import OutboxMessage
from lms.scheduler import _guarded, deliver_outbox
from lms.services import outbox


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def queue(db, to="nurse@alpha.test", subject="Hello", body="Body text") -> OutboxMessage:
    message = outbox.enqueue(db, to=to, subject=subject, body=body)
    db.commit()
    return message


def test_a_message_waits_while_smtp_is_down_and_is_sent_once_when_it_is_back(app, db, smtp_server):
    url, mailbox = smtp_server
    message = queue(db, subject="Your reset link")
    down = transport_from_url(f"smtp+plain://127.0.0.1:{unused_port()}")

    assert outbox.deliver_due(db, down) == 0

    db.refresh(message)
    assert message.sent_at is None
    assert message.attempts == 1
    assert message.last_error
    assert message.next_attempt_at > utcnow()

    up = transport_from_url(url)
    assert outbox.deliver_due(db, up) == 0, "not due again before its back-off has passed"
    assert mailbox.messages == []

    later = message.next_attempt_at + timedelta(seconds=1)
    assert outbox.deliver_due(db, up, now=later) == 1
    assert outbox.deliver_due(db, up, now=later + timedelta(minutes=5)) == 0

    assert [m["Subject"] for m in mailbox.messages] == ["Your reset link"]
    assert mailbox.messages[0]["To"] == "nurse@alpha.test"
    assert mailbox.messages[0]["From"] == app.config["MAIL_FROM"]
    db.refresh(message)
    assert message.sent_at is not None and message.last_error is None


def test_back_off_doubles_up_to_an_hour_and_never_gives_up(app, db):
    message = queue(db)
    down = transport_from_url(f"smtp+plain://127.0.0.1:{unused_port()}")
    now = utcnow()
    waits = []
    for _ in range(9):
        outbox.deliver_due(db, down, now=now)
        db.refresh(message)
        waits.append(round((message.next_attempt_at - now).total_seconds() / 60))
        now = message.next_attempt_at
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert message.attempts == 9 and message.sent_at is None
    assert db.scalar(select(OutboxMessage).where(OutboxMessage.id == message.id)) is not None


def test_one_batch_sends_at_most_batch_messages_oldest_first(app, db, smtp_server):
    url, mailbox = smtp_server
    for n in range(3):
        queue(db, subject=f"Message {n}")
    transport = transport_from_url(url)
    assert outbox.deliver_due(db, transport, batch=2) == 2
    assert outbox.deliver_due(db, transport, batch=2) == 1
    assert [m["Subject"] for m in mailbox.messages] == ["Message 0", "Message 1", "Message 2"]


@pytest.mark.postgres
@pytest.mark.committed  # the other sender, a connection of its own, must see the queued messages
def test_a_message_another_sender_has_claimed_is_skipped_not_sent_twice(app, db, smtp_server):
    url, mailbox = smtp_server
    claimed = queue(db, subject="Claimed by the other sender")
    queue(db, subject="Free")
    with Session(app.extensions["lms.engine"]) as other_sender:
        other_sender.scalar(
            select(OutboxMessage).where(OutboxMessage.id == claimed.id).with_for_update(skip_locked=True)
        )
        assert outbox.deliver_due(db, transport_from_url(url)) == 1
        other_sender.rollback()
    assert [m["Subject"] for m in mailbox.messages] == ["Free"]
    assert outbox.deliver_due(db, transport_from_url(url)) == 1
    assert [m["Subject"] for m in mailbox.messages] == ["Free", "Claimed by the other sender"]


def test_smtp_urls_choose_the_transport(app, ctx):
    assert isinstance(transport_from_url(""), LogTransport)
    starttls = transport_from_url("smtp://mailer:p%40ss@mail.example.org")
    assert starttls == SmtpTransport(
        host="mail.example.org",
        port=587,
        security="starttls",
        mail_from=app.config["MAIL_FROM"],
        username="mailer",
        password="p@ss",
    )
    tls = transport_from_url("smtps://mail.example.org")
    assert (tls.port, tls.security) == (465, "tls")
    plain = transport_from_url("smtp+plain://relay:2525")
    assert (plain.port, plain.security, plain.username) == (2525, "none", None)
    with pytest.raises(ValueError, match="smtp://"):
        transport_from_url("http://mail.example.org")


def test_without_smtp_the_log_shows_the_whole_message(app, db, caplog):
    queue(db, to="dev@alpha.test", subject="Reset", body="Open http://127.0.0.1:5000/reset/abc")
    with caplog.at_level(logging.INFO, logger="lms.mail"):
        assert outbox.deliver_due(db, transport_from_url("")) == 1
    assert "dev@alpha.test" in caplog.text
    assert "http://127.0.0.1:5000/reset/abc" in caplog.text


def test_the_scheduler_job_delivers_the_outbox(app, db, smtp_server, monkeypatch):
    url, mailbox = smtp_server
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    queue(db, subject="From the scheduler")

    deliver_outbox(app)

    assert [m["Subject"] for m in mailbox.messages] == ["From the scheduler"]
    assert db.scalar(select(OutboxMessage.sent_at)) is not None


def test_a_failing_job_logs_and_the_schedule_goes_on(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SMTP_URL", "gopher://misconfigured")
    with caplog.at_level(logging.ERROR, logger="lms.scheduler"):
        _guarded(deliver_outbox)(app)  # does not raise
    assert "deliver_outbox failed" in caplog.text
    assert "gopher" in caplog.text


def test_lms_mail_send_reports_what_it_sent_and_what_failed(app, db, smtp_server, monkeypatch):
    url, mailbox = smtp_server
    queue(db, subject="Via the CLI")
    runner = app.test_cli_runner()

    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp+plain://127.0.0.1:{unused_port()}")
    result = runner.invoke(lms_cli, ["mail", "send"])
    assert result.exit_code == 1
    assert "Sent 0 message(s)." in result.output
    assert "1 message(s) failed and will be retried" in result.output

    db.execute(OutboxMessage.__table__.update().values(next_attempt_at=utcnow()))
    db.commit()
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    result = runner.invoke(lms_cli, ["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 message(s)." in result.output
    assert [m["Subject"] for m in mailbox.messages] == ["Via the CLI"]
