"""The roster import: a preview of what a CSV or XLSX file would do (with every problem by row and column,
and how coverage would move), then all-or-nothing applying; re-importing changes nothing; a leaver is
deactivated with their history kept; every change audited; dose assignment follows at once."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from roster_factory import csv_bytes, held, publish, xlsx_bytes
from sqlalchemy import func, select

from curricula.stakeholders import StakeholderRole
from lms.db import utcnow
from lms.models import AuditEvent, Invitation, Membership, Progress, ProgressStatus, User
from lms.services import Forbidden, job_codes, roster
from lms.services.access import Actor
from lms.services.tables import ImportProblems


@pytest.fixture
def library(db):
    return publish(db)


@pytest.fixture
def hr(make, tree, db) -> Actor:
    tree.unit.code, tree.department.code = "4B", "MED"
    db.commit()
    m = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True, email="hr@alpha.example")
    return Actor(m.user, m)


ROWS = [
    ("E1", "Ana Souza", "ana@alpha.example", "clinician", "4B", "2025-01-06", "active"),
    ("E2", "Zoë Ødegård", "zoe@alpha.example", "EXEC", "General Hospital > Medicine", "", ""),
]


def audit_count(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent))


def member(db, email: str) -> Membership:
    db.expire_all()
    return db.scalar(select(Membership).join(User).where(User.email == email))


def test_the_preview_says_what_would_change_and_how_coverage_would_move_changing_nothing(
    db, hr, tree, library
):
    job_codes.add(db, hr, "EXEC", "executive")
    db.commit()
    before = audit_count(db)
    preview = roster.preview(db, hr, csv_bytes(ROWS))
    assert (preview.counts["add"], preview.problem_count) == (2, 0), preview.problem_lines()
    ward = [
        m
        for m in preview.coverage
        if m.unit == "Ward 4B" and m.role == "clinician" and m.level == "awareness"
    ]
    assert ward and ward[0].before[0] == 0 and ward[0].after[0] == 1, "one more clinician needs awareness"
    whole = {(m.role, m.level) for m in preview.coverage if m.unit == "Whole organisation"}
    assert ("executive", "sponsor") in whole
    db.rollback()
    assert member(db, "ana@alpha.example") is None and audit_count(db) == before


def test_applying_adds_people_with_the_role_of_their_job_code_and_their_assignments(db, hr, tree, library):
    job_codes.add(db, hr, "exec", "executive")
    done = roster.apply(db, hr, csv_bytes(ROWS))
    db.commit()
    assert done.counts["add"] == 2
    ana, zoe = member(db, "ana@alpha.example"), member(db, "zoe@alpha.example")
    assert (ana.stakeholder_role, ana.unit_id, ana.employee_id) == (
        StakeholderRole.CLINICIAN,
        tree.unit.id,
        "E1",
    )
    assert zoe.user.name == "Zoë Ødegård" and zoe.unit_id == tree.department.id
    assert zoe.stakeholder_role is StakeholderRole.EXECUTIVE
    assert held(db, ana) == {"model-for-improvement", "what-matters", "pdsa", "run-charts"}
    assert "sponsoring-a-portfolio" in held(db, zoe)
    actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.action.like("%.%"))))
    assert actions.count("person.added") == 2 and "roster.imported" in actions
    added = db.scalar(
        select(AuditEvent).where(AuditEvent.target_id == ana.id, AuditEvent.action == "person.added")
    )
    assert added.changes["start_date"] == "2025-01-06"


def test_importing_the_same_file_again_changes_nothing(db, hr, library):
    roster.apply(db, hr, csv_bytes(ROWS[:1]))
    db.commit()
    before = audit_count(db)
    again = roster.apply(db, hr, csv_bytes(ROWS[:1]))
    db.commit()
    assert again.counts["unchanged"] == 1 and again.changed == 0
    assert audit_count(db) == before


def test_every_problem_is_reported_by_row_and_column_and_nothing_is_applied(db, hr, make, tree):
    rows = [
        ("E1", "Ana", "", "clinician", "4B", "", ""),
        ("E2", "Ben", "not-an-email", "clinician", "4B", "", ""),
        ("E3", "Cy", "cy@alpha.example", "clinician", "Ward 9Z", "", ""),
        ("E4", "Di", "di@alpha.example", "SURGEON-7", "4B", "", ""),
        ("E4", "Ed", "ed@alpha.example", "clinician", "4B", "", ""),
        ("E6", "Flo", "di@alpha.example", "clinician", "4B", "", ""),
        ("E7", "Gus", "gus@alpha.example", "clinician", "4B", "31/02/2025", ""),
        ("E8", "Hal", "hal@alpha.example", "clinician", "4B", "", "on leave"),
    ]
    preview = roster.preview(db, hr, csv_bytes(rows))
    where = {(n, column) for n, column, _ in preview.problems}
    assert where == {
        (2, "email"),
        (3, "email"),
        (4, "unit"),
        (5, "job code"),
        (6, "employee id"),
        (7, "email"),
        (8, "start date"),
        (9, "status"),
    }
    text = "\n".join(preview.problem_lines())
    assert "row 5, column job code: no stakeholder role is mapped to the job code 'SURGEON-7'" in text
    assert "row 6, column employee id: the employee id E4 is on row 5 too." in text
    assert "row 4, column unit: no active unit has the code or path 'Ward 9Z'." in text
    assert preview.coverage == []
    before = audit_count(db)
    with pytest.raises(ImportProblems) as refused:
        roster.apply(db, hr, csv_bytes(rows))
    assert len(refused.value.problems) == 8
    db.rollback()
    assert member(db, "cy@alpha.example") is None and audit_count(db) == before


def test_a_leaver_is_deactivated_with_history_kept_and_someone_left_out_is_left_alone(
    db, hr, make, tree, library
):
    ivo = ("E9", "Ivo", "ivo@alpha.example", "clinician", "4B", "", "")
    roster.apply(db, hr, csv_bytes([*ROWS[:1], ivo]))
    db.commit()
    ana = member(db, "ana@alpha.example")
    pdsa = library["pdsa"]
    db.add(
        Progress(
            user_id=ana.user_id,
            module_id=pdsa.id,
            status=ProgressStatus.COMPLETED,
            completed_at=utcnow(),
            completed_hash=pdsa.content_hash,
        )
    )
    db.commit()
    leaving = [("E1", "Ana Souza", "ana@alpha.example", "clinician", "4B", "", "Left")]
    done = roster.apply(db, hr, csv_bytes(leaving))
    db.commit()
    assert done.counts["deactivate"] == 1
    ana = member(db, "ana@alpha.example")
    assert ana.active is False and ana.deactivated_at is not None
    assert held(db, ana) == {"pdsa"}, "open assignments cancelled, completed learning kept"
    assert member(db, "ivo@alpha.example").active, "only an explicit status deactivates"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "person.deactivated")).target_id == ana.id
    back = roster.apply(db, hr, csv_bytes(ROWS[:1]))
    db.commit()
    assert back.counts["reactivate"] == 1 and member(db, "ana@alpha.example").active


def test_a_changed_job_code_changes_the_role_and_a_unit_may_be_named_by_its_path(db, hr, make, tree, library):
    roster.apply(db, hr, csv_bytes(ROWS[:1]))
    db.commit()
    moved = [
        (
            "E1",
            "Ana Souza",
            "ana@alpha.example",
            "unit-leader",
            "alpha health / general hospital / medicine",
            "",
            "",
        )
    ]
    preview = roster.preview(db, hr, csv_bytes(moved))
    assert preview.counts["change"] == 1
    assert preview.steps[0].changes["unit_id"] == [tree.unit.id, tree.department.id]
    roster.apply(db, hr, csv_bytes(moved))
    db.commit()
    ana = member(db, "ana@alpha.example")
    assert (ana.stakeholder_role, ana.unit_id) == (StakeholderRole.UNIT_LEADER, tree.department.id)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "person.role_changed"))
    assert event.changes["stakeholder_role"] == ["clinician", "unit-leader"]


def test_a_person_who_signed_in_keeps_their_own_name_which_is_noted(db, hr, make, tree):
    nurse = make.person(tree, email="nia@alpha.example", name="Nia Brown")
    nurse.job_code = "clinician"
    db.commit()
    rows = [(nurse.employee_id, "Nia Browne", "nia@alpha.example", "clinician", "4B", "", "")]
    preview = roster.preview(db, hr, csv_bytes(rows))
    assert preview.counts["unchanged"] == 1
    assert "their name stays 'Nia Brown'" in preview.notes[0]


def test_an_account_of_another_organisation_is_invited(db, hr, make, other_tree):
    make.person(other_tree, email="sam@beta.example")
    roster.apply(db, hr, csv_bytes([("E5", "Sam", "sam@beta.example", "clinician", "4B", "", "")]))
    db.commit()
    assert db.scalar(select(Invitation.email).where(Invitation.org_id == hr.org_id)) == "sam@beta.example"


def test_hr_cannot_deactivate_an_administrator_or_themself(db, hr, make, tree):
    admin = make.person(tree, org_admin=True, email="boss@alpha.example")
    rows = [
        (admin.employee_id, admin.user.name, "boss@alpha.example", "clinician", "4B", "", "left"),
        (hr.membership.employee_id, hr.user.name, "hr@alpha.example", "quality-staff", "4B", "", "left"),
    ]
    preview = roster.preview(db, hr, csv_bytes(rows))
    text = "\n".join(preview.problem_lines())
    assert "holds permissions you do not have" in text and "you cannot deactivate yourself" in text


def test_a_byte_order_mark_mixed_line_endings_and_stray_spaces_are_read(db, hr):
    header = "\ufeffEmployee_ID , Full Name,E-mail,Job Code,Unit Code,Hire Date,Status"
    lines = [
        header,
        "  E1 ,  Ana   Souza ,ANA@Alpha.example ,clinician, 4B ,2025-01-06,Active",
        'E2,"Nguyễn, Thị",thi@alpha.example,clinician,4B,,',
        "E3,Łukasz Żółw,lukasz@alpha.example,clinician,4b,,",
    ]
    data = (lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r" + lines[3] + "\n").encode("utf-8")
    preview = roster.preview(db, hr, data, with_coverage=False)
    assert preview.problem_count == 0, preview.problem_lines()
    names = {s.row.name: s.row for s in preview.steps}
    assert set(names) == {"Ana Souza", "Nguyễn, Thị", "Łukasz Żółw"}
    assert names["Ana Souza"].email == "ana@alpha.example" and names["Ana Souza"].employee_id == "E1"


def test_an_xlsx_file_with_excel_dates_and_numeric_employee_ids(db, hr):
    rows = [
        (100234, "Ana", "ana@alpha.example", "clinician", "4B", datetime(2025, 1, 6), "active"),
        (100235, "Ben", "ben@alpha.example", "clinician", "4B", 45663, "active"),
        (100236, "Cy", "cy@alpha.example", "clinician", "4B", "next week", "active"),
    ]
    preview = roster.preview(db, hr, xlsx_bytes(rows), with_coverage=False)
    assert [(n, c) for n, c, _ in preview.problems] == [(4, "start date")]
    by_id = {s.row.employee_id: s.row for s in preview.steps}
    assert by_id["100234"].start_date == date(2025, 1, 6)
    assert by_id["100235"].start_date == date(2025, 1, 6)


def test_a_file_without_the_needed_columns_says_which_are_missing(db, hr):
    with pytest.raises(ImportProblems) as refused:
        roster.preview(db, hr, b"id;name;mail\n1;A;a@b.test\n")
    assert "missing: employee id, name, email, job code, unit" in refused.value.problems[0]
    with pytest.raises(ImportProblems):
        roster.preview(db, hr, b"PK\x03\x04 not really a workbook")


def test_learners_cannot_import(db, make, tree):
    learner = make.person(tree)
    with pytest.raises(Forbidden):
        roster.preview(db, Actor(learner.user, learner), csv_bytes(ROWS))
