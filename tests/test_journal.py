"""The journal: entries written, rendered safely, refused when they break a rule."""

from __future__ import annotations

import pytest

from lms.models import JournalEntry, JournalSource
from lms.services import Invalid, journal
from lms.services.access import Actor


def actor_of(membership) -> Actor:
    return Actor(membership.user, membership)


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
