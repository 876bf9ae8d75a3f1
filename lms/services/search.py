"""Searching text columns for what a person typed: `%` and `_` are characters to find, never wildcards.

The same SQL on SQLite and PostgreSQL: LIKE with a backslash as the escape character. LIKE compares
case-sensitively on PostgreSQL (and ASCII case-insensitively on SQLite): for a search that ignores case
on both, lower the column (`func.lower(User.name)`) and the text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, cast

ESCAPE = "\\"


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards (and the escape character itself) escaped, to match literally."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains(expression: Any, text: str) -> ColumnElement[bool]:
    """`expression` (a column or SQL expression of text) contains `text`, every character literally."""
    return expression.like(f"%{escape_like(text)}%", escape=ESCAPE)


def json_list_has(column: Any, value: str) -> ColumnElement[bool]:
    """A JSON list of ids contains `value` (ids are lowercase letters, digits and hyphens, so the quoted
    form cannot appear by accident); the same SQL on SQLite and PostgreSQL."""
    return contains(cast(column, Text), f'"{value}"')
