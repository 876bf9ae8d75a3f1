"""Cadences as a person sets them: when each fires in their own time zone, across both daylight-saving
changes in both hemispheres, and what a mistaken cadence is told."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coaching.cadence import Cadence, CadenceError, Kind, fire_at

LONDON, NEW_YORK, SYDNEY = "Europe/London", "America/New_York", "Australia/Sydney"


def local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))


def at(zone: str, *args: int, fold: int = 0) -> datetime:
    """An aware instant given as local wall-clock time in `zone`."""
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def occurrences(cadence: Cadence, start: datetime, days: int) -> list[datetime]:
    return list(cadence.between(start, start + timedelta(days=days)))


def daily(hour: int, minute: int, zone: str) -> Cadence:
    return Cadence(Kind.DAILY, time(hour, minute), zone)


# --- 08:00 stays 08:00 across both changes, in both hemispheres -------------------------------------

# (zone, a local date two days before the spring-forward change, and before the fall-back change)
CHANGES = [
    (LONDON, date(2026, 3, 27), date(2026, 10, 23)),
    (NEW_YORK, date(2026, 3, 6), date(2026, 10, 30)),
    (SYDNEY, date(2026, 10, 2), date(2026, 4, 3)),
]


@pytest.mark.parametrize(("zone", "spring", "autumn"), CHANGES)
def test_eight_oclock_stays_eight_oclock_local_across_both_changes(zone, spring, autumn):
    cadence = daily(8, 0, zone)
    for before in (spring, autumn):
        start = at(zone, before.year, before.month, before.day, 12)
        fired = occurrences(cadence, start, 4)
        assert [local(f, zone).time() for f in fired] == [time(8)] * 4
        assert [local(f, zone).date() for f in fired] == [before + timedelta(days=n) for n in range(1, 5)]
        # The UTC instant moves by the hour the clocks moved, which is what a UTC scheduler must see.
        offsets = {local(f, zone).utcoffset() for f in fired}
        assert len(offsets) == 2
        assert all(f.tzinfo is UTC for f in fired)


# --- a time that does not exist: the first minute after the gap --------------------------------------


def test_half_past_two_on_new_yorks_spring_forward_day_fires_at_three():
    fired = occurrences(daily(2, 30, NEW_YORK), at(NEW_YORK, 2026, 3, 7, 12), 2)
    assert fired == [datetime(2026, 3, 8, 7, 0, tzinfo=UTC), datetime(2026, 3, 9, 6, 30, tzinfo=UTC)]
    assert local(fired[0], NEW_YORK).time() == time(3, 0)


def test_half_past_one_on_londons_spring_forward_day_fires_at_two_bst():
    fired = occurrences(daily(1, 30, LONDON), at(LONDON, 2026, 3, 28, 12), 1)
    assert [local(f, LONDON).replace(tzinfo=None) for f in fired] == [datetime(2026, 3, 29, 2, 0)]


def test_half_past_two_on_sydneys_spring_forward_day_in_october_fires_at_three():
    fired = occurrences(daily(2, 30, SYDNEY), at(SYDNEY, 2026, 10, 3, 12), 2)
    assert [local(f, SYDNEY).replace(tzinfo=None) for f in fired] == [
        datetime(2026, 10, 4, 3, 0),
        datetime(2026, 10, 5, 2, 30),
    ]


def test_an_instant_inside_the_gap_day_before_the_change_still_gets_the_gap_occurrence():
    # Asked at 01:59 local, just before the clocks jump, the 02:30 occurrence is a minute away at 03:00.
    fired = daily(2, 30, NEW_YORK).next_after(at(NEW_YORK, 2026, 3, 8, 1, 59))
    assert local(fired, NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 0)
    # Asked at the change itself (03:00), that occurrence is not strictly after: the next day's is.
    again = daily(2, 30, NEW_YORK).next_after(fired)
    assert local(again, NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 9, 2, 30)


# --- a time that happens twice: once, at the first ---------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "hour"),
    [(LONDON, date(2026, 10, 25), 1), (NEW_YORK, date(2026, 11, 1), 1), (SYDNEY, date(2026, 4, 5), 2)],
)
def test_a_time_that_happens_twice_fires_once_at_its_first_occurrence(zone, day, hour):
    eve = day - timedelta(days=1)
    start = at(zone, eve.year, eve.month, eve.day, 12)
    fired = occurrences(daily(hour, 30, zone), start, 2)
    assert len(fired) == 2
    first = local(fired[0], zone)
    assert (first.date(), first.time(), first.fold) == (day, time(hour, 30), 0)
    # (Compared in UTC: Python never calls an ambiguous local time equal to an instant in another zone.)
    assert fired[0] == at(zone, day.year, day.month, day.day, hour, 30, fold=0).astimezone(UTC)
    assert fired[0] + timedelta(hours=1) == at(
        zone, day.year, day.month, day.day, hour, 30, fold=1
    ).astimezone(UTC)
    # Asked during the second pass of that half hour, the day's occurrence is over: tomorrow is next.
    second_pass = at(zone, day.year, day.month, day.day, hour, 45, fold=1)
    assert local(daily(hour, 30, zone).next_after(second_pass), zone).date() == day + timedelta(days=1)


def test_where_the_clocks_change_at_midnight_a_late_evening_time_is_not_given_twice():
    # Santiago goes back from 24:00 to 23:00 on 4 April 2026: 23:30 happens twice that night.
    santiago = "America/Santiago"
    cadence = daily(23, 30, santiago)
    first = cadence.next_after(at(santiago, 2026, 4, 4, 12))
    assert first == datetime(2026, 4, 5, 2, 30, tzinfo=UTC)  # 23:30 at -03:00, the first pass
    # Asked in the second pass of that hour (the local date is still the 4th), tomorrow's is next.
    second_pass = datetime(2026, 4, 5, 3, 45, tzinfo=UTC)
    assert local(second_pass, santiago).date() == date(2026, 4, 4)
    assert cadence.next_after(second_pass) == datetime(2026, 4, 6, 3, 30, tzinfo=UTC)
    # It goes forward from 24:00 to 01:00 on 6 September: 00:30 that day fires at 01:00.
    spring = daily(0, 30, santiago).next_after(at(santiago, 2026, 9, 5, 12))
    assert local(spring, santiago).replace(tzinfo=None) == datetime(2026, 9, 6, 1, 0)


# --- a schedule created the day before a change ------------------------------------------------------


def test_a_weekly_sunday_schedule_created_the_saturday_before_spring_forward():
    cadence = Cadence(Kind.WEEKLY, time(2, 30), NEW_YORK, weekdays=frozenset({6}))
    created = at(NEW_YORK, 2026, 3, 7, 16, 45)
    fired = list(islice(cadence.between(created, created + timedelta(days=15)), 3))
    assert [local(f, NEW_YORK).replace(tzinfo=None) for f in fired] == [
        datetime(2026, 3, 8, 3, 0),
        datetime(2026, 3, 15, 2, 30),
        datetime(2026, 3, 22, 2, 30),
    ]


def test_a_weekday_schedule_created_the_saturday_before_londons_autumn_change():
    cadence = Cadence(Kind.WEEKDAYS, time(8, 0), LONDON)
    created = at(LONDON, 2026, 10, 24, 9)
    first = cadence.next_after(created)
    assert local(first, LONDON).replace(tzinfo=None) == datetime(2026, 10, 26, 8, 0)
    assert first == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # GMT again, so 08:00 UTC


def test_a_daily_schedule_created_the_day_before_sydneys_autumn_change_fires_once_per_day():
    cadence = daily(2, 0, SYDNEY)
    created = at(SYDNEY, 2026, 4, 4, 10)
    fired = occurrences(cadence, created, 3)
    assert [local(f, SYDNEY).date() for f in fired] == [date(2026, 4, 5), date(2026, 4, 6), date(2026, 4, 7)]
    assert local(fired[0], SYDNEY).utcoffset() == timedelta(hours=11)  # 02:00 daylight time, the first


# --- each kind on its dates --------------------------------------------------------------------------


def test_weekdays_skip_the_weekend():
    fired = occurrences(Cadence(Kind.WEEKDAYS, time(7, 15), LONDON), at(LONDON, 2026, 1, 2, 12), 7)
    assert [local(f, LONDON).strftime("%a %d") for f in fired] == [
        "Mon 05",
        "Tue 06",
        "Wed 07",
        "Thu 08",
        "Fri 09",
    ]


def test_fortnightly_fires_in_the_anchor_week_and_every_second_week_after_never_before():
    cadence = Cadence(
        Kind.FORTNIGHTLY, time(9), LONDON, weekdays=frozenset({0, 3}), anchor=date(2026, 2, 4)
    )  # a Wednesday: the rhythm's first week starts Monday 2 February
    fired = occurrences(cadence, at(LONDON, 2026, 1, 1, 0), 65)
    assert [local(f, LONDON).date() for f in fired] == [
        date(2026, 2, 2),
        date(2026, 2, 5),
        date(2026, 2, 16),
        date(2026, 2, 19),
        date(2026, 3, 2),
        date(2026, 3, 5),
    ]


def test_the_31st_fires_on_the_last_day_of_a_shorter_month():
    cadence = Cadence(Kind.MONTHLY_DAY, time(8), LONDON, day_of_month=31)
    fired = occurrences(cadence, at(LONDON, 2028, 1, 1, 0), 182)
    assert [local(f, LONDON).date() for f in fired] == [
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
        date(2028, 5, 31),
        date(2028, 6, 30),
    ]
    assert "a month without a day 31 has it on its last day" in cadence.describe()


@pytest.mark.parametrize(
    ("nth", "expected"),
    [(1, [date(2026, 3, 3), date(2026, 4, 7)]), (2, [date(2026, 3, 10), date(2026, 4, 14)]),
     (4, [date(2026, 3, 24), date(2026, 4, 28)]), (-1, [date(2026, 3, 31), date(2026, 4, 28)])],
)  # fmt: skip
def test_the_nth_or_last_tuesday_of_the_month(nth, expected):
    cadence = Cadence(Kind.MONTHLY_NTH, time(12), NEW_YORK, nth=nth, weekday=1)
    fired = occurrences(cadence, at(NEW_YORK, 2026, 3, 1, 0), 60)
    assert [local(f, NEW_YORK).date() for f in fired] == expected


def test_next_after_accepts_an_instant_in_any_zone_and_answers_in_utc():
    cadence = daily(8, 0, SYDNEY)
    in_london = at(LONDON, 2026, 6, 1, 12)  # 21:00 in Sydney
    in_utc = in_london.astimezone(UTC)
    assert (
        cadence.next_after(in_london) == cadence.next_after(in_utc) == datetime(2026, 6, 1, 22, 0, tzinfo=UTC)
    )


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        daily(8, 0, LONDON).next_after(datetime(2026, 1, 1))


def test_a_date_the_zone_skipped_has_no_occurrence():
    # Samoa moved across the date line: 30 December 2011 never happened in Pacific/Apia.
    fired = occurrences(daily(8, 0, "Pacific/Apia"), at("Pacific/Apia", 2011, 12, 28, 12), 3)
    assert [local(f, "Pacific/Apia").date() for f in fired] == [date(2011, 12, 29), date(2011, 12, 31)]
    assert fire_at(date(2011, 12, 30), time(8), ZoneInfo("Pacific/Apia")) is None


# --- describe ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cadence", "sentence"),
    [
        (Cadence(Kind.WEEKLY, time(8), LONDON, weekdays=frozenset({3, 0})),
         "Weekly on Monday and Thursday at 08:00, Europe/London time"),
        (Cadence(Kind.DAILY, time(6, 45), NEW_YORK), "Every day at 06:45, America/New_York time"),
        (Cadence(Kind.WEEKDAYS, time(17), SYDNEY),
         "Every weekday (Monday to Friday) at 17:00, Australia/Sydney time"),
        (Cadence(Kind.MONTHLY_NTH, time(9, 30), LONDON, nth=-1, weekday=4),
         "Monthly on the last Friday at 09:30, Europe/London time"),
        (Cadence(Kind.MONTHLY_DAY, time(9), LONDON, day_of_month=15),
         "Monthly on day 15 at 09:00, Europe/London time"),
        (Cadence(Kind.FORTNIGHTLY, time(8), LONDON, weekdays=frozenset({1}), anchor=date(2026, 3, 6)),
         "Every two weeks on Tuesday at 08:00, Europe/London time, "
         "from the week of Monday 2 March 2026 and every second week after it"),
    ],
)  # fmt: skip
def test_describe_says_the_cadence_in_a_sentence(cadence, sentence):
    assert cadence.describe() == sentence


# --- mistakes named at their field -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "not a time zone we know"),
        ({"time_zone": ""}, "time_zone", "Choose a time zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone", "not a time zone we know"),
        ({"kind": "hourly"}, "kind", "not a kind of cadence"),
        ({"kind": Kind.WEEKLY}, "weekdays", "at least one day"),
        ({"kind": Kind.WEEKLY, "weekdays": frozenset({7})}, "weekdays", "0 (Monday) to 6 (Sunday)"),
        ({"kind": Kind.WEEKLY, "weekdays": [[1], [2]]}, "weekdays", "0 (Monday) to 6 (Sunday)"),
        ({"kind": ["weekly"]}, "kind", "not a kind of cadence"),
        ({"kind": Kind.FORTNIGHTLY, "weekdays": frozenset({1})}, "anchor", "first week"),
        ({"kind": Kind.MONTHLY_DAY}, "day_of_month", "from 1 to 31"),
        ({"kind": Kind.MONTHLY_DAY, "day_of_month": 32}, "day_of_month", "from 1 to 31"),
        ({"kind": Kind.MONTHLY_NTH, "nth": 5, "weekday": 1}, "nth", "first, second, third, fourth or last"),
        ({"kind": Kind.MONTHLY_NTH, "nth": 2}, "weekday", "day of the week"),
        ({"day_of_month": 3}, "day_of_month", "A daily cadence has no day of month"),
        ({"weekdays": frozenset({1})}, "weekdays", "A daily cadence has no weekdays"),
        ({"at": "08:00"}, "at", "time of day"),
        ({"at": time(8, tzinfo=UTC)}, "at", "local time of day alone"),
    ],
)
def test_a_cadence_that_cannot_be_names_its_field_and_what_to_fix(fields, field, words):
    values = {"kind": Kind.DAILY, "at": time(8), "time_zone": LONDON, **fields}
    with pytest.raises(CadenceError) as raised:
        Cadence(**values)
    assert raised.value.field == field
    assert words in raised.value.message
    assert str(raised.value) == raised.value.message


def test_kind_and_weekdays_given_as_plain_values_are_accepted():
    cadence = Cadence("weekly", time(8), LONDON, weekdays=[0, 2])  # type: ignore[arg-type]
    assert cadence == Cadence(Kind.WEEKLY, time(8), LONDON, weekdays=frozenset({0, 2}))


# --- from a form or a JSON column, and back ---------------------------------------------------------


def test_a_cadence_from_form_values_and_back():
    form = {
        "kind": "fortnightly",
        "at": "07:45",
        "time_zone": SYDNEY,
        "weekdays": ["1", "3"],
        "day_of_month": "",
        "nth": "",
        "weekday": None,
        "anchor": "2026-03-04",
    }
    cadence = Cadence.from_dict(form)
    assert cadence == Cadence(
        Kind.FORTNIGHTLY, time(7, 45), SYDNEY, frozenset({1, 3}), anchor=date(2026, 3, 4)
    )
    assert cadence.as_dict() == {**form, "weekdays": [1, 3], "day_of_month": None, "nth": None}
    assert Cadence.from_dict(cadence.as_dict()) == cadence
    monthly = Cadence.from_dict(
        {"kind": "monthly-nth", "at": "09:00:30", "time_zone": LONDON, "nth": "-1", "weekday": 4}
    )
    assert (monthly.nth, monthly.at) == (-1, time(9, 0, 30))
    assert monthly.as_dict()["at"] == "09:00:30"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"at": "8 am"}, "at", "HH:MM"),
        ({"anchor": "next week"}, "anchor", "YYYY-MM-DD"),
        ({"nth": "second"}, "nth", "whole number"),
        ({"weekdays": "1,3"}, "weekdays", "as a list"),
        ({"every": 2}, "every", "A cadence has no 'every'"),
        ({"time_zone": ""}, "time_zone", "Choose a time zone"),
    ],
)
def test_form_values_that_cannot_be_are_named_at_their_field(changes, field, words):
    form = {
        "kind": "fortnightly",
        "at": "07:45",
        "time_zone": SYDNEY,
        "weekdays": [1],
        "anchor": "2026-03-04",
    }
    with pytest.raises(CadenceError) as raised:
        Cadence.from_dict({**form, **changes})
    assert raised.value.field == field
    assert words in raised.value.message


# --- properties over many cadences, zones and instants -----------------------------------------------

ZONES = [
    LONDON, NEW_YORK, SYDNEY, "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago",
    "America/Havana", "Asia/Kolkata", "Europe/Berlin", "America/St_Johns", "UTC",
]  # fmt: skip
DAYS = st.frozensets(st.integers(0, 6), min_size=1)
# Early hours are where the clocks change, so they are drawn often.
TIMES = st.one_of(st.times(max_value=time(4, 0)), st.times()).map(lambda t: t.replace(microsecond=0))


@st.composite
def cadences(draw) -> Cadence:
    kind = draw(st.sampled_from(Kind))
    extra: dict[str, object] = {}
    if kind in (Kind.WEEKLY, Kind.FORTNIGHTLY):
        extra["weekdays"] = draw(DAYS)
    if kind is Kind.FORTNIGHTLY:
        # Before every drawn instant, so the rhythm is running (starting it is a test of its own).
        extra["anchor"] = draw(st.dates(date(1990, 1, 1), date(1999, 12, 31)))
    if kind is Kind.MONTHLY_DAY:
        extra["day_of_month"] = draw(st.integers(1, 31))
    if kind is Kind.MONTHLY_NTH:
        extra["nth"] = draw(st.sampled_from([1, 2, 3, 4, -1]))
        extra["weekday"] = draw(st.integers(0, 6))
    return Cadence(kind, draw(TIMES), draw(st.sampled_from(ZONES)), **extra)  # type: ignore[arg-type]


INSTANTS = st.datetimes(datetime(2000, 1, 1), datetime(2038, 1, 1), timezones=st.just(UTC))


def in_gap(day: date, wall: time, zone: ZoneInfo) -> bool:
    naive = datetime.combine(day, wall)
    return naive.replace(tzinfo=zone, fold=0).utcoffset() < naive.replace(tzinfo=zone, fold=1).utcoffset()


@settings(max_examples=300)
@given(cadences(), INSTANTS)
def test_occurrences_are_strictly_increasing_on_the_cadences_dates_at_its_time_once_a_date(cadence, start):
    fired = list(islice(cadence.between(start, start + timedelta(days=400)), 40))
    assert fired, "every cadence fires at least once in 400 days"
    assert all(f.tzinfo is UTC and f > start for f in fired)
    assert all(a < b for a, b in pairwise(fired))
    locals_ = [f.astimezone(cadence.zone) for f in fired]
    assert len({lt.date() for lt in locals_}) == len(locals_), "never two occurrences on one local date"
    for moment in locals_:
        assert cadence.matches(moment.date())
        assert moment.fold == 0, "a time that happens twice fires at its first occurrence"
        if moment.time() != cadence.at:
            assert in_gap(moment.date(), cadence.at, cadence.zone)
            assert moment.time() > cadence.at, "a skipped time fires after the gap, on the same date"


@settings(max_examples=300)
@given(cadences(), INSTANTS)
def test_next_after_is_the_first_of_between_and_chains_into_it(cadence, start):
    first = cadence.next_after(start)
    # Monthly cadences can be 35 days apart, plus an hour when the clocks go back between them.
    window = list(cadence.between(start, start + timedelta(days=36)))
    assert window[0] == first
    chain = [first]
    while len(chain) < len(window):
        chain.append(cadence.next_after(chain[-1]))
    assert chain == window


@settings(max_examples=200)
@given(cadences(), INSTANTS, st.integers(0, 3600))
def test_no_occurrence_is_skipped_between_an_instant_and_the_next_one(cadence, start, seconds):
    # Asking from any instant before the next occurrence gives that same occurrence.
    first = cadence.next_after(start)
    later = min(start + timedelta(seconds=seconds), first - timedelta(microseconds=1))
    assert cadence.next_after(later) == first


@given(cadences())
def test_every_cadence_reads_back_from_its_plain_values(cadence):
    assert Cadence.from_dict(cadence.as_dict()) == cadence


@settings(max_examples=300)
@given(cadences(), st.dates(date(1995, 1, 1), date(2040, 1, 1)))
def test_the_dates_a_cadence_walks_are_exactly_the_dates_it_matches(cadence, first):
    # dates_from jumps week by week or month by month; matches judges one date at a time.
    walked = list(islice(cadence.dates_from(first), 12))
    last = walked[-1]
    every_day = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert walked == [d for d in every_day if cadence.matches(d)]
