"""Signing in and out: one message for any wrong credentials, a pause after repeated failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import PASSWORD, csrf_token
from sqlalchemy import func, select

from lms.db import utcnow
from lms.models import LoginAttempt, User
from lms.security import hash_password

NO_MATCH = "That email and password do not match an account."


def sign_in(client, email, password, path="/sign-in"):
    token = csrf_token(client, "/sign-in")
    return client.post(path, data={"email": email, "password": password, "csrf_token": token})


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


@pytest.fixture
def nurse(make, tree):
    return make.person(tree, email="nurse@alpha.test", name="Nora Nurse")


def test_sign_in_lands_on_home(client, nurse, db):
    resp = sign_in(client, "  Nurse@Alpha.test ", PASSWORD)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Welcome, Nora Nurse" in home
    db.refresh(nurse.user)
    assert nurse.user.last_login_at is not None


def test_sign_in_page_links_to_password_reset(client):
    html = client.get("/sign-in").get_data(as_text=True)
    assert "<h1>Sign in</h1>" in html
    assert 'href="/reset"' in html and "Forgot your password?" in html
    assert 'autocomplete="current-password"' in html


@pytest.mark.parametrize("email", ["nurse@alpha.test", "nobody@alpha.test"])
def test_wrong_password_and_unknown_email_look_the_same(client, nurse, email):
    resp = sign_in(client, email, "not the password")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert NO_MATCH in html
    assert f'value="{email}"' in html, "the email field keeps what was typed"
    assert "not the password" not in html, "a password is never echoed back"
    assert not signed_in(client)


def test_missing_csrf_token_is_refused(client, nurse):
    resp = client.post("/sign-in", data={"email": "nurse@alpha.test", "password": PASSWORD})
    assert resp.status_code == 400
    assert "Reload the page and try again" in resp.get_data(as_text=True)
    assert not signed_in(client)


def test_sixth_attempt_is_paused_even_with_the_right_password_until_the_window_passes(client, nurse, db):
    for _ in range(5):
        assert sign_in(client, "nurse@alpha.test", "guess again").status_code == 400

    resp = sign_in(client, "nurse@alpha.test", PASSWORD)
    assert resp.status_code == 429
    assert "Too many sign-in attempts. Try again in 15 minutes." in resp.get_data(as_text=True)
    assert not signed_in(client)
    assert db.scalar(select(LoginAttempt).where(LoginAttempt.succeeded.is_(True))) is None

    for attempt in db.scalars(select(LoginAttempt)):
        attempt.attempted_at -= timedelta(minutes=16)
    db.commit()
    assert sign_in(client, "nurse@alpha.test", PASSWORD).status_code == 302
    assert signed_in(client)


def test_one_address_failing_for_many_emails_is_paused(client, nurse, db):
    for n in range(20):
        sign_in(client, f"guess{n}@alpha.test", "whatever")
    resp = sign_in(client, "nurse@alpha.test", PASSWORD)
    assert resp.status_code == 429
    assert not signed_in(client)


def test_inactive_account_is_told_to_ask_its_administrator(client, make, tree, db):
    make.person(tree, email="left@alpha.test", active=False)
    resp = sign_in(client, "left@alpha.test", PASSWORD)
    assert "This account is not active. Ask your organisation&#39;s administrator." in resp.get_data(
        as_text=True
    )
    assert not signed_in(client)
    # ...but only with the right password: otherwise it is the same message as for anyone.
    assert NO_MATCH in sign_in(client, "left@alpha.test", "wrong password").get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "lands_on"),
    [
        ("/o/alpha/", "/o/alpha/"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_next_is_followed_only_to_a_page_of_this_site(client, nurse, target, lands_on):
    resp = sign_in(client, "nurse@alpha.test", PASSWORD, path=f"/sign-in?next={target}")
    assert resp.status_code == 302
    assert resp.headers["Location"] == lands_on


def test_signed_in_person_visiting_sign_in_goes_home(login_as, nurse):
    resp = login_as(nurse).get("/sign-in")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_sign_out_ends_the_session(client, nurse):
    sign_in(client, "nurse@alpha.test", PASSWORD)
    token = csrf_token(client, "/")
    resp = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=True)
    assert "You have signed out." in resp.get_data(as_text=True)
    assert not signed_in(client)


def test_an_outdated_hash_is_upgraded_on_sign_in(app, client, nurse, db):
    with app.test_request_context():
        app.config["PASSWORD_PROFILE"] = "RFC_9106_LOW_MEMORY"
        try:
            stronger = hash_password(PASSWORD)
        finally:
            app.config["PASSWORD_PROFILE"] = "CHEAPEST"
    nurse.user.password_hash = stronger
    db.commit()
    assert sign_in(client, "nurse@alpha.test", PASSWORD).status_code == 302
    db.expire_all()
    upgraded = db.scalar(select(User.password_hash).where(User.id == nurse.user_id))
    assert upgraded != stronger
    assert "m=65536" not in upgraded


def test_sign_in_attempts_are_forgotten_after_thirty_days(app, db, client, nurse):
    from lms.scheduler import forget_old_sign_in_attempts

    sign_in(client, nurse.user.email, "wrong password")
    sign_in(client, nurse.user.email, "another wrong one")
    old = db.scalars(select(LoginAttempt)).first()
    old.attempted_at = utcnow() - timedelta(days=31)
    db.commit()

    forget_old_sign_in_attempts(app)

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(LoginAttempt)) == 1
