"""The journal and coaching API: the caller's own journal, sharing, coach comments, relationships; a
private entry is nobody else's, whatever address asks for it."""

from __future__ import annotations

import pytest
from journal_factory import actor_of, build_circle

from lms.services import journal, tokens

API = "/api/v1/orgs/alpha"


@pytest.fixture
def circle(db, make, tree, other_tree, lib):
    return build_circle(db, make, tree, other_tree, lib)


@pytest.fixture
def bearer(db, client):
    def headers(membership) -> dict:
        secret = tokens.create_token(db, membership.user, name="api test")
        db.commit()
        return {"Authorization": f"Bearer {secret}"}

    return headers


def test_an_entry_is_written_read_changed_and_deleted_by_its_author(circle, client, bearer):
    erin = bearer(circle.author)
    made = client.post(
        f"{API}/journal/entries",
        json={"title": "Huddle", "body": "*Calm*", "tags": ["build-will"]},
        headers=erin,
    )
    assert made.status_code == 200
    entry = made.json
    assert entry["html"] == "<p><em>Calm</em></p>\n" and entry["shared"] is False and entry["comments"] == []
    path = f"{API}/journal/entries/{entry['id']}"
    changed = client.put(path, json={"body": "Busy", "tags": []}, headers=erin).json
    assert changed["body"] == "Busy" and changed["title"] == "Entry of " + changed["title"].split("of ", 1)[1]
    listed = client.get(f"{API}/journal?q=busy", headers=erin).json["items"]
    assert [i["id"] for i in listed] == [entry["id"]]
    assert client.delete(path, headers=erin).json == {"id": entry["id"], "deleted": True}
    assert client.get(path, headers=erin).status_code == 404


def test_bad_entries_answer_400_with_the_field_at_fault(circle, client, bearer):
    erin = bearer(circle.author)
    answer = client.post(f"{API}/journal/entries", json={"body": "   "}, headers=erin)
    assert answer.status_code == 400 and answer.json["fields"]["body"] == [journal.BODY_EMPTY]
    answer = client.post(f"{API}/journal/entries", json={"body": "ok", "tags": ["astrology"]}, headers=erin)
    assert answer.status_code == 400 and "astrology" in answer.json["fields"]["tags"][0]


def test_sharing_comments_and_the_coach_reading_only_what_was_shared(circle, client, bearer, db):
    private = journal.write_entry(db, actor_of(circle.author), body="PRIVATE-WORDS")
    shared = journal.write_entry(db, actor_of(circle.author), body="shared words")
    db.commit()
    erin, cal = bearer(circle.author), bearer(circle.coach)
    answer = client.post(f"{API}/journal/entries/{shared.id}/share", headers=erin)
    assert answer.json["shared"] is True
    assert client.get(f"{API}/coaching/shared/entries/{private.id}", headers=cal).status_code == 404
    listed = client.get(f"{API}/coaching/coachees/{circle.author.id}/shared", headers=cal).json["items"]
    assert [i["id"] for i in listed] == [shared.id]
    comment = client.post(
        f"{API}/coaching/shared/entries/{shared.id}/comments", json={"body": "Tell me more"}, headers=cal
    )
    assert comment.status_code == 200 and comment.json["author"] == "Cal Coach"
    assert (
        client.get(f"{API}/journal/entries/{shared.id}", headers=erin).json["comments"][0]["body"]
        == "Tell me more"
    )
    client.post(f"{API}/journal/entries/{shared.id}/unshare", headers=erin)
    assert client.get(f"{API}/coaching/shared/entries/{shared.id}", headers=cal).status_code == 404
    for who in (circle.coach, circle.admin, circle.hr, circle.other_coach):
        assert client.get(f"{API}/journal/entries/{private.id}", headers=bearer(who)).status_code == 404


def test_sharing_without_a_coach_is_a_conflict(circle, client, bearer, db):
    lone = journal.write_entry(db, actor_of(circle.hr), body="alone")
    db.commit()
    answer = client.post(f"{API}/journal/entries/{lone.id}/share", headers=bearer(circle.hr))
    assert answer.status_code == 409 and "no coach" in answer.json["error"]


def test_relationships_are_made_proposed_accepted_and_ended(circle, client, bearer, make, tree, db):
    lee = make.person(tree, name="Lee Learner", email="lee@alpha.test")
    olga, lee_h, ada = bearer(circle.other_coach), bearer(lee), bearer(circle.admin)
    proposal = client.post(f"{API}/coaching/proposals", json={"email": "lee@alpha.test"}, headers=olga).json
    assert proposal["status"] == "proposed" and proposal["coachee"]["name"] == "Lee Learner"
    assert (
        client.post(f"{API}/coaching/proposals", json={"email": "who@alpha.test"}, headers=olga).status_code
        == 409
    )
    mine = client.get(f"{API}/coaching", headers=lee_h).json
    assert [p["id"] for p in mine["proposals"]] == [proposal["id"]] and mine["coach"] is None
    accepted = client.post(f"{API}/coaching/relationships/{proposal['id']}/accept", headers=lee_h).json
    assert accepted["status"] == "active"
    made = client.post(
        f"{API}/coaching/relationships", json={"coach_id": circle.coach.id, "coachee_id": lee.id}, headers=ada
    )
    assert made.json["status"] == "active"
    assert client.get(f"{API}/coaching", headers=lee_h).json["coach"]["coach"]["name"] == "Cal Coach"
    refused = client.post(
        f"{API}/coaching/relationships", json={"coach_id": circle.hr.id, "coachee_id": lee.id}, headers=ada
    )
    assert refused.status_code == 409 and "coach_id" in refused.json["fields"]
    forbidden = client.post(
        f"{API}/coaching/relationships",
        json={"coach_id": circle.coach.id, "coachee_id": lee.id},
        headers=lee_h,
    )
    assert forbidden.status_code == 403
    ended = client.post(f"{API}/coaching/relationships/{made.json['id']}/end", headers=lee_h).json
    assert ended["status"] == "ended" and ended["end_reason"] == "ended"


def test_the_document_lists_the_release_tags_for_entries(circle, client):
    doc = client.get("/api/v1/openapi.json").json
    items = doc["components"]["schemas"]["EntryRequest"]["properties"]["tags"]["items"]
    assert items["enum"] == ["set-direction", "build-will", "shared-purpose", "systems-thinking"]
    assert "/orgs/{org}/journal/entries/{entry_id}/share" in doc["paths"]
