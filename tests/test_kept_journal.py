"""The journal list is kept rendered between visits (lms.kept.JOURNAL_LIST), a page at a time, and
rendered again the moment anything it shows changes: an entry written, edited, shared, unshared or
deleted, a coach's comment, a module reflection. A kept page is its author's alone."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from conftest import csrf_token
from journal_factory import actor_of, build_circle
from sqlalchemy import select, update

from lms.db import utcnow
from lms.models import JournalEntry, Membership
from lms.services import journal


@pytest.fixture
def circle(db, make, tree, other_tree, lib):
    return build_circle(db, make, tree, other_tree, lib)


def words(client, path: str = "/journal") -> str:
    resp = client.get(path)
    assert resp.status_code == 200
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))).split())


def listed(client, path: str = "/journal") -> list[str]:
    """The titles the list shows, in order."""
    html = client.get(path).get_data(as_text=True)
    return [unescape(t) for t in re.findall(r"<h3><a [^>]*>([^<]*)</a></h3>", html)]


def post(client, path: str, data: dict, page: str) -> None:
    resp = client.post(path, data={"csrf_token": csrf_token(client, page), **data})
    assert resp.status_code in (302, 303)


def version_of(db, membership: Membership) -> int:
    return db.scalar(select(Membership.journal_version).where(Membership.id == membership.id))


def write(db, circle, n: int, **kw) -> list[JournalEntry]:
    """n entries by the author, an hour apart, the last written the newest."""
    start = utcnow() - timedelta(days=30)
    entries = []
    for i in range(n):
        entry = journal.write_entry(db, actor_of(circle.author), title=f"Note {i + 1:03d}", body="b", **kw)
        entry.created_at = start + timedelta(hours=i)
        entries.append(entry)
    db.flush()
    return entries


def test_a_page_read_again_is_the_kept_one_until_the_journal_changes(circle, login_as, db):
    (entry,) = write(db, circle, 1)
    erin = login_as(circle.author)
    assert "Note 001" in words(erin)
    # A write that bypasses the services and the ORM (nothing bumps the version) is not seen...
    db.execute(update(JournalEntry).where(JournalEntry.id == entry.id).values(title="Sneaked in"))
    db.commit()
    assert "Note 001" in words(erin) and "Sneaked in" not in words(erin)
    # ...until anything the services write changes the version: then the page is rendered again.
    journal.write_entry(db, actor_of(circle.author), title="Evening", body="calm")
    page = words(erin)
    assert "Sneaked in" in page and "Evening" in page


def test_each_change_by_the_author_shows_at_once(circle, login_as, db):
    (entry,) = write(db, circle, 1)
    erin = login_as(circle.author)
    assert "Note 001" in words(erin)

    post(erin, "/journal/new", {"title": "Written on the page", "body": "x"}, "/journal/new")
    assert "Written on the page" in words(erin)

    edit = f"/journal/entries/{entry.id}/edit"
    post(erin, edit, {"title": "Renamed note", "body": "y", "tags": ["set-direction"]}, edit)
    page = words(erin)
    assert "Renamed note" in page and "Note 001" not in page and "Set and champion direction" in page

    item = f"/journal/entries/{entry.id}"
    post(erin, f"{item}/share", {}, item)
    assert "Renamed note" in words(erin) and "Shared with your coach" in words(erin)
    post(erin, f"{item}/unshare", {}, item)
    assert "Shared with your coach" not in words(erin)

    post(erin, f"{item}/delete", {}, f"{item}/delete")
    assert listed(erin) == ["Written on the page"]


def test_a_coachs_comment_and_a_reflection_show_at_once(circle, login_as, db):
    (entry,) = write(db, circle, 1)
    author = actor_of(circle.author)
    journal.share(db, author, "entry", entry.id)
    erin = login_as(circle.author)
    assert "Note 001" in words(erin) and "comment" not in words(erin)

    before = version_of(db, circle.author)
    journal.add_comment(db, actor_of(circle.coach), "entry", entry.id, "What did you see?")
    db.commit()
    assert version_of(db, circle.author) > before
    assert "1 comment from your coach" in words(erin)

    reflection = circle.reflect(db, "Trust is built on rounds")
    assert "Reflection: Leading rounds" in words(erin)
    journal.share(db, author, "reflection", reflection.id)
    journal.add_comment(db, actor_of(circle.coach), "reflection", reflection.id, "Say more")
    journal.add_comment(db, actor_of(circle.coach), "reflection", reflection.id, "And then?")
    assert "2 comments from your coach" in words(erin)


def test_an_answer_to_a_prompt_is_listed_at_once(circle, login_as, db):
    erin = login_as(circle.author)
    assert "Nothing written yet" in words(erin)
    journal.write_entry(db, actor_of(circle.author), title="Prompted", body="b", source="prompt")
    assert "Prompted" in words(erin) and "Answer to a prompt" in words(erin)


def test_fifty_to_a_page_newest_first_with_older_and_newer_links(circle, login_as, db):
    write(db, circle, 120)
    erin = login_as(circle.author)
    html = erin.get("/journal").get_data(as_text=True)
    first = words(erin)
    assert "Entries , page 1 of 3" in first
    assert (
        first.count("Note ") == 50 and "Note 120" in first and "Note 071" in first and "Note 070" not in first
    )
    assert 'aria-label="Pages of your journal"' in html and 'href="/journal?page=2">Older entries' in html
    assert "Newer entries" not in first

    second = words(erin, "/journal?page=2")
    assert (
        "page 2 of 3" in second and "Note 070" in second and "Note 021" in second and "Note 071" not in second
    )
    assert "Newer entries" in second and "Older entries" in second
    last = words(erin, "/journal?page=3")
    assert last.count("Note ") == 20 and "Note 001" in last and "Older entries" not in last

    # A new entry moves every page along by one, the kept ones too.
    journal.write_entry(db, actor_of(circle.author), title="Newest of all", body="b")
    assert "Note 070" in words(erin, "/journal?page=2") and "Note 071" in words(erin, "/journal?page=2")
    assert "Newest of all" in words(erin)

    beyond = words(erin, "/journal?page=9")
    assert "There is no page 9: your journal has 3 pages." in beyond and "Go to the first page" in beyond
    refused = erin.get("/journal?page=nope")
    assert refused.status_code == 400


def test_a_search_is_paged_and_keeps_its_words_in_the_links(circle, login_as, db):
    write(db, circle, 60)
    erin = login_as(circle.author)
    html = erin.get("/journal?q=note").get_data(as_text=True)
    assert "60 found" in words(erin, "/journal?q=note")
    assert 'href="/journal?q=note&amp;page=2">Older entries' in html
    assert words(erin, "/journal?q=note&page=2").count("Note ") == 10


def test_a_kept_page_is_never_served_to_anyone_else(circle, login_as, db, make, tree):
    write(db, circle, 3)
    erin = login_as(circle.author)
    assert "Note 003" in words(erin)  # kept now, for Erin
    for who in (circle.coach, circle.hr, circle.admin, circle.faculty, circle.other_coach):
        other = login_as(who)
        page = words(other)
        assert "Note 00" not in page and "Nothing written yet" in page
        journal.write_entry(db, actor_of(who), title=f"Own of {who.user.name}", body="b")
        page = words(other)
        assert f"Own of {who.user.name}" in page and "Note 00" not in page
    page = words(erin)
    assert "Note 003" in page and "Own of" not in page


def test_the_version_is_bumped_with_the_change_and_rolled_back_with_it(circle, db):
    before = version_of(db, circle.author)
    journal.write_entry(db, actor_of(circle.author), title="Draft", body="b")
    assert version_of(db, circle.author) == before + 1
    assert circle.author.journal_version == before + 1  # the loaded membership reads the new value
    db.rollback()
    assert version_of(db, circle.author) == before
    other = version_of(db, circle.coach)
    journal.write_entry(db, actor_of(circle.author), title="Draft", body="b")
    assert version_of(db, circle.coach) == other  # another person's journal is untouched
