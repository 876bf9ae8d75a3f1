"""The profile and two-step sign-in in a real browser, on a phone, passing the accessibility checks."""

from __future__ import annotations

import pyotp
import pytest
from conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_a_person_turns_on_two_step_sign_in_on_a_phone_and_signs_in_with_it(
    phone_page, visit, sign_in, menu, submit, follow, make, tree
):
    make.person(tree, email="ada@alpha.test", name="Ada Okafor")
    visit(phone_page, "/sign-in")
    sign_in(phone_page, "ada@alpha.test", PASSWORD)

    follow(phone_page, menu(phone_page).get_by_role("link", name="Profile"))
    assert phone_page.get_by_role("heading", level=1).inner_text() == "Your profile"
    follow(phone_page, phone_page.get_by_role("link", name="Turn on two-step sign-in"))
    assert phone_page.locator(".qr svg").is_visible(), "the QR code shows"
    secret = phone_page.locator("code.secret").inner_text()
    phone_page.get_by_label("The 6-digit code your app shows").fill(pyotp.TOTP(secret).now())
    phone_page.get_by_label("Your current password").fill(PASSWORD)
    submit(phone_page, phone_page.get_by_label("Your current password"))
    assert phone_page.get_by_role("heading", level=1).inner_text() == "Two-step sign-in is on"
    codes = phone_page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10

    follow(phone_page, menu(phone_page).get_by_role("button", name="Sign out"))
    sign_in(phone_page, "ada@alpha.test", PASSWORD)
    assert phone_page.get_by_role("heading", level=1).inner_text() == "Two-step sign-in"
    phone_page.get_by_label("Code").fill(codes[0])
    submit(phone_page, phone_page.get_by_label("Code"))
    assert phone_page.get_by_role("heading", level=1).inner_text() == "Welcome, Ada Okafor"


def test_the_profile_lists_sessions_and_makes_a_token_on_a_desktop(page, visit, sign_in, submit, make, tree):
    make.person(tree, email="ada@alpha.test", name="Ada Okafor")
    visit(page, "/sign-in")
    sign_in(page, "ada@alpha.test", PASSWORD)
    visit(page, "/profile")
    assert page.get_by_text("This browser").is_visible()
    page.get_by_label("What is it for?").fill("Ward dashboard")
    submit(page, page.get_by_label("What is it for?"))
    assert page.locator("code.secret").inner_text().startswith("lms_")
    assert page.get_by_role("cell", name="Ward dashboard", exact=True).is_visible()


def test_a_refused_token_on_a_phone_is_summarised_at_the_top_in_view_and_focused(
    phone_page, visit, sign_in, menu, follow, make, tree
):
    make.person(tree, email="ada@alpha.test", name="Ada Okafor")
    visit(phone_page, "/sign-in")
    sign_in(phone_page, "ada@alpha.test", PASSWORD)
    follow(phone_page, menu(phone_page).get_by_role("link", name="Profile"))
    phone_page.get_by_label("What is it for?").fill("Ward dashboard")
    phone_page.get_by_label("Days until it expires").fill("9999")
    follow(phone_page, phone_page.get_by_role("button", name="Create the token"))

    # The form is far down the page; the answer opens at the summary, which has the focus.
    summary = phone_page.locator(".error-summary")
    in_view = """(el) => { const r = el.getBoundingClientRect();
      return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"""
    assert summary.evaluate(in_view)
    assert summary.evaluate("(el) => document.activeElement === el")
    link = summary.get_by_role("link", name="Days until it expires: Choose 1 to 366 days.")
    link.click()
    days = phone_page.get_by_label("Days until it expires")
    assert days.evaluate(in_view) and days.input_value() == "9999"
    assert phone_page.get_by_label("What is it for?").input_value() == "Ward dashboard"
