"""Importing an organisation's unit tree from a CSV file: code, name, level, parent code.

All or nothing: every row is checked first, against the file and against the tree as it stands, and
each problem is reported as "row N, column X: what to fix" (row numbers as a spreadsheet shows them, the
header being row 1). Nothing changes unless the whole file is right.

- A row's code identifies its unit: importing the same file again changes nothing; a file with a new
  name or parent for a known code renames or moves that unit. A unit's level never changes by import.
- Parents may come after their children in the file. A parent code names a unit of the file or a unit
  the tree already has. A facility with no parent code goes under the organisation's system (the root);
  a `system` row, at most one and with no parent code, names that root (its code and name).
- Units the file does not mention are left alone: nothing is archived or moved because a file left it
  out, so a file for one hospital of a system can be imported without the rest.

Used by `lms units import` (an operator at the command line) and by the Units page's upload (an
organisation administrator), so both follow the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.models import OrgUnit, Permission, UnitKind
from lms.services import audit, organizations
from lms.services.access import Actor
from lms.services.tables import ImportProblems, read_table

COLUMNS = ("code", "name", "level", "parent code")
CODE_MAX = 32
LEVELS = ", ".join(k.value for k in UnitKind)


@dataclass
class Row:
    number: int  # as a spreadsheet shows it (the header is row 1)
    code: str
    name: str
    level: UnitKind | None
    parent_code: str


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    unchanged: int = 0
    left_alone: int = 0  # units of the tree the file does not mention

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.renamed)} renamed, {len(self.moved)} moved, "
            f"{self.unchanged} unchanged; {self.left_alone} unit(s) not in the file left as they were."
        )


def import_units(
    db: Session, actor: Actor | None, data: bytes | str, *, org_id: int | None = None
) -> ImportReport:
    """Check the whole file, then apply it to the organisation's tree (the caller commits).

    `actor` is an organisation administrator; `actor=None` is an operator at the command line, who names
    `org_id`. Raises ImportProblems, listing every problem, and changes nothing, if any row is wrong."""
    if actor is not None:
        actor.require(Permission.ORG_ADMIN)
        org_id = actor.org_id
    if org_id is None:
        raise ValueError("an operator must name the organisation")
    rows, problems = read_rows(data)
    existing = list(db.scalars(select(OrgUnit).where(OrgUnit.org_id == org_id).order_by(OrgUnit.path)))
    plan = _Plan(rows, existing, problems)
    if plan.problems:
        raise ImportProblems([text for _, text in sorted(plan.problems, key=lambda p: p[0])])
    return plan.apply(db, actor.user.id if actor else None, org_id)


def read_rows(data: bytes | str) -> tuple[list[Row], list[tuple[int, str]]]:
    """The rows of a CSV file (read by lms.services.tables: UTF-8, with or without a byte-order mark) and the
    problems of rows on their own (blank name, unknown level, a code too long, extra cells) as (row
    number, text); ImportProblems for a file that cannot be read as the four columns at all."""
    table = read_table(data)
    if not table.header or not any(str(cell or "").strip() for cell in table.header):
        raise ImportProblems(
            [f"row 1: the file is empty; its first row names the columns {', '.join(COLUMNS)}."]
        )
    header = [" ".join(str(cell or "").strip().lower().replace("_", " ").split()) for cell in table.header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        hint = (
            " (the file may use semicolons: save it as comma-separated)"
            if ";" in str(table.header[0])
            else ""
        )
        raise ImportProblems(
            [
                f"row 1: the header needs the columns {', '.join(COLUMNS)}; "
                f"missing: {', '.join(missing)}{hint}."
            ]
        )
    where = {c: header.index(c) for c in COLUMNS}
    problems: list[tuple[int, str]] = []
    rows: list[Row] = []
    for number, cells in table.rows:
        cells = ["" if cell is None else str(cell) for cell in cells]
        if len(cells) > len(header):
            problems.append(
                (
                    number,
                    f"row {number}: it has {len(cells)} cells but the header {len(header)} columns; "
                    "put a name that contains a comma in double quotes.",
                )
            )
            continue
        value = {c: " ".join(cells[i].split()) if i < len(cells) else "" for c, i in where.items()}
        row = Row(number, value["code"], value["name"], None, value["parent code"])

        def problem(column: str, text: str, number: int = number) -> None:
            problems.append((number, f"row {number}, column {column}: {text}"))

        if not row.code:
            problem("code", "give the unit a code.")
        elif len(row.code) > CODE_MAX:
            problem("code", f"keep the code to {CODE_MAX} characters or fewer.")
        if not row.name:
            problem("name", "give the unit a name.")
        elif len(row.name) > organizations.NAME_MAX:
            problem(
                "name",
                f"keep the name to {organizations.NAME_MAX} characters or fewer (it has {len(row.name)}).",
            )
        try:
            row.level = UnitKind(value["level"].lower())
        except ValueError:
            shown = f"{value['level']!r} is not a level" if value["level"] else "give the level"
            problem("level", f"{shown}; use one of {LEVELS}.")
        rows.append(row)
    if not rows and not problems:
        raise ImportProblems(["row 2: the file has a header but no units."])
    return rows, problems


class _Plan:
    """The tree the file asks for, checked as a whole before anything is written."""

    def __init__(self, rows: list[Row], existing: list[OrgUnit], problems: list[tuple[int, str]]) -> None:
        self.rows = rows
        self.existing = existing
        self.by_code = {u.code: u for u in existing if u.code}
        self.root = next(u for u in existing if u.parent_id is None)
        self.problems = list(problems)
        # Rows with a problem of their own are still checked against the others where that makes sense
        # (codes, parents), so one pass lists every problem; names only among rows that are right.
        self.flawed = {number for number, _ in problems}
        self.file_rows: dict[str, Row] = {}
        self._check_codes()
        self._check_places()
        self._check_names()

    def _problem(self, row: Row, column: str, message: str) -> None:
        self.flawed.add(row.number)
        self.problems.append((row.number, f"row {row.number}, column {column}: {message}"))

    def _check_codes(self) -> None:
        seen: dict[str, Row] = {}
        systems = [r for r in self.rows if r.level is UnitKind.SYSTEM]
        for row in systems[1:]:
            self._problem(row, "level", f"only one system: row {systems[0].number} is the system already.")
        for row in self.rows:
            if not row.code:
                continue  # said already
            if row.code in seen:
                self._problem(row, "code", f"the code {row.code} is on row {seen[row.code].number} too.")
                continue
            seen[row.code] = row
            unit = self.by_code.get(row.code)
            if unit is None:
                continue
            if not unit.active:
                self._problem(
                    row, "code", f"{unit.name} ({row.code}) is archived: restore it on the Units page first."
                )
            elif row.level is not None and unit.kind is not row.level:
                self._problem(
                    row,
                    "level",
                    f"{unit.name} ({row.code}) is a {unit.kind.value}; an import does not change a unit's "
                    "level (give a new code for a new unit).",
                )
        if systems and self.root.code and self.root.code != systems[0].code:
            self._problem(systems[0], "code", f"the system's code is {self.root.code}: use it here.")
        self.file_rows = seen

    def parent_of(self, row: Row) -> OrgUnit | Row | None:
        if row.level is UnitKind.SYSTEM:
            return None
        if not row.parent_code:
            return self.root if row.level is UnitKind.FACILITY else None
        return self.file_rows.get(row.parent_code) or self.by_code.get(row.parent_code)

    def _check_places(self) -> None:
        for row in self.rows:
            if row.level is None:
                continue  # its level is wrong already: where it may sit cannot be judged
            if row.level is UnitKind.SYSTEM:
                if row.parent_code:
                    self._problem(row, "parent code", "the system is the top of the tree: leave this blank.")
                continue
            above = list(UnitKind)[row.level.depth - 1]
            if not row.parent_code and row.level is not UnitKind.FACILITY:
                self._problem(
                    row, "parent code", f"give the code of the {above.value} this {row.level.value} is in."
                )
                continue
            parent = self.parent_of(row)
            if parent is None:
                self._problem(
                    row, "parent code", f"no unit has the code {row.parent_code}, in the file or in the tree."
                )
                continue
            if isinstance(parent, OrgUnit) and not parent.active:
                self._problem(row, "parent code", f"{parent.name} ({row.parent_code}) is archived.")
                continue
            kind = parent.level if isinstance(parent, Row) else parent.kind
            if kind is not None and kind is not above:
                self._problem(
                    row,
                    "parent code",
                    f"a {row.level.value} sits under a {above.value}; {row.parent_code} is a {kind.value}.",
                )
        # No cycle can pass: each parent must be exactly one level above its child, so a chain of
        # parents climbs the four levels and ends at the system, in the file as in the tree.

    def _check_names(self) -> None:
        """No two active units under one parent share a name (the rule of the Units page)."""
        in_file = {self.by_code[r.code].id for r in self.rows if r.code in self.by_code}
        if any(r.level is UnitKind.SYSTEM for r in self.rows):
            in_file.add(self.root.id)
        names: dict[tuple[str, str], tuple[str, Row | None]] = {}
        for unit in self.existing:  # units the file leaves alone keep their name and place
            if unit.active and unit.id not in in_file and unit.parent_id is not None:
                names[(f"id:{unit.parent_id}", unit.name.lower())] = (unit.name, None)
        for row in self.rows:
            if row.number in self.flawed:
                continue
            parent = self.parent_of(row)
            key = (self._key(parent), row.name.lower())
            if key in names:
                other_name, other_row = names[key]
                where = f"row {other_row.number}" if other_row else f"the tree's {other_name}"
                parent_name = "the top of the tree" if parent is None else parent.name
                self._problem(
                    row, "name", f"{parent_name} would have two units named {row.name!r} ({where})."
                )
            else:
                names[key] = (row.name, row)

    def _key(self, parent: OrgUnit | Row | None) -> str:
        if parent is None:
            return "top"
        if isinstance(parent, Row):
            unit = self.by_code.get(parent.code)
            if unit is not None:
                return f"id:{unit.id}"
            if parent.level is UnitKind.SYSTEM:
                return f"id:{self.root.id}"
            return f"code:{parent.code}"
        return f"id:{parent.id}"

    def apply(self, db: Session, actor_id: int | None, org_id: int) -> ImportReport:
        report = ImportReport()
        made: dict[str, OrgUnit] = {}
        # Parents first: the file's levels give the order (system, facility, department, unit).
        for row in sorted(self.rows, key=lambda r: r.level.depth if r.level else 0):
            assert row.level is not None
            parent = self.parent_of(row)
            # A row's parent row came earlier in this order, so it is in `made` already.
            parent_unit = made[parent.code] if isinstance(parent, Row) else parent
            unit = self.root if row.level is UnitKind.SYSTEM else self.by_code.get(row.code)
            if unit is None:
                assert isinstance(parent_unit, OrgUnit)
                unit = organizations.new_unit(db, org_id, parent_unit, row.level, row.name)
                unit.code = row.code
                report.added.append(row.name)
                _record(
                    db,
                    actor_id,
                    org_id,
                    unit,
                    "unit.added",
                    {"name": row.name, "kind": row.level.value, "parent": parent_unit.name, "code": row.code},
                )
            else:
                changed = False
                if unit.code != row.code:
                    unit.code, changed = row.code, True
                if unit.name != row.name:
                    _record(db, actor_id, org_id, unit, "unit.renamed", {"name": [unit.name, row.name]})
                    unit.name, changed = row.name, True
                    report.renamed.append(row.name)
                if isinstance(parent_unit, OrgUnit) and unit.parent_id != parent_unit.id:
                    _record(
                        db,
                        actor_id,
                        org_id,
                        unit,
                        "unit.moved",
                        {"parent": [unit.parent.name if unit.parent else None, parent_unit.name]},
                    )
                    organizations.relocate_subtree(db, unit, parent_unit)
                    report.moved.append(row.name)
                    changed = True
                if not changed:
                    report.unchanged += 1
            made[row.code] = unit
            db.flush()
        touched = {u.id for u in made.values()}
        report.left_alone = sum(1 for u in self.existing if u.id not in touched)
        audit.record(
            db,
            actor_id=actor_id,
            org_id=org_id,
            action="units.imported",
            target_type="organization",
            target_id=org_id,
            changes={
                "added": len(report.added),
                "renamed": len(report.renamed),
                "moved": len(report.moved),
                "unchanged": report.unchanged,
            },
        )
        db.flush()
        return report


def _record(
    db: Session, actor_id: int | None, org_id: int, unit: OrgUnit, action: str, changes: dict
) -> None:
    audit.record(
        db,
        actor_id=actor_id,
        org_id=org_id,
        action=action,
        target_type="org_unit",
        target_id=unit.id,
        changes=changes,
    )
