"""Every refused form says what to fix at the top of the page (issue 10): the error summary in base.html,
each message a link to its field, focused when the page loads, with what was typed still in the form.

The admin, operator and Dosing pages are checked in their own files; these are the profile, sign-in and
learning forms."""

from __future__ import annotations

import re
from html import unescape

import pytest
from conftest import csrf_token
from sqlalchemy import func, select

from lms.models import Reflection

NO_MATCH = "That email and password do not match an account."


def summary_of(resp) -> str:
    """The error summary's markup, which must come before the page's own heading."""
    html = resp.get_data(as_text=True)
    assert '<div class="error-summary"' in html, "no error summary on the page"
    start = html.index('<div class="error-summary"')
    assert start < html.index("<h1")
    summary = html[start : html.index("</div>", start)]
    assert 'role="alert" tabindex="-1" autofocus' in summary
    return unescape(summary)


def has_field(html: str, field_id: str, value: str) -> bool:
    """The field with that id holds that value (an input's value, or a textarea's text)."""
    tag = re.search(rf'<(input|textarea)[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert tag, f"no field {field_id}"
    if tag.group(1) == "textarea":
        return html[tag.end() :].startswith(value + "</textarea>")
    return f'value="{value}"' in tag.group(0)


# --- the profile ----------------------------------------------------------------------------------


@pytest.fixture
def nurse(make, tree):
    return make.person(tree, email="nia@alpha.example", name="Nia Nurse")


def post_profile(client, path: str, data: dict[str, str]):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/profile")})


def test_a_refused_name_is_summarised_at_the_top_of_the_profile(nurse, login_as, db):
    client = login_as(nurse)
    resp = post_profile(client, "/profile/name", {"name": "   "})
    assert resp.status_code == 400
    assert re.search(r'<a href="#name">Your name: [^<]+</a>', summary_of(resp))
    db.refresh(nurse.user)
    assert nurse.user.name == "Nia Nurse"


def test_a_refused_email_change_is_summarised_and_keeps_the_new_address(nurse, make, tree, login_as):
    make.person(tree, email="taken@alpha.example")
    client = login_as(nurse)
    resp = post_profile(
        client, "/profile/email", {"change-email": "taken@alpha.example", "change-password": "not it"}
    )
    assert resp.status_code == 400
    summary = summary_of(resp)
    assert '<a href="#change-email">New email: Another account uses this address' in summary
    assert '<a href="#change-password">Your current password: ' in summary
    assert has_field(resp.get_data(as_text=True), "change-email", "taken@alpha.example")


def test_a_refused_token_is_summarised_and_keeps_its_name(nurse, login_as):
    client = login_as(nurse)
    resp = post_profile(client, "/profile/tokens", {"token-name": "Reports", "token-days": "9999"})
    assert resp.status_code == 400
    assert '<a href="#token-days">Days until it expires: Choose 1 to 366 days.</a>' in summary_of(resp)
    assert has_field(resp.get_data(as_text=True), "token-name", "Reports")


def test_a_wrong_password_to_turn_on_two_step_sign_in_is_summarised(nurse, login_as):
    client = login_as(nurse)
    token = csrf_token(client, "/profile/second-factor")
    resp = client.post(
        "/profile/second-factor", data={"code": "123456", "password": "not it", "csrf_token": token}
    )
    assert resp.status_code == 400
    summary = summary_of(resp)
    assert '<a href="#password">Your current password: ' in summary
    assert has_field(resp.get_data(as_text=True), "code", "123456")


# --- signing in -----------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["nia@alpha.example", "nobody@alpha.example"])
def test_a_refused_sign_in_is_summarised_with_the_same_vague_message(client, nurse, email):
    token = csrf_token(client, "/sign-in")
    resp = client.post("/sign-in", data={"email": email, "password": "not it", "csrf_token": token})
    assert resp.status_code == 400
    summary = summary_of(resp)
    # Known and unknown addresses get the very same summary: it tells nobody whether an account exists.
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", summary)).strip() == f"There is a problem {NO_MATCH}"
    html = resp.get_data(as_text=True)
    assert has_field(html, "email", email)
    assert "not it" not in html, "a password is never echoed back"


def test_a_sign_in_without_a_password_links_to_the_password_field(client, nurse):
    token = csrf_token(client, "/sign-in")
    resp = client.post("/sign-in", data={"email": "nia@alpha.example", "password": "", "csrf_token": token})
    assert resp.status_code == 400
    assert '<a href="#password">Password: Enter your password.</a>' in summary_of(resp)
    assert has_field(resp.get_data(as_text=True), "email", "nia@alpha.example")


def test_a_refused_reset_request_is_summarised_and_keeps_the_address(client):
    token = csrf_token(client, "/reset")
    resp = client.post("/reset", data={"email": "not an address", "csrf_token": token})
    assert resp.status_code == 400
    assert '<a href="#email">Email: Enter an email address like name@hospital.org.</a>' in summary_of(resp)
    assert has_field(resp.get_data(as_text=True), "email", "not an address")


# --- the module page ------------------------------------------------------------------------------

CHECKS = [
    (
        "aim",
        "Which question sets the aim?",
        [("Who is to blame?", False), ("What are we trying to accomplish?", True)],
        "The aim says what and by when.",
    ),
    ("measures", "Which are kinds of measure?", [("Outcome", True), ("Rumour", False)], "Outcomes."),
]
MODULE = "/modules/model-for-improvement"


@pytest.fixture
def mfi(lib):
    return lib.module("model-for-improvement", title="The Model for Improvement", checks=CHECKS, minutes=15)


def test_a_refused_answer_is_summarised_with_a_link_to_its_first_option(mfi, learner, login_as):
    client = login_as(learner)
    token = csrf_token(client, MODULE)
    resp = client.post(f"{MODULE}/checks/measures", data={"csrf_token": token, "chosen": ["7"]})
    assert resp.status_code == 400
    summary = summary_of(resp)
    assert re.search(r'<a href="#check-measures-option-0">Knowledge check 2 of 2: [^<]+</a>', summary)
    assert 'id="check-measures-option-0"' in resp.get_data(as_text=True)


def test_a_refused_reflection_is_summarised_and_keeps_the_text(db, mfi, learner, login_as):
    client = login_as(learner)
    typed = "I learnt " + "a lot " * 2000
    token = csrf_token(client, MODULE)
    resp = client.post(f"{MODULE}/reflections/what-matters", data={"csrf_token": token, "text": typed})
    assert resp.status_code == 400
    assert (
        '<a href="#reflection-what-matters-text">Your reflection: Keep your reflection to 10,000 characters'
        in summary_of(resp)
    )
    assert has_field(resp.get_data(as_text=True), "reflection-what-matters-text", typed)
    assert db.scalar(select(func.count()).select_from(Reflection)) == 0
    # The module page is kept rendered: the summary is the refused answer's alone, not the kept page's.
    again = client.get(MODULE).get_data(as_text=True)
    assert "error-summary" not in again and typed not in again
