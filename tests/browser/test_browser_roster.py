"""The demo's HR account imports a roster in a real browser at 360 and 1280 px, axe-clean: a file with
errors shows every problem by row and column; the fixed file's preview shows how coverage would move;
applying it moves the coverage numbers and the overdue list (issue 12's "done when")."""

from __future__ import annotations

import re
from datetime import date

import pytest
from roster_factory import csv_bytes
from sqlalchemy import select

from curricula.corpus import load_corpus
from curricula.stakeholders import StakeholderRole
from lms.commands.content import DEFAULT_ROOT
from lms.demo import DEFAULT_PASSWORD, seed_demo
from lms.models import Assignment, Membership, OrgUnit, Progress
from lms.services.coverage_upkeep import org_today

pytestmark = pytest.mark.browser

UNIT = "Riverbend General Hospital > Medicine > 4 West"


@pytest.fixture
def demo(db):
    """The demo organisation as `lms demo` seeds it, 4 West, and a clinician who is behind (the leaver)."""
    org = seed_demo(db, corpus=load_corpus(DEFAULT_ROOT)).org
    db.commit()
    ward = db.scalar(select(OrgUnit).where(OrgUnit.org_id == org.id, OrgUnit.name == "4 West"))
    behind = db.scalars(
        select(Membership)
        .join(Assignment, Assignment.membership_id == Membership.id)
        .where(
            Membership.org_id == org.id,
            Membership.stakeholder_role == StakeholderRole.CLINICIAN,
            Assignment.level == "awareness",
            Assignment.cancelled_at.is_(None),
            Assignment.due_on < org_today(db, org.id),
            Membership.user_id.not_in(select(Progress.user_id)),
        )
        .order_by(Membership.id)
    ).first()
    assert behind is not None, "the demo has clinicians behind on awareness"
    return org, ward, behind


def rows(leaver: Membership, *, fixed: bool) -> list[tuple]:
    return [
        (
            leaver.employee_id,
            leaver.user.name,
            leaver.user.email,
            leaver.job_code,
            leaver.unit.name,
            "",
            "left",
        ),
        (
            "RB90001",
            "Zoë Ødegård",
            "zoe@demo.example" if fixed else "zoe@demo",
            "RN",
            UNIT,
            date(2026, 11, 2).isoformat(),
            "active",
        ),
        ("RB90002", "Nguyễn Thị Lan", "lan@demo.example", "RN" if fixed else "RN-TRAVEL", UNIT, "", ""),
    ]


def upload(page, follow, data: bytes) -> None:
    page.get_by_label("Roster file (CSV or XLSX)").set_input_files(
        {"name": "riverbend-roster.csv", "mimeType": "text/csv", "buffer": data}
    )
    follow(page, page.get_by_role("button", name="Upload and preview"))
    # The work runs after the answer: the page polls its progress and reloads when the preview is ready.
    page.get_by_role("heading", name=re.compile("^(Preview|Problems)")).first.wait_for(timeout=30_000)


# Committed for real: the import runs in a thread of its own while the page polls from another, each with
# a connection of its own.
@pytest.mark.committed
@pytest.mark.parametrize("size", ["phone_page", "page"])
def test_demo_hr_imports_a_roster_with_errors_fixes_it_applies_it_and_sees_coverage_move(
    request, size, live_server, visit, sign_in, follow, check_a11y, demo
):
    org, ward, leaver = demo
    page = request.getfixturevalue(size)
    in_ward = f"/o/{org.slug}/coverage/people?unit={ward.id}&level=awareness"
    visit(page, "/sign-in")
    sign_in(page, "hr@demo.example", DEFAULT_PASSWORD)
    overdue = f"/o/{org.slug}/coverage/people?unit={leaver.unit_id}&level=awareness&status=overdue"
    visit(page, overdue)
    assert leaver.user.name in page.get_by_role("main").inner_text()

    visit(page, f"/o/{org.slug}/admin/roster")
    upload(page, follow, csv_bytes(rows(leaver, fixed=False)))
    check_a11y(page)
    problems = page.get_by_role("table", name="Each problem by row and column of the file").inner_text()
    assert re.search(r"3\s+email", problems) and re.search(r"4\s+job code", problems)
    assert "RN-TRAVEL" in problems
    assert page.get_by_role("button", name="Apply the file").count() == 0

    follow(page, page.get_by_role("link", name="Upload another file"))
    upload(page, follow, csv_bytes(rows(leaver, fixed=True)))
    check_a11y(page)
    preview = page.get_by_role("main").inner_text()
    assert "1 to deactivate" in preview and "2 to add" in preview
    moves = page.get_by_role("table", name=re.compile("Each unit")).inner_text()
    assert "4 West" in moves
    follow(page, page.get_by_role("button", name="Apply the file"))
    page.get_by_text("The roster is applied").wait_for(timeout=60_000)
    check_a11y(page)

    visit(page, overdue)
    assert leaver.user.name not in page.get_by_role("main").inner_text(), "a leaver leaves the overdue list"
    visit(page, f"{in_ward}&status=needed")
    needed = page.get_by_role("main").inner_text()
    assert "Zoë Ødegård" in needed and "Nguyễn Thị Lan" in needed
