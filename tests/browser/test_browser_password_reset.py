"""Resetting a forgotten password in a real browser: ask, open the emailed link, choose, sign in."""

from __future__ import annotations

import re
import time

import pytest
from conftest import PASSWORD
from sqlalchemy import select

from lms.models import OutboxMessage

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a new sentence to remember"
EMAIL_WAIT_S = 5  # a bound, not a performance claim


def emailed_reset_path(db, email: str) -> str:
    """The path of the reset link in the email waiting in the outbox for this address.

    The email is queued just after the answer has been sent (lms.web.after_response), so the page may
    show before it is there: wait a moment for it."""
    deadline = time.monotonic() + EMAIL_WAIT_S
    while True:
        bodies = db.scalars(select(OutboxMessage.body_text).where(OutboxMessage.to_addr == email)).all()
        if bodies or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(bodies) == 1, f"expected one email to {email}, found {len(bodies)}"
    match = re.search(r"https?://[^/\s]+(/reset/\S+)", bodies[0])
    assert match, f"no reset link in:\n{bodies[0]}"
    return match.group(1)


def test_a_person_resets_a_forgotten_password_and_signs_in_with_the_new_one(
    phone_page, visit, submit, follow, sign_in, make, tree, db
):
    page = phone_page
    make.person(tree, email="ben@alpha.test", name="Ben Adeyemi")
    visit(page, "/sign-in")
    follow(page, page.get_by_role("link", name="Forgot your password?"))

    page.get_by_label("Email", exact=True).fill("ben@alpha.test")
    submit(page, page.get_by_label("Email", exact=True))
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"

    link = emailed_reset_path(db, "ben@alpha.test")
    visit(page, link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Type the new password again").fill(NEW_PASSWORD)
    submit(page, page.get_by_label("Type the new password again"))

    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
    assert "Your password has been changed." in page.get_by_role("status").inner_text()

    sign_in(page, "ben@alpha.test", PASSWORD)
    assert "That email and password do not match an account." in page.get_by_role("alert").inner_text()

    sign_in(page, "ben@alpha.test", NEW_PASSWORD)
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Ben Adeyemi"


def test_a_used_reset_link_says_so_and_offers_a_new_one(page, visit, submit, make, tree, db):
    make.person(tree, email="ben@alpha.test", name="Ben Adeyemi")
    visit(page, "/reset")
    page.get_by_label("Email", exact=True).fill("ben@alpha.test")
    submit(page, page.get_by_label("Email", exact=True))
    link = emailed_reset_path(db, "ben@alpha.test")
    visit(page, link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Type the new password again").fill(NEW_PASSWORD)
    submit(page, page.get_by_label("Type the new password again"))

    visit(page, link, status=400)

    assert page.get_by_role("heading", level=1).inner_text() == "This link cannot be used"
    assert "already been used" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("link", name="Ask for a new reset link").is_visible()


def test_asking_for_a_reset_of_an_unknown_email_looks_the_same_and_sends_nothing(
    page, visit, submit, make, tree, db
):
    make.person(tree, email="ben@alpha.test")
    visit(page, "/reset")
    page.get_by_label("Email", exact=True).fill("nobody@alpha.test")
    submit(page, page.get_by_label("Email", exact=True))

    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"
    assert db.scalars(select(OutboxMessage)).all() == []
