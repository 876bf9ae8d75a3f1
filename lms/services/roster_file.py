"""Reading a roster file: its columns (by the header aliases of docs/roster-import.md), and each row's
cells made what they mean (an employee id, a name, an email, a stakeholder role from the job code, a
unit from its code or path, a start date, active or a leaver), with every problem by row and column.

Cells are cleaned as HR systems and spreadsheets write them: stray and non-breaking spaces dropped, names
in any script kept (Unicode NFC), an employee id that a spreadsheet turned into a number (100234.0)
read back as text, Excel's date cells and date serial numbers read as dates. Nothing is guessed: a job
code that no mapping and no role's own name knows, a unit no code or path names, a date written in a way
that could be two dates (03/04/2025) is a problem to fix, not a choice made for HR.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from curricula.stakeholders import StakeholderRole
from lms.models import OrgUnit
from lms.services import Invalid, job_codes, people
from lms.services.people import LIMITS
from lms.services.tables import ImportProblems, Table, header_name

# Each column, by the name problems use, and the header names it is known by (compared by
# tables.header_name: case, spaces, _ and - do not matter). docs/roster-import.md lists them for HR.
ALIASES: dict[str, tuple[str, ...]] = {
    "employee id": (
        "employee id",
        "employee number",
        "employee no",
        "emp id",
        "emplid",
        "staff id",
        "staff number",
        "person number",
        "worker id",
    ),
    "name": ("name", "full name", "employee name", "display name", "worker name"),
    "email": ("email", "email address", "e mail", "work email", "work email address", "mail"),
    "job code": ("job code", "job", "jobcode", "position code", "job title code", "job profile"),
    "unit": ("unit", "unit code", "unit path", "department", "department code", "cost centre", "cost center"),
    "start date": ("start date", "hire date", "date of hire", "started", "start"),
    "status": ("status", "employment status", "worker status"),
}
REQUIRED = ("employee id", "name", "email", "job code", "unit")
ACTIVE = {"", "active", "a", "yes", "y", "true", "1", "employed", "current"}
LEFT = {"inactive", "i", "left", "leaver", "terminated", "t", "no", "n", "false", "0", "withdrawn"}
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug is before day 61)


@dataclass(slots=True)
class RosterRow:
    """One person as the file has them (only what the import needs: a row is about 300 bytes)."""

    number: int
    employee_id: str
    name: str
    email: str
    job_code: str
    role: StakeholderRole | None
    unit_id: int | None
    start_date: date | None
    active: bool


Problem = tuple[int, str, str]  # (row number, column, what to fix)


class Units:
    """The organisation's active units by code and by path of names ("General Hospital > Medicine >
    Ward 4B", from the system or from a facility down; > or / between names), and by a name only one
    unit has."""

    def __init__(self, db: Session, org_id: int) -> None:
        units = list(
            db.scalars(select(OrgUnit).where(OrgUnit.org_id == org_id, OrgUnit.archived_at.is_(None)))
        )
        by_id = {u.id: u for u in units}
        self.by_code = {u.code.casefold(): u.id for u in units if u.code}
        self.by_path: dict[str, int | None] = {}
        for unit in units:
            names = [by_id[int(p)].name for p in unit.path.strip("/").split("/") if int(p) in by_id]
            for start in range(len(names)):
                key = _path_key(" > ".join(names[start:]))
                # a name (or tail of a path) two units share names neither
                self.by_path[key] = None if key in self.by_path and self.by_path[key] != unit.id else unit.id

    def find(self, text: str) -> int | None:
        return self.by_code.get(text.casefold()) or self.by_path.get(_path_key(text))


def _path_key(text: str) -> str:
    parts = text.replace("/", ">").split(">")
    return " > ".join(" ".join(p.split()).casefold() for p in parts if p.strip())


def columns(header: list[Any]) -> dict[str, int]:
    """Where each column is in the header; ImportProblems naming the missing ones."""
    names = [header_name(cell) for cell in header]
    where: dict[str, int] = {}
    for column, aliases in ALIASES.items():
        found = next((i for i, name in enumerate(names) if name in aliases), None)
        if found is not None:
            where[column] = found
    missing = [c for c in REQUIRED if c not in where]
    if missing:
        if not any(names):
            raise ImportProblems(
                [f"row 1: the file is empty; its first row names the columns {', '.join(ALIASES)}."]
            )
        semicolons = " (the file may use semicolons: save it as comma-separated)" if ";" in names[0] else ""
        raise ImportProblems(
            [
                f"row 1: the header needs the columns {', '.join(REQUIRED)} (start date and status are "
                f"optional); missing: {', '.join(missing)}{semicolons}. docs/roster-import.md lists the "
                "other names each column may have."
            ]
        )
    return where


def read_rows(
    db: Session, org_id: int, table: Table, problem: Callable[[int, str, str], None]
) -> Iterator[RosterRow]:
    """Each row of the file as a RosterRow (rows with a problem too, so later checks can name them);
    problems go to `problem(row, column, text)`."""
    where = columns(table.header)
    units = Units(db, org_id)
    known = job_codes.roles_by_key(db, org_id)
    width = len(table.header)
    for number, cells in table.rows:
        if len(cells) > width and any(_text(c) for c in cells[width:]):
            problem(
                number,
                "",
                f"it has {len(cells)} cells but the header {width} columns; put a name that "
                "contains a comma in double quotes.",
            )
            continue
        value = {c: (cells[i] if i < len(cells) else None) for c, i in where.items()}
        yield _row(number, value, units, known, db, org_id, lambda col, text, n=number: problem(n, col, text))


def _row(
    number: int,
    value: Mapping[str, Any],
    units: Units,
    known: Mapping[str, StakeholderRole],
    db: Session,
    org_id: int,
    problem: Callable[[str, str], None],
) -> RosterRow:
    employee_id = _text(value.get("employee id"), number_as_text=True)
    name = _text(value.get("name"))
    email_typed = _text(value.get("email"))
    job_code = _text(value.get("job code"), number_as_text=True)
    unit_text = _text(value.get("unit"), number_as_text=True)
    for column, text, limit in (
        ("employee id", employee_id, LIMITS["employee_id"]),
        ("name", name, LIMITS["name"]),
        ("job code", job_code, LIMITS["job_code"]),
    ):
        if not text:
            problem(column, f"give the {column}.")
        elif len(text) > limit:
            problem(column, f"keep the {column} to {limit} characters or fewer (it has {len(text)}).")
    email = ""
    if not email_typed:
        problem("email", "give the person's email address.")
    else:
        try:
            email = people.clean_email(email_typed)
        except Invalid as exc:
            problem("email", f"{email_typed!r} is not an email address: {_reason(exc)}")
    role = job_codes.role_for(db, org_id, job_code, known) if job_code else None
    if job_code and role is None:
        problem(
            "job code",
            f"no stakeholder role is mapped to the job code {job_code!r}: map it on the Job codes page.",
        )
    unit_id = units.find(unit_text) if unit_text else None
    if not unit_text:
        problem("unit", "give the unit's code or path (for example General Hospital > Medicine > Ward 4B).")
    elif unit_id is None:
        problem("unit", f"no active unit has the code or path {unit_text!r}.")
    start = None
    if value.get("start date") not in (None, ""):
        start = _date(value["start date"])
        if start is None:
            problem("start date", f"{_text(value['start date'])!r} is not a date; write it as YYYY-MM-DD.")
    status = _text(value.get("status")).casefold()
    if status not in ACTIVE and status not in LEFT:
        problem("status", f"{status!r} is not a status; use active, or inactive (or left) for a leaver.")
    return RosterRow(number, employee_id, name, email, job_code, role, unit_id, start, status not in LEFT)


def _reason(exc: Invalid) -> str:
    text = next(iter(exc.errors.values()))[0]
    return text.removeprefix("Enter a valid email address (").removesuffix(").")


def _text(cell: Any, *, number_as_text: bool = False) -> str:
    """A cell as text: spaces collapsed (stray, doubled, non-breaking), Unicode in its composed form."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return str(cell).lower()
    if isinstance(cell, float) and cell.is_integer() and number_as_text:
        cell = int(cell)
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    return unicodedata.normalize("NFC", " ".join(str(cell).split()))


def _date(cell: Any) -> date | None:
    """A date cell, an Excel serial number, or text in ISO 8601 (YYYY-MM-DD, or YYYY/MM/DD); None for
    anything else (day-first and month-first dates cannot be told apart, so neither is guessed)."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return EXCEL_EPOCH + timedelta(days=int(cell)) if 1 <= cell < 2_958_466 else None
    text = _text(cell)
    if text.isdigit() and 4 < len(text) < 7:  # a serial number written out as text by a CSV export
        return EXCEL_EPOCH + timedelta(days=int(text))
    try:
        return date.fromisoformat(text.replace("/", "-")[:10]) if len(text) >= 10 else None
    except ValueError:
        return None
