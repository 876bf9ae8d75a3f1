"""Follow-ups: an owner in the organisation, a due date not in the past, who may see and change one,
and a history of every change that the person who raised it can read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from gemba_factory import Leaders, actor, first_set, leaders_of, new_key, walk
from sqlalchemy import func, select

from lms.models import FollowUp, FollowUpEventKind, FollowUpStatus, GembaWalk, OutboxMessage
from lms.services import Forbidden, Invalid, NotFound, follow_ups, gemba


@pytest.fixture
def people(make, tree) -> Leaders:
    return leaders_of(make, tree)


def today(tree) -> date:
    return follow_ups.local_today(tree.org)


def raised(db, people, tree, **kw) -> FollowUp:
    recorded = walk(db, people.unit, tree.unit.id, owner=people.nurse, due_on=today(tree) + timedelta(days=3))
    return recorded.walk.follow_ups[0]


def test_an_owner_outside_the_organisation_is_refused_next_to_the_field(db, people, tree, make, other_tree):
    stranger = make.person(other_tree, name="Sam Stranger")
    new = gemba.NewWalk(
        unit_id=tree.unit.id,
        question_set=first_set(),
        client_key=new_key(),
        follow_ups=[follow_ups.NewFollowUp("Call pharmacy", stranger.id, today(tree) + timedelta(days=1))],
    )
    with pytest.raises(Invalid) as exc:
        gemba.record_walk(db, actor(people.unit), new)
    assert exc.value.errors == {
        "follow_ups.0.owner_id": [f"Choose an owner who is a member of {tree.org.name}."]
    }
    # Nothing saved half: neither the walk nor the follow-up.
    assert db.scalar(select(func.count()).select_from(GembaWalk)) == 0
    assert db.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_a_due_date_in_the_past_is_refused_with_the_date_to_choose(db, people, tree):
    yesterday = today(tree) - timedelta(days=1)
    with pytest.raises(Invalid) as exc:
        follow_ups.raise_follow_up(
            db, actor(people.unit), follow_ups.NewFollowUp("Call pharmacy", people.nurse.id, yesterday)
        )
    (message,) = exc.value.errors["due_on"]
    assert f"{yesterday.isoformat()} is in the past" in message and today(tree).isoformat() in message


def test_today_in_the_organisations_zone_is_not_the_past(db, people, tree):
    # 02:00 UTC on 11 March is 10 March (22:00) in New York: 10 March is still today there.
    late_evening = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)
    clean, errors = follow_ups.check_new(
        db,
        actor(people.unit),
        follow_ups.NewFollowUp("Call pharmacy", people.nurse.id, date(2026, 3, 10)),
        today=follow_ups.local_today(tree.org, late_evening),
    )
    assert errors == {} and clean is not None


def test_the_owner_is_told_and_the_follow_up_is_on_their_board(db, people, tree):
    item = raised(db, people, tree)
    subjects = db.scalars(
        select(OutboxMessage.subject).where(OutboxMessage.to_addr == people.nurse.user.email)
    )
    assert list(subjects) == [f"{people.unit.user.name} asked you to follow up: {item.title}"]
    assert follow_ups.listing(db, actor(people.nurse), follow_ups.Scope.MINE) == [item]
    assert follow_ups.listing(db, actor(people.unit), follow_ups.Scope.RAISED) == [item]


ACCESS = [
    # (who, reads, changes)
    ("unit", True, True),  # raised it
    ("nurse", True, True),  # owns it
    ("department", True, False),  # leads the department the unit is in
    ("facility", True, False),  # an executive of the facility above it
    ("admin", True, False),  # org admin
    ("bystander", False, False),  # a clinician of another unit
    ("stranger", False, False),  # another organisation
]


@pytest.mark.parametrize(("who", "reads", "changes"), ACCESS)
def test_who_may_read_and_change_a_follow_up(db, people, tree, make, other_tree, who, reads, changes):
    item = raised(db, people, tree)
    other_unit = make.unit(tree.org, "Ward 9", tree.unit.kind, tree.department)
    extra = {
        "bystander": make.person(tree, name="Bea Bystander", unit=other_unit),
        "stranger": make.person(other_tree, name="Sam Stranger"),
    }
    someone = actor(extra.get(who) or getattr(people, who))
    if reads:
        assert follow_ups.get(db, someone, item.id) is item
    else:
        with pytest.raises(NotFound):
            follow_ups.get(db, someone, item.id)
    if changes:
        follow_ups.update(db, someone, item.id, title="Fix it today", description="", due_on=item.due_on)
        assert item.title == "Fix it today"
    else:
        with pytest.raises((NotFound, Forbidden)):
            follow_ups.close(db, someone, item.id, resolution="Not mine to close")
        assert item.status is FollowUpStatus.OPEN


def test_a_wrong_id_is_not_found(db, people):
    with pytest.raises(NotFound):
        follow_ups.get(db, actor(people.nurse), 999_999)


def test_every_change_is_in_the_history_with_who_and_what(db, people, tree):
    item = raised(db, people, tree)
    nurse, unit_leader = actor(people.nurse), actor(people.unit)
    follow_ups.update(
        db, nurse, item.id, title=item.title, description="Ordered a part", due_on=item.due_on + timedelta(1)
    )
    follow_ups.reassign(db, nurse, item.id, owner_id=people.department.id, note="Needs a budget")
    follow_ups.close(db, actor(people.department), item.id, resolution="Alarm replaced on 4 March")
    item, events = follow_ups.history(db, unit_leader, item.id)
    assert [(e.kind, e.actor_id) for e in events] == [
        (FollowUpEventKind.CREATED, people.unit.id),
        (FollowUpEventKind.UPDATED, people.nurse.id),
        (FollowUpEventKind.REASSIGNED, people.nurse.id),
        (FollowUpEventKind.CLOSED, people.department.id),
    ]
    assert events[1].detail["description"] == ["", "Ordered a part"]
    assert events[2].detail == {"owner": ["Nia Nurse", "Dev Department"], "note": "Needs a budget"}
    # The person who raised it sees what became of it, and was told.
    assert item.resolution == "Alarm replaced on 4 March" and item.closed_at is not None
    assert (
        db.scalar(select(OutboxMessage.subject).where(OutboxMessage.to_addr == people.unit.user.email))
        == f"Closed: {item.title}"
    )


def test_closing_needs_a_resolution_and_a_closed_follow_up_stays_closed(db, people, tree):
    item = raised(db, people, tree)
    with pytest.raises(Invalid) as exc:
        follow_ups.close(db, actor(people.nurse), item.id, resolution="   ")
    assert "resolution" in exc.value.errors
    follow_ups.close(db, actor(people.nurse), item.id, resolution="Done")
    with pytest.raises(Invalid, match="closed"):
        follow_ups.reassign(db, actor(people.nurse), item.id, owner_id=people.unit.id)


def test_reassigning_to_someone_outside_the_organisation_is_refused(db, people, tree, make, other_tree):
    item = raised(db, people, tree)
    stranger = make.person(other_tree, name="Sam Stranger")
    with pytest.raises(Invalid) as exc:
        follow_ups.reassign(db, actor(people.nurse), item.id, owner_id=stranger.id)
    assert list(exc.value.errors) == ["owner_id"] and item.owner_id == people.nurse.id


def test_my_units_lists_what_is_raised_in_the_units_a_leader_leads(db, people, tree):
    item = raised(db, people, tree)
    assert follow_ups.listing(db, actor(people.department), follow_ups.Scope.UNITS) == [item]
    assert follow_ups.listing(db, actor(people.nurse), follow_ups.Scope.UNITS) == []
