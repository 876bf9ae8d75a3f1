"""A coach reads the gemba walks and follow-ups of the leader they coach (DESIGN.md section 6), and
changes nothing; another coach, and a coach whose coaching has ended, see nothing."""

from __future__ import annotations

from datetime import timedelta

from gemba_factory import actor, leaders_of, walk

from curricula.stakeholders import StakeholderRole
from lms.services import coaching, follow_ups


def test_the_current_coach_reads_walks_and_follow_ups_and_nobody_else_does(db, make, tree, login_as):
    leaders = leaders_of(make, tree)
    coach = make.person(tree, StakeholderRole.QUALITY_STAFF, name="Cora Coach", coach=True)
    other = make.person(tree, StakeholderRole.QUALITY_STAFF, name="Oli Other", coach=True)
    coaching.create(db, actor(leaders.admin), coach_id=coach.id, coachee_id=leaders.unit.id)
    due = follow_ups.local_today(tree.org) + timedelta(days=3)
    made = walk(db, leaders.unit, tree.unit.id, owner=leaders.nurse, due_on=due).walk
    db.commit()
    walk_page, follow_up_page = f"/gemba/walks/{made.id}", f"/follow-ups/{made.follow_ups[0].id}"

    as_coach = login_as(coach)
    assert as_coach.get(walk_page).status_code == 200
    assert as_coach.get(follow_up_page).status_code == 200
    for page in (walk_page, follow_up_page):
        assert login_as(other).get(page).status_code == 404

    relationship = coaching.current_coach(db, leaders.unit)
    coaching.end(db, actor(coach), relationship.id)
    db.commit()
    assert as_coach.get(walk_page).status_code == 404
