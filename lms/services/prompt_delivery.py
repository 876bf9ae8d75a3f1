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

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Integer, String, Text, cast, insert, literal, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from coaching.cadence import Cadence
from coaching.prompts import Prompt, next_prompt
from lms.db import UTCDateTime, utcnow
from lms.models import Membership, OutboxMessage, PromptDelivery, PromptSchedule, User
from lms.services.prompts import ScheduleSpec, cadence_of, prompt_library

BATCH = 1000  # schedules per transaction: few enough to hold the write lock briefly (SQLite)
# How far back a schedule that fell behind looks for its latest occurrence: longer than any cadence's gap.
CATCH_UP = timedelta(days=62)

_SCHEDULE = PromptSchedule.__table__.c
_DELIVERY = PromptDelivery.__table__.c
_COLUMNS = (
    PromptSchedule.id,
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
            query = query.where(tuple_(PromptSchedule.next_due_at, PromptSchedule.id) > tuple_(*after))
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

    def __init__(self, db: Session, now: datetime, library: Mapping[str, Prompt]) -> None:
        self.db = db
        self.now = now
        self.library = library
        self.postgresql = db.get_bind().dialect.name == "postgresql"
        self.base_url = current_app.config["BASE_URL"]
        self._times: dict[tuple, tuple[datetime, datetime]] = {}
        self._prompts: dict[tuple[str, str], tuple[Prompt | None, str]] = {}

    def deliver(self, rows: Sequence[Any]) -> int:
        """Deliver one batch. Schedules that share what happens to them (due time, next time, prompt,
        rotation) are written together, a statement per group: a pass's schedules fell due within a
        minute or so, mostly at round times, so a batch holds few groups."""
        groups: dict[tuple[datetime, datetime, datetime, Prompt | None, str], list[int]] = defaultdict(list)
        for row in rows:
            due, following = self._due_and_next(row)
            prompt, rotation = None, row.rotation
            if row.user_active and row.member_active:  # else nobody to prompt, and no catching up later
                prompt, rotation = self._prompt(row.tags, row.rotation)
            groups[(row.next_due_at, due, following, prompt, rotation)].append(row.id)
        made: list[int] = []
        for (seen, due, following, prompt, rotation), ids in groups.items():
            if prompt is not None:
                made.extend(self._insert(ids, due, prompt))
            # Moved on unless it changed since it was read: another scheduler delivered it and moved it on
            # (its delivery then was not ours to make), or its owner edited it meanwhile.
            self.db.execute(
                update(PromptSchedule.__table__)
                .where(_SCHEDULE.id.in_(ids), _SCHEDULE.next_due_at == seen)
                .values(next_due_at=following, rotation=rotation)
            )
        self._enqueue(made)
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
            except ValueError:  # no prompt carries these tags any more: nothing to deliver
                self._prompts[memo] = (None, rotation)
            else:
                round_ = [*used, prompt.key] if prompt.key not in used else [prompt.key]
                self._prompts[memo] = (prompt, ",".join(round_))
        return self._prompts[memo]

    def _insert(self, schedule_ids: list[int], due: datetime, prompt: Prompt) -> list[int]:
        """Insert one delivery per schedule, skipping any that exists (another scheduler's); answers the
        ids of those inserted here."""
        dialect = postgresql if self.postgresql else sqlite
        rows = select(
            _SCHEDULE.id,
            _SCHEDULE.user_id,
            literal(due, UTCDateTime()),
            literal(prompt.key, String()),
            literal(prompt.text, Text()),
            literal(self.now, UTCDateTime()),
        ).where(_SCHEDULE.id.in_(schedule_ids))
        statement = (
            dialect.insert(PromptDelivery.__table__)
            .from_select(
                ["schedule_id", "user_id", "due_at", "prompt_key", "prompt_text", "delivered_at"], rows
            )
            .on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
            .returning(_DELIVERY.id)
        )
        return list(self.db.scalars(statement))

    def _enqueue(self, delivery_ids: list[int]) -> None:
        """One email per delivery made, into the outbox (written by the database from the rows: no text
        goes back and forth)."""
        if not delivery_ids:
            return
        hello, before_link, after_link = EMAIL
        link = f"{self.base_url}/prompts/"
        body = (
            literal(hello, Text())
            + User.name
            + literal(",\n\nYour reflection prompt:\n\n", Text())
            + _DELIVERY.prompt_text
            + literal(before_link + link, Text())
            + cast(_DELIVERY.id, String())
            + literal(after_link, Text())
        )
        rows = (
            select(
                User.email,
                literal(SUBJECT, String()),
                body,
                literal(self.now, UTCDateTime()),
                literal(self.now, UTCDateTime()),
                literal(0, Integer()),
            )
            .select_from(PromptDelivery.__table__)
            .join(User, User.id == _DELIVERY.user_id)
            .where(_DELIVERY.id.in_(delivery_ids))
        )
        self.db.execute(
            insert(OutboxMessage.__table__).from_select(
                ["to_addr", "subject", "body_text", "created_at", "next_attempt_at", "attempts"], rows
            )
        )


DELIVERY_COLUMNS = ["schedule_id", "user_id", "due_at", "prompt_key", "prompt_text", "delivered_at"]
SUBJECT = "A reflection prompt for you"
# The email: "Hello NAME,\n\nYour reflection prompt:\n\nPROMPT" + EMAIL[1] + LINK + EMAIL[2].
EMAIL = (
    "Hello ",
    "\n\nAnswer it when you have a quiet moment (your answer is private to you): ",
    "\n\nYou set this rhythm on your prompts page; you can change or pause it there.\n",
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
