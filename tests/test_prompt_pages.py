"""The prompt pages as a person uses them: the inbox and its count in the navigation, setting a rhythm
(with a preview, and clear messages for what cannot be), a coach's suggestion that waits for consent."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from conftest import csrf_token
from prompts_factory import schedule
from sqlalchemy import func, select

from curricula.stakeholders import StakeholderRole
from lms.models import OutboxMessage, PromptSchedule
from lms.services import coaching
from lms.services.access import Actor
from lms.services.prompt_delivery import deliver_due
from lms.services.prompts import ScheduleSpec

FORM = {"kind": "weekly", "at": "07:30", "time_zone": "Europe/London", "weekdays": ["0", "3"]}


def press(client, path: str) -> int:
    """A button of the schedule page (pause, resume, accept ...): the answer's status."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/prompts/schedule")}).status_code


def post_schedule(client, path="/prompts/schedule", csrf_path=None, **changes):
    data = {**FORM, **changes, "csrf_token": csrf_token(client, csrf_path or path)}
    return client.post(path, data={k: v for k, v in data.items() if v is not None})


def schedules(db) -> int:
    return db.scalar(select(func.count()).select_from(PromptSchedule))


def error_next_to(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    assert found, f"no error next to {field}"
    return found.group(1)


def test_a_delivered_prompt_waits_in_the_inbox_with_its_count_in_the_navigation(db, learner, login_as):
    schedule(db, learner, now=datetime.now(UTC) - timedelta(days=1, hours=1))
    deliver_due(db)
    client = login_as(learner)

    home = client.get("/learning").get_data(as_text=True)
    assert re.search(r'Prompts <span class="badge">1<span class="visually-hidden"> waiting', home)
    inbox = client.get("/prompts")
    assert inbox.status_code == 200
    assert "Waiting for your answer (1)" in inbox.get_data(as_text=True)


def test_setting_a_weekly_rhythm_saves_it_and_shows_the_next_five_times(db, learner, login_as):
    client = login_as(learner)

    saved = post_schedule(client)

    assert saved.status_code == 302, saved.get_data(as_text=True)
    made = db.scalars(select(PromptSchedule)).one()
    assert (made.kind, made.at, made.weekdays) == ("weekly", time(7, 30), "0,3")
    assert made.time_zone == "Europe/London"
    assert made.consented_at is not None and made.next_due_at is not None
    page = client.get("/prompts/schedule").get_data(as_text=True)
    assert "Weekly on Monday and Thursday at 07:30, Europe/London time" in page
    assert page.count("<time datetime=") == 5


def test_preview_shows_the_next_five_times_and_saves_nothing(db, learner, login_as):
    client = login_as(learner)

    page = post_schedule(client, kind="monthly-day", day_of_month="31", weekdays=None, preview="1")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "a month without a day 31 has it on its last day" in html
    assert html.count("<time datetime=") == 5
    assert schedules(db) == 0


def test_a_weekly_rhythm_without_days_is_refused_next_to_the_days(db, learner, login_as):
    client = login_as(learner)

    page = post_schedule(client, weekdays=None)

    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "Choose at least one day of the week." in error_next_to(html, "weekdays")
    assert 'value="07:30"' in html, "what was typed is kept"
    assert schedules(db) == 0


def test_an_unknown_time_zone_is_refused_next_to_the_time_zone(db, learner, login_as):
    page = post_schedule(login_as(learner), time_zone="Mars/Olympus_Mons")

    assert page.status_code == 400
    assert "is not a time zone we know" in error_next_to(page.get_data(as_text=True), "time_zone")
    assert schedules(db) == 0


def test_a_day_of_the_month_past_31_is_refused_next_to_it(db, learner, login_as):
    page = post_schedule(login_as(learner), kind="monthly-day", day_of_month="32", weekdays=None)

    assert page.status_code == 400
    assert "Choose a day from 1 to 31." in error_next_to(page.get_data(as_text=True), "day_of_month")


def test_pausing_stops_prompts_and_resuming_starts_them_again(db, learner, login_as):
    made = schedule(db, learner)
    client = login_as(learner)
    path = f"/prompts/schedule/{made.id}/pause"

    assert press(client, path) == 302
    db.refresh(made)
    assert not made.active and made.next_due_at is None
    assert "Paused" in client.get("/prompts/schedule").get_data(as_text=True)

    resume = f"/prompts/schedule/{made.id}/resume"
    assert press(client, resume) == 302
    db.refresh(made)
    assert made.active and made.next_due_at is not None


def test_a_coachs_suggestion_waits_for_the_persons_consent(db, make, tree, learner, login_as):
    coach = make.person(tree, StakeholderRole.QUALITY_STAFF, coach=True, name="Cora Coach")
    admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True)
    coaching.create(db, Actor(admin.user, admin), coach_id=coach.id, coachee_id=learner.id)
    db.commit()
    coach_client = login_as(coach)

    sent = post_schedule(coach_client, f"/prompts/suggest/{learner.id}")

    assert sent.status_code == 302, sent.get_data(as_text=True)
    suggested = db.scalars(select(PromptSchedule)).one()
    assert suggested.user_id == learner.user_id and suggested.next_due_at is None
    asked = db.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == learner.user.email)).one()
    assert "Cora Coach" in asked.subject
    assert deliver_due(db, datetime.now(UTC) + timedelta(days=30)) == 0, "nothing before consent"

    client = login_as(learner)
    page = client.get("/prompts/schedule").get_data(as_text=True)
    assert "by your coach Cora Coach" in page
    accept = f"/prompts/schedule/{suggested.id}/accept"
    assert press(client, accept) == 302
    db.refresh(suggested)
    assert suggested.consented_at is not None and suggested.next_due_at is not None


def test_only_the_persons_own_coach_can_suggest_a_rhythm(db, make, tree, learner, login_as):
    other = make.person(tree, StakeholderRole.CLINICIAN)
    another_coach = make.person(tree, StakeholderRole.QUALITY_STAFF, coach=True)

    assert login_as(other).get(f"/prompts/suggest/{learner.id}").status_code == 404
    assert login_as(another_coach).get(f"/prompts/suggest/{learner.id}").status_code == 404
    refused = post_schedule(login_as(another_coach), f"/prompts/suggest/{learner.id}", csrf_path="/prompts")
    assert refused.status_code == 404, "a coach, but not this person's"
    assert schedules(db) == 0


def test_another_persons_schedule_answers_404(db, make, tree, learner, login_as):
    made = schedule(db, learner, ScheduleSpec(kind="daily", at=time(9), time_zone="UTC"))
    other = login_as(make.person(tree, StakeholderRole.CLINICIAN))

    assert other.get(f"/prompts/schedule/{made.id}").status_code == 404
    token = csrf_token(other, "/prompts/schedule")
    assert other.post(f"/prompts/schedule/{made.id}/pause", data={"csrf_token": token}).status_code == 404
