"""Sessions end on the server, and personal access tokens are the person's to see and revoke.

On main the cookie saved before sign-out still answered /api/v1/me, and tokens could be neither listed
nor revoked.
"""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, csrf_token
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.cli import main
from lms.models import ApiToken, Membership, OutboxMessage
from lms.services import accounts, people, tokens
from lms.services.access import Actor


def sign_in(client, email: str, password: str = PASSWORD):
    return client.post(
        "/sign-in", data={"email": email, "password": password, "csrf_token": csrf_token(client, "/sign-in")}
    )


def cookie_of(client) -> str:
    cookie = client.get_cookie("lms_session")
    assert cookie is not None
    return cookie.value


@pytest.fixture
def nurse(make, tree) -> Membership:
    return make.person(tree, name="Nia Nurse", email="nia@alpha.example")


def test_signing_out_ends_the_session_on_the_server(app, nurse):
    browser = app.test_client()
    assert sign_in(browser, "nia@alpha.example").status_code == 302
    saved = cookie_of(browser)
    assert browser.get("/api/v1/me").status_code == 200
    browser.post("/sign-out", data={"csrf_token": csrf_token(browser, "/")})

    thief = app.test_client()
    thief.set_cookie("lms_session", saved)
    assert thief.get("/api/v1/me").status_code == 401, "the cookie saved before sign-out is worth nothing"
    assert thief.get("/").status_code == 302


def test_a_password_reset_ends_every_session(app, db, nurse, login_as):
    phone, ward_pc = login_as(nurse), login_as(nurse)
    accounts.request_password_reset(db, email="nia@alpha.example")
    body = db.scalar(select(OutboxMessage.body_text))
    secret_path = re.search(r"(/reset/\S+)", body).group(1)
    link = app.test_client()
    link.post(
        secret_path,
        data={
            "password": "a brand new pass",
            "confirm": "a brand new pass",
            "csrf_token": csrf_token(link, secret_path),
        },
    )
    assert phone.get("/api/v1/me").status_code == 401
    assert ward_pc.get("/api/v1/me").status_code == 401


def test_sign_out_everywhere_from_the_profile(app, nurse, login_as):
    phone, ward_pc = login_as(nurse), login_as(nurse)
    profile = ward_pc.get("/profile").get_data(as_text=True)
    assert profile.count("<tr>") >= 3, "both browsers are listed"
    resp = ward_pc.post("/profile/sign-out-everywhere", data={"csrf_token": csrf_token(ward_pc, "/profile")})
    assert resp.status_code == 302 and resp.location.endswith("/sign-in")
    assert phone.get("/api/v1/me").status_code == 401
    assert ward_pc.get("/api/v1/me").status_code == 401


def test_deactivation_ends_sessions_and_with_no_organisation_left_revokes_tokens(
    db, make, tree, nurse, login_as
):
    admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True)
    browser = login_as(nurse)
    secret = tokens.create_token(db, nurse.user, name="script")
    people.deactivate_person(db, Actor(admin.user, admin), nurse.id)
    assert browser.get("/api/v1/me").status_code == 401
    db.expire_all()
    assert db.scalar(select(ApiToken.revoked_at)) is not None
    assert app_client_with_token(browser.application, secret).get("/api/v1/me").status_code == 401


def app_client_with_token(app, secret: str):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


# --- tokens -----------------------------------------------------------------------------------------


def test_tokens_are_listed_with_their_use_and_revoked_from_the_profile(app, db, nurse, login_as):
    browser = login_as(nurse)
    created = browser.post(
        "/profile/tokens",
        data={
            "token-name": "Ward dashboard",
            "token-days": "30",
            "csrf_token": csrf_token(browser, "/profile"),
        },
    )
    assert created.status_code == 201
    secret = re.search(r"(lms_[A-Za-z0-9_-]+)", created.get_data(as_text=True)).group(1)
    assert "shown only this once" in created.get_data(as_text=True)
    assert secret not in browser.get("/profile").get_data(as_text=True), "never shown again"

    script = app_client_with_token(app, secret)
    assert script.get("/api/v1/me").status_code == 200
    page = browser.get("/profile").get_data(as_text=True)
    row = re.search(r"<td data-label=\"Name\">Ward dashboard</td>(.*?)</tr>", page, re.S).group(1)
    assert "never" not in row.split("</td>")[1], "last use is shown once the token has been used"

    token_id = db.scalar(select(ApiToken.id))
    resp = browser.post(
        f"/profile/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(browser, "/profile")}
    )
    assert resp.status_code == 302
    assert script.get("/api/v1/me").status_code == 401
    after = browser.get("/profile").get_data(as_text=True)
    assert "is revoked" in after and "<td>Ward dashboard</td>" not in after


def test_nobody_revokes_anothers_token_from_their_profile(app, db, make, tree, nurse, login_as):
    tokens.create_token(db, nurse.user, name="Nia's script")
    token_id = db.scalar(select(ApiToken.id))
    other = login_as(make.person(tree))
    resp = other.post(
        f"/profile/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(other, "/profile")}
    )
    assert resp.status_code == 404
    db.expire_all()
    assert db.scalar(select(ApiToken.revoked_at)) is None


def test_lms_token_list_and_revoke(app, db, nurse):
    secret = tokens.create_token(db, nurse.user, name="cron")
    runner = app.test_cli_runner()
    listed = runner.invoke(main, ["token", "list", "--email", "nia@alpha.example"])
    assert listed.exit_code == 0 and "cron" in listed.output
    token_id = listed.output.split("\t", 1)[0]
    revoked = runner.invoke(main, ["token", "revoke", token_id])
    assert revoked.exit_code == 0, revoked.output
    assert app_client_with_token(app, secret).get("/api/v1/me").status_code == 401
    nothing = runner.invoke(main, ["token", "revoke"])
    assert nothing.exit_code == 2 and "TOKEN_ID" in nothing.output
