"""The `pages` benchmark's coaching data: the learner's journal of JOURNAL_ENTRIES entries and a board of
FOLLOW_UPS follow-ups they own, made through the services as people make them (so every rule that
applies to a real entry or follow-up applies here)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from curricula.stakeholders import StakeholderRole
from lms.db import get_db
from lms.models import FollowUp, FollowUpStatus, JournalEntry, Membership
from lms.services import follow_ups, gemba, journal
from lms.services.access import Actor

JOURNAL_ENTRIES = 200
FOLLOW_UPS = 500
PER_WALK = 10  # follow-ups raised on each walk
CLOSED = 100  # of the follow-ups, closed by their owner with a resolution
ENTRY = (
    "Walked the ward with the charge nurse at the start of the late shift. The call bells were answered "
    "faster than last month, but two patients still waited for pain relief while the drug round ran late.\n\n"
    "- The huddle board showed yesterday's numbers, not today's.\n"
    "- Nobody knew who owned the broken bed alarm in bay 3.\n\n"
    "Next week I will ask the team what gets in the way of the drug round, and *listen* first."
)


def seed_coaching(app: Flask, learner_id: int) -> dict[str, Any]:
    """The learner's journal and follow-up board; returns the counts the results record."""
    with app.app_context():
        db = get_db()
        learner = db.scalar(select(Membership).where(Membership.user_id == learner_id))
        if learner is None:
            raise RuntimeError("the benchmark learner has no membership")
        me = Actor(learner.user, learner)
        for n in range(JOURNAL_ENTRIES):
            journal.write_entry(db, me, title=f"Week {n + 1}: the late shift", body=ENTRY)
        leader = db.scalar(
            select(Membership)
            .where(
                Membership.org_id == learner.org_id,
                Membership.stakeholder_role == StakeholderRole.UNIT_LEADER,
                Membership.unit_id.is_not(None),
            )
            .limit(1)
        )
        if leader is None:
            raise RuntimeError("the benchmark organisation has no unit leader")
        walker = Actor(leader.user, leader)
        question_set = next(iter(gemba.question_sets()))
        today = follow_ups.local_today(learner.organization)
        for walk in range(FOLLOW_UPS // PER_WALK):
            raised = [
                follow_ups.NewFollowUp(
                    title=f"Walk {walk + 1}, item {n + 1}: fix what the team raised",
                    owner_id=learner.id,
                    due_on=today + timedelta(days=1 + (walk * PER_WALK + n) % 60),
                )
                for n in range(PER_WALK)
            ]
            gemba.record_walk(
                db,
                walker,
                gemba.NewWalk(
                    unit_id=leader.unit_id,
                    question_set=question_set,
                    client_key=f"bench-walk-{walk:04d}",
                    observations="Call bells answered slowly at shift change.",
                    follow_ups=raised,
                ),
            )
        db.flush()
        mine = db.scalars(
            select(FollowUp.id).where(FollowUp.owner_id == learner.id).order_by(FollowUp.id).limit(CLOSED)
        ).all()
        for follow_up_id in mine:
            follow_ups.close(db, me, follow_up_id, resolution="Done, and the team knows.")
        db.commit()
        return {
            "journal_entries": db.scalar(
                select(func.count()).select_from(JournalEntry).where(JournalEntry.user_id == learner_id)
            ),
            "follow_ups_owned": db.scalar(
                select(func.count()).select_from(FollowUp).where(FollowUp.owner_id == learner.id)
            ),
            "follow_ups_closed": db.scalar(
                select(func.count())
                .select_from(FollowUp)
                .where(FollowUp.owner_id == learner.id, FollowUp.status == FollowUpStatus.CLOSED)
            ),
        }
