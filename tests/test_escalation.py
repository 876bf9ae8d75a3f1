"""An overdue follow-up climbs the unit tree to the right leader, in the organisation's time zone, once."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from gemba_factory import Leaders, actor, follow_up, leaders_of
from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching.escalation import Tier
from lms.models import FollowUp, FollowUpEvent, FollowUpEventKind, OutboxMessage
from lms.services import escalation, follow_ups, gemba

# 15:00 UTC on 10 March 2026 is 11:00 in New York (the `tree` organisation's zone, EDT since 8 March).
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def people(make, tree) -> Leaders:
    return leaders_of(make, tree)


def overdue(db, people: Leaders, tree, days: int):
    return follow_up(db, people.unit, people.nurse, tree.unit.id, date(2026, 3, 10).replace(day=10 - days))


def mail_to(db, who) -> list[str]:
    return list(db.scalars(select(OutboxMessage.subject).where(OutboxMessage.to_addr == who.user.email)))


@pytest.mark.parametrize(
    ("days", "tier", "leader"),
    [
        (3, Tier.DEPARTMENT, "department"),
        (7, Tier.FACILITY, "facility"),
        (9, Tier.FACILITY, "facility"),
    ],
)
def test_an_overdue_follow_up_goes_to_the_leader_of_the_next_level(db, people, tree, days, tier, leader):
    item = overdue(db, people, tree, days)
    assert escalation.escalate_overdue(db, NOW) == 1
    expected = getattr(people, leader)
    assert item.tier == tier and item.escalated_to_id == expected.id
    assert mail_to(db, expected) == [f"Overdue follow-up escalated to you: {item.title}"]
    event = db.scalars(select(FollowUpEvent).where(FollowUpEvent.kind == FollowUpEventKind.ESCALATED)).one()
    assert event.actor_id is None and event.detail["to"] == expected.user.name
    # It shows on the leader's board, escalated to them.
    assert follow_ups.listing(db, actor(expected), follow_ups.Scope.ESCALATED) == [item]


def test_two_weeks_overdue_reaches_the_executive_of_the_system(db, people, tree):
    item = follow_up(db, people.unit, people.nurse, tree.unit.id, date(2026, 2, 20))
    escalation.escalate_overdue(db, NOW)
    assert item.tier == Tier.EXECUTIVE and item.escalated_to_id == people.system.id


def test_escalating_twice_changes_nothing_and_sends_nothing_more(db, people, tree):
    item = overdue(db, people, tree, 3)
    assert escalation.escalate_overdue(db, NOW) == 1
    assert escalation.escalate_overdue(db, NOW) == 0
    assert len(mail_to(db, people.department)) == 1
    assert [e.kind for e in item.events].count(FollowUpEventKind.ESCALATED) == 1


def test_not_overdue_closed_or_due_today_stays_where_it_is(db, people, tree):
    on_time = follow_up(db, people.unit, people.nurse, tree.unit.id, date(2026, 3, 10))
    slightly_late = overdue(db, people, tree, 2)
    closed = overdue(db, people, tree, 5)
    follow_ups.close(db, actor(people.nurse), closed.id, resolution="Done")
    assert escalation.escalate_overdue(db, NOW) == 0
    assert {on_time.tier, slightly_late.tier, closed.tier} == {Tier.UNIT}


def test_lateness_is_counted_in_the_organisations_time_zone(db, people, tree):
    # 03:00 UTC on 13 March is still 12 March (23:00) in New York: due 10 March is 2 days late there.
    item = follow_up(db, people.unit, people.nurse, tree.unit.id, date(2026, 3, 10))
    assert escalation.escalate_overdue(db, datetime(2026, 3, 13, 3, 0, tzinfo=UTC)) == 0
    assert item.tier == Tier.UNIT
    # At 00:30 on 13 March in New York it is 3 days late.
    assert escalation.escalate_overdue(db, datetime(2026, 3, 13, 4, 30, tzinfo=UTC)) == 1
    assert item.escalated_to_id == people.department.id


def test_the_organisations_own_days_are_used(db, people, tree):
    gemba.save_settings(db, actor(people.admin), escalation_days=[1, 2, 3], targets={})
    item = overdue(db, people, tree, 2)
    escalation.escalate_overdue(db, NOW)
    assert item.tier == Tier.FACILITY and item.escalated_to_id == people.facility.id


def test_a_level_nobody_leads_records_the_tier_and_keeps_the_leader(db, make, tree):
    raiser = make.person(tree, name="Raj Raiser")
    owner = make.person(tree, name="Owen Owner")
    item = follow_up(db, raiser, owner, tree.unit.id, date(2026, 3, 5))
    assert escalation.escalate_overdue(db, NOW) == 1
    assert item.tier == Tier.DEPARTMENT and item.escalated_to_id is None
    assert escalation.escalate_overdue(db, NOW) == 0


def test_another_organisations_leaders_are_never_chosen(db, make, tree, other_tree, people):
    make.person(other_tree, name="Other Director", role=people.department.stakeholder_role)
    item = overdue(db, people, tree, 3)
    escalation.escalate_overdue(db, NOW)
    assert item.escalated_to.org_id == tree.org.id


def test_the_scheduler_job_escalates_every_quarter_hour_and_logs_its_count(app, db, people, tree, caplog):
    from lms.scheduler import JOBS, escalate_overdue_follow_ups

    assert (escalate_overdue_follow_ups, 900) in JOBS
    late = follow_ups.local_today(tree.org) - timedelta(days=20)
    item = follow_up(db, people.unit, people.nurse, tree.unit.id, late)
    db.commit()
    with caplog.at_level(logging.INFO, logger="lms.scheduler"):
        assert escalate_overdue_follow_ups(app) == {"follow-ups escalated": 1}
        assert escalate_overdue_follow_ups(app) == {"follow-ups escalated": 0}
    assert caplog.text.count("Follow-ups escalated: 1") == 1
    db.expire_all()
    assert item.tier == Tier.EXECUTIVE and item.escalated_to_id == people.system.id


@pytest.mark.postgres
@pytest.mark.committed  # the other scheduler, a connection of its own, must see the follow-up
def test_a_follow_up_another_scheduler_has_claimed_is_left_to_it(app, db, people, tree):
    item = overdue(db, people, tree, 3)
    db.commit()
    with Session(app.extensions["lms.engine"]) as other_scheduler:
        other_scheduler.scalar(
            select(FollowUp).where(FollowUp.id == item.id).with_for_update(skip_locked=True)
        )
        assert escalation.escalate_overdue(db, NOW) == 0
        other_scheduler.rollback()
    assert escalation.escalate_overdue(db, NOW) == 1
