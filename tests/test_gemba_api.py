"""The API's gemba walks and follow-ups, as a mobile client uses them: in the document, idempotent by
the walk's key, filtered boards, changes with their history, another organisation's objects 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from gemba_factory import Leaders, first_set, leaders_of
from sqlalchemy import func, select
from test_api import conforms, response_schema

from lms.models import GembaWalk
from lms.services import follow_ups, tokens
from lms.web.api import PREFIX


@pytest.fixture
def people(make, tree) -> Leaders:
    return leaders_of(make, tree)


def bearer(db, who) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.create_token(db, who.user, name='phone')}"}


def walk_body(tree, people, key: str = "phone-walk-0001") -> dict:
    return {
        "unit_id": tree.unit.id,
        "question_set": first_set(),
        "client_key": key,
        "observations": "Hand gel empty at the door",
        "follow_ups": [
            {
                "title": "Refill hand gel daily",
                "owner_id": people.nurse.id,
                "due_on": (follow_ups.local_today(tree.org) + timedelta(days=2)).isoformat(),
            }
        ],
    }


def test_a_walk_posted_twice_is_made_once_and_conforms(db, client, people, tree):
    headers = bearer(db, people.unit)
    document = client.get(f"{PREFIX}/openapi.json").json
    path = f"{PREFIX}/orgs/{tree.org.slug}/gemba-walks"
    first = client.post(path, json=walk_body(tree, people), headers=headers)
    again = client.post(path, json=walk_body(tree, people), headers=headers)
    assert first.status_code == again.status_code == 200
    conforms(document, response_schema(document, "/orgs/{org}/gemba-walks", "200", "post"), first.json)
    assert (first.json["created"], again.json["created"]) == (True, False)
    assert first.json["id"] == again.json["id"] and len(first.json["follow_up_ids"]) == 1
    assert db.scalar(select(func.count()).select_from(GembaWalk)) == 1
    listed = client.get(path, headers=headers).json["items"]
    assert [w["id"] for w in listed] == [first.json["id"]]


def test_an_owner_outside_the_organisation_is_a_400_naming_the_field(
    db, client, people, tree, make, other_tree
):
    stranger = make.person(other_tree, name="Sam Stranger")
    body = walk_body(tree, people)
    body["follow_ups"][0]["owner_id"] = stranger.id
    answer = client.post(
        f"{PREFIX}/orgs/{tree.org.slug}/gemba-walks", json=body, headers=bearer(db, people.unit)
    )
    assert answer.status_code == 400
    assert list(answer.json["fields"]) == ["follow_ups.0.owner_id"]


def test_the_owner_updates_reassigns_and_closes_with_history(db, client, people, tree):
    made = client.post(
        f"{PREFIX}/orgs/{tree.org.slug}/gemba-walks",
        json=walk_body(tree, people),
        headers=bearer(db, people.unit),
    ).json
    (follow_up_id,) = made["follow_up_ids"]
    nurse = bearer(db, people.nurse)
    base = f"{PREFIX}/orgs/{tree.org.slug}/follow-ups"
    mine = client.get(f"{base}?filter=mine", headers=nurse).json["items"]
    assert [f["id"] for f in mine] == [follow_up_id]
    changed = client.post(
        f"{base}/{follow_up_id}/update",
        json={"description": "Ordered", "owner_id": people.department.id},
        headers=nurse,
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["owner"]["name"] == "Dev Department" and changed.json["description"] == "Ordered"
    closed = client.post(
        f"{base}/{follow_up_id}/close",
        json={"resolution": "Bottles on every door"},
        headers=bearer(db, people.department),
    )
    assert closed.json["status"] == "closed"
    assert [e["kind"] for e in closed.json["history"]] == ["created", "updated", "reassigned", "closed"]
    # The nurse gave it away: it is no longer hers to see; the leader who raised it sees how it ended.
    assert client.get(f"{base}/{follow_up_id}", headers=nurse).status_code == 404
    assert client.get(f"{base}/{follow_up_id}", headers=bearer(db, people.unit)).json["resolution"] == (
        "Bottles on every door"
    )


def test_a_reader_who_may_not_change_gets_403_and_a_stranger_404(db, client, people, tree, make, other_tree):
    made = client.post(
        f"{PREFIX}/orgs/{tree.org.slug}/gemba-walks",
        json=walk_body(tree, people),
        headers=bearer(db, people.unit),
    ).json
    (follow_up_id,) = made["follow_up_ids"]
    path = f"{PREFIX}/orgs/{tree.org.slug}/follow-ups/{follow_up_id}/close"
    assert client.post(path, json={"resolution": "x"}, headers=bearer(db, people.admin)).status_code == 403
    stranger = make.person(other_tree, name="Sam Stranger")
    answer = client.get(
        f"{PREFIX}/orgs/{other_tree.org.slug}/follow-ups/{follow_up_id}", headers=bearer(db, stranger)
    )
    assert answer.status_code == 404
    assert (
        client.get(
            f"{PREFIX}/orgs/{other_tree.org.slug}/gemba-walks/{made['id']}", headers=bearer(db, stranger)
        ).status_code
        == 404
    )
