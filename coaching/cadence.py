"""Cadences: when a reflection prompt (or any rhythm of a person's) falls due, in their own time zone.

A cadence is a local wall-clock time on a set of local dates (every day, Monday to Friday, chosen days of
the week, chosen days every second week, a day of the month, or the nth weekday of the month) in an IANA
time zone. Its occurrences are computed with `zoneinfo` alone, one candidate date at a time, never minute
by minute, so a scheduler can ask thousands of cadences for their next occurrence in one pass.

Daylight-saving rules (the same for every kind):

- the wall-clock time is kept: 08:00 stays 08:00 local on both sides of a change, so the UTC instant moves;
- a time that does not exist on the day the clocks go forward (02:30 in New York on the spring-forward
  Sunday) fires at the first minute after the gap (03:00 local), once;
- a time that happens twice on the day the clocks go back fires once, at its first occurrence (fold=0);
- a local date that a zone skipped altogether (Pacific/Apia jumped over 30 December 2011) has no
  occurrence: the next one is on the next date that matches.

Every occurrence therefore falls on the local date it belongs to, and no local date has two.

A month that has no day 31 (or 30, or 29) fires a monthly-day cadence on its last day instead.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coaching.errors import FieldError

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


class CadenceError(FieldError):
    """A cadence that cannot be: `field` names the Cadence attribute at fault, `message` what to fix."""


class Kind(StrEnum):
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY_DAY = "monthly-day"
    MONTHLY_NTH = "monthly-nth"


# Which optional attributes each kind uses; any other one set is a contradiction the person should see.
USES: dict[Kind, frozenset[str]] = {
    Kind.DAILY: frozenset(),
    Kind.WEEKDAYS: frozenset(),
    Kind.WEEKLY: frozenset({"weekdays"}),
    Kind.FORTNIGHTLY: frozenset({"weekdays", "anchor"}),
    Kind.MONTHLY_DAY: frozenset({"day_of_month"}),
    Kind.MONTHLY_NTH: frozenset({"nth", "weekday"}),
}


def zone_named(name: object) -> ZoneInfo:
    """The IANA time zone called `name`, or CadenceError("time_zone", ...)."""
    if not isinstance(name, str) or not name.strip():
        raise CadenceError("time_zone", "Choose a time zone, such as Europe/London.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CadenceError(
            "time_zone", f"{name!r} is not a time zone we know: use an IANA name such as America/New_York."
        ) from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Cadence:
    kind: Kind
    at: time
    time_zone: str
    weekdays: frozenset[int] = frozenset()
    day_of_month: int | None = None
    nth: int | None = None
    weekday: int | None = None
    anchor: date | None = None
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            kind = Kind(self.kind)
        except (ValueError, TypeError):
            choices = ", ".join(k.value for k in Kind)
            message = f"{self.kind!r} is not a kind of cadence: choose one of {choices}."
            raise CadenceError("kind", message) from None
        object.__setattr__(self, "kind", kind)
        if not isinstance(self.at, time):
            raise CadenceError("at", "Give the time of day, such as 08:00.")
        if self.at.tzinfo is not None:
            raise CadenceError("at", "Give the local time of day alone; the time zone is a field of its own.")
        object.__setattr__(self, "zone", zone_named(self.time_zone))
        weekdays = self.weekdays
        if isinstance(weekdays, str | bytes) or not hasattr(weekdays, "__iter__"):
            raise CadenceError(
                "weekdays", "Give the days of the week as numbers, 0 for Monday to 6 for Sunday."
            )
        try:
            weekdays = frozenset(weekdays)
        except TypeError:
            weekdays = frozenset({-1})  # not numbers: refused just below
        if any(not _is_int(d) or not 0 <= d <= 6 for d in weekdays):
            raise CadenceError("weekdays", "Days of the week run from 0 (Monday) to 6 (Sunday).")
        object.__setattr__(self, "weekdays", weekdays)
        self._check_fields(kind)

    def _check_fields(self, kind: Kind) -> None:
        set_fields = {
            name
            for name, value in (
                ("weekdays", self.weekdays or None),
                ("day_of_month", self.day_of_month),
                ("nth", self.nth),
                ("weekday", self.weekday),
                ("anchor", self.anchor),
            )
            if value is not None
        }
        extra = sorted(set_fields - USES[kind])
        if extra:
            name = extra[0]
            raise CadenceError(
                name, f"A {kind.value} cadence has no {name.replace('_', ' ')}: leave it empty."
            )
        if kind in (Kind.WEEKLY, Kind.FORTNIGHTLY) and not self.weekdays:
            raise CadenceError("weekdays", "Choose at least one day of the week.")
        if kind is Kind.FORTNIGHTLY and not isinstance(self.anchor, date):
            raise CadenceError("anchor", "Choose a date in the first week of the two-week rhythm.")
        if kind is Kind.FORTNIGHTLY and isinstance(self.anchor, datetime):
            raise CadenceError("anchor", "Give the anchor as a date, without a time.")
        if kind is Kind.MONTHLY_DAY and not (_is_int(self.day_of_month) and 1 <= self.day_of_month <= 31):
            raise CadenceError(
                "day_of_month",
                "Choose a day of the month from 1 to 31 (a month without it fires on its last day).",
            )
        if kind is Kind.MONTHLY_NTH:
            if not _is_int(self.nth) or self.nth not in ORDINALS:
                raise CadenceError(
                    "nth", "Choose the first, second, third, fourth or last such day of the month."
                )
            if not (_is_int(self.weekday) and 0 <= self.weekday <= 6):
                raise CadenceError("weekday", "Choose a day of the week, 0 for Monday to 6 for Sunday.")

    # --- as plain values ------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """The cadence as JSON-ready values, which `from_dict` reads back."""
        return {
            "kind": self.kind.value,
            "at": self.at.isoformat(timespec="seconds" if self.at.second else "minutes"),
            "time_zone": self.time_zone,
            "weekdays": sorted(self.weekdays),
            "day_of_month": self.day_of_month,
            "nth": self.nth,
            "weekday": self.weekday,
            "anchor": self.anchor.isoformat() if self.anchor else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cadence:
        """A cadence from what a form, an API body or a JSON column gives: `at` as "HH:MM", `anchor` as
        "YYYY-MM-DD", numbers as numbers or digit strings, empty values as None. CadenceError names the
        field at fault, unknown keys included."""
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise CadenceError(unknown[0], f"A cadence has no {unknown[0]!r}: use {', '.join(FIELDS)}.")
        values: dict[str, Any] = {k: (None if data.get(k) in ("", None) else data[k]) for k in FIELDS}
        at = values["at"]
        if isinstance(at, str):
            try:
                at = time.fromisoformat(at.strip())
            except ValueError:
                raise CadenceError(
                    "at", f"Give the time of day as HH:MM, such as 08:00, not {at!r}."
                ) from None
        anchor = values["anchor"]
        if isinstance(anchor, str):
            try:
                anchor = date.fromisoformat(anchor.strip())
            except ValueError:
                raise CadenceError("anchor", f"Give the date as YYYY-MM-DD, not {anchor!r}.") from None
        weekdays = values["weekdays"] or ()
        if isinstance(weekdays, str | bytes) or not hasattr(weekdays, "__iter__"):
            raise CadenceError(
                "weekdays", "Give the days of the week as a list, 0 for Monday to 6 for Sunday."
            )
        return cls(
            kind=values["kind"],
            at=at,
            time_zone=values["time_zone"],
            weekdays=frozenset(_whole("weekdays", d) for d in weekdays),
            day_of_month=_whole("day_of_month", values["day_of_month"]),
            nth=_whole("nth", values["nth"]),
            weekday=_whole("weekday", values["weekday"]),
            anchor=anchor,
        )

    # --- occurrences -----------------------------------------------------------------------------------

    def next_after(self, instant: datetime) -> datetime:
        """The first occurrence strictly after `instant` (aware, any zone), as an aware UTC datetime."""
        return next(self._occurrences_after(instant))

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """The occurrences in (start, end], in order, as aware UTC datetimes."""
        _require_aware(end, "end")
        for occurrence in self._occurrences_after(start):
            if occurrence > end:
                return
            yield occurrence

    def _occurrences_after(self, instant: datetime) -> Iterator[datetime]:
        _require_aware(instant, "instant")
        # An occurrence lies on its own local date (fire_at), at the first pass of its wall-clock time, so
        # none on a date before the instant's local date can follow the instant, even where the clocks go
        # back across midnight (the instant in the second pass has the earlier local date).
        first = instant.astimezone(self.zone).date()
        for day in self.dates_from(first):
            occurrence = fire_at(day, self.at, self.zone)
            if occurrence is not None and occurrence > instant:
                yield occurrence

    def matches(self, day: date) -> bool:
        """Whether the cadence falls on local date `day`."""
        kind = self.kind
        if kind is Kind.DAILY:
            return True
        if kind is Kind.WEEKDAYS:
            return day.weekday() < 5
        if kind is Kind.WEEKLY:
            return day.weekday() in self.weekdays
        if kind is Kind.FORTNIGHTLY:
            assert self.anchor is not None
            weeks = (_monday(day) - _monday(self.anchor)).days // 7
            return weeks >= 0 and weeks % 2 == 0 and day.weekday() in self.weekdays
        return day == self._day_in_month(day.year, day.month)

    def dates_from(self, first: date) -> Iterator[date]:
        """The local dates the cadence falls on, from `first` (included) onward, without end."""
        if self.kind in (Kind.MONTHLY_DAY, Kind.MONTHLY_NTH):
            year, month = first.year, first.month
            while True:
                day = self._day_in_month(year, month)
                if day >= first:
                    yield day
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if self.kind in (Kind.WEEKLY, Kind.FORTNIGHTLY):
            # Week by week (every second week from the anchor's), each chosen day of it in turn.
            every = 1
            week = _monday(first)
            if self.kind is Kind.FORTNIGHTLY:
                assert self.anchor is not None
                every, origin = 2, _monday(self.anchor)
                week = max(week, origin)
                week += timedelta(weeks=((week - origin).days // 7) % 2)
            days = [timedelta(days=d) for d in sorted(self.weekdays)]
            while True:
                for offset in days:
                    if week + offset >= first:
                        yield week + offset
                week += timedelta(weeks=every)
        weekdays_only = self.kind is Kind.WEEKDAYS
        day = first
        while True:
            if not weekdays_only or day.weekday() < 5:
                yield day
            day += timedelta(days=1)

    def _day_in_month(self, year: int, month: int) -> date:
        last = calendar.monthrange(year, month)[1]
        if self.kind is Kind.MONTHLY_DAY:
            assert self.day_of_month is not None
            return date(year, month, min(self.day_of_month, last))
        assert self.nth is not None and self.weekday is not None
        if self.nth == -1:
            end = date(year, month, last)
            return end - timedelta(days=(end.weekday() - self.weekday) % 7)
        start = date(year, month, 1)
        return start + timedelta(days=(self.weekday - start.weekday()) % 7 + 7 * (self.nth - 1))

    # --- words -------------------------------------------------------------------------------------------

    def describe(self) -> str:
        """The cadence in a sentence a person can check, e.g.
        "Weekly on Monday and Thursday at 08:00, Europe/London time"."""
        at = self.at.strftime("%H:%M:%S" if self.at.second else "%H:%M")
        zone = f"{self.time_zone} time"
        kind = self.kind
        if kind is Kind.DAILY:
            return f"Every day at {at}, {zone}"
        if kind is Kind.WEEKDAYS:
            return f"Every weekday (Monday to Friday) at {at}, {zone}"
        days = _and_list([WEEKDAY_NAMES[d] for d in sorted(self.weekdays)]) if self.weekdays else ""
        if kind is Kind.WEEKLY:
            return f"Weekly on {days} at {at}, {zone}"
        if kind is Kind.FORTNIGHTLY:
            assert self.anchor is not None
            week = _monday(self.anchor)
            return (
                f"Every two weeks on {days} at {at}, {zone}, "
                f"from the week of Monday {week.day} {week:%B %Y} and every second week after it"
            )
        if kind is Kind.MONTHLY_DAY:
            assert self.day_of_month is not None
            text = f"Monthly on day {self.day_of_month} at {at}, {zone}"
            if self.day_of_month > 28:
                text += f"; a month without a day {self.day_of_month} has it on its last day"
            return text
        assert self.nth is not None and self.weekday is not None
        return f"Monthly on the {ORDINALS[self.nth]} {WEEKDAY_NAMES[self.weekday]} at {at}, {zone}"


def fire_at(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    """The UTC instant at which wall-clock time `at` on local date `day` fires in `zone`: that time if it
    exists once; its first occurrence if it exists twice; the end of the gap if the clocks skipped it
    (None when the gap runs past the end of `day`, a date the zone skipped)."""
    wall = datetime.combine(day, at)
    before = wall.replace(tzinfo=zone, fold=0)
    after = wall.replace(tzinfo=zone, fold=1)
    offset_before, offset_after = before.utcoffset(), after.utcoffset()
    assert offset_before is not None and offset_after is not None
    if offset_before >= offset_after:
        # Exists once (equal offsets) or twice (the clocks went back): fold=0 is the first occurrence.
        return (wall - offset_before).replace(tzinfo=UTC)
    # In a gap: the wall time read with the offset after the change is before the change, read with the
    # offset before it is after; the change itself, the first instant after the gap, lies between.
    low = int((wall - offset_after).replace(tzinfo=UTC).timestamp())
    high = int((wall - offset_before).replace(tzinfo=UTC).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    change = datetime.fromtimestamp(high, UTC)
    # "The first minute after the gap": changes fall on whole minutes, but round up to be sure.
    if change.second or change.microsecond:
        change = change.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if change.astimezone(zone).date() != day:
        return None
    return change


FIELDS = ("kind", "at", "time_zone", "weekdays", "day_of_month", "nth", "weekday", "anchor")


def _whole(field: str, value: Any) -> Any:
    """A digit string as its number (forms send text); anything else as it is, for __post_init__ to judge."""
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        raise CadenceError(
            field, f"{field.replace('_', ' ').capitalize()} must be a whole number, not {value!r}."
        )
    return value


def _require_aware(instant: datetime, name: str) -> None:
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _and_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
