"""The journal and coaching pages as their users meet them: writing, finding, sharing, commenting,
exporting; forms keep what was typed and say what is wrong next to the field."""

from __future__ import annotations

import re

import pytest
from conftest import csrf_token
from journal_factory import actor_of, build_circle

from lms.models import CoachingRelationship, JournalComment, JournalEntry
from lms.services import coaching, journal


@pytest.fixture
def circle(db, make, tree, other_tree, lib):
    return build_circle(db, make, tree, other_tree, lib)


def post(client, path, data, page=None):
    return client.post(path, data={"csrf_token": csrf_token(client, page or path), **data})


def test_an_entry_is_written_tagged_shown_and_listed(circle, login_as, db):
    erin = login_as(circle.author)
    answer = post(
        erin, "/journal/new", {"title": "Rounds", "body": "We *listened*.", "tags": ["set-direction"]}
    )
    assert answer.status_code == 302
    page = erin.get(answer.headers["Location"]).get_data(as_text=True)
    assert (
        "<em>listened</em>" in page and "Set and champion direction" in page and "Private: only you" in page
    )
    listing = erin.get("/journal").get_data(as_text=True)
    assert "Rounds" in listing and "Private" in listing


def test_a_refused_entry_keeps_what_was_typed_with_the_message_at_the_field(circle, login_as, db):
    erin = login_as(circle.author)
    answer = post(erin, "/journal/new", {"title": "Kept title", "body": "x" * 20_001}, page="/journal/new")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert 'value="Kept title"' in html
    assert re.search(r'id="body-error">Keep an entry to 20,000 characters', html)
    assert db.query(JournalEntry).count() == 0


def test_search_and_tags_narrow_the_list(circle, login_as, db):
    author = actor_of(circle.author)
    journal.write_entry(db, author, title="Night huddle", body="staffing", tags=["shared-purpose"])
    journal.write_entry(db, author, title="Day rounds", body="calm")
    erin = login_as(circle.author)
    found = erin.get("/journal?q=NIGHT+staffing").get_data(as_text=True)
    assert "Night huddle" in found and "Day rounds" not in found
    tagged = erin.get("/journal?tags=shared-purpose").get_data(as_text=True)
    assert "Night huddle" in tagged and "Day rounds" not in tagged
    refused = erin.get("/journal?tags=astrology")
    assert refused.status_code == 400 and "Choose tags from the list" in refused.get_data(as_text=True)


def test_editing_and_deleting_with_a_confirmation(circle, login_as, db):
    entry_id = journal.write_entry(db, actor_of(circle.author), title="Draft", body="first").id
    erin = login_as(circle.author)
    edit = f"/journal/entries/{entry_id}/edit"
    assert 'value="Draft"' in erin.get(edit).get_data(as_text=True)
    assert post(erin, edit, {"title": "Final", "body": "second"}).status_code == 302
    delete = f"/journal/entries/{entry_id}/delete"
    assert "cannot be undone" in erin.get(delete).get_data(as_text=True)
    db.expire_all()
    assert db.get(JournalEntry, entry_id).title == "Final"
    assert post(erin, delete, {}).status_code == 302
    db.expire_all()
    assert db.get(JournalEntry, entry_id) is None


def test_the_author_shares_the_coach_reads_and_comments_and_the_author_sees_it(circle, login_as, db):
    entry = journal.write_entry(db, actor_of(circle.author), title="Gemba", body="Saw a fall risk")
    erin = login_as(circle.author)
    page = f"/journal/entries/{entry.id}"
    assert "Share with your coach, Cal Coach" in erin.get(page).get_data(as_text=True)
    cal = login_as(circle.coach)
    shared_page = f"/coaching/shared/entries/{entry.id}"
    assert cal.get(shared_page).status_code == 404
    post(erin, f"/journal/entries/{entry.id}/share", {}, page=page)
    coaching_page = cal.get("/coaching").get_data(as_text=True)
    assert "Erin Executive" in coaching_page and "Gemba" in coaching_page
    assert "Saw a fall risk" in cal.get(shared_page).get_data(as_text=True)
    refused = post(cal, shared_page, {"body": ""})
    assert refused.status_code == 400 and 'id="body-error"' in refused.get_data(as_text=True)
    assert post(cal, shared_page, {"body": "What did the nurse *say*?"}).status_code == 302
    assert "<em>say</em>" in erin.get(page).get_data(as_text=True)
    post(erin, f"/journal/entries/{entry.id}/unshare", {}, page=page)
    assert cal.get(shared_page).status_code == 404
    assert db.query(JournalComment).count() == 1


def test_a_reflection_is_in_the_journal_and_shared_like_an_entry(circle, login_as, db):
    reflection = circle.reflect(db, "Trust is built on rounds")
    erin = login_as(circle.author)
    assert "Reflection: Leading rounds" in erin.get("/journal").get_data(as_text=True)
    page = f"/journal/reflections/{reflection.id}"
    assert "What matters most to your patients?" in erin.get(page).get_data(as_text=True)
    post(erin, f"/journal/reflections/{reflection.id}/share", {}, page=page)
    cal = login_as(circle.coach)
    assert "Trust is built on rounds" in cal.get(f"/coaching/shared/reflections/{reflection.id}").get_data(
        as_text=True
    )


def test_sharing_without_a_coach_says_so(circle, login_as, db):
    entry = journal.write_entry(db, actor_of(circle.hr), body="alone")
    hana = login_as(circle.hr)
    page = f"/journal/entries/{entry.id}"
    assert "no coach" in hana.get(page).get_data(as_text=True)
    answer = post(hana, f"/journal/entries/{entry.id}/share", {}, page=page)
    assert "no coach in this organisation" in hana.get(answer.headers["Location"]).get_data(as_text=True)


def test_export_downloads_markdown_and_the_printable_page_has_every_entry(circle, login_as, db):
    journal.write_entry(db, actor_of(circle.author), title="Older", body="one **two**")
    erin = login_as(circle.author)
    download = erin.get("/journal/export.md")
    assert download.mimetype == "text/markdown"
    assert "attachment" in download.headers["Content-Disposition"]
    assert "## Older" in download.get_data(as_text=True) and "one **two**" in download.get_data(as_text=True)
    printable = erin.get("/journal/print").get_data(as_text=True)
    assert "Journal of Erin Executive" in printable and "<strong>two</strong>" in printable


def test_another_persons_entry_is_not_found_on_every_journal_page(circle, login_as, db):
    entry = journal.write_entry(db, actor_of(circle.author), body="mine")
    cal = login_as(circle.coach)
    for path in (
        f"/journal/entries/{entry.id}",
        f"/journal/entries/{entry.id}/edit",
        f"/journal/entries/{entry.id}/delete",
    ):
        assert cal.get(path).status_code == 404
    token = csrf_token(cal, "/journal")
    for action in ("share", "unshare", "delete", "edit"):
        assert (
            cal.post(f"/journal/entries/{entry.id}/{action}", data={"csrf_token": token}).status_code == 404
        )


def test_a_coach_proposes_and_the_coachee_accepts_on_the_coaching_page(circle, login_as, make, tree, db):
    lee = make.person(tree, name="Lee Learner", email="lee@alpha.test")
    olga = login_as(circle.other_coach)
    refused = post(olga, "/coaching/propose", {"email": "nobody@alpha.test"}, page="/coaching")
    assert refused.status_code == 400
    assert 'value="nobody@alpha.test"' in refused.get_data(as_text=True)
    assert "No active member" in refused.get_data(as_text=True)
    assert post(olga, "/coaching/propose", {"email": "lee@alpha.test"}, page="/coaching").status_code == 302
    lee_client = login_as(lee)
    page = lee_client.get("/coaching").get_data(as_text=True)
    assert "Olga Othercoach proposes to coach you" in page
    rel = db.query(CoachingRelationship).filter_by(coachee_id=lee.id).one()
    post(lee_client, f"/coaching/{rel.id}/accept", {}, page="/coaching")
    assert "has coached you since" in lee_client.get("/coaching").get_data(as_text=True)
    assert "Lee Learner" in olga.get("/coaching").get_data(as_text=True)


def test_an_org_admin_sets_a_coach_on_the_person_page(circle, login_as, make, tree, db):
    lee = make.person(tree, name="Lee Learner", email="lee@alpha.test")
    ada = login_as(circle.admin)
    page = f"/o/alpha/admin/people/{lee.id}"
    html = ada.get(page).get_data(as_text=True)
    assert "has no coach" in html and "Cal Coach" in html
    refused = post(ada, page, {"change": "coach", "coach_id": ""})
    assert refused.status_code == 400 and "Choose a coach from the list." in refused.get_data(as_text=True)
    assert post(ada, page, {"change": "coach", "coach_id": str(circle.coach.id)}).status_code == 302
    assert "Coached by Cal Coach" in ada.get(page).get_data(as_text=True)
    rel = coaching.current_coach(db, lee)
    answer = post(ada, f"/coaching/{rel.id}/end", {"person": str(lee.id)}, page=page)
    assert answer.headers["Location"].endswith(page)
    db.expire_all()
    assert coaching.current_coach(db, lee) is None


def test_home_and_navigation_lead_to_the_journal_and_coaching(circle, login_as):
    home = login_as(circle.coach).get("/").get_data(as_text=True)
    assert 'href="/journal"' in home and 'href="/coaching"' in home and "People you coach" in home
    assert "Coaching journals: read" not in home
