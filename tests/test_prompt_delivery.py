"""Delivering due reflection prompts: once per due time, the latest one after a gap, by email through the
outbox, in the rotation's order; and `lms scheduler --once` saying what it did."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from prompts_factory import DAILY_8, schedule
from sqlalchemy import func, select

from curricula.stakeholders import StakeholderRole
from lms.cli import main as lms_cli
from lms.models import OutboxMessage, PromptDelivery
from lms.scheduler import JOBS
from lms.services import prompts
from lms.services.prompt_delivery import deliver_due
from lms.services.prompts import ScheduleSpec

# Wednesday 1 July 2026, 06:00 UTC: 07:00 in London (BST), an hour before a daily 08:00 prompt.
MORNING = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
EIGHT_LONDON = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_a_due_prompt_is_delivered_once_with_one_email_and_the_schedule_moves_on(db, learner):
    made = schedule(db, learner, now=MORNING)
    assert made.next_due_at == EIGHT_LONDON

    assert deliver_due(db, EIGHT_LONDON - timedelta(minutes=1)) == 0
    assert deliver_due(db, EIGHT_LONDON) == 1
    assert deliver_due(db, EIGHT_LONDON + timedelta(minutes=5)) == 0, "the same occurrence, not again"

    delivered = db.scalars(select(PromptDelivery)).all()
    assert [(d.due_at, d.user_id) for d in delivered] == [(EIGHT_LONDON, learner.user_id)]
    assert delivered[0].prompt_text in {p.text for p in prompts.prompt_library().values()}
    mail = db.scalars(select(OutboxMessage)).all()
    assert [m.to_addr for m in mail] == [learner.user.email]
    assert delivered[0].prompt_text in mail[0].body_text
    assert f"/prompts/{delivered[0].id}" in mail[0].body_text
    db.refresh(made)
    assert made.next_due_at == EIGHT_LONDON + timedelta(days=1)


def test_a_schedule_that_fell_behind_delivers_the_latest_occurrence_not_a_flood(db, learner):
    schedule(db, learner, now=MORNING)
    three_weeks_later = EIGHT_LONDON + timedelta(days=21, hours=3)

    assert deliver_due(db, three_weeks_later) == 1

    assert db.scalars(select(PromptDelivery.due_at)).all() == [EIGHT_LONDON + timedelta(days=21)]
    assert count(db, OutboxMessage) == 1


def test_prompts_do_not_repeat_before_the_whole_set_was_delivered(db, learner):
    schedule(db, learner, now=MORNING)
    library = prompts.prompt_library()
    for day in range(len(library) + 1):
        assert deliver_due(db, EIGHT_LONDON + timedelta(days=day)) == 1

    keys = db.scalars(select(PromptDelivery.prompt_key).order_by(PromptDelivery.due_at)).all()
    assert sorted(keys[: len(library)]) == sorted(library)
    assert keys[len(library)] in keys[: len(library)], "a new round starts once all were delivered"


def test_a_schedule_limited_to_a_tag_delivers_only_prompts_with_it(db, learner):
    tag = prompts.library_tags(prompts.prompt_library())[0]
    spec = ScheduleSpec(kind="daily", at=time(8, 0), time_zone="Europe/London", tags=frozenset({tag}))
    schedule(db, learner, spec, now=MORNING)
    for day in range(4):
        deliver_due(db, EIGHT_LONDON + timedelta(days=day))

    tagged = {p.key for p in prompts.prompt_library().values() if tag in p.tags}
    assert set(db.scalars(select(PromptDelivery.prompt_key))) <= tagged


def test_someone_who_left_the_organisation_is_not_prompted(db, learner):
    made = schedule(db, learner, now=MORNING)
    learner.active = False
    db.commit()

    assert deliver_due(db, EIGHT_LONDON) == 0

    assert count(db, PromptDelivery) == 0 and count(db, OutboxMessage) == 0
    db.refresh(made)
    assert made.next_due_at == EIGHT_LONDON + timedelta(days=1), "moved on: no catching up on return"


def test_a_paused_schedule_delivers_nothing_and_resuming_does_not_catch_up(db, learner):
    made = schedule(db, learner, now=MORNING)
    actor = prompts.Actor(learner.user, learner)
    prompts.pause(db, actor, made.id, paused=True, now=MORNING)
    assert deliver_due(db, EIGHT_LONDON + timedelta(days=3)) == 0

    prompts.pause(db, actor, made.id, paused=False, now=EIGHT_LONDON + timedelta(days=3, hours=1))
    assert made.next_due_at == EIGHT_LONDON + timedelta(days=4)
    assert deliver_due(db, EIGHT_LONDON + timedelta(days=4)) == 1


def test_lms_scheduler_once_prints_one_line_per_job_with_its_counts(app, db, make, tree, learner):
    other = make.person(tree, StakeholderRole.EXECUTIVE)
    past = datetime.now(UTC) - timedelta(days=2)
    schedule(db, learner, DAILY_8, now=past)
    schedule(db, other, DAILY_8, now=past)

    result = app.test_cli_runner().invoke(lms_cli, ["scheduler", "--once"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "prompts delivered: 2" in lines
    assert "emails sent: 2, emails failed: 0" in lines
    assert len(lines) == len(JOBS), "one line per job"
    again = app.test_cli_runner().invoke(lms_cli, ["scheduler", "--once"])
    assert "prompts delivered: 0" in again.output.splitlines()
