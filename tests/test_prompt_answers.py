"""Answering a delivered prompt: a private journal entry of one's own, linked to the prompt, which leaves
the inbox; the answer is nowhere else (not in the feed, not for anyone else)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from conftest import csrf_token
from prompts_factory import schedule
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.models import JournalEntry, PromptDelivery
from lms.models.journal import JournalSource
from lms.services.prompt_delivery import deliver_due

ANSWER = "On 4 West I expected the huddle board to be used; it was not. PRIVATE-MARKER-7Q"


def delivered(db, learner) -> PromptDelivery:
    schedule(db, learner, now=datetime.now(UTC) - timedelta(days=1, hours=1))
    deliver_due(db)
    db.commit()
    return db.scalars(select(PromptDelivery)).one()


def answer(client, delivery_id: int, body: str):
    path = f"/prompts/{delivery_id}"
    return client.post(path, data={"csrf_token": csrf_token(client, path), "body": body})


def test_answering_writes_a_private_journal_entry_linked_to_the_prompt(db, learner, login_as):
    prompt = delivered(db, learner)
    client = login_as(learner)

    done = answer(client, prompt.id, ANSWER)

    entry = db.scalars(select(JournalEntry)).one()
    assert done.status_code == 302 and done.location.endswith(f"/journal/entries/{entry.id}")
    assert (entry.user_id, entry.body, entry.source) == (learner.user_id, ANSWER, JournalSource.PROMPT)
    assert not entry.shared, "private by default"
    assert entry.title == prompt.prompt_text[:200]
    db.refresh(prompt)
    assert prompt.answered_at is not None and prompt.journal_entry_id == entry.id
    inbox = client.get("/prompts").get_data(as_text=True)
    assert "Waiting for your answer (0)" in inbox
    assert 'Prompts <span class="badge">' not in inbox, "the count in the navigation is gone"


def test_an_empty_answer_is_refused_next_to_the_field_and_nothing_is_saved(db, learner, login_as):
    prompt = delivered(db, learner)

    page = answer(login_as(learner), prompt.id, "   ")

    assert page.status_code == 400
    assert re.search(r'<p class="error" id="body-error">', page.get_data(as_text=True))
    assert db.scalars(select(JournalEntry)).all() == []
    db.refresh(prompt)
    assert prompt.answered_at is None


def test_a_prompt_is_answered_once(db, learner, login_as):
    prompt = delivered(db, learner)
    client = login_as(learner)
    answer(client, prompt.id, ANSWER)

    again = answer(client, prompt.id, "A second answer")

    assert again.status_code in (200, 400)
    assert len(db.scalars(select(JournalEntry)).all()) == 1


def test_another_persons_prompt_answers_404_and_shows_nothing(db, make, tree, learner, login_as):
    prompt = delivered(db, learner)
    other = login_as(make.person(tree, StakeholderRole.EXECUTIVE))

    assert other.get(f"/prompts/{prompt.id}").status_code == 404
    token = csrf_token(other, "/prompts")
    assert other.post(f"/prompts/{prompt.id}", data={"csrf_token": token, "body": "x"}).status_code == 404


def test_the_answer_is_not_in_the_calendar_feed(db, learner, login_as):
    prompt = delivered(db, learner)
    client = login_as(learner)
    answer(client, prompt.id, ANSWER)
    page = client.post("/calendar", data={"csrf_token": csrf_token(client, "/calendar")})
    feed = re.search(r'<code class="secret">http://localhost([^<]+)</code>', page.get_data(as_text=True))

    assert feed
    body = client.get(feed.group(1)).get_data(as_text=True)
    assert "BEGIN:VEVENT" in body
    assert "PRIVATE-MARKER-7Q" not in body
