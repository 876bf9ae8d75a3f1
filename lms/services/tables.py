"""Reading a table that a person uploads: a CSV file (saved from a spreadsheet, or written by an HR
system) or an XLSX workbook's first sheet (read with python-calamine). The units import and the roster
import read their files here, and report problems the same way: "row N, column X: what to fix", row
numbers as a spreadsheet shows them (the header is row 1).

- CSV: UTF-8, with or without the byte-order mark spreadsheets write; lines may end in CRLF, LF or CR,
  mixed. XLSX: numbers, dates and text come as the cells hold them (a date cell is a date).
- Rows are read one at a time (`Table.rows` is an iterator), so a caller that keeps only what it needs of
  each row keeps memory to that.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from python_calamine import CalamineWorkbook

from lms.services import Invalid

# The problem list says where to look; past this many, the first ones are enough to start fixing.
MAX_PROBLEMS = 200
XLSX_MAGIC = b"PK\x03\x04"  # an XLSX workbook is a zip archive


class ImportProblems(Invalid):
    """Every problem of a file, one "row N, column X: ..." line each, under the field "file"."""

    def __init__(self, problems: list[str], total: int | None = None) -> None:
        total = len(problems) if total is None else total
        if len(problems) > MAX_PROBLEMS:
            problems = problems[:MAX_PROBLEMS]
        if total > len(problems):
            problems = [*problems, f"... and {total - len(problems)} more problems."]
        self.problems = problems
        super().__init__({"file": problems})


def header_name(cell: Any) -> str:
    """A header cell as the column mappings compare it: lower case, single spaces, _ and - as spaces."""
    text = "" if cell is None else str(cell)
    return " ".join(text.removeprefix("\ufeff").strip().lower().replace("_", " ").replace("-", " ").split())


@dataclass
class Table:
    header: list[Any]
    rows: Iterator[tuple[int, list[Any]]]  # (row number, cells), blank rows left out
    total: int  # how many rows there are at most below the header (for a progress bar)


def read_table(data: bytes | str) -> Table:
    """The table of a CSV file or an XLSX workbook (told apart by their first bytes); ImportProblems for
    a file that is neither, or has no header row."""
    if isinstance(data, bytes) and data.startswith(XLSX_MAGIC):
        return _xlsx(data)
    return _csv(data)


def _csv(data: bytes | str) -> Table:
    """Decoded as it is read (a file of 50,000 rows is never held twice, as bytes and as text)."""
    if isinstance(data, bytes):
        total = max(0, data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n"))
        text: io.TextIOBase = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    else:
        total = max(0, data.count("\n") + data.count("\r") - data.count("\r\n"))
        text = io.StringIO(data.removeprefix("\ufeff"), newline="")
    reader = csv.reader(text)
    not_utf8 = ImportProblems(["The file is not UTF-8 text: save it from the spreadsheet as CSV UTF-8."])
    try:
        header = _first(reader)
    except UnicodeDecodeError:
        raise not_utf8 from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        number = 1  # a spreadsheet's row is a CSV record (a quoted cell may span lines)
        try:
            for cells in reader:
                number += 1
                if any(cell.strip() for cell in cells):  # blank lines, often left at the end
                    yield number, cells
        except UnicodeDecodeError:
            raise not_utf8 from None
        except csv.Error as exc:
            raise ImportProblems(
                [f"row {number + 1}: the file is not CSV that can be read ({exc})."]
            ) from None

    return Table(header, rows(), total)


def _first(reader: Any) -> list[Any]:
    try:
        for cells in reader:
            return list(cells)
    except csv.Error as exc:
        raise ImportProblems([f"row 1: the file is not CSV that can be read ({exc})."]) from None
    return []


def _xlsx(data: bytes) -> Table:
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_index(0)
    except Exception as exc:  # calamine's errors are its own: any of them means "not a workbook we read"
        raise ImportProblems([f"The file is not a workbook that can be read: {exc}"]) from None
    rows = sheet.iter_rows()
    header = next(rows, [])

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        for number, cells in enumerate(rows, start=2):
            if any(str(cell).strip() for cell in cells if cell is not None):
                yield number, list(cells)

    return Table(list(header), numbered(), max(0, sheet.height - 1))
