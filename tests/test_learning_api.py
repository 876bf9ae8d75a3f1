"""The learning API: modules, the caller's assignments, answering checks and saving reflections."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import csrf_token, org_today
from sqlalchemy import func, select
from test_api import conforms, response_schema

from lms.db import utcnow
from lms.models import CheckAttempt, Reflection
from lms.services import tokens
from lms.web.api import PREFIX

CHECKS = [
    (
        "aim",
        "Which question sets the aim?",
        [("Who?", False), ("What are we trying to accomplish?", True)],
        "Aim.",
    ),
    (
        "measures",
        "Kinds of measure?",
        [("Outcome", True), ("Process", True), ("Rumour", False)],
        "Three kinds.",
    ),
]


@pytest.fixture
def mfi(lib):
    return lib.module("model-for-improvement", title="The Model for Improvement", checks=CHECKS)


@pytest.fixture
def document(client) -> dict:
    return client.get(f"{PREFIX}/openapi.json").json


@pytest.fixture
def bearer(db, learner) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.create_token(db, learner.user, name='app')}"}


def body_schema(document: dict, path: str, method: str) -> dict:
    return response_schema(document, path, "200", method)


# --- modules --------------------------------------------------------------------------------------


def test_modules_are_listed_and_filtered(lib, learner, login_as, document):
    lib.module("run-charts", title="Run charts", summary="Plot data over time.", roles=["unit-leader"])
    lib.module("board-oversight", dose="governance", component="set-direction", principles=["shared-purpose"])
    lib.module("old", retired=True)
    client = login_as(learner)

    resp = client.get(f"{PREFIX}/modules")
    assert resp.status_code == 200
    conforms(document, response_schema(document, "/modules"), resp.json)
    assert [m["slug"] for m in resp.json["items"]] == ["run-charts", "board-oversight"]
    board = resp.json["items"][1]
    assert (board["dose"], board["component"], board["principles"], board["active"]) == (
        "governance",
        "set-direction",
        ["shared-purpose"],
        True,
    )

    def slugs(query: str) -> list[str]:
        return [m["slug"] for m in client.get(f"{PREFIX}/modules?{query}").json["items"]]

    assert slugs("q=plot+TIME") == ["run-charts"]
    assert slugs("role=unit-leader") == ["run-charts"]
    assert slugs("principle=shared-purpose&dose=governance") == ["board-oversight"]
    assert slugs("q=nothing") == []


def test_an_unknown_filter_is_400_naming_it(lib, learner, login_as):
    resp = login_as(learner).get(f"{PREFIX}/modules?dose=expert")
    assert resp.status_code == 400
    assert resp.json["fields"] == {"dose": ["Choose a dose level from the list."]}


def test_one_module_with_its_content_and_no_answers_given_away(mfi, learner, login_as, document):
    resp = login_as(learner).get(f"{PREFIX}/modules/model-for-improvement")
    assert resp.status_code == 200
    conforms(document, response_schema(document, "/modules/{slug}"), resp.json)
    body = resp.json
    assert body["title"] == "The Model for Improvement" and body["content_hash"] == "v1"
    assert [s["kind"] for s in body["segments"]] == ["html", "check", "check", "reflection"]
    aim, measures = body["checks"]
    assert aim["options"] == [{"text_html": "Who?"}, {"text_html": "What are we trying to accomplish?"}]
    assert (aim["multiple"], measures["multiple"]) == (False, True)
    assert aim["explanation_html"] is None and aim["latest_attempt"] is None
    assert body["reflections"] == [
        {
            "key": "what-matters",
            "prompt_html": "<p>What matters most to your patients?</p>\n",
            "text": None,
            "updated_at": None,
        }
    ]
    assert body["progress"] is None  # reading through the API does not start the module
    assert '"correct"' not in resp.get_data(as_text=True)


def test_an_unknown_or_retired_unstarted_module_is_404(lib, learner, login_as):
    lib.module("old", retired=True)
    client = login_as(learner)
    for slug in ("no-such-module", "old"):
        resp = client.get(f"{PREFIX}/modules/{slug}")
        assert resp.status_code == 404 and resp.json["error"] == "No such module."


# --- answering checks -----------------------------------------------------------------------------


def test_answering_by_token_wrong_then_right_completes_the_module(mfi, client, bearer, document):
    path = "/modules/{slug}/checks/{key}/answer"
    url = f"{PREFIX}/modules/model-for-improvement/checks"
    wrong = client.post(f"{url}/aim/answer", json={"chosen": [0]}, headers=bearer)
    assert wrong.status_code == 200
    conforms(document, body_schema(document, path, "post"), wrong.json)
    assert wrong.json["correct"] is False and wrong.json["explanation_html"] is None
    assert wrong.json["progress"]["status"] == "in_progress" and wrong.json["progress"]["resume_at"] == "aim"

    right = client.post(f"{url}/aim/answer", json={"chosen": [1]}, headers=bearer).json
    assert right["correct"] is True and right["explanation_html"] == "<p>Aim.</p>\n"
    assert right["module_completed"] is False

    done = client.post(f"{url}/measures/answer", json={"chosen": [1, 0]}, headers=bearer)
    conforms(document, body_schema(document, path, "post"), done.json)
    assert done.json["just_completed"] is True and done.json["module_completed"] is True
    assert done.json["progress"]["status"] == "completed" and done.json["progress"]["score"] == 0.5
    assert done.json["progress"]["completed_hash"] == "v1"

    detail = client.get(f"{PREFIX}/modules/model-for-improvement", headers=bearer).json
    assert detail["checks"][0]["latest_attempt"]["chosen"] == [1]
    assert detail["checks"][0]["explanation_html"] == "<p>Aim.</p>\n"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"chosen": ["chosen must be a list of option numbers, counted from 0."]}),
        ({"chosen": "1"}, {"chosen": ["chosen must be a list of option numbers, counted from 0."]}),
        ({"chosen": [True]}, {"chosen": ["chosen must be a list of option numbers, counted from 0."]}),
        ({"chosen": []}, {"chosen": ["Choose an answer."]}),
        ({"chosen": [0, 1]}, {"chosen": ["Choose one answer."]}),
        ({"chosen": [7]}, {"chosen": ["Choose from the options given."]}),
    ],
)
def test_bad_answers_are_400_naming_the_field(db, mfi, client, bearer, body, fields):
    resp = client.post(f"{PREFIX}/modules/model-for-improvement/checks/aim/answer", json=body, headers=bearer)
    assert resp.status_code == 400
    assert resp.json["fields"] == fields
    assert db.scalar(select(func.count()).select_from(CheckAttempt)) == 0


def test_a_body_that_is_not_a_json_object_is_400(mfi, client, bearer):
    resp = client.post(
        f"{PREFIX}/modules/model-for-improvement/checks/aim/answer", data="chosen=1", headers=bearer
    )
    assert resp.status_code == 400 and resp.is_json
    assert "JSON object" in resp.json["error"]


def test_an_unknown_check_is_404(mfi, client, bearer):
    resp = client.post(
        f"{PREFIX}/modules/model-for-improvement/checks/nope/answer", json={"chosen": [0]}, headers=bearer
    )
    assert resp.status_code == 404 and resp.json["error"] == "No such check in this module."


def test_a_session_cookie_write_needs_the_csrf_header(db, mfi, learner, login_as):
    client = login_as(learner)
    url = f"{PREFIX}/modules/model-for-improvement/checks/aim/answer"
    refused = client.post(url, json={"chosen": [1]})
    assert refused.status_code == 400 and refused.is_json
    assert db.scalar(select(func.count()).select_from(CheckAttempt)) == 0

    token = csrf_token(client, "/modules/model-for-improvement")
    accepted = client.post(url, json={"chosen": [1]}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200 and accepted.json["correct"] is True


# --- reflections ----------------------------------------------------------------------------------


def test_a_reflection_is_saved_and_replaced_by_put(db, mfi, client, bearer, document):
    url = f"{PREFIX}/modules/model-for-improvement/reflections/what-matters"
    first = client.put(url, json={"text": "Being heard."}, headers=bearer)
    assert first.status_code == 200
    conforms(document, body_schema(document, "/modules/{slug}/reflections/{key}", "put"), first.json)
    assert first.json["key"] == "what-matters" and first.json["text"] == "Being heard."
    client.put(url, json={"text": "Being heard, and safe."}, headers=bearer)
    assert db.scalars(select(Reflection.text)).all() == ["Being heard, and safe."]
    detail = client.get(f"{PREFIX}/modules/model-for-improvement", headers=bearer).json
    assert detail["reflections"][0]["text"] == "Being heard, and safe."
    assert detail["progress"]["resume_at"] == "what-matters"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "text must be a string."),
        ({"text": 5}, "text must be a string."),
        ({"text": "  "}, "Write your reflection before saving it."),
        ({"text": "z" * 10_001}, "Keep your reflection to 10,000 characters or fewer: it has 10,001."),
    ],
)
def test_a_bad_reflection_is_400(db, mfi, client, bearer, body, message):
    resp = client.put(
        f"{PREFIX}/modules/model-for-improvement/reflections/what-matters", json=body, headers=bearer
    )
    assert resp.status_code == 400 and resp.json["fields"] == {"text": [message]}
    assert db.scalar(select(func.count()).select_from(Reflection)) == 0


def test_an_unknown_prompt_is_404(mfi, client, bearer):
    resp = client.put(
        f"{PREFIX}/modules/model-for-improvement/reflections/nope", json={"text": "x"}, headers=bearer
    )
    assert resp.status_code == 404


# --- my assignments, and nobody else's ------------------------------------------------------------


def test_my_assignments_with_progress_and_the_next_thing_to_do(lib, learner, client, bearer, document):
    first = lib.module("first", title="First")
    second = lib.module("second", title="Second", dose="foundational")
    lib.assign(learner, first, due_on=org_today() - timedelta(days=1))
    lib.assign(learner, second, due_on=org_today() + timedelta(days=10))
    client.post(f"{PREFIX}/modules/first/checks/pdsa-order/answer", json={"chosen": [1]}, headers=bearer)

    resp = client.get(f"{PREFIX}/me/assignments", headers=bearer)
    assert resp.status_code == 200
    conforms(document, response_schema(document, "/me/assignments"), resp.json)
    items = resp.json["items"]
    assert [(i["module"]["slug"], i["status"], i["overdue"], i["next_up"]) for i in items] == [
        ("first", "completed", False, False),
        ("second", "not_started", False, True),
    ]
    assert items[0]["organization"] == {"slug": "alpha", "name": "Alpha Health"}
    assert items[1]["due_on"] == (org_today() + timedelta(days=10)).isoformat()
    assert items[0]["completed_at"] is not None and items[1]["completed_at"] is None


def test_nobody_sees_another_persons_assignments_answers_or_reflections(
    make, tree, lib, mfi, learner, client, bearer, login_as
):
    lib.assign(learner, mfi)
    client.post(
        f"{PREFIX}/modules/model-for-improvement/checks/aim/answer", json={"chosen": [1]}, headers=bearer
    )
    client.put(
        f"{PREFIX}/modules/model-for-improvement/reflections/what-matters",
        json={"text": "Lena's private thought"},
        headers=bearer,
    )
    other = login_as(make.person(tree, name="Omar Other"))
    assert other.get(f"{PREFIX}/me/assignments").json == {"items": []}
    detail = other.get(f"{PREFIX}/modules/model-for-improvement").json
    assert detail["progress"] is None
    assert detail["checks"][0]["latest_attempt"] is None and detail["checks"][0]["explanation_html"] is None
    assert detail["reflections"][0]["text"] is None
    assert "Lena" not in other.get(f"{PREFIX}/modules/model-for-improvement").get_data(as_text=True)


def test_the_learning_api_needs_credentials(mfi, client):
    for method, path in [
        ("get", "/modules"),
        ("get", "/modules/model-for-improvement"),
        ("get", "/me/assignments"),
        ("post", "/modules/model-for-improvement/checks/aim/answer"),
        ("put", "/modules/model-for-improvement/reflections/what-matters"),
    ]:
        resp = getattr(client, method)(f"{PREFIX}{path}", json={})
        assert resp.status_code == 401, path


def test_assignments_of_an_archived_organisation_are_not_listed(lib, learner, make, db, client, bearer):
    """A person in two organisations, one of them archived by the platform's operator, sees only the
    open organisation's assignments (the archived one is closed to its members, not deleted)."""
    lib.assign(learner, lib.module("first", title="First"))
    closed = make.org("closed", name="Closed Health")
    elsewhere = make.person(closed, email=learner.user.email)
    lib.assign(elsewhere, lib.module("second", title="Second"))
    closed.org.archived_at = utcnow()
    db.commit()

    resp = client.get(f"{PREFIX}/me/assignments", headers=bearer)
    assert resp.status_code == 200
    assert [(i["organization"]["slug"], i["module"]["slug"]) for i in resp.json["items"]] == [
        ("alpha", "first")
    ]
