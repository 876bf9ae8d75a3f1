"""On a phone, a long journal and a long follow-up board are read a page at a time: the pager's links are
reached from the keyboard, and every page (kept or rendered anew) passes axe-core at 360 px."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import PASSWORD
from gemba_factory import actor, leaders_of

from lms.services import follow_ups, journal

pytestmark = pytest.mark.browser


def test_a_long_journal_and_board_are_read_a_page_at_a_time(db, make, tree, phone_page, visit, sign_in):
    people = leaders_of(make, tree)
    nia = people.nurse
    for n in range(60):
        journal.write_entry(db, actor(nia), title=f"Shift note {n + 1}", body="calm")
        follow_ups.raise_follow_up(
            db,
            actor(people.unit),
            follow_ups.NewFollowUp(
                f"Promise {n + 1}", nia.id, follow_ups.local_today(tree.org) + timedelta(days=1 + n)
            ),
        )
    db.commit()
    page = phone_page
    visit(page, "/sign-in")
    sign_in(page, nia.user.email, PASSWORD)

    visit(page, "/journal")
    older = page.get_by_role("navigation", name="Pages of your journal").get_by_role(
        "link", name="Older entries"
    )
    older.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/journal?page=2")
    main = page.get_by_role("main").inner_text()
    assert "page 2 of 2" in main and "Shift note 10" in main and "Shift note 11" not in main
    visit(page, "/journal?page=2")  # kept now: the same page, checked again
    visit(page, "/journal?page=5")

    visit(page, "/follow-ups")
    assert "Mine (60 open)" in page.get_by_role("navigation", name="Sections of the board").inner_text()
    page.get_by_role("link", name="All 60 of Mine").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    visit(page, page.url)
    pager = page.get_by_role("navigation", name="Pages of Mine")
    with page.expect_navigation():
        pager.get_by_role("link", name="Next page").click()
    assert "page 2 of 2" in page.get_by_role("main").inner_text()
    visit(page, "/follow-ups?section=mine&page=2")
