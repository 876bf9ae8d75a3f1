"""The demo's gemba walks: a month of walks by the executive (executive@demo.example) and three unit
leaders in several units, with follow-ups open, escalated and closed.

Made through the services a leader's phone calls (lms.services.gemba, .follow_ups, .escalation), with
the walks dated back over the last month. A follow-up cannot be raised with a due date in the past, so
the overdue ones are raised due later and their due date is then set back, as if a month had passed;
the escalation job's own service then moves them up the tree, so their history reads as it would.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from curricula.stakeholders import StakeholderRole
from lms.db import utcnow
from lms.models import FollowUp, Membership, Organization, OrgUnit, User
from lms.services import escalation, follow_ups, gemba
from lms.services.access import Actor

SEED = 20260311
DAYS = 30
EXECUTIVE_EMAIL = "executive@demo.example"
# The units the executive walks, and whose unit leaders walk their own unit on most working days.
EXECUTIVE_UNITS = ("4 West", "Adult Emergency", "Labour and Delivery", "Ward 2A", "Operating Rooms")
LEADER_UNITS = ("4 West", "5 East", "Adult Emergency")

OBSERVATIONS = (
    "Huddle board up to date; the team named today's falls-risk patients without looking.",
    "Call bells slow to be answered at shift change; two staff on break at once.",
    "Hand gel empty at two doors; the team had reported it yesterday.",
    "Discharge before noon at 40% this week; beds waiting on pharmacy.",
    "New starters unsure where the sepsis bundle checklist is kept.",
    "The team tested a quieter handover at the bedside: patients joined in.",
)
# The next step a leader expects after seeing each of OBSERVATIONS (what a Kata prompt asks about later).
EXPECTED = {
    OBSERVATIONS[0]: "The board kept current by nights too, without a reminder",
    OBSERVATIONS[1]: "Staggered breaks bring call-bell answers under two minutes",
    OBSERVATIONS[2]: "A daily facilities round keeps every door stocked",
    OBSERVATIONS[3]: "Pharmacy's early round lifts discharges before noon past half",
    OBSERVATIONS[4]: "Every new starter shown the checklist on their first shift",
    OBSERVATIONS[5]: "Bedside handover tried on a second ward",
}
PROMISES = (
    ("Refill hand gel at every door daily", "Ask facilities for a daily round."),
    ("Stagger breaks at shift change", "Try it for two weeks and count call-bell times."),
    ("Pharmacy to join the 11:00 discharge huddle", ""),
    ("Put the sepsis checklist on the board", "A copy at the nurses' station too."),
    ("Fix the broken bed alarm in bay 3", "Estates ticket raised."),
    ("Share the bedside handover test with 5 East", ""),
)
RESOLUTIONS = (
    "Done: facilities now refill every morning; no empty doors this week.",
    "Breaks staggered; call bells answered within 2 minutes on 9 of 10 checks.",
    "Pharmacist joins the huddle on weekdays.",
)


def seed_gemba(db: Session, org: Organization) -> int:
    """Walks and follow-ups for the demo organisation; returns how many walks were made."""
    rng = random.Random(SEED)
    now = utcnow()
    units = {u.name: u for u in db.scalars(select(OrgUnit).where(OrgUnit.org_id == org.id))}
    executive = _member(db, org, User.email == EXECUTIVE_EMAIL)
    walks = 0
    raised: list[FollowUp] = []
    # The executive: twice a week or so, in a different unit each time.
    for n, days_ago in enumerate(range(DAYS - 1, 0, -3)):
        unit = units[EXECUTIVE_UNITS[n % len(EXECUTIVE_UNITS)]]
        owner = _leader_of(db, org, unit) or executive
        raised += _walk(
            db, executive, unit, now - timedelta(days=days_ago, hours=rng.randint(0, 3)), rng, owner
        )
        walks += 1
    # Unit leaders: their own unit, most working days.
    for name in LEADER_UNITS:
        leader = _leader_of(db, org, units[name])
        if leader is None:
            continue
        nurse = _clinician_of(db, org, units[name]) or leader
        for days_ago in range(DAYS - 1, 0, -1):
            moment = now - timedelta(days=days_ago, hours=rng.randint(0, 4))
            if moment.weekday() >= 5 or rng.random() < 0.2:
                continue
            raised += _walk(db, leader, units[name], moment, rng, nurse if rng.random() < 0.3 else None)
            walks += 1
    _age(db, raised, now, rng)
    escalation.escalate_overdue(db, now)
    return walks


def _member(db: Session, org: Organization, *where) -> Membership:
    found = db.scalar(select(Membership).join(User).where(Membership.org_id == org.id, *where))
    assert found is not None
    return found


def _leader_of(db: Session, org: Organization, unit: OrgUnit) -> Membership | None:
    return db.scalar(
        select(Membership)
        .where(
            Membership.org_id == org.id,
            Membership.unit_id == unit.id,
            Membership.stakeholder_role == StakeholderRole.UNIT_LEADER,
        )
        .order_by(Membership.id)
    )


def _clinician_of(db: Session, org: Organization, unit: OrgUnit) -> Membership | None:
    return db.scalar(
        select(Membership)
        .where(
            Membership.org_id == org.id,
            Membership.unit_id == unit.id,
            Membership.stakeholder_role == StakeholderRole.CLINICIAN,
        )
        .order_by(Membership.id)
    )


def _walk(
    db: Session,
    leader: Membership,
    unit: OrgUnit,
    when: datetime,
    rng: random.Random,
    owner: Membership | None,
) -> list[FollowUp]:
    sets = gemba.question_sets()
    key = rng.choice(sorted(sets))
    questions = sets[key].questions
    answers = {q.key: rng.choice(OBSERVATIONS) for q in questions[:2]}
    promise = None
    if owner is not None:
        title, details = rng.choice(PROMISES)
        due = follow_ups.local_today(leader.organization) + timedelta(days=rng.randint(1, 10))
        promise = follow_ups.NewFollowUp(title, owner.id, due, details)
    recorded = gemba.record_walk(
        db,
        Actor(leader.user, leader),
        gemba.NewWalk(
            unit_id=unit.id,
            question_set=key,
            client_key=f"demo-{leader.id}-{int(when.timestamp())}",
            answers=answers,
            observations=(seen := rng.choice(OBSERVATIONS)),
            expected_next=EXPECTED[seen],
            follow_ups=[promise] if promise else [],
            walked_at=when,
        ),
    )
    for item in recorded.walk.follow_ups:
        item.created_at = when
        for event in item.events:
            event.at = when
    return list(recorded.walk.follow_ups)


def _age(db: Session, raised: list[FollowUp], now: datetime, rng: random.Random) -> None:
    """As if the month had passed: a follow-up raised a while ago was due a few days after its walk.
    About a third of the older ones were closed on time; the rest of those now past due stay open, to be
    escalated."""
    for item in raised:
        item.due_on = (item.created_at + timedelta(days=rng.randint(2, 6))).date()
        if item.due_on < (now - timedelta(days=2)).date() and rng.random() < 0.4:
            owner = item.owner
            follow_ups.close(db, Actor(owner.user, owner), item.id, resolution=rng.choice(RESOLUTIONS))
            item.closed_at = datetime.combine(item.due_on, datetime.min.time(), now.tzinfo)
            item.events[-1].at = item.closed_at
    db.flush()
