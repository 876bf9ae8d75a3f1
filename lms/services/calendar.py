"""A person's calendar feed: an iCalendar document at a secret URL, for seeing their rhythm in the
calendar they already use.

Calendar clients refresh a subscribed feed only every few hours, so the feed is for seeing, not for
reminders (the prompt itself arrives in the app and by email). The URL is its own credential: only a
digest of its secret is stored, one works at a time, and revoking it answers 404 from then on. The feed
holds times and titles only, never what anyone wrote: no journal text, no answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import CalendarToken, PromptSchedule, User
from lms.security import digest, new_secret
from lms.services.prompts import cadence_of

PREFIX = "cal_"
HORIZON = timedelta(weeks=8)
PROMPT_MINUTES = 15  # how long a prompt's event is drawn: time set aside to reflect


@dataclass(frozen=True)
class FeedEvent:
    uid: str  # stable across refreshes, so a client updates an event rather than adding a copy
    start: datetime  # aware UTC
    minutes: int
    summary: str
    description: str = ""


def create_token(db: Session, user: User) -> str:
    """A new feed URL's secret (shown once); the person's previous URL stops working."""
    revoke(db, user)
    secret = new_secret(PREFIX)
    db.add(CalendarToken(user_id=user.id, token_hash=digest(secret)))
    db.flush()
    return secret


def revoke(db: Session, user: User) -> int:
    """Stop the person's feed URL; answers how many were live (0 or 1)."""
    result = db.execute(
        update(CalendarToken)
        .where(CalendarToken.user_id == user.id, CalendarToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.flush()
    return result.rowcount or 0


def live_token(db: Session, user: User) -> CalendarToken | None:
    return db.scalar(
        select(CalendarToken).where(CalendarToken.user_id == user.id, CalendarToken.revoked_at.is_(None))
    )


def user_for_feed(db: Session, secret: str) -> User | None:
    """The active person a live feed secret belongs to, else None."""
    if not secret.startswith(PREFIX):
        return None
    token = db.scalar(
        select(CalendarToken).where(
            CalendarToken.token_hash == digest(secret), CalendarToken.revoked_at.is_(None)
        )
    )
    if token is None or not token.user.is_active:
        return None
    return token.user


def prompt_events(db: Session, user: User, start: datetime, end: datetime, *, host: str) -> list[FeedEvent]:
    """The times the person's running schedules deliver a prompt, in (start, end]."""
    events = []
    for schedule in db.scalars(
        select(PromptSchedule).where(
            PromptSchedule.user_id == user.id, PromptSchedule.next_due_at.is_not(None)
        )
    ):
        for moment in cadence_of(schedule).between(start, end):
            events.append(
                FeedEvent(
                    uid=f"prompt-{schedule.id}-{moment:%Y%m%dT%H%M%SZ}@{host}",
                    start=moment,
                    minutes=PROMPT_MINUTES,
                    summary="Reflection prompt",
                    description="A reflection prompt arrives in Lead with Quality and by email.",
                )
            )
    return events


def feed(db: Session, user: User, *, host: str, now: datetime | None = None) -> bytes:
    """The person's feed: their prompt times for the next eight weeks, as an iCalendar document."""
    now = now or utcnow()
    calendar = Calendar()
    calendar.add("prodid", "-//Lead with Quality//Coaching calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Lead with Quality")
    calendar.add("refresh-interval", timedelta(hours=4), parameters={"VALUE": "DURATION"})
    events = prompt_events(db, user, now, now + HORIZON, host=host)
    for item in sorted(events, key=lambda e: (e.start, e.uid)):
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", now)
        event.add("dtstart", item.start)
        event.add("dtend", item.start + timedelta(minutes=item.minutes))
        event.add("summary", item.summary)
        if item.description:
            event.add("description", item.description)
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()
