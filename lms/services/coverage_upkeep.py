"""Keeping the coverage aggregates exact (lms.models.coverage), in the transaction of every change.

What a person needs and has done, the definitions the pages and docs/coverage.md state:
- a person *needs* a dose level when their membership is active and holds an active dose assignment at
  that level: source "dose", not cancelled, of a module still published (My learning's open assignment);
  dosing gives those to exactly the levels their stakeholder role requires under the organisation's
  policy (and an extra level HR gave the person: Membership.extra_level), and keeps a completed one when
  the role stops requiring it (completed history stays);
- they *completed* it when they completed (Progress, across organisations) every such module;
- they are *overdue* at it when one of those modules is not completed and its due date is before today
  in the organisation's time zone.

How: an `after_flush` listener (installed by the application factory, like lms.kept's) notes the
memberships whose standing may have changed (their assignments, the person's progress status, their
role, unit or active state) and restates them: their `coverage_need` rows are compared with a recount of
their raw records, and only the difference is added to the cells of their unit and every unit above it.
A unit moved elsewhere carries its subtree's numbers from the old ancestors to the new. A bulk writer
that bypasses the ORM (or works inside `deferred`) calls `refresh` after its writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Date,
    and_,
    bindparam,
    case,
    delete,
    func,
    inspect,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import (
    Assignment,
    AssignmentSource,
    Membership,
    Module,
    Organization,
    OrgUnit,
    Progress,
    ProgressStatus,
)
from lms.models.coverage import WHOLE_ORGANISATION, CoverageCell, CoverageFold, CoverageNeed, CoverageOpen

STAFF = ""  # the `dose_level` of the row every active membership has: the staff count of a subtree
BATCH = 500
_DEFERRED = "lms.coverage_deferred"

NEED = CoverageNeed.__table__
CELL = CoverageCell.__table__
OPEN = CoverageOpen.__table__
FOLD = CoverageFold.__table__

# A person's standing at each level they need, from the raw records: the earliest due date of the
# modules they have not completed (NULL when every one is completed). Plus one STAFF row per active
# membership. The one statement the listener, `refresh` and the drill-down's numbers all rest on.
_NOT_DONE_DUE = type_coerce(
    case((Progress.status == ProgressStatus.COMPLETED, null()), else_=Assignment.due_on), Date
)
_LEVELS = (
    select(
        Membership.id.label("membership_id"),
        Assignment.level.label("dose_level"),
        Membership.org_id,
        Membership.user_id,
        Membership.unit_id,
        Membership.stakeholder_role,
        func.min(_NOT_DONE_DUE).label("open_due"),
    )
    .join(Assignment, Assignment.membership_id == Membership.id)
    .join(Module, Module.id == Assignment.module_id)
    .outerjoin(
        Progress, and_(Progress.user_id == Assignment.user_id, Progress.module_id == Assignment.module_id)
    )
    .where(
        Membership.active.is_(True),
        Assignment.cancelled_at.is_(None),
        Assignment.source == AssignmentSource.DOSE,
        Assignment.level.is_not(None),
        Assignment.level != STAFF,
        Module.retired_at.is_(None),
    )
    .group_by(
        Membership.id,
        Assignment.level,
        Membership.org_id,
        Membership.user_id,
        Membership.unit_id,
        Membership.stakeholder_role,
    )
)
_STAFF = select(
    Membership.id.label("membership_id"),
    literal(STAFF).label("dose_level"),
    Membership.org_id,
    Membership.user_id,
    Membership.unit_id,
    Membership.stakeholder_role,
    type_coerce(null(), Date).label("open_due"),
).where(Membership.active.is_(True))


def standing(where: Any) -> Any:
    """The standing rows (`coverage_need`'s columns) of the memberships `where` selects."""
    return union_all(_LEVELS.where(where), _STAFF.where(where))


def org_today(db_or_conn: Session | Connection, org_id: int) -> date:
    zone = db_or_conn.execute(select(Organization.time_zone).where(Organization.id == org_id)).scalar()
    return utcnow().astimezone(ZoneInfo(zone or "UTC")).date()


def _role(value: Any) -> str:
    return getattr(value, "value", value)


def _chunks(ids: Iterable[int], size: int = BATCH) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _ancestry(conn: Connection, unit_ids: Iterable[int | None]) -> dict[int | None, list[int]]:
    """Each unit's subtree keys: the organisation (0), then the units from the root down to it."""
    wanted = {u for u in unit_ids if u is not None}
    lineage: dict[int | None, list[int]] = {None: [WHOLE_ORGANISATION]}
    for ids in _chunks(wanted):
        for unit_id, path in conn.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id.in_(ids))):
            lineage[unit_id] = [WHOLE_ORGANISATION, *(int(p) for p in path.strip("/").split("/") if p)]
    return lineage


def _folded_before(conn: Connection, org_ids: Iterable[int]) -> dict[int, date]:
    rows = conn.execute(select(FOLD.c.org_id, FOLD.c.folded_before).where(FOLD.c.org_id.in_(set(org_ids))))
    return {org_id: day for org_id, day in rows}


def _add(conn: Connection, table: Any, keys: Sequence[str], counts: Sequence[str], rows: list[dict]) -> None:
    """Add `counts` to the rows keyed by `keys` (creating them), then drop the rows left all zero."""
    if not rows:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={c: table.c[c] + stmt.excluded[c] for c in counts},
    )
    conn.execute(stmt, rows)
    conn.execute(
        delete(table).where(
            *(table.c[k] == bindparam(f"k_{k}") for k in keys), *(table.c[c] == 0 for c in counts)
        ),
        [{f"k_{k}": row[k] for k in keys} for row in rows],
    )


class _Delta:
    """Standings added (+1) and removed (-1), spread over every subtree they count in, then written."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, Any, int | None, str, str, date | None]] = []

    def note(self, row: Any, sign: int) -> None:
        self.entries.append(
            (sign, row.org_id, row.unit_id, _role(row.stakeholder_role), row.dose_level, row.open_due)
        )

    def write(self, conn: Connection) -> None:
        if not self.entries:
            return
        lineage = _ancestry(conn, (e[2] for e in self.entries))
        folds = _folded_before(conn, (e[1] for e in self.entries))
        cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
        opens: dict[tuple, int] = defaultdict(int)
        for sign, org_id, unit_id, role, level, open_due in self.entries:
            for key in lineage.get(unit_id, lineage[None]):
                cell = cells[(org_id, key, role, level)]
                cell[0] += sign
                if open_due is None:
                    cell[1] += sign
                elif open_due < folds.get(org_id, date.min):
                    cell[2] += sign
                else:
                    opens[(org_id, key, role, level, open_due)] += sign
        _write_counts(conn, cells, opens)


_CELL_KEYS = ("org_id", "unit_id", "stakeholder_role", "dose_level")
_OPEN_KEYS = (*_CELL_KEYS, "due_on")


def _write_counts(conn: Connection, cells: dict[tuple, list[int]], opens: dict[tuple, int]) -> None:
    _add(
        conn,
        CELL,
        _CELL_KEYS,
        ("needed", "completed", "overdue"),
        [
            {**dict(zip(_CELL_KEYS, key, strict=True)), "needed": n, "completed": c, "overdue": o}
            for key, (n, c, o) in sorted(cells.items())
            if n or c or o
        ],
    )
    _add(
        conn,
        OPEN,
        _OPEN_KEYS,
        ("people",),
        [
            {**dict(zip(_OPEN_KEYS, key, strict=True)), "people": people}
            for key, people in sorted(opens.items())
            if people
        ],
    )


def restate(conn: Connection, membership_ids: Iterable[int]) -> None:
    """Bring these memberships' needs, and the cells they count in, in line with their raw records. The
    needs are read and written a chunk of people at a time; the cells once, summed over every chunk."""
    delta = _Delta()
    for ids in _chunks(membership_ids):
        old = {
            (r.membership_id, r.dose_level): r
            for r in conn.execute(select(NEED).where(NEED.c.membership_id.in_(ids)))
        }
        new = {(r.membership_id, r.dose_level): r for r in conn.execute(standing(Membership.id.in_(ids)))}
        gone: list[dict] = []
        added: list[dict] = []
        for key in old.keys() | new.keys():
            before, after = old.get(key), new.get(key)
            if before is not None and after is not None and _same(before, after):
                continue
            if before is not None:
                delta.note(before, -1)
                gone.append({"m": key[0], "l": key[1]})
            if after is not None:
                delta.note(after, +1)
                added.append(_need_row(after))
        if gone:
            conn.execute(
                delete(NEED).where(
                    NEED.c.membership_id == bindparam("m"), NEED.c.dose_level == bindparam("l")
                ),
                gone,
            )
        if added:
            conn.execute(NEED.insert(), added)
    delta.write(conn)


def _same(before: Any, after: Any) -> bool:
    return (before.org_id, before.unit_id, _role(before.stakeholder_role), before.open_due) == (
        after.org_id,
        after.unit_id,
        _role(after.stakeholder_role),
        after.open_due,
    )


def _need_row(row: Any) -> dict:
    return {
        "membership_id": row.membership_id,
        "dose_level": row.dose_level,
        "org_id": row.org_id,
        "user_id": row.user_id,
        "unit_id": row.unit_id,
        "stakeholder_role": _role(row.stakeholder_role),
        "open_due": row.open_due,
    }


def move_subtree(
    conn: Connection, org_id: int, unit_id: int, old_above: list[int], new_above: list[int]
) -> None:
    """A unit moved: its subtree's numbers leave the units only above its old place and join those only
    above its new one (the organisation and shared ancestors keep them)."""
    leaving = [u for u in old_above if u not in new_above]
    joining = [u for u in new_above if u not in old_above]
    if not (leaving or joining):
        return
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    opens: dict[tuple, int] = defaultdict(int)
    where = (CELL.c.org_id == org_id, CELL.c.unit_id == unit_id)
    for row in conn.execute(select(CELL).where(*where)):
        for above, sign in [(u, -1) for u in leaving] + [(u, +1) for u in joining]:
            cell = cells[(org_id, above, row.stakeholder_role, row.dose_level)]
            cell[0] += sign * row.needed
            cell[1] += sign * row.completed
            cell[2] += sign * row.overdue
    for row in conn.execute(select(OPEN).where(OPEN.c.org_id == org_id, OPEN.c.unit_id == unit_id)):
        for above, sign in [(u, -1) for u in leaving] + [(u, +1) for u in joining]:
            opens[(org_id, above, row.stakeholder_role, row.dose_level, row.due_on)] += sign * row.people
    _write_counts(conn, cells, opens)


# --- the whole organisation at once -----------------------------------------------------------------


def rebuild(conn: Connection, org_id: int, today: date) -> None:
    """Recompute every need and cell of the organisation from the raw records (a bulk writer's refresh,
    `lms coverage rebuild`), folding what is overdue today. A few statements whatever the size: the
    needs in one INSERT ... SELECT, the cells summed per unit in SQL and spread up the tree here."""
    for table in (NEED, CELL, OPEN):
        conn.execute(delete(table).where(table.c.org_id == org_id))
    columns = [c.name for c in NEED.columns]
    conn.execute(NEED.insert().from_select(columns, standing(Membership.org_id == org_id)))
    _set_fold(conn, org_id, today)
    lineage = _ancestry(conn, conn.execute(select(OrgUnit.id).where(OrgUnit.org_id == org_id)).scalars())
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    opens: dict[tuple, int] = defaultdict(int)
    per_unit = conn.execute(
        select(
            NEED.c.unit_id,
            NEED.c.stakeholder_role,
            NEED.c.dose_level,
            func.count(),
            func.count(case((NEED.c.open_due.is_(None), 1))),
            func.count(case((NEED.c.open_due < today, 1))),
        )
        .where(NEED.c.org_id == org_id)
        .group_by(NEED.c.unit_id, NEED.c.stakeholder_role, NEED.c.dose_level)
    )
    for unit_id, role, level, needed, completed, overdue in per_unit:
        for key in lineage.get(unit_id, lineage[None]):
            cell = cells[(org_id, key, role, level)]
            cell[0] += needed
            cell[1] += completed
            cell[2] += overdue
    per_due = conn.execute(
        select(NEED.c.unit_id, NEED.c.stakeholder_role, NEED.c.dose_level, NEED.c.open_due, func.count())
        .where(NEED.c.org_id == org_id, NEED.c.open_due >= today)
        .group_by(NEED.c.unit_id, NEED.c.stakeholder_role, NEED.c.dose_level, NEED.c.open_due)
    )
    for unit_id, role, level, due, people in per_due:
        for key in lineage.get(unit_id, lineage[None]):
            opens[(org_id, key, role, level, due)] += people
    rows = [
        {**dict(zip(_CELL_KEYS, k, strict=True)), "needed": n, "completed": c, "overdue": o}
        for k, (n, c, o) in cells.items()
    ]
    for start in range(0, len(rows), 5000):
        conn.execute(CELL.insert(), rows[start : start + 5000])
    rows = [{**dict(zip(_OPEN_KEYS, k, strict=True)), "people": p} for k, p in opens.items()]
    for start in range(0, len(rows), 5000):
        conn.execute(OPEN.insert(), rows[start : start + 5000])


def _set_fold(conn: Connection, org_id: int, day: date) -> None:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(FOLD).values(org_id=org_id, folded_before=day)
    conn.execute(stmt.on_conflict_do_update(index_elements=[FOLD.c.org_id], set_={"folded_before": day}))


def fold(conn: Connection, org_id: int, today: date) -> int:
    """Move the open rows due before `today` into the cells' overdue counts: one write per cell a day,
    whatever the number of learners. Returns the rows folded. Two folds at once wait for each other (the
    organisation's fold row is locked), so nothing is counted twice."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(FOLD).values(org_id=org_id, folded_before=date.min).on_conflict_do_nothing())
    current = conn.execute(
        select(FOLD.c.folded_before).where(FOLD.c.org_id == org_id).with_for_update()
    ).scalar_one()
    if current >= today:
        return 0
    due = and_(OPEN.c.org_id == org_id, OPEN.c.due_on < today)
    rows = conn.execute(
        select(OPEN.c.unit_id, OPEN.c.stakeholder_role, OPEN.c.dose_level, func.sum(OPEN.c.people))
        .where(due)
        .group_by(OPEN.c.unit_id, OPEN.c.stakeholder_role, OPEN.c.dose_level)
    ).all()
    cells = {(org_id, unit_id, role, level): [0, 0, int(people)] for unit_id, role, level, people in rows}
    conn.execute(delete(OPEN).where(due))
    _write_counts(conn, cells, {})
    _set_fold(conn, org_id, today)
    return len(rows)


# --- the listener ----------------------------------------------------------------------------------


def _changed(obj: object, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _noted(session: Session) -> tuple[set[int], set[int], set[int], list[tuple[int, int, str, int]]]:
    """What this flush changed that coverage depends on: memberships, people (by user id), retired or
    restored modules, and moved units (id, org, old path, new parent id)."""
    memberships: set[int] = set()
    users: set[int] = set()
    modules: set[int] = set()
    moves: list[tuple[int, int, str, int]] = []
    dirty = session.dirty
    for obj in (*session.new, *dirty, *session.deleted):
        fresh = obj not in dirty
        if isinstance(obj, Membership):
            if fresh or _changed(obj, "unit_id", "stakeholder_role", "active", "org_id"):
                memberships.add(obj.id)
        elif isinstance(obj, Assignment):
            if fresh or _changed(obj, "cancelled_at", "due_on", "level", "source", "module_id"):
                memberships.add(obj.membership_id)
        elif isinstance(obj, Progress):
            if fresh or _changed(obj, "status", "module_id"):
                users.add(obj.user_id)
        elif isinstance(obj, Module):
            if not fresh and _changed(obj, "retired_at"):
                modules.add(obj.id)
        elif isinstance(obj, OrgUnit) and not fresh and _changed(obj, "parent_id"):
            path = inspect(obj).attrs["path"].history
            old_path = path.deleted[0] if path.deleted else obj.path
            moves.append((obj.id, obj.org_id, old_path, obj.parent_id))
    return memberships, users, modules, moves


def _after_flush(session: Session, _context: Any) -> None:
    if is_deferred(session):
        return
    memberships, users, modules, moves = _noted(session)
    if not (memberships or users or modules or moves):
        return
    conn = session.connection()
    for ids in _chunks(users):
        memberships.update(conn.execute(select(Membership.id).where(Membership.user_id.in_(ids))).scalars())
    memberships.discard(None)  # type: ignore[arg-type]
    if memberships:
        restate(conn, memberships)
    for unit_id, org_id, old_path, parent_id in moves:
        parent_path = conn.execute(select(OrgUnit.path).where(OrgUnit.id == parent_id)).scalar() or "/"
        old_above = [int(p) for p in old_path.strip("/").split("/") if p and int(p) != unit_id]
        new_above = [int(p) for p in parent_path.strip("/").split("/") if p]
        move_subtree(conn, org_id, unit_id, old_above, new_above)
    if modules:
        orgs = conn.execute(select(Assignment.org_id).where(Assignment.module_id.in_(modules)).distinct())
        for org_id in orgs.scalars().all():
            rebuild(conn, org_id, org_today(conn, org_id))


def is_deferred(db: Session) -> bool:
    """Whether a bulk writer's `deferred` block is running in this session (it rebuilds at its end)."""
    return bool(db.info.get(_DEFERRED))


@contextmanager
def deferred(db: Session, org_id: int) -> Iterator[Session]:
    """Bulk writing in one organisation: the listener stands aside while the block runs, and the
    organisation is rebuilt once at its end (in the same transaction)."""
    db.info[_DEFERRED] = True
    try:
        yield db
        db.flush()
    finally:
        db.info.pop(_DEFERRED, None)
    rebuild(db.connection(), org_id, org_today(db, org_id))


def install() -> None:
    """Called by the application factory: the listener on every ORM session of the process, once."""
    from sqlalchemy import event

    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
