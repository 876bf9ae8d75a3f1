"""A leader logs a gemba walk on a phone with the connection cut midway: the walk is kept on the phone,
sent once when the connection returns; the follow-up's owner closes it; an overdue one escalates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import PASSWORD
from sqlalchemy import func, select

from curricula.stakeholders import StakeholderRole
from lms.models import FollowUp, FollowUpStatus, GembaWalk
from lms.services import follow_ups

pytestmark = pytest.mark.browser


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def test_a_walk_logged_offline_is_sent_once_when_the_connection_returns_and_its_owner_closes_it(
    phone_page, visit, sign_in, menu, follow, check_a11y, db, make, tree
):
    make.person(tree, StakeholderRole.UNIT_LEADER, email="uma@alpha.test", name="Uma Leader")
    make.person(tree, StakeholderRole.CLINICIAN, email="nia@alpha.test", name="Nia Nurse")
    page = phone_page
    visit(page, "/sign-in")
    sign_in(page, "uma@alpha.test", PASSWORD)

    follow(page, menu(page).get_by_role("link", name="Gemba"))
    page.get_by_label("Unit you are walking").select_option(
        label="Alpha Health > General Hospital > Medicine > Ward 4B"
    )
    page.get_by_label("Questions").select_option(label="Leader presence at the point of care")
    follow(page, page.get_by_role("button", name="Start the walk"))
    assert page.get_by_role("heading", level=1).inner_text() == "Walk on Ward 4B"

    first_answer = page.get_by_role("group", name="1. What is the team aiming to achieve today?")
    first_answer.get_by_label("Your answer").fill("Zero falls on nights")
    page.get_by_label("What did you see?").fill("Bed alarm in bay 3 silent")
    page.get_by_label("The next step you expect (optional)").fill("Alarms tested at every handover")
    page.get_by_label("What will be done").fill("Fix the bed alarm in bay 3")
    page.get_by_label("Owner").select_option(label="Nia Nurse")
    due = follow_ups.local_today(tree.org) + timedelta(days=2)
    page.get_by_label("Due").fill(due.isoformat())

    page.context.set_offline(True)  # the lift between floors
    page.get_by_role("button", name="Save the walk").click()
    status = page.get_by_role("status").filter(has_text="No connection")
    status.wait_for()
    assert "will be sent when the connection returns" in status.inner_text()
    assert count(db, GembaWalk) == 0
    kept = (
        "() => JSON.parse(localStorage.getItem("
        "Object.keys(localStorage).find(k => k.startsWith('lms.gemba'))))"
    )
    assert page.evaluate(kept)["expected_next"] == "Alarms tested at every handover"
    check_a11y(page)

    with page.expect_navigation(url="**/gemba/walks/*"):
        page.context.set_offline(False)
    check_a11y(page)
    assert page.get_by_text("Fix the bed alarm in bay 3").is_visible()
    assert page.get_by_text("Alarms tested at every handover").is_visible()
    assert count(db, GembaWalk) == 1 and count(db, FollowUp) == 1
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('lms.gemba')).length") == 0

    # The owner signs in on the same phone and closes it from her board.
    follow(page, menu(page).get_by_role("button", name="Sign out"))
    sign_in(page, "nia@alpha.test", PASSWORD)
    follow(page, menu(page).get_by_role("link", name="Follow-ups"))
    follow(page, page.get_by_role("link", name="Fix the bed alarm in bay 3").first)
    page.get_by_label("What was done").fill("New alarm fitted")
    follow(page, page.get_by_role("button", name="Close the follow-up"))
    assert page.get_by_text("New alarm fitted").first.is_visible()
    db.expire_all()
    assert db.scalar(select(FollowUp.status)) is FollowUpStatus.CLOSED


def test_an_overdue_follow_up_reaches_the_department_leaders_board(
    phone_page, visit, sign_in, menu, follow, db, make, tree
):
    from gemba_factory import follow_up

    from lms.services import escalation

    raiser = make.person(tree, StakeholderRole.UNIT_LEADER, email="uma@alpha.test", name="Uma Leader")
    nurse = make.person(tree, StakeholderRole.CLINICIAN, email="nia@alpha.test", name="Nia Nurse")
    make.person(
        tree,
        StakeholderRole.DEPARTMENTAL_LEADER,
        email="dev@alpha.test",
        name="Dev Director",
        unit=tree.department,
    )
    late = follow_ups.local_today(tree.org) - timedelta(days=4)
    follow_up(db, raiser, nurse, tree.unit.id, late)
    assert escalation.escalate_overdue(db) == 1
    db.commit()

    page = phone_page
    visit(page, "/sign-in")
    sign_in(page, "dev@alpha.test", PASSWORD)
    follow(page, menu(page).get_by_role("link", name="Follow-ups"))
    escalated = page.get_by_role("region", name="Escalated to me")
    assert "Overdue" in escalated.inner_text() and "Escalated to department" in escalated.inner_text()
    follow(page, escalated.get_by_role("link", name="Restock the crash cart"))
    history = page.get_by_role("region", name="History").inner_text()
    assert (
        "Escalated by the platform (overdue). Moved from the unit to the department level, to Dev Director."
        in history
    )
