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

A schedule limited to the Kata tag delivers Kata prompts, each filled from its owner's own latest gemba
walk (its unit, when, what they noted, the next step they expected): the walks are read per batch by
(owner, organisation), so one person's walk never fills another's prompt. While its owner has no walk,
it delivers nothing and moves on.

A pass does its work in bulk (one query per batch for the due schedules, one more for the walks of any
Kata schedules among them, one insert for the deliveries, one for the emails, one update for the
schedules) and works out each distinct cadence and rotation once per pass, so its cost stays near that
of writing the rows (bench/scheduler.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    Integer,
    String,
    Text,
    any_,
    bindparam,
    cast,
    column,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from coaching.cadence import Cadence
from coaching.prompts import KATA_TAG, Prompt, kata_values, next_prompt
from lms.db import UTCDateTime, utcnow
from lms.models import GembaWalk, Membership, OrgUnit, OutboxMessage, PromptDelivery, PromptSchedule, User
from lms.services.prompts import ScheduleSpec, cadence_of, kata_library, prompt_library

BATCH = 1000  # schedules per transaction: few enough to hold the write lock briefly (SQLite)
# How far back a schedule that fell behind looks for its latest occurrence: longer than any cadence's gap.
CATCH_UP = timedelta(days=62)

_SCHEDULE = PromptSchedule.__table__.c
_DELIVERY = PromptDelivery.__table__.c
_CADENCE = (
    PromptSchedule.kind,
    PromptSchedule.at,
    PromptSchedule.time_zone,
    PromptSchedule.weekdays,
    PromptSchedule.day_of_month,
    PromptSchedule.nth,
    PromptSchedule.weekday,
    PromptSchedule.anchor,
)
_COLUMNS = (
    PromptSchedule.id,
    PromptSchedule.user_id,
    PromptSchedule.org_id,
    PromptSchedule.tags,
    PromptSchedule.rotation,
    User.active.label("user_active"),
    Membership.active.label("member_active"),
    # Last, side by side: a row's cadence and due time, read in one slice (_Pass._due_and_next).
    *_CADENCE,
    PromptSchedule.next_due_at,
)
_OWN = len(_COLUMNS) - len(_CADENCE) - 1  # the columns before: the schedule, its owner and their standing
_WHEN = slice(_OWN, None)

# Moved on unless it changed since it was read: another scheduler delivered it and moved it on (its delivery
# then was not ours to make), or its owner edited it meanwhile.


class _Stamp(UTCDateTime):
    """A UTC datetime bound to a statement, converted once per distinct value: a pass's thousands of rows
    share a few hundred due times, and converting one (zone, then text on SQLite) costs more than the
    rest of its row."""

    cache_ok = True
    MEMO = 4096

    def bind_processor(self, dialect: Any) -> Any:
        convert = super().bind_processor(dialect)
        if convert is None:
            return None
        memo: dict[datetime, Any] = {}

        def process(value: datetime | None) -> Any:
            if value is None:
                return None
            found = memo.get(value)
            if found is None:
                if len(memo) >= self.MEMO:
                    memo.clear()
                found = memo[value] = convert(value)
            return found

        return process


_STAMP = _Stamp()
# Moved on unless it changed since it was read: another scheduler delivered it and moved it on (its delivery
# then was not ours to make), or its owner edited it meanwhile.
_MOVE_ON = (
    update(PromptSchedule.__table__)
    .where(_SCHEDULE.id == bindparam("b_id"), _SCHEDULE.next_due_at == bindparam("b_seen", type_=_STAMP))
    .values(next_due_at=bindparam("b_next", type_=_STAMP), rotation=bindparam("b_rotation"))
)


def deliver_due(db: Session, now: datetime | None = None, *, batch: int = BATCH) -> int:
    """Deliver every due prompt in the caller's transaction; returns how many were delivered."""
    return sum(delivery_batches(db, now, batch=batch))


def delivery_batches(db: Session, now: datetime | None = None, *, batch: int = BATCH) -> Iterator[int]:
    """Deliver the due prompts a batch at a time, yielding after each how many it delivered; the caller
    commits after each (lms.db.commit_each), so a crash loses or doubles nothing."""
    now = now or utcnow()
    pass_ = _Pass(db, now, prompt_library(), kata_library())
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

    def __init__(
        self, db: Session, now: datetime, library: Mapping[str, Prompt], kata: Mapping[str, Prompt]
    ) -> None:
        self.db = db
        self.now = now
        self.library = library
        self.kata = kata
        self._is_kata: dict[str, bool] = {}
        self._kata_prompts: dict[tuple[str, str, frozenset[str]], tuple[Prompt | None, str]] = {}
        self.postgresql = db.get_bind().dialect.name == "postgresql"
        self.base_url = current_app.config["BASE_URL"]
        self._times: dict[tuple, tuple[datetime, datetime]] = {}
        self._prompts: dict[tuple[str, str], tuple[Prompt | None, str]] = {}

    def deliver(self, rows: Sequence[Any]) -> int:
        """Deliver one batch: one insert of its deliveries (a row each, as the bulk insert it is measured
        against), one of their emails, one update moving its schedules on."""
        moves: list[dict[str, Any]] = []
        deliveries: list[dict[str, Any]] = []
        walks = self._latest_walks(rows)
        times, prompts, now = self._times, self._prompts, self.now
        for row in rows:
            schedule_id, user_id, org_id, tags, rotation, user_active, member_active = row[:_OWN]
            due, following = times.get(row[_WHEN]) or self._due_and_next(row)
            if user_active and member_active:  # else nobody to prompt, and no catching up later
                if self._kata_tagged(tags):
                    prompt, rotation, text = self._kata(row, walks.get((user_id, org_id)), due)
                else:
                    prompt, rotation = prompts.get((tags, rotation)) or self._prompt(tags, rotation)
                    text = prompt.text if prompt is not None else ""
                if prompt is not None:
                    deliveries.append(
                        {
                            "schedule_id": schedule_id,
                            "user_id": user_id,
                            "due_at": due,
                            "prompt_key": prompt.key,
                            "prompt_text": text,
                            "delivered_at": now,
                        }
                    )
            moves.append(
                {"b_id": schedule_id, "b_seen": row[-1], "b_next": following, "b_rotation": rotation}
            )
        made = self._insert(deliveries)
        self._move_on(moves)
        self._enqueue(made)
        return len(made)

    def _move_on(self, moves: list[dict[str, Any]]) -> None:
        """Move the batch's schedules on: on SQLite one executemany (a row each, in process, is cheap); on
        PostgreSQL, where each statement is a round trip, one statement per group of schedules that move
        alike (a batch's schedules fell due within a minute or so, mostly at round times: few groups), its
        ids one array."""
        if not self.postgresql:
            self.db.execute(_MOVE_ON, moves)
            return
        groups: dict[tuple[datetime, datetime, str], list[int]] = defaultdict(list)
        for move in moves:
            groups[(move["b_seen"], move["b_next"], move["b_rotation"])].append(move["b_id"])
        for (seen, following, rotation), ids in groups.items():
            self.db.execute(
                update(PromptSchedule.__table__)
                .where(_SCHEDULE.id == any_(_ids(ids)), _SCHEDULE.next_due_at == seen)
                .values(next_due_at=following, rotation=rotation)
            )

    def _due_and_next(self, row: Any) -> tuple[datetime, datetime]:
        """The latest occurrence due by now (a schedule that fell behind skips the older ones) and the
        next one after it, worked out once per distinct cadence and due time."""
        memo = row[_WHEN]  # the cadence's columns and the due time
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
            self._prompts[memo] = self._rotate(self.library, tags, rotation)
        return self._prompts[memo]

    @staticmethod
    def _rotate(library: Mapping[str, Prompt], tags: str, rotation: str) -> tuple[Prompt | None, str]:
        used = [key for key in rotation.split(",") if key]
        wanted = frozenset(t for t in tags.split(",") if t)
        try:
            prompt = next_prompt(library, used, wanted)
        except ValueError:  # no prompt carries these tags any more: nothing to deliver
            return None, rotation
        round_ = [*used, prompt.key] if prompt.key not in used else [prompt.key]
        return prompt, ",".join(round_)

    # --- Kata prompts: one text per person, from their own last walk ------------------------------------

    def _kata_tagged(self, tags: str) -> bool:
        if not tags:
            return False
        if tags not in self._is_kata:
            self._is_kata[tags] = KATA_TAG in tags.split(",")
        return self._is_kata[tags]

    def _latest_walks(self, rows: Sequence[Any]) -> dict[tuple[int, int], Any]:
        """The latest walk of each owner of a Kata schedule in the batch, by (user, organisation): one
        query per batch that has any, none otherwise. A walk is its leader's own: it is found by the
        schedule owner's membership of the schedule's organisation, and so fills that owner's text only."""
        owners = {(row.user_id, row.org_id) for row in rows if self._kata_tagged(row.tags)}
        if not owners:
            return {}
        ranked = (
            select(
                Membership.user_id,
                Membership.org_id,
                GembaWalk.walked_at,
                GembaWalk.observations,
                GembaWalk.expected_next,
                OrgUnit.name.label("unit"),
                func.row_number()
                .over(
                    partition_by=GembaWalk.leader_id,
                    order_by=(GembaWalk.walked_at.desc(), GembaWalk.id.desc()),
                )
                .label("latest"),
            )
            .join(Membership, Membership.id == GembaWalk.leader_id)
            .join(OrgUnit, OrgUnit.id == GembaWalk.unit_id)
            .where(
                Membership.user_id.in_({user for user, _ in owners}),
                Membership.org_id.in_({org for _, org in owners}),
            )
            .subquery()
        )
        found = self.db.execute(select(ranked).where(ranked.c.latest == 1)).all()
        return {(w.user_id, w.org_id): w for w in found if (w.user_id, w.org_id) in owners}

    def _kata(self, row: Any, walk: Any, due: datetime) -> tuple[Prompt | None, str, str]:
        """The Kata prompt for this schedule, its rotation after it, and its text filled from the owner's
        last walk; no prompt (nothing delivered) while they have no walk."""
        if walk is None:
            return None, row.rotation, ""
        zone = ZoneInfo(row.time_zone)
        values = kata_values(
            walk.unit,
            walk.walked_at.astimezone(zone).date(),
            due.astimezone(zone).date(),
            walk.observations,
            walk.expected_next,
        )
        memo = (row.tags, row.rotation, frozenset(values))
        if memo not in self._kata_prompts:
            # Only prompts the walk can fill: one asking about the expected step needs one noted.
            # The Kata prompts the walk can fill (one asking about the expected step needs one noted), then
            # the reflection prompts of the schedule's other tags, if it has any: a prompt matches when
            # it has any of the schedule's tags, and every Kata prompt has the Kata tag.
            others = frozenset(t for t in row.tags.split(",") if t and t != KATA_TAG)
            choice = {key: p for key, p in self.kata.items() if p.fields <= memo[2]}
            if others:
                choice |= {key: p for key, p in self.library.items() if p.tags & others}
            self._kata_prompts[memo] = self._rotate(choice, "", row.rotation)
        prompt, rotation = self._kata_prompts[memo]
        return prompt, rotation, prompt.fill(values) if prompt is not None else ""

    def _insert(self, deliveries: list[dict[str, Any]]) -> list[int]:
        """Insert the deliveries, skipping any that exists (another scheduler's); answers the ids of those
        inserted here."""
        if not deliveries:
            return []
        if self.postgresql:
            return self._insert_arrays(deliveries)
        statement = (
            sqlite.insert(PromptDelivery.__table__)
            .values(
                {
                    **{
                        name: bindparam(name)
                        for name in ("schedule_id", "user_id", "prompt_key", "prompt_text")
                    },
                    "due_at": bindparam("due_at", type_=_STAMP),
                    "delivered_at": bindparam("delivered_at", type_=_STAMP),
                }
            )
            .on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
            .returning(_DELIVERY.id)
        )
        return list(self.db.scalars(statement, deliveries))

    def _insert_arrays(self, deliveries: list[dict[str, Any]]) -> list[int]:
        """PostgreSQL: the same insert as one statement reading one array per column (`unnest`): a
        multi-row insert that answers its ids costs several times the rows' own insert there, sent as
        thousands of parameters."""
        arrays = [
            bindparam(None, [d[name] for d in deliveries], type_=postgresql.ARRAY(kind))
            for name, kind in _ARRAY_COLUMNS.items()
        ]
        rows = (
            func.unnest(*arrays)
            .table_valued(*(column(name, kind) for name, kind in _ARRAY_COLUMNS.items()))
            .render_derived()
        )
        statement = (
            postgresql.insert(PromptDelivery.__table__)
            .from_select([*_ARRAY_COLUMNS, "delivered_at"], select(*rows.c, literal(self.now, UTCDateTime())))
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
            .where(
                _DELIVERY.id == any_(_ids(delivery_ids))
                if self.postgresql
                else _DELIVERY.id.in_(delivery_ids)
            )
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


_ARRAY_COLUMNS = {
    "schedule_id": Integer(),
    "user_id": Integer(),
    "due_at": UTCDateTime(),
    "prompt_key": String(),
    "prompt_text": Text(),
}


def _ids(ids: list[int]) -> Any:
    """Ids as one PostgreSQL array parameter (`= ANY(...)`), not a parameter each."""
    return bindparam(None, ids, type_=postgresql.ARRAY(Integer()))


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
