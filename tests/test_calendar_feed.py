"""The calendar feed: a secret URL made and revoked on /calendar, an iCalendar document of the person's
prompt times for the next eight weeks (UTC, stable UIDs), and nothing anyone wrote."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from conftest import csrf_token
from gemba_factory import walk
from icalendar import Calendar
from prompts_factory import schedule
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.models import CalendarToken
from lms.services import follow_ups
from lms.services.access import Actor
from lms.services.prompts import ScheduleSpec

WEEKLY = ScheduleSpec(kind="weekly", at=time(8, 0), time_zone="America/New_York", weekdays=frozenset({0, 3}))


def make_feed(client) -> str:
    page = client.post("/calendar", data={"csrf_token": csrf_token(client, "/calendar")})
    assert page.status_code == 200
    found = re.search(r'<code class="secret">(http://[^<]+\.ics)</code>', page.get_data(as_text=True))
    assert found, "the feed's address is shown once"
    return found.group(1).removeprefix("http://localhost")


def test_the_feed_lists_prompt_times_for_eight_weeks_in_utc_with_stable_uids(db, learner, login_as):
    schedule(db, learner, WEEKLY)
    client = login_as(learner)
    path = make_feed(client)

    answer = client.get(path)

    assert answer.status_code == 200
    assert answer.mimetype == "text/calendar"
    calendar = Calendar.from_ical(answer.data)
    events = calendar.walk("VEVENT")
    assert 15 <= len(events) <= 17, "two a week for eight weeks"
    starts = [event.decoded("dtstart") for event in events]
    assert all(start.utcoffset() == timedelta(0) for start in starts), "DTSTART in UTC"
    local = [start.astimezone(ZoneInfo("America/New_York")) for start in starts]
    assert {(moment.weekday(), moment.time()) for moment in local} == {(0, time(8)), (3, time(8))}
    assert all(start > datetime.now(UTC) for start in starts)
    uids = [str(event["uid"]) for event in events]
    assert len(set(uids)) == len(uids)
    assert [str(e["uid"]) for e in Calendar.from_ical(client.get(path).data).walk("VEVENT")] == uids, "stable"
    assert all(str(event["summary"]) == "Reflection prompt" for event in events)


def test_a_revoked_feed_answers_404_and_a_new_address_replaces_the_old(db, learner, login_as):
    schedule(db, learner, WEEKLY)
    client = login_as(learner)
    first = make_feed(client)
    second = make_feed(client)

    assert client.get(first).status_code == 404, "the old address stops working"
    assert client.get(second).status_code == 200

    token = csrf_token(client, "/calendar")
    assert client.post("/calendar/revoke", data={"csrf_token": token}).status_code == 302
    assert client.get(second).status_code == 404
    assert "You have no feed." in client.get("/calendar").get_data(as_text=True)


def test_only_a_digest_of_the_feed_secret_is_stored(db, learner, login_as):
    path = make_feed(login_as(learner))
    secret = path.rsplit("/", 1)[1].removesuffix(".ics")

    stored = db.scalars(select(CalendarToken.token_hash)).one()
    assert secret not in stored and len(stored) == 64


def test_the_calendar_page_says_the_feed_is_for_seeing_not_for_reminders(learner, login_as):
    page = login_as(learner).get("/calendar").get_data(as_text=True)

    assert "For seeing, not for reminders." in page
    assert "every few hours" in page


def test_a_made_up_feed_address_answers_404(client):
    assert client.get("/calendar/cal_made-up.ics").status_code == 404
    assert client.get("/calendar/not-even-ours.ics").status_code == 404


def test_the_feed_holds_the_due_dates_of_the_follow_ups_the_person_owns(db, make, tree, learner, login_as):
    leader = make.person(tree, StakeholderRole.UNIT_LEADER, name="Uma Unit")
    due = follow_ups.local_today(tree.org) + timedelta(days=5)
    made = walk(db, leader, tree.unit.id, owner=learner, due_on=due).walk
    walk(db, leader, tree.unit.id, owner=leader, due_on=due)  # someone else's: not in the feed
    db.commit()
    client = login_as(learner)

    events = Calendar.from_ical(client.get(make_feed(client)).data).walk("VEVENT")

    assert [(str(e["summary"]), e.decoded("dtstart")) for e in events] == [
        ("Follow-up due: Fix the broken bed alarm", due)
    ]
    assert str(events[0]["uid"]).startswith(f"follow-up-{made.follow_ups[0].id}@")
    follow_ups.close(db, Actor(learner.user, learner), made.follow_ups[0].id, resolution="Fixed")
    db.commit()
    assert Calendar.from_ical(client.get(make_feed(client)).data).walk("VEVENT") == []  # closed: gone
