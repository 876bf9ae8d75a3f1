"""The prompts API as a mobile client uses it: set a rhythm, read its next times, list and answer the
prompts delivered, make and revoke the calendar feed; answers match the served document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prompts_factory import schedule
from sqlalchemy import select
from test_api import conforms, response_schema

from curricula.stakeholders import StakeholderRole
from lms.models import JournalEntry, PromptDelivery, PromptSchedule
from lms.services import tokens
from lms.services.prompt_delivery import deliver_due
from lms.web.api import PREFIX

WEEKLY = {"kind": "weekly", "at": "08:00", "time_zone": "Europe/London", "weekdays": [0, 3]}


@pytest.fixture
def document(client) -> dict:
    return client.get(f"{PREFIX}/openapi.json").json


@pytest.fixture
def api(db, client, learner):
    """A client calling as the learner with a personal access token."""
    secret = tokens.create_token(db, learner.user, name="phone")
    db.commit()
    headers = {"Authorization": f"Bearer {secret}"}

    def call(method: str, path: str, **kwargs):
        return client.open(f"{PREFIX}{path}", method=method, headers=headers, **kwargs)

    return call


def test_a_client_sets_a_rhythm_and_reads_its_next_times(db, api, tree, document):
    made = api("POST", f"/orgs/{tree.org.slug}/prompt-schedules", json=WEEKLY)

    assert made.status_code == 200, made.json
    conforms(document, response_schema(document, "/orgs/{org}/prompt-schedules", method="post"), made.json)
    assert made.json["description"] == "Weekly on Monday and Thursday at 08:00, Europe/London time"
    assert len(made.json["next_times"]) == 5 and made.json["waiting_for_consent"] is False
    listed = api("GET", f"/orgs/{tree.org.slug}/prompt-schedules")
    assert [s["id"] for s in listed.json["items"]] == [made.json["id"]]

    paused = api(
        "PUT", f"/orgs/{tree.org.slug}/prompt-schedules/{made.json['id']}", json={**WEEKLY, "active": False}
    )
    assert paused.status_code == 200
    assert paused.json["active"] is False and paused.json["next_times"] == []


def test_a_rhythm_that_cannot_be_is_refused_with_the_field_at_fault(db, api, tree):
    no_days = api("POST", f"/orgs/{tree.org.slug}/prompt-schedules", json={**WEEKLY, "weekdays": []})
    bad_zone = api(
        "POST", f"/orgs/{tree.org.slug}/prompt-schedules", json={**WEEKLY, "time_zone": "Nowhere/Land"}
    )

    assert no_days.status_code == 400 and "weekdays" in no_days.json["fields"]
    assert bad_zone.status_code == 400 and "time_zone" in bad_zone.json["fields"]
    assert db.scalars(select(PromptSchedule)).all() == []


def test_a_client_lists_and_answers_delivered_prompts(db, api, learner, document):
    schedule(db, learner, now=datetime.now(UTC) - timedelta(days=1, hours=1))
    deliver_due(db)
    db.commit()

    listed = api("GET", "/me/prompts")

    assert listed.status_code == 200
    conforms(document, response_schema(document, "/me/prompts"), listed.json)
    (prompt,) = listed.json["items"]
    answered = api("POST", f"/me/prompts/{prompt['id']}/answer", json={"body": "What I saw today."})
    assert answered.status_code == 200, answered.json
    entry = db.scalars(select(JournalEntry)).one()
    assert answered.json["journal_entry_id"] == entry.id and entry.body == "What I saw today."
    assert api("GET", "/me/prompts").json["items"] == []


def test_another_persons_prompt_and_schedule_answer_404(db, make, tree, api):
    other = make.person(tree, StakeholderRole.EXECUTIVE)
    theirs = schedule(db, other, now=datetime.now(UTC) - timedelta(days=1, hours=1))
    deliver_due(db)
    db.commit()
    delivery_id = db.scalar(select(PromptDelivery.id).where(PromptDelivery.schedule_id == theirs.id))

    assert api("POST", f"/me/prompts/{delivery_id}/answer", json={"body": "x"}).status_code == 404
    put = api("PUT", f"/orgs/{tree.org.slug}/prompt-schedules/{theirs.id}", json=WEEKLY)
    assert put.status_code == 404


def test_a_client_makes_and_revokes_the_calendar_feed(api, client):
    made = api("POST", "/me/calendar-token", json={})

    assert made.status_code == 200
    path = made.json["url"].removeprefix("http://localhost")
    assert client.get(path).status_code == 200
    assert api("POST", "/me/calendar-token/revoke", json={}).json == {"revoked": 1}
    assert client.get(path).status_code == 404
