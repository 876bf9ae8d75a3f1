"""SCIM tokens as HR and an operator make them: on the organisation's SCIM page (shown once, revoked
there) and with `lms scim token create --org SLUG` (the token alone on the last line)."""

from __future__ import annotations

import re

import pytest
from conftest import csrf_token
from scim_factory import Scim
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.cli import main
from lms.models import AuditEvent, ScimToken
from lms.rate import Budget

PAGE = "/o/alpha/admin/scim"


@pytest.fixture
def hr(make, tree):
    return make.person(
        tree, StakeholderRole.QUALITY_STAFF, name="Hana HR", email="hana@alpha.example", hr=True
    )


def test_hr_creates_a_token_sees_it_once_and_revokes_it(db, app, hr, login_as):
    browser = login_as(hr)

    made = browser.post(f"{PAGE}/tokens", data={"csrf_token": csrf_token(browser, PAGE), "name": "Entra ID"})

    assert made.status_code == 201
    secret = re.search(r'<code class="secret">(scim_[^<]+)</code>', made.get_data(as_text=True)).group(1)
    assert secret not in browser.get(PAGE).get_data(as_text=True)
    provider = Scim(app.test_client(), secret)
    assert provider.send("GET", "/Users").status_code == 200
    token = db.scalar(select(ScimToken))
    assert token.name == "Entra ID" and token.created_by_id == hr.id

    revoked = browser.post(f"{PAGE}/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(browser, PAGE)})

    assert revoked.status_code == 302
    assert provider.send("GET", "/Users").status_code == 401
    assert db.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "scim_token")).all() == [
        "scim.token_created",
        "scim.token_revoked",
    ]


def test_a_token_needs_a_name_and_the_page_says_so(hr, login_as):
    browser = login_as(hr)

    answer = browser.post(f"{PAGE}/tokens", data={"csrf_token": csrf_token(browser, PAGE), "name": "  "})

    assert answer.status_code == 400
    assert "1 to 120 characters" in answer.get_data(as_text=True)


def test_the_page_lists_what_was_sent_but_not_applied(db, app, hr, login_as):
    browser = login_as(hr)
    made = browser.post(f"{PAGE}/tokens", data={"csrf_token": csrf_token(browser, PAGE), "name": "Okta"})
    secret = re.search(r'<code class="secret">(scim_[^<]+)</code>', made.get_data(as_text=True)).group(1)
    Scim(app.test_client(), secret).send(
        "POST",
        "/Users",
        body={
            "userName": "new@alpha.example",
            "title": "RN-ICU-3",
            "emails": [{"value": "new@alpha.example"}],
        },
    )

    page = browser.get(PAGE).get_data(as_text=True)

    assert "No stakeholder role is mapped to the job code &#39;RN-ICU-3&#39;" in page


def test_learners_and_other_organisations_have_no_scim_page(make, tree, other_tree, login_as):
    learner = make.person(tree)
    stranger = make.person(other_tree, hr=True)

    assert login_as(learner).get(PAGE).status_code == 403
    assert login_as(stranger).get(PAGE).status_code == 404
    assert login_as(learner).post(f"{PAGE}/tokens", data={"name": "x"}).status_code == 400  # no CSRF token


def test_the_command_prints_the_token_alone_on_its_last_line(db, app, ctx, make, tree, hr):
    admin = make.person(tree, email="admin@alpha.example", org_admin=True)

    result = app.test_cli_runner().invoke(
        main, ["scim", "token", "create", "--org", "alpha", "--name", "Entra ID"]
    )

    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("scim_") and " " not in secret
    assert "admin@alpha.example" in result.output
    db.expire_all()
    token = db.scalar(select(ScimToken))
    assert token.created_by_id == admin.id and secret not in token.token_hash
    assert Scim(app.test_client(), secret).send("GET", "/Users").status_code == 200


def test_the_command_acts_for_a_named_hr_person_and_refuses_anyone_else(app, ctx, make, tree, hr):
    learner = make.person(tree, email="lee@alpha.example")
    run = app.test_cli_runner()

    named = run.invoke(main, ["scim", "token", "create", "--org", "alpha", "--as", "HANA@alpha.example"])
    refused = run.invoke(main, ["scim", "token", "create", "--org", "alpha", "--as", learner.user.email])
    nowhere = run.invoke(main, ["scim", "token", "create", "--org", "nowhere"])

    assert named.exit_code == 0 and "hana@alpha.example" in named.output
    assert refused.exit_code != 0 and "No active HR person or org admin" in refused.output
    assert nowhere.exit_code != 0 and "No such organisation" in nowhere.output


def test_the_audit_trail_tells_of_scim_tokens(hr, login_as):
    browser = login_as(hr)
    browser.post(f"{PAGE}/tokens", data={"csrf_token": csrf_token(browser, PAGE), "name": "Entra ID"})

    trail = browser.get("/o/alpha/admin/audit").get_data(as_text=True)

    assert "SCIM token created" in trail and "Entra ID" in trail


def test_a_token_over_its_budget_is_told_when_to_come_back_and_others_are_not(
    db, app, client, hr, monkeypatch
):
    from scim_factory import token_for

    monkeypatch.setitem(app.extensions, "lms.scim_budget", Budget(per_window=3))
    busy, quiet = Scim(client, token_for(db, hr, "Entra ID")), Scim(client, token_for(db, hr, "Okta"))
    assert [busy.send("GET", "/Users").status_code for _ in range(3)] == [200, 200, 200]
    refused = busy.send("GET", "/Users")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "try again in" in refused.get_json()["detail"]
    assert quiet.send("GET", "/Users").status_code == 200


def test_a_budget_opens_again_in_the_next_minute():
    budget = Budget(per_window=2, window_s=60)
    assert budget.spend("t", now=0.0) is None and budget.spend("t", now=1.0) is None
    assert budget.spend("t", now=15.5) == 45
    assert budget.spend("t", now=60.0) is None
