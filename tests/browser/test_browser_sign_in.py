"""Signing in with a real browser, keyboard only, on pages that pass the accessibility checks."""

from __future__ import annotations

import pytest
from conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_page_fits_a_phone_and_passes_axe(phone_page, visit):
    visit(phone_page, "/sign-in")
    assert phone_page.get_by_role("heading", level=1).inner_text() == "Sign in"


def test_a_person_signs_in_with_the_keyboard_and_is_welcomed_by_name(
    phone_page, visit, sign_in, menu, make, tree
):
    make.person(tree, email="ada@alpha.test", name="Ada Okafor")
    visit(phone_page, "/sign-in")

    sign_in(phone_page, "ada@alpha.test", PASSWORD)

    assert phone_page.get_by_role("heading", level=1).inner_text() == "Welcome, Ada Okafor"
    assert menu(phone_page).get_by_role("button", name="Sign out").is_visible()


def test_a_wrong_password_shows_the_error_and_keeps_the_email(page, visit, sign_in, make, tree):
    make.person(tree, email="ada@alpha.test", name="Ada Okafor")
    visit(page, "/sign-in")

    sign_in(page, "ada@alpha.test", "not the password")

    assert "That email and password do not match an account." in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Email", exact=True).input_value() == "ada@alpha.test"
    assert page.get_by_label("Password", exact=True).input_value() == ""
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
