"""`lms demo`'s coaching: the executive is coached by the coach; her journal has private and shared
entries; the coach sees what was shared (and commented on one), never what was not."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from test_demo import lms

from lms.demo_coaching import ENTRIES
from lms.models import JournalComment, JournalEntry, JournalSource, Membership, User
from lms.services import coaching


def _member(db, email: str) -> Membership:
    return db.scalar(select(Membership).join(User).where(User.email == email))


def test_the_executive_has_the_coach_and_a_journal_partly_shared(app: Flask, db, login_as):
    lms(app, "demo")
    db.expire_all()
    executive = _member(db, "executive@demo.example")
    coach = _member(db, "coach@demo.example")
    assert coaching.current_coach(db, executive).coach_id == coach.id
    entries = db.scalars(  # the entries written as such (answers to prompts are the prompts demo's)
        select(JournalEntry).where(
            JournalEntry.user_id == executive.user_id, JournalEntry.source == JournalSource.ENTRY
        )
    ).all()
    shared = {e.title for e in entries if e.shared}
    private = {e.title for e in entries if not e.shared}
    assert len(entries) == len(ENTRIES) and len(shared) == 3 and len(private) == 2
    assert db.scalar(select(JournalComment)).author_id == coach.user_id

    coach_page = login_as(coach).get("/coaching").get_data(as_text=True)
    assert "Helen Okonkwo" in coach_page
    assert all(title in coach_page for title in shared)
    assert not [title for title in private if title in coach_page]
    journal_page = login_as(executive).get("/journal").get_data(as_text=True)
    assert all(e.title in journal_page for e in entries)
