"""Forms' CSRF tokens: reused within a minute for the same browser session, never across sessions."""

from __future__ import annotations

import time

import pytest
from conftest import csrf_token
from itsdangerous import TimestampSigner

from lms.web import form_tokens


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The seconds CSRF tokens are signed at (they carry them), moved on by the test."""
    now = [int(time.time())]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: now[0])
    return now


def test_the_same_session_gets_the_same_token_within_a_minute_and_it_still_signs_out(
    login_as, learner, clock
):
    browser = login_as(learner)
    first = csrf_token(browser, "/")
    clock[0] += 5  # signed again, the token would carry a later time
    assert csrf_token(browser, "/learning") == first
    answer = browser.post("/sign-out", data={"csrf_token": first})
    assert answer.status_code == 302
    assert browser.get("/learning").status_code == 302  # signed out: sent to sign in


def test_another_session_never_gets_this_sessions_token(login_as, learner, make, tree):
    mine = csrf_token(login_as(learner), "/")
    other = make.person(tree)
    theirs = csrf_token(login_as(other), "/")
    assert theirs != mine


def test_after_the_minute_a_new_token_is_signed_and_the_older_one_still_works(
    login_as, learner, monkeypatch, clock
):
    browser = login_as(learner)
    first = csrf_token(browser, "/")
    monkeypatch.setattr(form_tokens, "REUSE_S", 0.0)
    clock[0] += 61
    second = csrf_token(browser, "/")
    assert second != first
    assert browser.post("/sign-out", data={"csrf_token": "x" + first}).status_code == 400
    assert browser.post("/sign-out", data={"csrf_token": first}).status_code == 302  # a form left open
