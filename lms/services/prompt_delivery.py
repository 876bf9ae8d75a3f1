"""Delivering due reflection prompts (the scheduler's `deliver_prompts` job and `lms scheduler --once`).

Exactly once, however many schedulers run: a delivery is unique on (schedule, due time) and is inserted
with INSERT ... ON CONFLICT DO NOTHING, so a second scheduler that read the same due schedule inserts
nothing, sends nothing and leaves the schedule to the one that delivered. On PostgreSQL the due
schedules are also claimed with FOR UPDATE SKIP LOCKED, so two schedulers share the work instead of
racing for it. Each batch (its deliveries, their emails in the outbox, the schedules advanced) is one
transaction when run through lms.db.commit_each, so a scheduler killed mid-pass loses and doubles
nothing: the next pass finds exactly the schedules whose batch was not committed.

A schedule that fell behind (the scheduler was stopped for a week) delivers its latest due occurrence
only, not one per missed occurrence: nothing is sent more often than the schedule says, and a flood of
stale prompts helps nobody.

A pass does its work in bulk (one query per batch for the due schedules, one insert for the deliveries,
one for the emails, one update for the schedules) and works out each distinct cadence and rotation once
per pass, so its cost stays near that of writing the rows (bench/scheduler.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from coaching.cadence import Cadence
from coaching.prompts import Prompt, next_prompt
from lms.db import utcnow
from lms.models import Membership, OutboxMessage, PromptDelivery, PromptSchedule, User
from lms.services.prompts import ScheduleSpec, cadence_of, prompt_library

BATCH = 500
# How far back a schedule that fell behind looks for its latest occurrence: longer than any cadence's gap.
CATCH_UP = timedelta(days=62)

_COLUMNS = (
    PromptSchedule.id,
    PromptSchedule.user_id,
    PromptSchedule.kind,
    PromptSchedule.at,
    PromptSchedule.time_zone,
    PromptSchedule.weekdays,
    PromptSchedule.day_of_month,
    PromptSchedule.nth,
    PromptSchedule.weekday,
    PromptSchedule.anchor,
    PromptSchedule.tags,
    PromptSchedule.next_due_at,
    PromptSchedule.rotation,
    User.email,
    User.name,
    User.active.label("user_active"),
    Membership.active.label("member_active"),
)


def deliver_due(db: Session, now: datetime | None = None, *, batch: int = BATCH) -> int:
    """Deliver every due prompt in the caller's transaction; returns how many were delivered."""
    return sum(delivery_batches(db, now, batch=batch))


def delivery_batches(db: Session, now: datetime | None = None, *, batch: int = BATCH) -> Iterator[int]:
    """Deliver the due prompts a batch at a time, yielding after each how many it delivered; the caller
    commits after each (lms.db.commit_each), so a crash loses or doubles nothing."""
    now = now or utcnow()
    pass_ = _Pass(db, now, prompt_library())
    after: tuple[datetime, int] | None = None
    while True:
        query = (
            select(*_COLUMNS)
            .join(User, User.id == PromptSchedule.user_id)
            .join(
                Membership,
                (Membership.user_id == PromptSchedule.user_id) & (Membership.org_id == PromptSchedule.org_id),
            )
            .where(PromptSchedule.next_due_at <= now)
            .order_by(PromptSchedule.next_due_at, PromptSchedule.id)
            .limit(batch)
            .with_for_update(skip_locked=True, of=PromptSchedule)
        )
        if after is not None:  # walk the due schedules once, in index order, whatever others do meanwhile
            query = query.where(
                (PromptSchedule.next_due_at > after[0])
                | ((PromptSchedule.next_due_at == after[0]) & (PromptSchedule.id > after[1]))
            )
        rows = db.execute(query).all()
        if not rows:
            return
        after = (rows[-1].next_due_at, rows[-1].id)
        yield pass_.deliver(rows)
        if len(rows) < batch:
            return


class _Pass:
    """One pass of the scheduler: what it has worked out about cadences and rotations, reused by every
    schedule that shares them."""

    def __init__(self, db: Session, now: datetime, library: Sequence[Prompt]) -> None:
        self.db = db
        self.now = now
        self.library = library
        self.base_url = current_app.config["BASE_URL"]
        self._times: dict[tuple, tuple[datetime, datetime]] = {}
        self._prompts: dict[tuple[str, str], tuple[Prompt | None, str]] = {}

    def deliver(self, rows: Sequence[Any]) -> int:
        deliveries, advanced = [], []
        for row in rows:
            due, following = self._due_and_next(row)
            rotation = row.rotation
            if row.user_active and row.member_active:  # else nobody to prompt, and no catching up later
                prompt, rotation = self._prompt(row.tags, row.rotation)
                if prompt is not None:
                    deliveries.append(
                        {
                            "schedule_id": row.id,
                            "user_id": row.user_id,
                            "due_at": due,
                            "prompt_key": prompt.key,
                            "prompt_text": prompt.text,
                            "delivered_at": self.now,
                        }
                    )
            advanced.append(
                {"b_id": row.id, "b_seen": row.next_due_at, "b_next": following, "b_rotation": rotation}
            )
        made = self._insert(deliveries)
        by_id = {row.id: row for row in rows}
        self._enqueue([(by_id[schedule_id], delivery_id) for schedule_id, delivery_id in made])
        self._advance(advanced)
        return len(made)

    def _due_and_next(self, row: Any) -> tuple[datetime, datetime]:
        """The latest occurrence due by now (a schedule that fell behind skips the older ones) and the
        next one after it, worked out once per distinct cadence and due time."""
        key = (
            row.kind,
            row.at,
            row.time_zone,
            row.weekdays,
            row.day_of_month,
            row.nth,
            row.weekday,
            row.anchor,
        )
        memo = (key, row.next_due_at)
        if memo not in self._times:
            cadence = _cadence(row)
            due = row.next_due_at
            if due < self.now - CATCH_UP:
                due = cadence.next_after(self.now - CATCH_UP)
            following = cadence.next_after(due)
            while following <= self.now:
                due, following = following, cadence.next_after(following)
            self._times[memo] = (due, following)
        return self._times[memo]

    def _prompt(self, tags: str, rotation: str) -> tuple[Prompt | None, str]:
        """The next prompt of the rotation and the rotation after it (a new round once every prompt of
        the schedule's tags was delivered)."""
        memo = (tags, rotation)
        if memo not in self._prompts:
            used = [key for key in rotation.split(",") if key]
            wanted = frozenset(t for t in tags.split(",") if t)
            try:
                prompt = next_prompt(self.library, used, wanted)
            except LookupError:  # no prompt carries these tags any more: nothing to deliver
                self._prompts[memo] = (None, rotation)
            else:
                round_ = [*used, prompt.key] if prompt.key not in used else [prompt.key]
                self._prompts[memo] = (prompt, ",".join(round_))
        return self._prompts[memo]

    def _insert(self, deliveries: list[dict]) -> list[tuple[int, int]]:
        """Insert the deliveries, skipping any that exist (another scheduler's); answers (schedule id,
        delivery id) of those inserted here."""
        if not deliveries:
            return []
        dialect = postgresql if self.db.get_bind().dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(PromptDelivery)
            .on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
            .returning(PromptDelivery.schedule_id, PromptDelivery.id)
        )
        return [(row[0], row[1]) for row in self.db.execute(statement, deliveries)]

    def _enqueue(self, made: list[tuple[Any, int]]) -> None:
        if not made:
            return
        self.db.execute(
            insert(OutboxMessage),
            [
                {
                    "to_addr": row.email,
                    "subject": "A reflection prompt for you",
                    "body_text": _email(row.name, prompt_text, f"{self.base_url}/prompts/{delivery_id}"),
                    "created_at": self.now,
                    "next_attempt_at": self.now,
                    "attempts": 0,
                }
                for row, delivery_id, prompt_text in self._with_text(made)
            ],
        )

    def _with_text(self, made: list[tuple[Any, int]]) -> Iterator[tuple[Any, int, str]]:
        for row, delivery_id in made:
            prompt, _ = self._prompts[(row.tags, row.rotation)]
            assert prompt is not None
            yield row, delivery_id, prompt.text

    def _advance(self, values: list[dict]) -> None:
        """Move each schedule on, unless it changed since it was read (another scheduler advanced it, or
        its owner edited it): a delivery lost to another scheduler leaves its schedule to that one."""
        self.db.execute(_ADVANCE, values)


_SCHEDULES = PromptSchedule.__table__.c
_ADVANCE = (
    update(PromptSchedule.__table__)  # the table's, not the ORM's: an executemany with a condition
    .where(_SCHEDULES.id == bindparam("b_id"), _SCHEDULES.next_due_at == bindparam("b_seen"))
    .values(next_due_at=bindparam("b_next"), rotation=bindparam("b_rotation"))
)


def _cadence(row: Any) -> Cadence:
    return cadence_of(
        ScheduleSpec(
            kind=row.kind,
            at=row.at,
            time_zone=row.time_zone,
            weekdays=frozenset(int(d) for d in row.weekdays.split(",") if d),
            day_of_month=row.day_of_month,
            nth=row.nth,
            weekday=row.weekday,
            anchor=row.anchor,
        )
    )


def _email(name: str, prompt_text: str, link: str) -> str:
    return (
        f"Hello {name},\n\nYour reflection prompt:\n\n{prompt_text}\n\n"
        f"Answer it when you have a quiet moment (your answer is private to you): {link}\n\n"
        "You set this rhythm on your prompts page; you can change or pause it there.\n"
    )
