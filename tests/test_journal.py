"""The journal: entries written, rendered safely, refused when they break a rule."""

from __future__ import annotations

import pytest
from journal_factory import actor_of, build_circle
from sqlalchemy import select

from lms.models import AuditEvent, JournalComment, JournalEntry, JournalSource
from lms.services import Invalid, NotFound, journal


def test_a_new_entry_is_private_rendered_and_tagged(db, learner, lib):
    entry = journal.write_entry(
        db, actor_of(learner), title=" Rounds ", body="**Bold** <script>x()</script>", tags=["set-direction"]
    )
    assert entry.id is not None and entry.shared_at is None
    assert entry.title == "Rounds" and entry.tags == ["set-direction"]
    assert "<strong>Bold</strong>" in entry.body_html
    assert "<script>" not in entry.body_html and "&lt;script&gt;" in entry.body_html
    assert entry.source == JournalSource.ENTRY


def test_an_answer_to_a_prompt_is_recorded_as_such(db, learner, lib):
    entry = journal.write_entry(db, actor_of(learner), body="What I saw", source="prompt")
    assert db.get(JournalEntry, entry.id).source == JournalSource.PROMPT


def test_bad_entries_are_refused_field_by_field_and_nothing_is_saved(db, learner, lib):
    with pytest.raises(Invalid) as refused:
        journal.write_entry(
            db, actor_of(learner), title="t" * 201, body="x" * (journal.BODY_MAX + 1), tags=["astrology"]
        )
    assert set(refused.value.errors) == {"title", "body", "tags"}
    assert "20,000" in refused.value.errors["body"][0]
    assert "astrology" in refused.value.errors["tags"][0]
    with pytest.raises(Invalid) as empty:
        journal.write_entry(db, actor_of(learner), body="   ")
    assert list(empty.value.errors) == ["body"]
    assert db.query(JournalEntry).count() == 0


# --- the journal of one person, and what their coach may read -----------------------------------------


@pytest.fixture
def circle(db, make, tree, other_tree, lib):
    return build_circle(db, make, tree, other_tree, lib)


def test_the_journal_lists_own_entries_and_reflections_newest_first(db, circle, make, tree):
    author = actor_of(circle.author)
    first = journal.write_entry(db, author, title="First", body="one")
    reflection = circle.reflect(db, "Trust matters")
    journal.write_entry(db, actor_of(circle.coach), title="The coach's own", body="not Erin's")
    items = journal.list_journal(db, author)
    assert [(i.kind, i.title) for i in items] == [
        ("reflection", "Reflection: Leading rounds"),
        ("entry", "First"),
    ]
    assert items[0].id == reflection.id and not items[0].shared and items[0].tags == ["set-direction"]
    assert items[1].id == first.id


def test_search_finds_entries_holding_every_word_in_any_case(db, circle):
    author = actor_of(circle.author)
    journal.write_entry(db, author, title="Huddle", body="The NIGHT shift asked for 100% staffing")
    journal.write_entry(db, author, title="Rounds", body="Night rounds were calm")
    circle.reflect(db, "Night handover needs a checklist")

    def found(q: str) -> list[str]:
        return [i.title for i in journal.list_journal(db, author, q=q)]

    assert found("night") == ["Reflection: Leading rounds", "Rounds", "Huddle"]
    assert found("night SHIFT") == ["Huddle"]
    assert found("100%") == ["Huddle"]
    assert found("10_%") == []
    assert found("night checklist") == ["Reflection: Leading rounds"]
    with pytest.raises(Invalid) as too_long:
        journal.list_journal(db, author, q="x " * 150)
    assert "q" in too_long.value.errors


def test_the_tag_filter_keeps_items_with_every_tag(db, circle):
    author = actor_of(circle.author)
    journal.write_entry(db, author, title="Both", body="b", tags=["set-direction", "shared-purpose"])
    journal.write_entry(db, author, title="Purpose", body="p", tags=["shared-purpose"])
    circle.reflect(db, "r")  # its module is tagged set-direction
    titles = [i.title for i in journal.list_journal(db, author, tags=["set-direction"])]
    assert titles == ["Reflection: Leading rounds", "Both"]
    assert [i.title for i in journal.list_journal(db, author, tags=["set-direction", "shared-purpose"])] == [
        "Both"
    ]
    with pytest.raises(Invalid):
        journal.list_journal(db, author, tags=["astrology"])


def test_the_author_edits_and_deletes_and_nobody_else_can(db, circle):
    author = actor_of(circle.author)
    entry = journal.write_entry(db, author, title="Draft", body="first words")
    for other in (circle.coach, circle.admin, circle.hr, circle.other_admin):
        with pytest.raises(NotFound):
            journal.edit_entry(db, actor_of(other), entry.id, body="hijacked")
        with pytest.raises(NotFound):
            journal.delete_entry(db, actor_of(other), entry.id)
    edited = journal.edit_entry(
        db, author, entry.id, title="Final", body="*better* words", tags=["build-will"]
    )
    assert edited.body_html == "<p><em>better</em> words</p>\n" and edited.tags == ["build-will"]
    with pytest.raises(Invalid):
        journal.edit_entry(db, author, entry.id, body="")
    assert db.get(JournalEntry, entry.id).body == "*better* words"
    journal.delete_entry(db, author, entry.id)
    assert db.get(JournalEntry, entry.id) is None


def test_sharing_is_entry_by_entry_with_the_current_coach_only(db, circle):
    author = actor_of(circle.author)
    private = journal.write_entry(db, author, body="private")
    shared = journal.write_entry(db, author, body="shared")
    journal.share(db, author, "entry", shared.id)
    coach = actor_of(circle.coach)
    assert journal.shared_item(db, coach, "entry", shared.id).body == "shared"
    assert [i.id for i in journal.shared_by(db, coach, circle.author.id)] == [shared.id]
    for reader in (circle.coach, circle.other_coach, circle.hr, circle.faculty, circle.admin):
        with pytest.raises(NotFound):
            journal.shared_item(db, actor_of(reader), "entry", private.id)
    for reader in (circle.other_coach, circle.hr, circle.faculty, circle.admin):
        with pytest.raises(NotFound):
            journal.shared_item(db, actor_of(reader), "entry", shared.id)
        with pytest.raises(NotFound):
            journal.shared_by(db, actor_of(reader), circle.author.id)
    journal.unshare(db, author, "entry", shared.id)
    with pytest.raises(NotFound):
        journal.shared_item(db, coach, "entry", shared.id)
    assert journal.shared_by(db, coach, circle.author.id) == []


def test_nobody_can_share_another_persons_entry_or_share_without_a_coach(db, circle):
    entry = journal.write_entry(db, actor_of(circle.author), body="mine")
    with pytest.raises(NotFound):
        journal.share(db, actor_of(circle.coach), "entry", entry.id)
    lone = journal.write_entry(db, actor_of(circle.hr), body="no coach")
    with pytest.raises(Invalid) as no_coach:
        journal.share(db, actor_of(circle.hr), "entry", lone.id)
    assert "no coach" in str(no_coach.value)
    with pytest.raises(NotFound):
        journal.share(db, actor_of(circle.author), "poem", entry.id)


def test_a_reflection_is_private_until_shared_and_the_coach_comments_on_it(db, circle):
    reflection = circle.reflect(db, "What matters is *trust*")
    coach = actor_of(circle.coach)
    with pytest.raises(NotFound):
        journal.shared_item(db, coach, "reflection", reflection.id)
    journal.share(db, actor_of(circle.author), "reflection", reflection.id)
    shown = journal.shared_item(db, coach, "reflection", reflection.id)
    assert "<em>trust</em>" in shown.html and "What matters most" in shown.prompt_html
    journal.add_comment(db, coach, "reflection", reflection.id, "Say more about trust")
    page = journal.reflection_page(db, actor_of(circle.author), reflection.id)
    assert [c.body for c in page.comments] == ["Say more about trust"]


def test_coach_comments_are_checked_and_only_on_what_was_shared_with_them(db, circle):
    author = actor_of(circle.author)
    entry = journal.write_entry(db, author, body="shared")
    with pytest.raises(NotFound):
        journal.add_comment(db, actor_of(circle.coach), "entry", entry.id, "Too early")
    journal.share(db, author, "entry", entry.id)
    coach = actor_of(circle.coach)
    for body, message in (("  ", "Write your comment"), ("x" * 5001, "5,000")):
        with pytest.raises(Invalid) as refused:
            journal.add_comment(db, coach, "entry", entry.id, body)
        assert message in refused.value.errors["body"][0]
    with pytest.raises(NotFound):
        journal.add_comment(db, actor_of(circle.other_coach), "entry", entry.id, "Not mine")
    journal.add_comment(db, coach, "entry", entry.id, "Well seen")
    assert [c.body for c in journal.entry_page(db, author, entry.id).comments] == ["Well seen"]
    journal.delete_entry(db, author, entry.id)
    assert db.query(JournalComment).count() == 0


def test_sharing_is_audited_on_the_authors_account_without_any_text(db, circle):
    author = actor_of(circle.author)
    entry = journal.write_entry(db, author, title="Secret title", body="Secret body")
    journal.share(db, author, "entry", entry.id)
    journal.unshare(db, author, "entry", entry.id)
    events = db.scalars(select(AuditEvent).where(AuditEvent.action.like("journal.%"))).all()
    assert [e.action for e in events] == ["journal.shared", "journal.unshared"]
    assert all(e.org_id is None and e.target_id == entry.id for e in events)
    assert "Secret" not in repr([e.changes for e in db.scalars(select(AuditEvent))])


def test_the_export_is_the_authors_journal_oldest_first_with_comments(db, circle):
    author = actor_of(circle.author)
    journal.write_entry(db, author, title="Older", body="first", tags=["shared-purpose"])
    later = journal.write_entry(db, author, title="Newer", body="second")
    journal.share(db, author, "entry", later.id)
    journal.add_comment(db, actor_of(circle.coach), "entry", later.id, "Good\nwork")
    journal.write_entry(db, actor_of(circle.coach), title="Cal's entry", body="not exported")
    text = journal.export_markdown(db, author)
    assert text.startswith("# Journal of Erin Executive")
    assert text.index("## Older") < text.index("## Newer")
    assert "Tags: Build a shared sense of purpose" in text
    assert "> **Cal Coach**" in text and "> work" in text
    assert "Cal's entry" not in text
