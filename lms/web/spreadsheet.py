"""Tables sent as files: CSV and XLSX, with every text cell neutralised against formula injection.

A spreadsheet treats a cell that begins with =, +, -, @ (or a tab or carriage return before one) as a
formula: a name typed as "=HYPERLINK(...)" would run when HR opens the export. Such text gets a leading
apostrophe, which spreadsheets show as text (OWASP's advice); numbers and dates stay what they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from flask import Response
from openpyxl import Workbook

RISKY = ("=", "+", "-", "@", "\t", "\r")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula, made plain text; anything else unchanged."""
    if isinstance(value, str) and value.startswith(RISKY):
        return "'" + value
    return value


def _cells(row: Sequence[Any]) -> list[Any]:
    return [neutralise(v.isoformat() if isinstance(v, date) else v) for v in row]


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """Streamed as it is written (the people behind a number may be many), UTF-8 with a byte-order mark
    so that Excel reads names in any script."""

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff"
        writer.writerow(_cells(header))
        for row in rows:
            writer.writerow(_cells(row))
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        lines(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """One sheet, written in openpyxl's write-only mode (memory does not grow with the rows)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(filename[:31])
    sheet.append(_cells(header))
    for row in rows:
        sheet.append(_cells(row))
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )
