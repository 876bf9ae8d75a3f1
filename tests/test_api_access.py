"""Who may read what through the API (DESIGN.md section 6), checked for every route the app serves.

The routes come from the app's URL map, so a new API route that takes an id fails here until this file
knows how to make another organisation's object for it. The roster routes (units, people) are for HR and
org admins; the personal ones (a person's journal and coaching) answer the caller's own objects only,
and another organisation's on every method are 404 (who inside an organisation reads what of a journal
is tests/test_journal_api.py's and tests/test_privacy_walk.py's).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import csrf_token
from gemba_factory import walk
from prompts_factory import schedule
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.models import Membership, PromptDelivery, UnitKind
from lms.services import coaching, follow_ups, journal, modules, tokens
from lms.services.access import Actor
from lms.services.prompt_delivery import deliver_due
from lms.web.api import PREFIX


def walked(db, tree, leader, unit) -> dict[str, int]:
    """A gemba walk by `leader` with one follow-up they own: the ids of both."""
    due = follow_ups.local_today(tree.org) + timedelta(days=1)
    made = walk(db, leader, unit.id, owner=leader, due_on=due).walk
    db.commit()
    return {"walk_id": made.id, "follow_up_id": made.follow_ups[0].id}


@pytest.fixture
def beta(db, make, other_tree, lib):
    """Organisation B's objects, with names that must never appear in an answer to A."""
    secret_ward = make.unit(other_tree.org, "Beta Secret Ward", UnitKind.UNIT, other_tree.department)
    person = make.person(other_tree, name="Bea Betafield", email="bea@beta.test", unit=secret_ward)
    coach = make.person(other_tree, name="Bo Betacoach", coach=True, org_admin=True)
    relationship = coaching.create(db, Actor(coach.user, coach), coach_id=coach.id, coachee_id=person.id)
    entry = journal.write_entry(db, Actor(person.user, person), body="Beta secret entry")
    journal.share(db, Actor(person.user, person), "entry", entry.id)
    module = lib.module("beta-module")
    reflection = modules.save_reflection(
        db, person.user, module.slug, "what-matters", "Beta secret reflection"
    )
    journal.share(db, Actor(person.user, person), "reflection", reflection.id)
    rhythm = schedule(db, person, now=datetime.now(UTC) - timedelta(days=1, hours=1))
    deliver_due(db)
    db.commit()
    return {
        "ids": {
            "unit_id": secret_ward.id,
            "membership_id": person.id,
            "entry_id": entry.id,
            "reflection_id": reflection.id,
            "relationship_id": relationship.id,
            "schedule_id": rhythm.id,
            "delivery_id": db.scalar(
                select(PromptDelivery.id).where(PromptDelivery.schedule_id == rhythm.id)
            ),
        }
        | walked(db, other_tree, person, secret_ward),
        "secrets": [
            "Beta Health",
            "Beta Secret Ward",
            "Bea Betafield",
            "bea@beta.test",
            "Bo Betacoach",
            "Beta secret entry",
            "Beta secret reflection",
        ],
    }


@pytest.fixture
def alpha_ids(db, make, tree):
    leader = make.person(tree, StakeholderRole.UNIT_LEADER)
    return {"unit_id": tree.unit.id, "membership_id": make.person(tree).id} | walked(
        db, tree, leader, tree.unit
    )


def api_rules(app) -> list:
    return sorted((r for r in app.url_map.iter_rules() if r.rule.startswith(f"{PREFIX}/")), key=str)


# A person's own journal and coaching (lms/web/api_journal.py): not the organisation's roster.
PERSONAL = ("/journal", "/coaching")


def personal(rule: str) -> bool:
    return any(f"/orgs/<org>{part}" in rule for part in PERSONAL)


def org_routes(app) -> list[str]:
    """Every reading rule of the API scoped to an organisation (the journal's and coaching's aside), e.g.
    /api/v1/orgs/<org>/units/<int:unit_id>."""
    rules = api_rules(app)
    return [r.rule for r in rules if "org" in r.arguments and not personal(r.rule) and "GET" in r.methods]


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


# A valid body for each write that takes an object's id, so that only the id can make it fail.
RHYTHM = {"kind": "weekly", "at": "08:00", "time_zone": "UTC", "weekdays": [0]}
WRITE_BODIES = {
    "POST /orgs/<org>/follow-ups/<int:follow_up_id>/close": {"resolution": "Done"},
    "POST /orgs/<org>/follow-ups/<int:follow_up_id>/update": {},
    "PUT /orgs/<org>/prompt-schedules/<int:schedule_id>": RHYTHM,
    "POST /orgs/<org>/prompt-schedules/<int:schedule_id>/consent": {},
    "POST /orgs/<org>/people/<int:membership_id>/prompt-suggestions": RHYTHM,
    "POST /me/prompts/<int:delivery_id>/answer": {"body": "An answer."},
}
READS = {"GET", "HEAD", "OPTIONS"}
# The roster: units and people, for HR and org admins alone. Gemba walks, follow-ups and prompt schedules
# are every member's own (their own tests check who sees which).
ROSTER = re.compile(r"/orgs/<org>/(units|people)\b")


def id_routes(app) -> list[tuple[str, str]]:
    """Every API rule that takes the id of an organisation's object, scoped to an organisation or not,
    with each method it takes (the journal's and coaching's have a test of their own, below)."""
    rules = [r for r in api_rules(app) if id_arguments(r.rule) - SHARED_CONTENT and not personal(r.rule)]
    found = []
    for r in rules:
        for method in sorted(r.methods - READS):
            key = f"{method} {r.rule.removeprefix(PREFIX)}"
            assert key in WRITE_BODIES, f"{key}: teach tests/test_api_access.py its body"
            found.append((r.rule, method))
        if "GET" in r.methods:
            found.append((r.rule, "GET"))
    assert len(rules) >= 2, "the units and people routes take ids"
    return found


def call(client, rule: str, method: str, path: str, headers: dict | None = None):
    """GET a read; a write with a valid body (and, for a session, the page's CSRF token)."""
    if method == "GET":
        return client.get(path, headers=headers)
    if headers is None:
        headers = {"X-CSRFToken": csrf_token(client, "/profile")}
    return client.open(
        path, method=method, json=WRITE_BODIES[f"{method} {rule.removeprefix(PREFIX)}"], headers=headers
    )


@pytest.mark.parametrize("permission", ["org_admin", "hr"])
def test_another_organisations_object_by_id_is_404_with_none_of_its_data(
    app, make, tree, beta, login_as, permission
):
    reader = make.person(tree, StakeholderRole.EXECUTIVE, coach=True, **{permission: True})
    client = login_as(reader)
    for rule, method in id_routes(app):
        for org in ("alpha", "beta"):  # B's id under A's slug, and B's slug (A's reader is no member)
            resp = call(client, rule, method, url(rule, org, beta["ids"]))
            assert resp.status_code == 404, (rule, org)
            assert resp.is_json
            text = resp.get_data(as_text=True)
            assert not [s for s in beta["secrets"] if s in text], (rule, org)


def test_another_organisations_journal_and_coaching_objects_are_404_on_every_method(
    app, db, make, tree, beta, client
):
    """Even for a reader holding every permission of their own organisation, by token (no CSRF asked)."""
    reader = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True, hr=True, coach=True, faculty=True)
    headers = {"Authorization": f"Bearer {tokens.create_token(db, reader.user, name='t')}"}
    rules = [r for r in api_rules(app) if personal(r.rule) and id_arguments(r.rule)]
    assert len(rules) >= 10, "the journal's and coaching's routes take ids"
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            body = (
                {"body": "A stranger's words"}
                if rule.rule.endswith(("/comments", "<int:entry_id>"))
                else None
            )
            for org in ("alpha", "beta"):
                resp = client.open(
                    url(rule.rule, org, beta["ids"]), method=method, json=body, headers=headers
                )
                assert resp.status_code == 404, (method, rule.rule, org, resp.get_data(as_text=True))
                assert not [s for s in beta["secrets"] if s in resp.get_data(as_text=True)]
    db.expire_all()  # nothing of B's changed: the entry still shared, the relationship still active
    bea = db.get(Membership, beta["ids"]["membership_id"])
    assert journal.entry_page(db, Actor(bea.user, bea), beta["ids"]["entry_id"]).shared
    assert coaching.coaching_relationship(db, Actor(bea.user, bea), beta["ids"]["relationship_id"]).active


def test_another_organisations_object_is_404_by_token_too(app, db, make, tree, beta, client):
    reader = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True, coach=True)
    headers = {"Authorization": f"Bearer {tokens.create_token(db, reader.user, name='t')}"}
    for rule, method in id_routes(app):
        for org in ("alpha", "beta"):
            resp = call(client, rule, method, url(rule, org, beta["ids"]), headers)
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
    for rule in filter(ROSTER.search, org_routes(app)):
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
