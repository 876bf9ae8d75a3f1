"""Two-step sign-in: any person turns it on from their profile; an organisation may require it of its
org admins, HR and coaches; codes are rate-limited like passwords and each works once."""

from __future__ import annotations

import re

import pyotp
import pytest
from conftest import PASSWORD, csrf_token
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.db import utcnow
from lms.models import AuditEvent, Membership, User
from lms.services import Invalid, second_factor
from lms.services.access import Actor


def sign_in(client, email: str, password: str = PASSWORD):
    return client.post(
        "/sign-in", data={"email": email, "password": password, "csrf_token": csrf_token(client, "/sign-in")}
    )


def enter_code(client, code: str):
    return client.post(
        "/sign-in/code", data={"code": code, "csrf_token": csrf_token(client, "/sign-in/code")}
    )


def turn_on_through_the_profile(client) -> tuple[str, list[str]]:
    """Follow the setup page as a person would: read the key, make a code, confirm. Returns the secret
    and the recovery codes shown."""
    page = client.get("/profile/second-factor").get_data(as_text=True)
    assert "<svg" in page, "a QR code to scan"
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    resp = client.post(
        "/profile/second-factor",
        data={
            "code": pyotp.TOTP(secret).now(),
            "password": PASSWORD,
            "csrf_token": csrf_token(client, "/profile/second-factor"),
        },
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", resp.get_data(as_text=True))
    return secret, codes


def next_code(secret: str) -> str:
    """A code for the next time step: accepted once (a clock a step ahead), and not the one just used."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(utcnow()) + 1)


@pytest.fixture
def nurse(make, tree) -> Membership:
    return make.person(tree, name="Nia Nurse", email="nia@alpha.example")


def test_a_person_turns_it_on_and_then_signs_in_with_a_code(app, db, nurse, login_as):
    secret, codes = turn_on_through_the_profile(login_as(nurse))
    assert len(codes) == 10 and len(set(codes)) == 10

    browser = app.test_client()
    first = sign_in(browser, "nia@alpha.example")
    assert first.status_code == 302 and first.location.endswith("/sign-in/code")
    assert browser.get("/api/v1/me").status_code == 401, "the password alone signs nobody in"
    wrong = enter_code(browser, "000000")
    assert wrong.status_code == 400
    html = wrong.get_data(as_text=True)
    summary = html[
        html.index('<div class="error-summary"') : html.index("</div>", html.index("error-summary"))
    ]
    assert '<a href="#code">Code: That code is not right.' in summary, "said at the top, linked to the field"
    assert 'value="000000"' in html
    assert enter_code(browser, next_code(secret)).status_code == 302
    assert browser.get("/api/v1/me").status_code == 200


def test_a_code_works_once(app, db, nurse, login_as):
    secret, _ = turn_on_through_the_profile(login_as(nurse))
    code = next_code(secret)
    one, two = app.test_client(), app.test_client()
    sign_in(one, "nia@alpha.example")
    sign_in(two, "nia@alpha.example")
    assert enter_code(one, code).status_code == 302
    assert enter_code(two, code).status_code == 400, "a code seen over a shoulder cannot be used again"


def test_a_recovery_code_signs_in_once(app, db, nurse, login_as):
    _, codes = turn_on_through_the_profile(login_as(nurse))
    browser = app.test_client()
    sign_in(browser, "nia@alpha.example")
    assert enter_code(browser, codes[0].upper().replace("-", " ")).status_code == 302
    again = app.test_client()
    sign_in(again, "nia@alpha.example")
    assert enter_code(again, codes[0]).status_code == 400
    assert "9 recovery codes left" in browser.get("/profile").get_data(as_text=True)


def test_code_entry_is_rate_limited_like_sign_in(app, db, nurse, login_as):
    turn_on_through_the_profile(login_as(nurse))
    browser = app.test_client()
    sign_in(browser, "nia@alpha.example")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert enter_code(browser, "123456").status_code == 400
    blocked = enter_code(browser, "123456")
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    html = blocked.get_data(as_text=True)
    assert "Too many sign-in attempts" in html[html.index('<div class="error-summary"') :]


def test_a_throttled_sign_in_says_when_to_retry(app, nurse):
    browser = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        sign_in(browser, "nia@alpha.example", "wrong password")
    blocked = sign_in(browser, "nia@alpha.example", "wrong password")
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) == 60 * app.config["LOGIN_WINDOW_MINUTES"]


def test_the_second_step_expires_and_cannot_be_reached_without_the_password(app, nurse, login_as):
    turn_on_through_the_profile(login_as(nurse))
    stranger = app.test_client()
    assert stranger.get("/sign-in/code").status_code == 302
    browser = app.test_client()
    sign_in(browser, "nia@alpha.example")
    with browser.session_transaction() as sess:
        pending = dict(sess["lms_pending_sign_in"])
        sess["lms_pending_sign_in"] = {**pending, "at": pending["at"] - 301}
    assert browser.get("/sign-in/code").location.endswith("/sign-in")


def test_turning_it_off_needs_the_password(app, db, nurse, login_as):
    client = login_as(nurse)
    turn_on_through_the_profile(client)
    refused = client.post(
        "/profile/second-factor/off",
        data={"off-password": "nope", "csrf_token": csrf_token(client, "/profile")},
    )
    assert refused.status_code == 400
    client.post(
        "/profile/second-factor/off",
        data={"off-password": PASSWORD, "csrf_token": csrf_token(client, "/profile")},
    )
    db.expire_all()
    assert not db.get(User, nurse.user_id).second_factor_on
    assert sign_in(app.test_client(), "nia@alpha.example").location.endswith("/")


# --- an organisation's requirement ------------------------------------------------------------------


def test_an_organisation_requires_it_and_hr_uses_its_permission_only_once_it_is_on(
    app, db, make, tree, login_as
):
    admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True)
    hr = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)
    admin_client = login_as(admin)
    page = f"/o/{tree.org.slug}/admin/sign-in-security"
    refused = admin_client.post(page, data={"required": "y", "csrf_token": csrf_token(admin_client, page)})
    assert refused.status_code == 400 and "for yourself first" in refused.get_data(as_text=True)

    turn_on_through_the_profile(admin_client)
    assert (
        admin_client.post(
            page, data={"required": "y", "csrf_token": csrf_token(admin_client, page)}
        ).status_code
        == 302
    )
    assert db.scalar(select(AuditEvent.action).where(AuditEvent.action.like("organization.second%")))

    hr_client = login_as(hr)
    people = f"/o/{tree.org.slug}/admin/people"
    assert hr_client.get(people).status_code == 403
    assert "Turn on two-step sign-in" in hr_client.get("/").get_data(as_text=True)
    assert hr_client.get("/learning").status_code == 200, "learning goes on"
    turn_on_through_the_profile(hr_client)
    assert hr_client.get(people).status_code == 200


def test_a_learner_is_not_asked_for_it(db, make, tree):
    tree.org.second_factor_required = True
    db.commit()
    learner = make.person(tree)
    assert Actor(learner.user, learner).withheld == frozenset()


def test_the_service_refuses_a_wrong_code_and_a_wrong_password_together(db, nurse):
    setup = second_factor.offer(nurse.user)
    with pytest.raises(Invalid) as refused:
        second_factor.turn_on(db, nurse.user, secret=setup.secret, code="12345x", password="nope")
    assert set(refused.value.errors) == {"code", "password"}
