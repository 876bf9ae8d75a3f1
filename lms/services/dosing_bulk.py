"""Planning a whole organisation at once: the dosing rules as one query (which people have anything to
change), and the Core writes of what planning them decided (no ORM object per row).

`dosing.reconcile` plans a whole organisation (50,000 people, half a million assignments). Reading every
assignment into Python to find that nothing changed took longer than writing them all, so the question
"whose assignments differ from the policy?" is asked of the database in one statement, and only the people
it names are planned in Python (dosing._decide, the one statement of the rules). The query follows the rules
of lms/services/dosing.py exactly for DOSE assignments, with what a person requires read from
curricula.dosing (the modules of their role's levels that are for their role, as `by_role` computes it,
and every module of their extra level, Membership.extra_level):

- *missing*: an active person lacks an assignment (of any source) of a module they require;
- *re-open*: an active person holds a cancelled DOSE assignment of a module they require;
- *cancel or re-date*: an open DOSE assignment of a module the person has not completed, when the person
  is inactive, the module is no longer required, or its level or due date is not the policy's (the local
  date it was assigned, in the organisation's time zone, plus the policy's days for its level).

It may name a person who then turns out to have nothing to change (the planning finds no change and writes
nothing); it never misses one whose assignments would change. The local date of a stored UTC time is
computed from the UTC offsets Python's zoneinfo gives for the organisation's zone (`offsets`), the same
rules as the planning's, on SQLite and PostgreSQL alike; a time outside the span they cover compares as
unknown, which names the person (planned in Python, correctly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from curricula import dosing as rule
from curricula.stakeholders import StakeholderRole
from lms.models import Assignment, AssignmentSource, Membership, Module, Progress, ProgressStatus

# The span of assignment times whose local date the query computes itself: from OFFSET_YEARS before
# today to OFFSET_DAYS_AHEAD after (a time outside names its person, who is then planned in Python).
OFFSET_YEARS, OFFSET_DAYS_AHEAD = 25, 7


def stale_memberships(
    org_id: int,
    policy: Mapping[str, Mapping[str, int]],
    modules: Sequence[rule.Dosed[int]],
    zone: str,
    today: date,
    dialect: str,
    role: str | None = None,
) -> Select[Any]:
    """The ids of the organisation's memberships (of `role` and active, when given) whose DOSE assignments
    differ from `policy` (role -> {level: days}; `modules` the active modules as read in this
    transaction), each once, in order (module docstring).

    One pass over the people and their assignments, grouped by person: a person is named when they hold
    fewer of their required modules than they require (one is missing), or when any DOSE assignment of
    theirs is to re-open, cancel or re-date. A module is required when it is active and has days for the
    person: a CASE on role and module (curricula.dosing.by_role), else the extra level's days when the
    module's level is the person's extra level.
    """
    roles = {role: policy.get(role, {})} if role is not None else policy
    by_role = rule.by_role(modules, roles)
    sqlite = dialect == "sqlite"
    # The person's days for the module (NULL: not required), as SQLite's date modifier there.
    role_days = _by_role(
        {
            r: case({m: f"{d:+d} days" if sqlite else d for m, (_, d) in wanted.items()}, value=Module.id)
            for r, wanted in by_role.items()
            if wanted
        }
    )
    extra = Membership.extra_level_days
    extra_days = case(
        (
            and_(Membership.extra_level == Module.dose, extra.is_not(None)),
            func.printf("%+d days", extra) if sqlite else extra,
        ),
        else_=null(),
    )
    days = func.coalesce(role_days, extra_days)
    expected = func.coalesce(
        _by_role({r: literal(len(wanted)) for r, wanted in by_role.items()}), 0
    ) + _extra_counts(modules, by_role)
    required = and_(Module.retired_at.is_(None), days.is_not(None))
    dose = Assignment.source == AssignmentSource.DOSE
    completed = exists().where(
        Progress.user_id == Membership.user_id,
        Progress.module_id == Assignment.module_id,
        Progress.status == ProgressStatus.COMPLETED,
    )
    # NULL when the module is not required (days NULL), so such an open assignment compares as changed.
    due = _local_date_plus(Assignment.assigned_at, days, zone, today, sqlite)
    to_change = or_(
        and_(dose, Assignment.cancelled_at.is_not(None), Membership.active.is_(True), required),  # re-open
        and_(
            dose,
            Assignment.cancelled_at.is_(None),
            or_(
                Membership.active.is_(False),  # cancel
                Module.retired_at.is_not(None),  # cancel
                Assignment.level.is_distinct_from(Module.dose),  # re-date (a new level)
                Assignment.due_on.is_distinct_from(due),  # re-date, or cancel (not required)
            ),
            ~completed,
        ),
    )
    held_required = func.sum(case((required, 1), else_=0))
    people = [Membership.org_id == org_id]
    if role is not None:
        people += [Membership.stakeholder_role == StakeholderRole(role), Membership.active.is_(True)]
    return (
        select(Membership.id)
        .outerjoin(Assignment, Assignment.membership_id == Membership.id)
        .outerjoin(Module, Module.id == Assignment.module_id)
        .where(*people)
        .group_by(Membership.id)
        .having(
            or_(
                and_(Membership.active.is_(True), func.coalesce(held_required, 0) != expected),
                func.max(case((to_change, 1), else_=0)) == 1,
            )
        )
        .order_by(Membership.id)
    )


def _extra_counts(
    modules: Sequence[rule.Dosed[int]], by_role: Mapping[str, Mapping[int, Any]]
) -> ColumnElement[Any]:
    """How many modules a person's extra level adds to their role's: those of the level their role does
    not require already (0 without an extra level)."""
    levels = sorted({m.level for m in modules})
    whens = [
        (
            and_(Membership.stakeholder_role == StakeholderRole(r), Membership.extra_level == level),
            literal(n),
        )
        for r, wanted in by_role.items()
        for level in levels
        if (n := sum(1 for m in modules if m.level == level and m.key not in wanted))
    ]
    everyone = {level: sum(1 for m in modules if m.level == level) for level in levels}
    given = [StakeholderRole(r) for r in by_role]
    role = Membership.stakeholder_role
    return case(
        (or_(Membership.extra_level.is_(None), Membership.extra_level_days.is_(None)), literal(0)),
        *whens,
        (
            or_(role.is_(None), role.not_in(given)),
            case({lv: literal(n) for lv, n in everyone.items()}, value=Membership.extra_level, else_=0)
            if everyone
            else literal(0),  # nothing published: an extra level adds nothing
        ),
        else_=literal(0),
    )


def _by_role(by_role: Mapping[str, Any]) -> ColumnElement[Any]:
    """CASE membership.stakeholder_role WHEN role THEN value ... END (NULL for a role not given)."""
    if not by_role:
        return null()
    return case(
        {StakeholderRole(r): value for r, value in by_role.items()}, value=Membership.stakeholder_role
    )


def _local_date_plus(
    moment: Any, days: ColumnElement[Any], zone: str, today: date, sqlite: bool
) -> ColumnElement[Any]:
    """The local date of the stored UTC time `moment` in `zone`, plus `days` (on SQLite a modifier,
    '+30 days'); NULL when `days` is, or outside the span `offsets` covers."""
    pieces = offsets(zone, today)
    if sqlite:
        # date('YYYY-MM-DD HH:MM:SS', '-18000 seconds', '+30 days'): SQLite's date arithmetic on text.
        shift = _offset_case(moment, pieces, lambda s: literal(f"{s:+d} seconds"))
        return func.date(moment, shift, days)
    shift = _offset_case(moment, pieces, lambda s: literal(timedelta(seconds=s)))
    return cast(moment + shift, Date) + cast(days, Integer)  # typed: days may be a bare NULL


def _offset_case(
    moment: Any, pieces: Sequence[tuple[datetime, int | None]], value: Any
) -> ColumnElement[Any]:
    """CASE over the zone's offsets, newest first (most assignments are recent); NULL outside them."""
    return case(
        *[
            (moment >= start, null() if seconds is None else value(seconds))
            for start, seconds in reversed(pieces)
        ],
        else_=null(),
    )


@lru_cache(maxsize=64)
def offsets(zone: str, today: date) -> tuple[tuple[datetime, int | None], ...]:
    """The UTC offset of `zone` (seconds) from each change on, over OFFSET_YEARS before `today` to
    OFFSET_DAYS_AHEAD after: ((UTC start, seconds), ...) oldest first, each holding until the next
    start; the last is (the end of the span, None)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(date(today.year - OFFSET_YEARS, 1, 1), time(), tzinfo=UTC)
    end = datetime.combine(today + timedelta(days=OFFSET_DAYS_AHEAD), time(), tzinfo=UTC)

    def offset(moment: datetime) -> int:
        return int(moment.astimezone(tz).utcoffset().total_seconds())  # type: ignore[union-attr]

    pieces: list[tuple[datetime, int | None]] = [(start, offset(start))]
    day = start
    while day < end:
        following = day + timedelta(days=1)
        if offset(following) != pieces[-1][1]:  # a change within the day: find its second
            low, high = 0, 86400  # seconds after `day`: the old offset at low, the new one at high
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (
                    (middle, high)
                    if offset(day + timedelta(seconds=middle)) == pieces[-1][1]
                    else (low, middle)
                )
            changed = day + timedelta(seconds=high)
            pieces.append((changed, offset(changed)))
        day = following
    return (*pieces, (end, None))


# --- writing a batch's plans ---------------------------------------------------------------------------


@dataclass(slots=True)
class Writes:
    """The changes planned for a batch of people, written with one Core statement per kind (executemany),
    no ORM object per row. `changed` maps each membership written to its unit."""

    now: datetime
    create: list[dict[str, Any]] = field(default_factory=list)
    reopen: list[dict[str, Any]] = field(default_factory=list)
    redate: list[dict[str, Any]] = field(default_factory=list)
    cancel: list[int] = field(default_factory=list)
    changed: dict[int, int | None] = field(default_factory=dict)

    def add(self, person: Any, org_id: int, plan: Any) -> None:
        """`plan`'s changes (dosing._Plan) for `person` (a row: id, user_id, unit_id)."""
        self.create += [
            {
                "membership_id": person.id,
                "org_id": org_id,
                "user_id": person.user_id,
                "module_id": module_id,
                "source": AssignmentSource.DOSE,
                "level": level,
                "assigned_at": self.now,
                "due_on": due,
            }
            for module_id, level, due in plan.create
        ]
        self.reopen += [{"b_id": id_, "b_level": level, "b_due": due} for id_, level, due in plan.reopen]
        self.redate += [{"b_id": id_, "b_level": level, "b_due": due} for id_, level, due in plan.redate]
        self.cancel += plan.cancel
        if plan.create or plan.reopen or plan.redate or plan.cancel:
            self.changed[person.id] = person.unit_id

    def execute(self, db: Session) -> None:
        table = Assignment.__table__
        by_id = table.c.id == bindparam("b_id")
        if self.create:
            db.execute(insert(table), self.create)
            _analyze_as_it_grows(db, len(self.create))
        if self.reopen:
            db.execute(
                update(table)
                .where(by_id)
                .values(
                    cancelled_at=None,
                    assigned_at=self.now,
                    level=bindparam("b_level"),
                    due_on=bindparam("b_due"),
                ),
                self.reopen,
            )
        if self.redate:
            db.execute(
                update(table).where(by_id).values(level=bindparam("b_level"), due_on=bindparam("b_due")),
                self.redate,
            )
        if self.cancel:
            db.execute(
                update(table).where(by_id).values(cancelled_at=self.now), [{"b_id": i} for i in self.cancel]
            )


# PostgreSQL plans by the statistics ANALYZE took; autovacuum takes them only after a commit. A reconcile
# that creates hundreds of thousands of assignments in one transaction would otherwise plan each batch's
# coverage read as if the table were as small as it was (a scan per batch: minutes instead of seconds).
# So the transaction analyses the tables it grew, each time its rows created have doubled.
_ANALYZE_FROM = 20_000
_CREATED = "lms.assignments_created"


def _analyze_as_it_grows(db: Session, created: int) -> None:
    if db.get_bind().dialect.name != "postgresql":
        return
    transaction, before = db.info.get(_CREATED, (None, 0))
    if transaction is not db.get_transaction():
        before = 0
    after = before + created
    db.info[_CREATED] = (db.get_transaction(), after)
    threshold = _ANALYZE_FROM
    while threshold <= before:
        threshold *= 2
    if after >= threshold:
        db.execute(text("ANALYZE assignment, coverage_need"))


def bump_learning_versions(db: Session, membership_ids: list[int]) -> None:
    """What lms.kept's listener does for ORM writes, for Core writes to these memberships' assignments:
    bump their learning_version in SQL, and make loaded objects read theirs (and the assignments) again."""
    if not membership_ids:
        return
    table = Membership.__table__
    for start in range(0, len(membership_ids), 5000):  # SQLite binds at most 32,766 parameters
        db.execute(
            update(table)
            .where(table.c.id.in_(membership_ids[start : start + 5000]))
            .values(learning_version=table.c.learning_version + 1)
        )
    changed = set(membership_ids)
    for obj in list(db.identity_map.values()):
        if isinstance(obj, Membership) and obj.id in changed:
            db.expire(obj, ["learning_version"])
        elif isinstance(obj, Assignment) and obj.membership_id in changed:
            db.expire(obj)
