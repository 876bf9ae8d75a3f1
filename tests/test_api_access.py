"""Who may read what through the API (DESIGN.md section 6), checked for every route the app serves.

The routes come from the app's URL map, so a new API route that takes an id fails here until this file
knows how to make another organisation's object for it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import csrf_token
from prompts_factory import schedule
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.models import PromptDelivery, UnitKind
from lms.services import tokens
from lms.services.prompt_delivery import deliver_due
from lms.web.api import PREFIX


@pytest.fixture
def beta(db, make, other_tree):
    """Organisation B's objects, with names that must never appear in an answer to A."""
    secret_ward = make.unit(other_tree.org, "Beta Secret Ward", UnitKind.UNIT, other_tree.department)
    person = make.person(other_tree, name="Bea Betafield", email="bea@beta.test", unit=secret_ward)
    rhythm = schedule(db, person, now=datetime.now(UTC) - timedelta(days=1, hours=1))
    deliver_due(db)
    db.commit()
    return {
        "ids": {
            "unit_id": secret_ward.id,
            "membership_id": person.id,
            "schedule_id": rhythm.id,
            "delivery_id": db.scalar(
                select(PromptDelivery.id).where(PromptDelivery.schedule_id == rhythm.id)
            ),
        },
        "secrets": ["Beta Health", "Beta Secret Ward", "Bea Betafield", "bea@beta.test"],
    }


@pytest.fixture
def alpha_ids(make, tree):
    return {"unit_id": tree.unit.id, "membership_id": make.person(tree).id}


def api_rules(app) -> list:
    return sorted((r for r in app.url_map.iter_rules() if r.rule.startswith(f"{PREFIX}/")), key=str)


def org_routes(app) -> list[str]:
    """Every rule of the API scoped to an organisation that reads, e.g. /api/v1/orgs/<org>/units/<int:id>."""
    return [r.rule for r in api_rules(app) if "org" in r.arguments and "GET" in r.methods]


def id_arguments(rule: str) -> set[str]:
    return {name for name in re.findall(r"<(?:[^<>:]+:)?([^<>]+)>", rule) if name != "org"}


def url(rule: str, org: str, ids: dict[str, int]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "org":
            return org
        assert name in ids, f"{rule}: teach tests/test_api_access.py to make an object for <{name}>"
        return str(ids[name])

    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", value, rule)


# Published modules (by slug, their checks and prompts by key) belong to no organisation: any signed-in
# person may read them. What is private in them, each person's answers and reflections, is checked in
# tests/test_learning_api.py.
SHARED_CONTENT = {"slug", "key"}


# Routes of an organisation that answer the caller's own data (anyone's own, whatever they may do).
CALLERS_OWN = {f"{PREFIX}/orgs/<org>/prompt-schedules"}
# A valid body for each write that takes an id (an invalid one would be refused before the id is looked up).
RHYTHM = {"kind": "weekly", "at": "08:00", "time_zone": "UTC", "weekdays": [0]}
WRITE_BODIES = {
    "PUT /orgs/<org>/prompt-schedules/<int:schedule_id>": RHYTHM,
    "POST /orgs/<org>/prompt-schedules/<int:schedule_id>/consent": {},
    "POST /orgs/<org>/people/<int:membership_id>/prompt-suggestions": RHYTHM,
    "POST /me/prompts/<int:delivery_id>/answer": {"body": "An answer."},
}


def id_routes(app) -> list[tuple[str, str]]:
    """Every API rule that takes the id of an organisation's object, scoped to an organisation or not,
    with the method it takes."""
    rules = [r for r in api_rules(app) if id_arguments(r.rule) - SHARED_CONTENT]
    found = []
    for r in rules:
        for method in sorted(r.methods - {"HEAD", "OPTIONS"}):
            key = f"{method} {r.rule.removeprefix(PREFIX)}"
            assert method == "GET" or key in WRITE_BODIES, f"{key}: teach tests/test_api_access.py its body"
            found.append((r.rule, method))
    assert len(rules) >= 2, "the units and people routes take ids"
    return found


def call(client, rule: str, method: str, path: str, **kwargs):
    if method == "GET":
        return client.get(path, **kwargs)
    return client.open(
        path, method=method, json=WRITE_BODIES[f"{method} {rule.removeprefix(PREFIX)}"], **kwargs
    )


@pytest.mark.parametrize("permission", ["org_admin", "hr"])
def test_another_organisations_object_by_id_is_404_with_none_of_its_data(
    app, make, tree, beta, login_as, permission
):
    reader = make.person(tree, StakeholderRole.EXECUTIVE, coach=True, **{permission: True})
    client = login_as(reader)
    headers = {"X-CSRFToken": csrf_token(client, "/profile")}
    for rule, method in id_routes(app):
        for org in ("alpha", "beta"):  # B's id under A's slug, and B's slug (A's reader is no member)
            resp = call(client, rule, method, url(rule, org, beta["ids"]), headers=headers)
            assert resp.status_code == 404, (rule, org)
            assert resp.is_json
            text = resp.get_data(as_text=True)
            assert not [s for s in beta["secrets"] if s in text], (rule, org)


def test_another_organisations_object_is_404_by_token_too(app, db, make, tree, beta, client):
    reader = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True, coach=True)
    headers = {"Authorization": f"Bearer {tokens.create_token(db, reader.user, name='t')}"}
    for rule, method in id_routes(app):
        for org in ("alpha", "beta"):
            resp = call(client, rule, method, url(rule, org, beta["ids"]), headers=headers)
            assert resp.status_code == 404, (rule, org)
            assert not [s for s in beta["secrets"] if s in resp.get_data(as_text=True)]


def test_the_same_reader_sees_their_own_organisations_objects(app, make, tree, alpha_ids, login_as):
    """The 404s above are about the organisation, not broken routes."""
    client = login_as(make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True))
    for rule in org_routes(app):
        assert client.get(url(rule, "alpha", alpha_ids)).status_code == 200, rule


def test_listings_of_another_organisation_are_404(app, make, tree, beta, login_as):
    client = login_as(make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True, hr=True))
    for rule in org_routes(app):
        resp = client.get(url(rule, "beta", beta["ids"]))
        assert resp.status_code == 404, rule
        assert not [s for s in beta["secrets"] if s in resp.get_data(as_text=True)]


@pytest.mark.parametrize("extra", [{}, {"coach": True}, {"faculty": True}])
def test_people_without_hr_or_admin_get_403_on_their_own_roster(app, make, tree, alpha_ids, login_as, extra):
    client = login_as(make.person(tree, StakeholderRole.CLINICIAN, **extra))
    for rule in [r for r in org_routes(app) if r not in CALLERS_OWN]:
        resp = client.get(url(rule, "alpha", alpha_ids))
        assert resp.status_code == 403, rule
        assert resp.json["status"] == 403
        assert "items" not in resp.json


def test_a_deactivated_persons_token_stops_working(db, make, tree, client):
    m = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True)
    headers = {"Authorization": f"Bearer {tokens.create_token(db, m.user, name='nightly export')}"}
    assert client.get(f"{PREFIX}/me", headers=headers).status_code == 200
    m.active = False
    db.commit()
    for path in (f"{PREFIX}/me", f"{PREFIX}/orgs/alpha/people"):
        resp = client.get(path, headers=headers)
        assert resp.status_code == 401, path
        assert resp.json["error"] == "Sign in or send a personal access token."


def test_a_deactivated_persons_session_stops_working(make, tree, login_as):
    gone = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True, active=False)
    assert login_as(gone).get(f"{PREFIX}/orgs/alpha/people").status_code == 401


def test_a_person_deactivated_in_one_organisation_cannot_read_it_from_another(
    make, tree, other_tree, login_as
):
    """Membership of B keeps the account alive; A's data is still closed to them."""
    in_a = make.person(tree, StakeholderRole.EXECUTIVE, email="two@orgs.test", org_admin=True, active=False)
    make.person(other_tree, StakeholderRole.EXECUTIVE, email="two@orgs.test")
    client = login_as(in_a)
    assert client.get(f"{PREFIX}/me").status_code == 200
    assert client.get(f"{PREFIX}/orgs/alpha/people").status_code == 404
