"""`lms roster import FILE --org SLUG [--dry-run]`, run the way an operator runs it."""

from __future__ import annotations

import pytest
from roster_factory import csv_bytes, xlsx_bytes
from sqlalchemy import func, select

from lms.cli import main
from lms.models import AuditEvent, Membership, OutboxMessage, User

GOOD = [
    ("E1", "Ana Souza", "ana@alpha.example", "clinician", "4B", "2025-01-06", "active"),
    ("E2", "Ben Okafor", "ben@alpha.example", "clinician", "4B", "", ""),
]


@pytest.fixture
def lms(app, ctx, tree, db):
    tree.unit.code = "4B"
    db.commit()
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(main, list(args))

    return run


def people(db) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(User.email).join(Membership)))


def test_a_dry_run_prints_the_preview_and_changes_nothing(db, lms, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(GOOD))
    result = lms("roster", "import", str(path), "--org", "alpha", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would import roster.csv into alpha: 2 row(s): 2 to add" in result.output
    assert "Ward 4B, Clinician" in result.output
    assert people(db) == set()


def test_importing_applies_the_file_once_and_again_changes_nothing(db, lms, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes(GOOD))
    first = lms("roster", "import", str(path), "--org", "alpha", "--no-welcome")
    assert first.exit_code == 0, first.output
    assert "Imported roster.xlsx into alpha: 2 row(s): 2 to add" in first.output
    assert people(db) == {"ana@alpha.example", "ben@alpha.example"}
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    events = db.scalar(select(func.count()).select_from(AuditEvent))
    again = lms("roster", "import", str(path), "--org", "alpha")
    assert "0 to add, 0 to invite, 0 to change, 0 to deactivate, 0 to reactivate, 2 unchanged" in again.output
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_problems_are_listed_by_row_and_column_and_exit_non_zero(db, lms, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes([*GOOD, ("E3", "Cy", "cy@", "clinician", "9Z", "", "")]))
    for extra in ([], ["--dry-run"]):
        result = lms("roster", "import", str(path), "--org", "alpha", *extra)
        assert result.exit_code == 1
        assert "row 4, column email:" in result.output and "row 4, column unit:" in result.output
    assert people(db) == set()


def test_an_unknown_organisation_is_refused(lms, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(GOOD))
    result = lms("roster", "import", str(path), "--org", "nowhere")
    assert result.exit_code != 0 and "No organisation has the slug 'nowhere'" in result.output
