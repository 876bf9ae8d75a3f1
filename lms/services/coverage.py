"""Coverage: who needs which dose level, who completed it, who is overdue, by unit subtree and stakeholder
role, for HR and organisation administrators (access.READS_COVERAGE). The definitions are in
lms.services.coverage_upkeep, which keeps the aggregates exact; this module reads them.

Every dashboard number is read from `coverage_cell` and `coverage_open` (a handful of rows per subtree,
role and level), so a page costs the same for 500 staff as for 500,000. The people behind a number are
paged from `coverage_need`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from curricula.stakeholders import LABELS, StakeholderRole, role_named
from lms.models import (
    Assignment,
    AssignmentSource,
    Membership,
    Module,
    Organization,
    OrgUnit,
    Progress,
    ProgressStatus,
    User,
)
from lms.models.coverage import WHOLE_ORGANISATION, CoverageCell, CoverageNeed, CoverageOpen
from lms.services import Invalid, NotFound
from lms.services.access import READS_COVERAGE, Actor
from lms.services.catalogue import vocabulary
from lms.services.coverage_record import PersonRecord, RecordItem, person_record
from lms.services.coverage_upkeep import STAFF, deferred, fold, is_deferred, org_today, rebuild, restate

__all__ = [
    "PersonRecord",
    "RecordItem",
    "deferred",
    "person_record",
    "recount",
    "refresh",
    "stored",
    "what_if",
]

TARGET_PERCENT = 80  # below it a heat-map cell is marked (a setting per organisation could come later)
PER_PAGE = 50
HEAT_ROWS = 25  # units of the heat map per page (a system may have a hundred facilities)
PER_PAGE_MAX = 200


class Status(StrEnum):
    """Which of the people needing a level: all of them, those done, those not done, those overdue."""

    NEEDED = "needed"
    COMPLETED = "completed"
    NOT_COMPLETED = "not-completed"
    OVERDUE = "overdue"


STATUS_LABELS = {
    Status.NEEDED: "Need it",
    Status.COMPLETED: "Completed",
    Status.NOT_COMPLETED: "Not completed yet",
    Status.OVERDUE: "Overdue",
}


# --- upkeep entry points ----------------------------------------------------------------------------


def refresh(db: Session, org_id: int, unit_ids: Iterable[int] | None = None) -> None:
    """Recompute the organisation's coverage from the raw records, in the caller's transaction: all of
    it (None), or the people in these units (and those the aggregates still count there). For bulk
    writers (dosing.reconcile, the roster import) and `lms coverage rebuild`."""
    db.flush()
    conn = db.connection()
    if unit_ids is None:
        rebuild(conn, org_id, org_today(conn, org_id))
        return
    units = list(unit_ids)
    ids = set(
        conn.execute(
            select(Membership.id).where(Membership.org_id == org_id, Membership.unit_id.in_(units))
        ).scalars()
    )
    ids.update(
        conn.execute(
            select(CoverageNeed.membership_id).where(
                CoverageNeed.org_id == org_id, CoverageNeed.unit_id.in_(units)
            )
        ).scalars()
    )
    restate(conn, ids)


# A bulk plan that changed at least this share of an organisation's people has its coverage rebuilt (a
# few set-based statements over the whole organisation) rather than restated person by person: a first
# reconcile of 50,000 new staff on PostgreSQL took 70 s restating them, 36 s rebuilding (python -m bench
# dosing --database postgresql; the bare insert of its rows took 23-26 s).
REBUILD_SHARE = 0.25


def refresh_people(db: Session, org_id: int, membership_ids: Iterable[int]) -> None:
    """Bring these people's needs, and every cell they count in (where they were and where they are), in
    line with their raw records, in the caller's transaction: a bulk plan's changed people. Costs what
    they changed, not what their units hold, or, when they are a large share of the organisation
    (REBUILD_SHARE), one rebuild of it. Nothing inside a bulk writer's `deferred` block, which rebuilds
    the organisation at its end."""
    ids = list(membership_ids)
    if not ids or is_deferred(db):
        return
    db.flush()
    conn = db.connection()
    people = conn.execute(select(func.count()).where(Membership.org_id == org_id)).scalar() or 0
    if len(ids) >= REBUILD_SHARE * people:
        rebuild(conn, org_id, org_today(conn, org_id))
    else:
        restate(conn, ids)


def fold_all(db: Session) -> Iterator[tuple[str, int]]:
    """Fold each organisation's overdue counts up to its today (the hourly job): yields (slug, rows)."""
    for org_id, slug in list(
        db.execute(select(Organization.id, Organization.slug).order_by(Organization.id))
    ):
        conn = db.connection()
        yield slug, fold(conn, org_id, org_today(conn, org_id))


Numbers = dict[tuple[int, str, str], tuple[int, int, int]]  # (subtree, role, level) -> needed, done, overdue


def stored(db: Session, org_id: int, today: date | None = None) -> Numbers:
    """Every cell's numbers as the dashboards read them."""
    today = today or org_today(db, org_id)
    overdue: dict[tuple, int] = defaultdict(int)
    for unit_id, role, level, people in db.execute(
        select(
            CoverageOpen.unit_id, CoverageOpen.stakeholder_role, CoverageOpen.dose_level, CoverageOpen.people
        ).where(CoverageOpen.org_id == org_id, CoverageOpen.due_on < today)
    ):
        overdue[(unit_id, role, level)] += people
    return {
        (c.unit_id, c.stakeholder_role, c.dose_level): (
            c.needed,
            c.completed,
            c.overdue + overdue[(c.unit_id, c.stakeholder_role, c.dose_level)],
        )
        # populate_existing: cells loaded before a Core write in this transaction (what_if's "before")
        # are read afresh, not from the session's identity map.
        for c in db.scalars(
            select(CoverageCell)
            .where(CoverageCell.org_id == org_id)
            .execution_options(populate_existing=True)
        )
    }


def recount(db: Session, org_id: int, today: date | None = None) -> Numbers:
    """The same numbers counted afresh from the raw records, person by person, in plain Python: the
    independent check the tests hold the aggregates to (it shares no code with the upkeep)."""
    today = today or org_today(db, org_id)
    people = {
        m.id: m
        for m in db.scalars(
            select(Membership).where(Membership.org_id == org_id, Membership.active.is_(True))
        )
    }
    paths = dict(db.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.org_id == org_id)).all())
    done = {
        (user_id, module_id)
        for user_id, module_id in db.execute(
            select(Progress.user_id, Progress.module_id).where(Progress.status == ProgressStatus.COMPLETED)
        )
    }
    dues: dict[tuple[int, str], list[date | None]] = defaultdict(list)
    for a in db.scalars(
        select(Assignment)
        .join(Module, Module.id == Assignment.module_id)
        .where(Assignment.org_id == org_id, Module.retired_at.is_(None))
    ):
        held = a.cancelled_at is None and a.source is AssignmentSource.DOSE and a.level
        if held and a.membership_id in people:
            dues[(a.membership_id, a.level)].append(None if (a.user_id, a.module_id) in done else a.due_on)
    counts: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    standings = [(m, STAFF, []) for m in people.values()]
    standings += [(people[mid], level, due) for (mid, level), due in dues.items()]
    for m, level, due in standings:
        open_dues = [d for d in due if d is not None]
        units = [int(p) for p in paths[m.unit_id].strip("/").split("/")] if m.unit_id else []
        for key in [WHOLE_ORGANISATION, *units]:
            cell = counts[(key, m.stakeholder_role.value, level)]
            cell[0] += 1
            cell[1] += not open_dues
            cell[2] += bool(open_dues) and min(open_dues) < today
    return {key: (n, c, o) for key, (n, c, o) in counts.items()}


Change = dict[tuple[int, str, str], tuple[tuple[int, int, int], tuple[int, int, int]]]


def what_if(db: Session, org_id: int, change: Callable[[], object]) -> Change:
    """How the numbers would move if `change` (any services' work) were applied: it runs in a savepoint
    that is always rolled back. Returns {(subtree, role, level): (before, after)} for the cells it moves
    (the roster import's preview)."""
    before = stored(db, org_id)
    savepoint = db.begin_nested()
    try:
        change()
        db.flush()
        after = stored(db, org_id)
    finally:
        savepoint.rollback()
    zero = (0, 0, 0)
    return {
        key: (before.get(key, zero), after.get(key, zero))
        for key in before.keys() | after.keys()
        if before.get(key, zero) != after.get(key, zero)
    }


# --- reading --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    unit_id: int | None = None  # None: the whole organisation
    role: str = ""
    level: str = ""
    status: Status = Status.NEEDED


@dataclass(frozen=True, slots=True)
class Line:
    """One stakeholder role at one dose level in the subtree."""

    role: str
    level: str
    needed: int
    completed: int
    overdue: int

    @property
    def role_label(self) -> str:
        return LABELS[StakeholderRole(self.role)]

    @property
    def percent(self) -> int | None:
        """Whole per cent completed, rounded down (99.6% never shows as 100%); None when nobody needs it."""
        return None if not self.needed else self.completed * 100 // self.needed


@dataclass(frozen=True, slots=True)
class PyramidStep:
    level: str
    title: str
    completed: int
    needed: int
    per_thousand: int | None  # completed per 1,000 staff, rounded down


@dataclass(frozen=True, slots=True)
class HeatRow:
    unit: OrgUnit
    cells: dict[str, Line]  # by role: the subtree's numbers over the chosen level (or every level)


@dataclass(frozen=True, slots=True)
class Coverage:
    unit: OrgUnit | None
    filters: Filters
    today: date
    staff: int
    lines: list[Line]  # by role then level, filtered
    totals: Line  # over the lines shown
    pyramid: list[PyramidStep]
    levels: list[tuple[str, str]]  # (id, title) in order
    heat: list[HeatRow]
    heat_roles: list[str]
    heat_page: int = 1
    heat_pages: int = 1
    target: int = TARGET_PERCENT

    def level_title(self, level: str) -> str:
        return next((title for lid, title in self.levels if lid == level), level)


def scope(db: Session, actor: Actor, unit_id: int | None) -> OrgUnit | None:
    """The unit whose subtree is shown (None: the whole organisation); another organisation's is 404."""
    actor.require(*READS_COVERAGE)
    if unit_id is None:
        return None
    unit = db.get(OrgUnit, unit_id)
    if unit is None or unit.org_id != actor.org_id:
        raise NotFound("No such unit in this organisation.")
    return unit


def nearby_units(db: Session, actor: Actor, unit_id: int | None) -> list[OrgUnit]:
    """The units a coverage filter offers: those above the unit shown, the unit and those right below
    it (the organisation's root and its children when none is shown). Never the whole tree: a picker of
    10,000 units would cost more than the numbers. A unit elsewhere is reached by its link or its id."""
    actor.require(*READS_COVERAGE)
    unit = db.get(OrgUnit, unit_id) if unit_id is not None else None
    if unit is None or unit.org_id != actor.org_id:
        roots = list(
            db.scalars(select(OrgUnit).where(OrgUnit.org_id == actor.org_id, OrgUnit.parent_id.is_(None)))
        )
        return roots + [child for root in roots for child in _children(db, root)]
    above = [int(p) for p in unit.path.strip("/").split("/") if p]
    lineage = list(db.scalars(select(OrgUnit).where(OrgUnit.org_id == actor.org_id, OrgUnit.id.in_(above))))
    return lineage + _children(db, unit)


def clean_filters(db: Session, unit_id: int | None, role: str, level: str, status: str) -> Filters:
    """Filters as typed (query arguments); every problem at once, by field."""
    errors: dict[str, list[str]] = {}
    if role and role_named(role) is None:
        errors["role"] = ["Choose one of the stakeholder roles."]
    known = [lv.id for lv in vocabulary(db).levels]
    if level and level not in known:
        errors["level"] = ["Choose one of the dose levels."]
    try:
        chosen = Status(status or Status.NEEDED)
    except ValueError:
        errors["status"] = ["Choose one of the statuses."]
        chosen = Status.NEEDED
    if errors:
        raise Invalid(errors)
    return Filters(unit_id, role, level, chosen)


def _cells(db: Session, org_id: int, unit_keys: list[int], today: date) -> dict[tuple[int, str, str], Line]:
    """The numbers of these subtrees: their cells, and their open rows that fell due since the last fold."""
    overdue: dict[tuple, int] = defaultdict(int)
    for unit_id, role, level, people in db.execute(
        select(
            CoverageOpen.unit_id, CoverageOpen.stakeholder_role, CoverageOpen.dose_level, CoverageOpen.people
        ).where(
            CoverageOpen.org_id == org_id, CoverageOpen.due_on < today, CoverageOpen.unit_id.in_(unit_keys)
        )
    ):
        overdue[(unit_id, role, level)] += people
    return {
        (unit_id, role, level): Line(role, level, needed, completed, late + overdue[(unit_id, role, level)])
        for unit_id, role, level, needed, completed, late in db.execute(
            select(
                CoverageCell.unit_id,
                CoverageCell.stakeholder_role,
                CoverageCell.dose_level,
                CoverageCell.needed,
                CoverageCell.completed,
                CoverageCell.overdue,
            ).where(CoverageCell.org_id == org_id, CoverageCell.unit_id.in_(unit_keys))
        )
    }


def _total(role: str, level: str, lines: Iterable[Line]) -> Line:
    lines = list(lines)
    return Line(
        role,
        level,
        sum(x.needed for x in lines),
        sum(x.completed for x in lines),
        sum(x.overdue for x in lines),
    )


def summary(
    db: Session, actor: Actor, filters: Filters, *, today: date | None = None, heat_page: int = 1
) -> Coverage:
    """The coverage of a subtree by role and level, its capability pyramid, and the heat map of the units
    right below it by role (HEAT_ROWS a page, by name). A few small queries whatever the size."""
    unit = scope(db, actor, filters.unit_id)
    today = today or org_today(db, actor.org_id)
    key = unit.id if unit else WHOLE_ORGANISATION
    parent = unit
    if unit is None:
        roots = list(
            db.scalars(select(OrgUnit).where(OrgUnit.org_id == actor.org_id, OrgUnit.parent_id.is_(None)))
        )
        parent = roots[0] if len(roots) == 1 else None  # the organisation's root: show the units under it
    below = OrgUnit.parent_id == parent.id if parent is not None else OrgUnit.parent_id.is_(None)
    below = and_(below, OrgUnit.org_id == actor.org_id, OrgUnit.archived_at.is_(None))
    heat_pages = max(1, -(-(db.scalar(select(func.count()).where(below)) or 0) // HEAT_ROWS))
    heat_page = min(max(1, heat_page), heat_pages)
    children = list(
        db.scalars(
            select(OrgUnit)
            .where(below)
            .order_by(OrgUnit.name, OrgUnit.id)
            .limit(HEAT_ROWS)
            .offset((heat_page - 1) * HEAT_ROWS)
        )
    )
    cells = _cells(db, actor.org_id, [key, *(c.id for c in children)], today)
    words = vocabulary(db)
    levels = [(lv.id, lv.title) for lv in words.levels]
    order = {lid: i for i, (lid, _) in enumerate(levels)}
    roles = [r.value for r in StakeholderRole]
    mine = [line for (u, _, level), line in cells.items() if u == key and level != STAFF]
    mine.sort(key=lambda x: (roles.index(x.role), order.get(x.level, len(order))))
    staff = sum(line.needed for (u, _, level), line in cells.items() if u == key and level == STAFF)
    shown = [
        x
        for x in mine
        if (not filters.role or x.role == filters.role) and (not filters.level or x.level == filters.level)
    ]
    pyramid = []
    for level, title in levels:
        at = [x for x in mine if x.level == level and (not filters.role or x.role == filters.role)]
        if not at:
            continue
        total = _total("", level, at)
        per = total.completed * 1000 // staff if staff else None
        pyramid.append(PyramidStep(level, title, total.completed, total.needed, per))
    heat_roles = [r for r in roles if not filters.role or r == filters.role]
    by_unit_role: dict[tuple[int, str], list[Line]] = defaultdict(list)
    for (u, r, level), line in cells.items():
        if u != key and level != STAFF and (not filters.level or level == filters.level):
            by_unit_role[(u, r)].append(line)
    heat = [
        HeatRow(
            child,
            {
                role: _total(role, filters.level, by_unit_role[(child.id, role)])
                for role in heat_roles
                if by_unit_role.get((child.id, role))
            },
        )
        for child in children
    ]
    return Coverage(
        unit=unit,
        filters=filters,
        today=today,
        staff=staff,
        lines=shown,
        totals=_total(filters.role, filters.level, shown),
        pyramid=pyramid,
        levels=levels,
        heat=heat,
        heat_roles=[r for r in heat_roles if any(r in h.cells for h in heat)],
        heat_page=heat_page,
        heat_pages=heat_pages,
    )


def _children(db: Session, unit: OrgUnit) -> list[OrgUnit]:
    return list(
        db.scalars(
            select(OrgUnit)
            .where(OrgUnit.parent_id == unit.id, OrgUnit.archived_at.is_(None))
            .order_by(OrgUnit.name)
            .limit(HEAT_ROWS)
        )
    )


# --- the people behind a number -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Someone:
    membership_id: int
    name: str
    email: str
    unit: str | None
    role: str
    level: str
    open_due: date | None  # the earliest due date of what they have not completed; None: completed
    overdue: bool

    @property
    def role_label(self) -> str:
        return LABELS[StakeholderRole(self.role)]


@dataclass(frozen=True, slots=True)
class PeoplePage:
    items: list[Someone]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _people_query(db: Session, actor: Actor, filters: Filters, today: date) -> Select:
    unit = scope(db, actor, filters.unit_id)
    query = (
        select(
            CoverageNeed.membership_id,
            User.name,
            User.email,
            OrgUnit.name.label("unit_name"),
            CoverageNeed.stakeholder_role,
            CoverageNeed.dose_level,
            CoverageNeed.open_due,
        )
        .join(User, User.id == CoverageNeed.user_id)
        .outerjoin(OrgUnit, OrgUnit.id == CoverageNeed.unit_id)
        .where(CoverageNeed.org_id == actor.org_id, CoverageNeed.dose_level != STAFF)
    )
    if unit is not None:
        subtree = select(OrgUnit.id).where(OrgUnit.org_id == actor.org_id, OrgUnit.path.startswith(unit.path))
        query = query.where(CoverageNeed.unit_id.in_(subtree))
    if filters.role:
        query = query.where(CoverageNeed.stakeholder_role == filters.role)
    if filters.level:
        query = query.where(CoverageNeed.dose_level == filters.level)
    if filters.status is Status.COMPLETED:
        query = query.where(CoverageNeed.open_due.is_(None))
    elif filters.status is Status.NOT_COMPLETED:
        query = query.where(CoverageNeed.open_due.is_not(None))
    elif filters.status is Status.OVERDUE:
        query = query.where(CoverageNeed.open_due < today)
    return query


def _someone(row, today: date) -> Someone:
    return Someone(
        row.membership_id,
        row.name,
        row.email,
        row.unit_name,
        row.stakeholder_role,
        row.dose_level,
        row.open_due,
        row.open_due is not None and row.open_due < today,
    )


def people(
    db: Session, actor: Actor, filters: Filters, *, page: int = 1, per_page: int = PER_PAGE
) -> PeoplePage:
    """The people behind a number: those of the subtree, role and level in that status, by name; one row
    per person and level."""
    today = org_today(db, actor.org_id)
    query = _people_query(db, actor, filters, today)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    per_page = min(max(1, per_page), PER_PAGE_MAX)
    rows = db.execute(
        query.order_by(func.lower(User.name), CoverageNeed.membership_id, CoverageNeed.dose_level)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return PeoplePage([_someone(r, today) for r in rows], total, page, per_page)


def every_person(db: Session, actor: Actor, filters: Filters) -> Iterator[Someone]:
    """All of them, streamed in order (for the exports)."""
    today = org_today(db, actor.org_id)
    query = _people_query(db, actor, filters, today).order_by(
        func.lower(User.name), CoverageNeed.membership_id, CoverageNeed.dose_level
    )
    for row in db.execute(query.execution_options(yield_per=1000)):
        yield _someone(row, today)
