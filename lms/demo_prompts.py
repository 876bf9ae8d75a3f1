"""The demo's reflection prompts (called by lms.demo.seed_demo once the people exist).

The executive has a weekly rhythm (Monday and Thursday, 07:30 New York time) set six weeks ago, with its
prompts delivered since by the same pass the scheduler runs, most of them answered in their journal; the
emails of those past prompts count as sent. The learner, the coach and three unit leaders have a daily
rhythm set two days ago and not delivered yet, so right after `lms demo` the first `lms scheduler
--once` delivers their prompts (one each: a schedule that fell behind delivers its latest time only).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from curricula.stakeholders import StakeholderRole
from lms.db import utcnow
from lms.models import Membership, Organization, OutboxMessage, PromptDelivery, User
from lms.services import prompts
from lms.services.access import Actor
from lms.services.prompt_delivery import deliver_due
from lms.services.prompts import ScheduleSpec

HISTORY = timedelta(weeks=6)
UNANSWERED = 2  # the executive's latest prompts wait in their inbox
ANSWERS = (
    "I went to 4 West before the morning huddle and asked what got in the way yesterday. The answer "
    "was the bed board again; I had assumed the new process had fixed it.",
    "I said 'quality is everyone's job' three times this week and showed it once: I stayed for the whole "
    "safety huddle. Next week the ratio should be the other way round.",
    "What I expected: the falls bundle audit would be at 90%. What happened: 72%, and the gap is nights. "
    "I have not been on a night shift this year.",
    "I listened more than I spoke in the department meeting. Two ideas came from the unit clerks.",
    "The follow-up on the pharmacy delay is three weeks old. I promised it; I will close it or say why.",
)


def seed_prompts(db: Session, org: Organization, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    executive = _member(db, org, "executive@")
    weekly = ScheduleSpec(kind="weekly", at=time(7, 30), time_zone=org.time_zone, weekdays=frozenset({0, 3}))
    actor = Actor(executive.user, executive)
    prompts.set_schedule(db, actor, weekly, now=now - HISTORY)
    moment = now - HISTORY
    while moment < now:  # the scheduler's passes over six weeks, one an hour would do the same
        moment += timedelta(hours=12)
        deliver_due(db, min(moment, now))
    db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.to_addr == executive.user.email, OutboxMessage.sent_at.is_(None))
        .values(sent_at=now)
    )
    delivered = db.scalars(
        select(PromptDelivery)
        .where(PromptDelivery.user_id == executive.user_id)
        .order_by(PromptDelivery.due_at)
    ).all()
    for n, delivery in enumerate(delivered[:-UNANSWERED]):
        prompts.answer(
            db, actor, delivery.id, ANSWERS[n % len(ANSWERS)], now=delivery.due_at + timedelta(hours=3)
        )

    daily = ScheduleSpec(kind="daily", at=time(8, 0), time_zone=org.time_zone)
    leaders = db.scalars(
        select(Membership)
        .where(Membership.org_id == org.id, Membership.stakeholder_role == StakeholderRole.UNIT_LEADER)
        .order_by(Membership.id)
        .limit(3)
    ).all()
    for member in [_member(db, org, "learner@"), _member(db, org, "coach@"), *leaders]:
        prompts.set_schedule(db, Actor(member.user, member), daily, now=now - timedelta(days=2))
    db.flush()


def _member(db: Session, org: Organization, email_start: str) -> Membership:
    member = db.scalar(
        select(Membership)
        .join(User)
        .where(Membership.org_id == org.id, User.email.startswith(email_start))
        .order_by(Membership.id)
    )
    assert member is not None, f"no demo account {email_start}..."
    return member
