"""The email outbox: mail joins the transaction of the change that causes it, and is sent later.

Delivery is at least once and never drops a message: a failure is recorded on the message and retried
with back-off (1, 2, 4 ... minutes, at most an hour) until the mail server takes it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.mail import Transport
from lms.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_BACKOFF_MINUTES = 60


def enqueue(db: Session, *, to: str, subject: str, body: str) -> OutboxMessage:
    """Add a message to the caller's transaction (the caller commits)."""
    message = OutboxMessage(to_addr=to, subject=subject[:200], body_text=body)
    db.add(message)
    return message


@dataclass(frozen=True)
class Delivery:
    sent: int
    failed: int

    @classmethod
    def of(cls, outcomes: Iterable[bool]) -> Delivery:
        """Count the outcomes `deliveries` yielded (True: sent)."""
        done = list(outcomes)
        return cls(sent=sum(done), failed=len(done) - sum(done))


def deliveries(
    db: Session, transport: Transport, *, now: datetime | None = None, batch: int = 50
) -> Iterator[bool]:
    """Send up to `batch` due messages, one at a time; yields after each whether it was sent (a failure is
    kept on the message for a retry).

    The caller commits after each message (the scheduler job and `lms mail send` run this through
    lms.db.commit_each), so a crash never resends one. Messages are claimed one at a time with
    FOR UPDATE SKIP LOCKED (on PostgreSQL), so two senders running at once never send the same message;
    the lock lasts until that message's commit.
    """
    now = now or utcnow()
    for _ in range(batch):
        message = db.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if message is None:
            return
        try:
            transport.send(to=message.to_addr, subject=message.subject, body=message.body_text)
        except Exception as exc:  # any failure is kept on the message and retried; never dropped
            _record_failure(message, exc, now)
            sent = False
        else:
            message.sent_at = now
            message.last_error = None
            sent = True
        db.flush()
        yield sent


def deliver(db: Session, transport: Transport, *, now: datetime | None = None, batch: int = 50) -> Delivery:
    """Send up to `batch` due messages in the caller's transaction (see `deliveries` to commit each)."""
    return Delivery.of(deliveries(db, transport, now=now, batch=batch))


def deliver_due(db: Session, transport: Transport, *, now: datetime | None = None, batch: int = 50) -> int:
    """Send the due messages in the caller's transaction; returns how many were sent."""
    return deliver(db, transport, now=now, batch=batch).sent


def _record_failure(message: OutboxMessage, exc: Exception, now: datetime) -> None:
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    message.next_attempt_at = now + timedelta(minutes=backoff_minutes(message.attempts))
    log.warning(
        "Email %s to %s failed (attempt %s), retrying at %s: %s",
        message.id,
        message.to_addr,
        message.attempts,
        message.next_attempt_at.isoformat(timespec="seconds"),
        message.last_error,
    )


def backoff_minutes(attempts: int) -> int:
    """1, 2, 4, 8 ... minutes after the 1st, 2nd, 3rd, 4th ... failure, capped at an hour."""
    return min(2 ** min(max(attempts - 1, 0), 6), MAX_BACKOFF_MINUTES)
