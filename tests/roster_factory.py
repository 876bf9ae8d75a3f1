"""For the roster and job-code tests: a published library with a dosing policy, people's open
assignments, and roster files written as CSV or XLSX."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_content_sync import corpus, module

from lms.models import Assignment, Membership, Module
from lms.services import content as publishing

POLICY = {
    "clinician": {"awareness": 30, "foundational": 90},
    "executive": {"awareness": 30, "sponsor": 90},
    "unit-leader": {"awareness": 30},
}
HEADER = ("employee id", "name", "email", "job code", "unit", "start date", "status")


def publish(db: Session) -> dict[str, Module]:
    """Two awareness modules, two foundational, one sponsor, published with the policy above."""
    publishing.sync(
        db,
        corpus(
            module("model-for-improvement"),
            module("what-matters"),
            module("pdsa", dose="foundational"),
            module("run-charts", dose="foundational"),
            module("sponsoring-a-portfolio", dose="sponsor"),
            policy=POLICY,
        ),
    )
    db.commit()
    return {m.slug: m for m in db.scalars(select(Module))}


def held(db: Session, membership: Membership) -> set[str]:
    """The slugs of a person's open assignments."""
    db.expire_all()
    return {
        a.module.slug
        for a in db.scalars(
            select(Assignment).where(
                Assignment.membership_id == membership.id, Assignment.cancelled_at.is_(None)
            )
        )
    }


def csv_bytes(rows: Sequence[Sequence[Any]], header: Sequence[str] = HEADER, newline: str = "\r\n") -> bytes:
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    return (newline.join(lines) + newline).encode("utf-8")


def xlsx_bytes(rows: Sequence[Sequence[Any]], header: Sequence[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
