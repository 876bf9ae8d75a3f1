"""On a phone: the executive writes a journal entry (refused first, for its length), shares it with her
coach, the coach comments on it, and she reads the comment; every page checked by axe-core at 360 px."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import PASSWORD
from prompts_factory import schedule

from curricula.stakeholders import StakeholderRole
from lms.services import coaching, journal
from lms.services.access import Actor
from lms.services.prompt_delivery import deliver_due

pytestmark = pytest.mark.browser


@pytest.fixture
def pair(db, make, tree, lib):
    erin = make.person(tree, StakeholderRole.EXECUTIVE, email="erin@alpha.test", name="Erin Executive")
    cal = make.person(
        tree, StakeholderRole.QUALITY_STAFF, email="cal@alpha.test", name="Cal Coach", coach=True
    )
    admin = make.person(tree, name="Ada Admin", org_admin=True)
    coaching.create(db, Actor(admin.user, admin), coach_id=cal.id, coachee_id=erin.id)
    db.commit()
    return erin, cal


def test_an_entry_is_written_shared_and_commented_on_a_phone(
    pair, phone_page, visit, sign_in, follow, main_nav, browser, live_server
):
    page = phone_page
    visit(page, "/sign-in")
    sign_in(page, "erin@alpha.test", PASSWORD)
    follow(page, main_nav(page, "Journal"))
    follow(page, page.get_by_role("link", name="New entry"))
    page.get_by_label("Title (optional)").fill("Gemba on 5 East")
    body = page.get_by_label("Entry")
    body.evaluate("(el, text) => { el.removeAttribute('maxlength'); el.value = text; }", "x" * 20_001)
    follow(page, page.get_by_role("button", name="Save entry"))
    assert "Keep an entry to 20,000 characters" in page.locator("#body-error").inner_text()
    assert page.get_by_label("Title (optional)").input_value() == "Gemba on 5 East"
    page.get_by_label("Entry").fill("Three pumps out of service; **nobody knew whom to call**.")
    page.get_by_label("Practise systems thinking").check()
    follow(page, page.get_by_role("button", name="Save entry"))
    assert "nobody knew whom to call" in page.locator("article strong").inner_text()
    assert "Tags: Practise systems thinking" in page.get_by_role("article").inner_text()
    follow(page, page.get_by_role("button", name="Share with your coach, Cal Coach"))
    assert "Shared with your coach, Cal Coach" in page.get_by_role("main").inner_text()
    entry_url = page.url

    context = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 780})
    coach = context.new_page()
    coach.csp_violations = []
    try:
        visit(coach, "/sign-in")
        sign_in(coach, "cal@alpha.test", PASSWORD)
        follow(coach, coach.get_by_role("link", name="People you coach"))
        assert "Erin Executive" in coach.get_by_role("main").inner_text()
        follow(coach, coach.get_by_role("link", name="Gemba on 5 East"))
        coach.get_by_label("Your comment").fill("Who could they call next time?")
        follow(coach, coach.get_by_role("button", name="Post comment"))
        assert "Who could they call next time?" in coach.get_by_role("main").inner_text()
    finally:
        context.close()

    visit(page, entry_url.removeprefix(live_server))
    comments = page.get_by_role("region", name="Comments from your coach")
    assert "Who could they call next time?" in comments.inner_text()


def test_the_journal_and_coaching_pages_pass_the_checks_on_a_phone(
    pair, db, make, tree, phone_page, visit, sign_in
):
    erin, _coach = pair
    entry = journal.write_entry(
        db, Actor(erin.user, erin), title="Huddle", body="- one\n- two", tags=["build-will"]
    )
    db.commit()
    page = phone_page
    visit(page, "/sign-in")
    sign_in(page, "erin@alpha.test", PASSWORD)
    for path in (
        "/journal",
        "/journal?q=huddle&tags=build-will",
        "/journal?tags=astrology",
        f"/journal/entries/{entry.id}/edit",
        f"/journal/entries/{entry.id}/delete",
        "/journal/print",
        "/coaching",
    ):
        visit(page, path, 400 if "astrology" in path else 200)
    make.person(tree, name="Ann Admin", email="ann@alpha.test", org_admin=True)
    page.context.clear_cookies()
    visit(page, "/sign-in")
    sign_in(page, "ann@alpha.test", PASSWORD)
    visit(page, f"/o/alpha/admin/people/{erin.id}")
    assert "Coached by Cal Coach" in page.get_by_role("main").inner_text()


def test_an_answered_prompt_is_shared_and_the_coach_comments_on_it(
    pair, db, phone_page, visit, sign_in, follow, main_nav, browser, live_server
):
    """The issue's journey: a prompt due on her rhythm waits in her inbox (its count in the menu); her
    answer becomes a private journal entry; she shares it; her coach comments; she reads the comment."""
    erin, _cal = pair
    schedule(db, erin, now=datetime.now(UTC) - timedelta(days=1, hours=1))
    assert deliver_due(db) == 1
    db.commit()
    page = phone_page
    visit(page, "/sign-in")
    sign_in(page, "erin@alpha.test", PASSWORD)
    follow(page, main_nav(page, "Prompts 1 waiting"))
    follow(page, page.get_by_role("link", name="Answer").first)
    page.get_by_label("Your answer").fill("On 4 West I *expected* the huddle to run long; it ran short.")
    follow(page, page.get_by_role("button", name="Save my answer"))
    assert "Your answer is saved in your journal, private to you." in page.get_by_role("main").inner_text()
    follow(page, page.get_by_role("button", name="Share with your coach, Cal Coach"))
    entry_url = page.url

    context = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 780})
    coach = context.new_page()
    coach.csp_violations = []
    try:
        visit(coach, "/sign-in")
        sign_in(coach, "cal@alpha.test", PASSWORD)
        follow(coach, coach.get_by_role("link", name="People you coach"))
        entry_id = entry_url.rstrip("/").rsplit("/", 1)[-1]
        follow(coach, coach.locator(f'a[href$="/shared/entries/{entry_id}"]'))
        assert "it ran short" in coach.get_by_role("main").inner_text()
        coach.get_by_label("Your comment").fill("What made it short this time?")
        follow(coach, coach.get_by_role("button", name="Post comment"))
    finally:
        context.close()

    visit(page, entry_url.removeprefix(live_server))
    comments = page.get_by_role("region", name="Comments from your coach")
    assert "What made it short this time?" in comments.inner_text()
