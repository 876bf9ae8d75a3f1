"""The demo roster file (docs/examples/roster-with-errors.csv) reports exactly the problems its
documentation promises against the demo organisation, and applies once they are fixed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from lms.cli import main
from lms.models import Membership, Organization, User
from lms.services import roster

FILE = Path(__file__).parents[1] / "docs" / "examples" / "roster-with-errors.csv"


def test_the_demo_file_shows_its_three_problems_then_applies_when_fixed(app, db):
    assert app.test_cli_runner().invoke(main, ["demo"]).exit_code == 0
    org = db.scalar(select(Organization))
    data = FILE.read_bytes()
    preview = roster.preview(db, None, data, org_id=org.id, with_coverage=False)
    assert [(n, column) for n, column, _ in preview.problems] == [
        (4, "email"),
        (5, "job code"),
        (6, "start date"),
    ]
    fixed = (
        data.replace(b"@riverbend,", b"@riverbend.example,")
        .replace(b"RN-TRAVEL", b"clinician")
        .replace(b"09/11/2026", b"2026-11-09")
    )
    done = roster.apply(db, None, fixed, org_id=org.id, welcome=False)
    db.commit()
    assert done.counts["add"] == 6
    assert db.scalar(
        select(Membership).join(User).where(User.email == "jose.alvarez@riverbend.example")
    ).active
