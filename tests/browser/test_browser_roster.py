"""HR imports a roster in a real browser at 360 and 1280 px, axe-clean: a file with errors shows every
problem by row and column; the fixed file's preview shows how coverage would move; applying it moves the
coverage numbers and the overdue list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import PASSWORD
from roster_factory import csv_bytes, publish
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.models import Assignment
from lms.services import dosing
from lms.services.coverage_upkeep import org_today

pytestmark = pytest.mark.browser


@pytest.fixture
def ward(db, make, tree):
    """A small library, HR, and Ben on Ward 4B with an awareness module overdue."""
    publish(db)
    tree.unit.code = "4B"
    make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True, email="rita@alpha.example", name="Rita Hale")
    ben = make.person(tree, email="ben@alpha.example", name="Ben Okafor")
    ben.job_code, ben.employee_id = "clinician", "E100"
    db.commit()
    dosing.plan_for(db, ben)
    for assignment in db.scalars(select(Assignment).where(Assignment.membership_id == ben.id)):
        if assignment.level == "awareness":
            assignment.due_on = org_today(db, tree.org.id) - timedelta(days=3)
    db.commit()
    return tree


ROWS = [
    ("E100", "Ben Okafor", "ben@alpha.example", "clinician", "4B", "", "left"),
    ("E101", "Zoë Ødegård", "zoe@alpha", "clinician", "4B", "2026-11-02", "active"),
    (
        "E102",
        "Nguyễn Thị Lan",
        "lan@alpha.example",
        "RN-TRAVEL",
        "General Hospital > Medicine > Ward 4B",
        "",
        "",
    ),
]
FIXED = [
    ROWS[0],
    (*ROWS[1][:2], "zoe@alpha.example", *ROWS[1][3:]),
    (*ROWS[2][:3], "clinician", *ROWS[2][4:]),
]


def upload(page, follow, data: bytes) -> None:
    page.get_by_label("Roster file (CSV or XLSX)").set_input_files(
        {"name": "roster.csv", "mimeType": "text/csv", "buffer": data}
    )
    follow(page, page.get_by_role("button", name="Upload and preview"))
    # The work runs after the answer: the page polls its progress and reloads when the preview is ready.
    page.get_by_role("heading", name=re.compile("^(Preview|Problems)")).first.wait_for(timeout=20_000)


# Committed for real: the import runs after the response in the server's thread while the page polls
# from another, each with a connection of its own.
@pytest.mark.committed
@pytest.mark.parametrize("size", ["phone_page", "page"])
def test_hr_imports_a_roster_with_errors_fixes_it_applies_it_and_sees_coverage_move(
    request, size, live_server, visit, sign_in, follow, check_a11y, ward
):
    page = request.getfixturevalue(size)
    slug = ward.org.slug
    overdue = f"/o/{slug}/coverage/people?unit={ward.unit.id}&level=awareness&status=overdue"
    visit(page, "/sign-in")
    sign_in(page, "rita@alpha.example", PASSWORD)
    visit(page, overdue)
    assert "Ben Okafor" in page.get_by_role("main").inner_text()

    visit(page, f"/o/{slug}/admin/roster")
    upload(page, follow, csv_bytes(ROWS))
    check_a11y(page)
    problems = page.get_by_role("table", name="Each problem by row and column of the file").inner_text()
    assert re.search(r"3\s+email", problems) and re.search(r"4\s+job code", problems)
    assert page.get_by_role("button", name="Apply the file").count() == 0

    follow(page, page.get_by_role("link", name="Upload another file"))
    upload(page, follow, csv_bytes(FIXED))
    check_a11y(page)
    assert "1 to deactivate" in page.get_by_role("main").inner_text()
    moves = page.get_by_role("table", name=re.compile("Each unit")).inner_text()
    assert "Ward 4B" in moves
    follow(page, page.get_by_role("button", name="Apply the file"))
    page.get_by_text("The roster is applied").wait_for(timeout=30_000)
    check_a11y(page)

    visit(page, overdue)
    assert "Ben Okafor" not in page.get_by_role("main").inner_text(), "a leaver leaves the overdue list"
    visit(page, f"/o/{slug}/coverage/people?unit={ward.unit.id}&level=awareness&status=needed")
    needed = page.get_by_role("main").inner_text()
    assert "Zoë Ødegård" in needed and "Nguyễn Thị Lan" in needed
