"""Kata prompts: a walk keeps the next step its leader expects (form, API, the page), and a schedule limited
to the Kata tag delivers each person a prompt filled from their own latest walk, in the app and by email,
never from anyone else's."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from gemba_factory import Leaders, actor, first_set, leaders_of, new_key
from prompts_factory import schedule
from sqlalchemy import func, select
from test_gemba import walk_form
from test_gemba_api import bearer, walk_body

from coaching.prompts import KATA_TAG, kata_values, kata_when
from lms.models import GembaWalk, OutboxMessage, PromptDelivery
from lms.services import gemba, prompts
from lms.services.prompt_delivery import deliver_due
from lms.services.prompts import ScheduleSpec
from lms.web.api import PREFIX

# Wednesday 1 July 2026, 06:00 UTC: 07:00 in London, an hour before the daily 08:00 prompt.
MORNING = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
EIGHT_LONDON = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
KATA = ScheduleSpec(kind="daily", at=time(8, 0), time_zone="Europe/London", tags=frozenset({KATA_TAG}))


@pytest.fixture
def people(make, tree) -> Leaders:
    return leaders_of(make, tree)


def walked(db, by, unit, *, observations="", expected="", at=EIGHT_LONDON - timedelta(days=8)) -> GembaWalk:
    recorded = gemba.record_walk(
        db,
        actor(by),
        gemba.NewWalk(
            unit_id=unit.id,
            question_set=first_set(),
            client_key=new_key(),
            observations=observations,
            expected_next=expected,
            walked_at=at,
        ),
    )
    db.commit()
    return recorded.walk


def delivered_to(db, membership) -> list[PromptDelivery]:
    return list(db.scalars(select(PromptDelivery).where(PromptDelivery.user_id == membership.user_id)))


def mail_to(db, membership) -> list[str]:
    return list(
        db.scalars(select(OutboxMessage.body_text).where(OutboxMessage.to_addr == membership.user.email))
    )


# --- the walk keeps the expected next step ----------------------------------------------------------


def test_the_walk_form_keeps_the_expected_next_step_and_the_walk_page_shows_it(db, people, tree, login_as):
    client = login_as(people.unit)
    page, sent = walk_form(client, tree)
    assert 'name="expected_next"' in page
    sent |= {"observations": "Huddle board blank", "expected_next": "Nights will fill the board by Friday"}

    answer = client.post("/gemba", data=sent)

    assert answer.status_code == 302
    saved = db.scalar(select(GembaWalk))
    assert saved.expected_next == "Nights will fill the board by Friday"
    shown = client.get(f"/gemba/walks/{saved.id}").get_data(as_text=True)
    assert "Next step expected" in shown and "Nights will fill the board by Friday" in shown


def test_an_expected_step_over_the_limit_is_refused_next_to_it_and_kept_as_typed(db, people, tree, login_as):
    client = login_as(people.unit)
    _, sent = walk_form(client, tree)
    too_long = "x" * (gemba.EXPECTED_MAX + 1)
    sent |= {"observations": "Kept as typed", "expected_next": too_long}

    answer = client.post("/gemba", data=sent)

    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert re.search(r'id="expected_next-error">Keep the next step you expect to 1,000 characters', page)
    assert too_long in page and "Kept as typed" in page
    assert db.scalar(select(func.count()).select_from(GembaWalk)) == 0


def test_the_api_takes_and_answers_the_expected_next_step(db, client, people, tree):
    body = walk_body(tree, people) | {"expected_next": "Gel refilled every morning"}

    made = client.post(f"{PREFIX}/orgs/alpha/gemba-walks", json=body, headers=bearer(db, people.unit))

    assert made.status_code == 200, made.json
    assert made.json["expected_next"] == "Gel refilled every morning"
    again = client.get(f"{PREFIX}/orgs/alpha/gemba-walks/{made.json['id']}", headers=bearer(db, people.unit))
    assert again.json["expected_next"] == "Gel refilled every morning"


# --- the words ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("walked", "said"),
    [
        (date(2026, 7, 1), "Today"),
        (date(2026, 6, 30), "Yesterday"),
        (date(2026, 6, 26), "On Friday"),
        (date(2026, 6, 23), "Last week"),
        (date(2026, 6, 3), "On 3 June"),
        (date(2025, 12, 1), "On 1 December 2025"),
    ],
)
def test_when_a_walk_was_reads_as_a_person_would_say_it(walked, said):
    assert kata_when(walked, date(2026, 7, 1)) == said


def test_a_blank_observation_or_step_is_left_out_and_a_long_observation_is_shortened():
    values = kata_values("4 West", date(2026, 6, 23), date(2026, 7, 1), "word " * 200, "  ")
    assert set(values) == {"unit", "when", "observation"}
    assert len(values["observation"]) <= 300 and values["observation"].endswith("\u2026")
    assert kata_values("4 West", date(2026, 7, 1), date(2026, 7, 1), "Bells slow", "")["observation"] == (
        "Bells slow."
    )


# --- delivery ----------------------------------------------------------------------------------------


def test_each_leader_gets_a_kata_prompt_from_their_own_last_walk_and_never_anothers(
    db, people, tree, login_as
):
    walked(
        db,
        people.unit,
        tree.unit,
        observations="Old note",
        expected="Old step",
        at=MORNING - timedelta(days=30),
    )
    walked(
        db,
        people.unit,
        tree.unit,
        observations="Call bells slow at handover",
        expected="Bells within 2 minutes",
    )
    walked(
        db,
        people.department,
        tree.department,
        observations="Beds blocked in ED",
        expected="Discharges by 10am",
    )
    schedule(db, people.unit, KATA, now=MORNING)
    schedule(db, people.department, KATA, now=MORNING)

    assert deliver_due(db, EIGHT_LONDON) == 2

    [uma] = delivered_to(db, people.unit)
    [dev] = delivered_to(db, people.department)
    assert uma.prompt_key in prompts.kata_library() and dev.prompt_key in prompts.kata_library()
    assert tree.unit.name in uma.prompt_text and "Bells within 2 minutes" in uma.prompt_text
    assert "Last week" in uma.prompt_text and "{" not in uma.prompt_text
    assert tree.department.name in dev.prompt_text and "Discharges by 10am" in dev.prompt_text
    for private in ("Beds blocked", "Discharges by 10am", tree.department.name):
        assert private not in uma.prompt_text and all(private not in m for m in mail_to(db, people.unit))
    for private in ("Call bells", "Bells within 2 minutes", "Old step"):
        assert private not in dev.prompt_text and all(
            private not in m for m in mail_to(db, people.department)
        )
    assert "Old step" not in uma.prompt_text, "the latest walk, not an older one"
    [email] = mail_to(db, people.unit)
    assert uma.prompt_text in email

    mine = login_as(people.unit).get(f"/prompts/{uma.id}")
    assert mine.status_code == 200 and html.escape(uma.prompt_text) in mine.get_data(as_text=True)
    assert login_as(people.department).get(f"/prompts/{uma.id}").status_code == 404


def test_the_prompts_of_a_walk_without_an_expected_step_do_not_ask_about_one(db, people, tree):
    walked(db, people.unit, tree.unit, observations="Whiteboard out of date")
    schedule(db, people.unit, KATA, now=MORNING)
    library = prompts.kata_library()

    for day in range(len(library)):
        assert deliver_due(db, EIGHT_LONDON + timedelta(days=day)) == 1

    texts = [d.prompt_text for d in delivered_to(db, people.unit)]
    keys = {d.prompt_key for d in delivered_to(db, people.unit)}
    assert keys and all("expected" not in library[key].fields for key in keys)
    assert all(tree.unit.name in text and "{" not in text for text in texts)


def test_with_no_walk_yet_a_kata_schedule_sends_nothing_and_moves_on(db, people, tree):
    made = schedule(db, people.unit, KATA, now=MORNING)

    assert deliver_due(db, EIGHT_LONDON) == 0

    assert delivered_to(db, people.unit) == [] and mail_to(db, people.unit) == []
    db.refresh(made)
    assert made.next_due_at == EIGHT_LONDON + timedelta(days=1)


def test_a_schedule_without_the_kata_tag_never_gets_a_kata_prompt(db, people, tree):
    walked(db, people.unit, tree.unit, observations="Seen", expected="Expected")
    schedule(db, people.unit, now=MORNING)
    for day in range(len(prompts.prompt_library()) + 2):
        deliver_due(db, EIGHT_LONDON + timedelta(days=day))

    assert {d.prompt_key for d in delivered_to(db, people.unit)} <= set(prompts.prompt_library())


def test_the_kata_tag_is_offered_and_with_another_tag_adds_that_tags_reflection_prompts(
    db, people, tree, login_as
):
    page = login_as(people.unit).get("/prompts/schedule").get_data(as_text=True)
    assert f'value="{KATA_TAG}"' in page and "Toyota Kata" in page
    kata_tags = {t for p in prompts.kata_library().values() for t in p.tags}
    other = next(t for t in prompts.library_tags(prompts.prompt_library()) if t not in kata_tags)
    walked(db, people.unit, tree.unit, observations="Seen", expected="Expected")
    both = ScheduleSpec(
        kind="daily", at=time(8, 0), time_zone="Europe/London", tags=frozenset({KATA_TAG, other})
    )
    schedule(db, people.unit, both, now=MORNING)
    tagged = {key for key, p in prompts.prompt_library().items() if other in p.tags}
    rounds = len(prompts.kata_library()) + len(tagged)

    for day in range(rounds):
        assert deliver_due(db, EIGHT_LONDON + timedelta(days=day)) == 1

    keys = [d.prompt_key for d in delivered_to(db, people.unit)]
    assert sorted(keys) == sorted([*prompts.kata_library(), *tagged]), "each once in the round"
