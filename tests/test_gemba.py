"""Gemba walks: logged once however often the phone sends them, refused whole with messages next to the
fields, seen by the leader and org admins alone, and counted against leader standard work in the
organisation's time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import csrf_token
from gemba_factory import Leaders, actor, first_set, leaders_of, new_key, walk
from sqlalchemy import func, select

from coaching.standard_work import DEFAULT_TARGETS, Target
from curricula.stakeholders import StakeholderRole
from lms.models import FollowUp, GembaWalk
from lms.services import Forbidden, Invalid, NotFound, follow_ups, gemba


@pytest.fixture
def people(make, tree) -> Leaders:
    return leaders_of(make, tree)


def walks_count(db) -> int:
    return db.scalar(select(func.count()).select_from(GembaWalk))


def walk_form(client, tree) -> tuple[str, dict[str, str]]:
    """Open the walk form for the tree's unit and read what a browser would send back."""
    html = client.get(f"/gemba?unit_id={tree.unit.id}&question_set={first_set()}").get_data(as_text=True)
    hidden = dict(
        re.findall(r'name="(csrf_token|unit_id|question_set|client_key)" type="hidden" value="([^"]*)"', html)
    )
    hidden |= {k: v for v, k in re.findall(r'value="([^"]*)" name="(csrf_token)"', html)}
    return html, hidden


# --- idempotency ------------------------------------------------------------------------------------


def test_a_walk_sent_twice_with_its_key_is_saved_once(db, people, tree):
    first = walk(db, people.unit, tree.unit.id, key="same-walk-key-1", owner=people.nurse)
    again = walk(db, people.unit, tree.unit.id, key="same-walk-key-1", owner=people.nurse)
    assert first.created and not again.created and again.walk.id == first.walk.id
    assert walks_count(db) == 1 and db.scalar(select(func.count()).select_from(FollowUp)) == 1


def test_a_walk_racing_its_own_resend_is_answered_with_the_one_that_won(db, people, tree, monkeypatch):
    """Two requests with one key at once: both look and find nothing, one inserts first; the other's
    insert hits the unique key and answers the winner's walk (the savepoint keeps its transaction)."""
    won = walk(db, people.unit, tree.unit.id, key="racing-key-7").walk
    looked_up = gemba._existing
    misses = [True]

    def before_the_other_committed(session, who, key):
        return None if misses and misses.pop() else looked_up(session, who, key)

    monkeypatch.setattr(gemba, "_existing", before_the_other_committed)
    lost = walk(db, people.unit, tree.unit.id, key="racing-key-7", owner=people.nurse)
    assert not lost.created and lost.walk.id == won.id
    assert walks_count(db) == 1 and db.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_the_same_key_from_two_leaders_makes_two_walks(db, people, tree):
    walk(db, people.unit, tree.unit.id, key="shared-key-42")
    walk(db, people.department, tree.unit.id, key="shared-key-42")
    assert walks_count(db) == 2


def test_the_walk_form_posted_twice_after_a_dropped_answer_saves_one_walk(db, people, tree, login_as):
    client = login_as(people.unit)
    html, sent = walk_form(client, tree)
    question = gemba.question_sets()[first_set()].questions[0]
    assert f"<legend>1. {question.text}</legend>" in html
    sent |= {
        f"answer_{question.key}": "Staffing on nights",
        "observations": "Whiteboard out of date",
        "follow_up_title": "Update the whiteboard every shift",
        "follow_up_owner_id": str(people.nurse.id),
        "follow_up_due_on": (follow_ups.local_today(tree.org) + timedelta(days=1)).isoformat(),
    }
    first = client.post("/gemba", data=sent)
    second = client.post("/gemba", data=sent)  # the browser resends: the first answer never arrived
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "was saved already: it is kept once" in page and "Update the whiteboard every shift" in page
    assert walks_count(db) == 1


# --- refusals ----------------------------------------------------------------------------------------


def test_an_owner_from_another_organisation_is_refused_next_to_the_owner_field(
    db, people, tree, login_as, make, other_tree
):
    stranger = make.person(other_tree, name="Sam Stranger")
    client = login_as(people.unit)
    _, sent = walk_form(client, tree)
    sent |= {
        "observations": "Kept as typed",
        "follow_up_title": "Borrow their pump",
        "follow_up_owner_id": str(stranger.id),
        "follow_up_due_on": (follow_ups.local_today(tree.org) - timedelta(days=1)).isoformat(),
    }
    answer = client.post("/gemba", data=sent)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert re.search(r'id="follow_up_owner_id-error">Choose an owner who is a member of Alpha Health', html)
    assert re.search(r'id="follow_up_due_on-error">The due date [0-9-]+ is in the past', html)
    assert "Kept as typed" in html and sent["client_key"] in html  # what was typed, and the same key
    assert walks_count(db) == 0


def test_a_unit_of_another_organisation_or_an_unknown_set_is_refused(db, people, other_tree):
    with pytest.raises(Invalid) as exc:
        gemba.record_walk(
            db,
            actor(people.unit),
            gemba.NewWalk(unit_id=other_tree.unit.id, question_set="no-such-set", client_key=new_key()),
        )
    assert set(exc.value.errors) == {"unit_id", "question_set"}


def test_a_missing_or_malformed_key_is_refused(db, people, tree):
    with pytest.raises(Invalid) as exc:
        gemba.record_walk(
            db,
            actor(people.unit),
            gemba.NewWalk(unit_id=tree.unit.id, question_set=first_set(), client_key="x"),
        )
    assert list(exc.value.errors) == ["client_key"]


# --- who sees a walk ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "sees"), [("unit", True), ("admin", True), ("department", False), ("nurse", False)]
)
def test_a_walk_is_seen_by_its_leader_and_org_admins(db, people, tree, login_as, who, sees):
    recorded = walk(db, people.unit, tree.unit.id)
    answer = login_as(getattr(people, who)).get(f"/gemba/walks/{recorded.walk.id}")
    assert answer.status_code == (200 if sees else 404)
    assert ("Call bells answered slowly" in answer.get_data(as_text=True)) is sees


def test_another_organisations_walk_is_not_found(db, people, make, other_tree):
    theirs = make.person(other_tree, StakeholderRole.UNIT_LEADER)
    recorded = walk(db, theirs, other_tree.unit.id)
    with pytest.raises(NotFound):
        gemba.get_walk(db, actor(people.admin), recorded.walk.id)


# --- leader standard work ------------------------------------------------------------------------------


def test_walks_count_in_the_week_of_the_organisations_time_zone(db, people, tree):
    # Sunday 15 March 2026, 23:30 in New York is Monday 03:30 UTC: it belongs to the week before.
    sunday_night = datetime(2026, 3, 16, 3, 30, tzinfo=UTC)
    monday = datetime(2026, 3, 16, 14, 0, tzinfo=UTC)
    tuesday = datetime(2026, 3, 17, 14, 0, tzinfo=UTC)
    for moment in (sunday_night, monday, tuesday):
        walk(db, people.unit, tree.unit.id, walked_at=moment)
    work = gemba.standard_work(db, actor(people.unit), now=datetime(2026, 3, 17, 20, 0, tzinfo=UTC))
    week, month = work.periods
    assert (week.start.isoformat(), week.walks) == ("2026-03-16", 2)
    assert (month.start.isoformat(), month.walks) == ("2026-03-01", 3)
    assert work.target == DEFAULT_TARGETS["unit-leader"]
    assert week.result is not None and week.result.done == 2


def test_the_standard_work_page_reads_without_colour(db, people, tree, login_as):
    walk(db, people.system, tree.unit.id)
    html = login_as(people.system).get("/gemba/standard-work").get_data(as_text=True)
    assert "Walks so far, against the target up to today</caption>" in html
    assert "America/New_York" in html and re.search(r"<td data-label=\"Walks\">1 of 1 expected</td>", html)
    assert "on target" in html or "below target" in html


def test_an_organisations_own_target_replaces_the_default(db, people, tree):
    gemba.save_settings(
        db,
        actor(people.admin),
        escalation_days=[2, 4, 6],
        targets={"executive": {"per": "day", "count": 2}},
    )
    assert gemba.standard_work(db, actor(people.system)).target == Target(per="day", count=2)
    assert gemba.escalation_policy(db, tree.org.id).days == (2, 4, 6)


def test_settings_are_for_org_admins_and_refuse_days_that_do_not_rise(db, people, tree, login_as):
    with pytest.raises(Forbidden):
        gemba.save_settings(db, actor(people.unit), escalation_days=[3, 7, 14], targets={})
    client = login_as(people.admin)
    path = f"/o/{tree.org.slug}/gemba/settings"
    answer = client.post(
        path, data={"csrf_token": csrf_token(client, path), "days_0": "5", "days_1": "5", "days_2": "9"}
    )
    assert answer.status_code == 400
    assert "5, 5 and 9 do not rise." in answer.get_data(as_text=True)
    assert gemba.escalation_policy(db, tree.org.id).days == (3, 7, 14)


def test_starting_a_walk_without_a_unit_says_so_next_to_the_field(db, people, tree, login_as):
    client = login_as(people.unit)
    assert client.get("/gemba?utm=phone").status_code == 200  # other parameters start nothing
    answer = client.get(f"/gemba?unit_id=&question_set={first_set()}")
    assert answer.status_code == 400
    assert re.search(r'id="unit_id-error">Choose the unit you are walking', answer.get_data(as_text=True))
