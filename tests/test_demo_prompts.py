"""The demo's prompts: the executive's weekly rhythm with past prompts, most answered in their journal;
right after `lms demo`, `lms scheduler --once` delivers the prompts some demo people have due."""

from __future__ import annotations

from sqlalchemy import func, select
from test_demo import lms

from lms.models import JournalEntry, OutboxMessage, PromptDelivery, PromptSchedule, User


def test_the_demo_executive_has_a_weekly_rhythm_with_past_prompts_some_answered(app, db):
    lms(app, "demo")

    executive = db.scalar(select(User).where(User.email == "executive@demo.example"))
    (weekly,) = db.scalars(select(PromptSchedule).where(PromptSchedule.user_id == executive.id)).all()
    assert weekly.kind == "weekly" and weekly.active and weekly.consented_at is not None
    delivered = db.scalars(select(PromptDelivery).where(PromptDelivery.user_id == executive.id)).all()
    assert 10 <= len(delivered) <= 14, "twice a week for six weeks"
    answered = [d for d in delivered if d.answered_at is not None]
    assert len(answered) == len(delivered) - 2, "the latest two wait in the inbox"
    entries = db.scalars(select(JournalEntry).where(JournalEntry.user_id == executive.id)).all()
    assert {d.journal_entry_id for d in answered} <= {e.id for e in entries}
    waiting = select(func.count()).where(
        OutboxMessage.to_addr == executive.email, OutboxMessage.sent_at.is_(None)
    )
    assert db.scalar(waiting) == 0, "the emails of past prompts count as sent"


def test_right_after_the_demo_the_scheduler_delivers_the_prompts_that_are_due(app, db):
    lms(app, "demo")
    before = db.scalar(select(func.count()).select_from(PromptDelivery))

    first = lms(app, "scheduler", "--once").output.splitlines()
    second = lms(app, "scheduler", "--once").output.splitlines()

    assert "prompts delivered: 5" in first, first
    assert db.scalar(select(func.count()).select_from(PromptDelivery)) == before + 5
    learner = db.scalar(select(User).where(User.email == "learner@demo.example"))
    assert db.scalar(select(func.count()).where(PromptDelivery.user_id == learner.id)) == 1
    assert "prompts delivered: 0" in second
