"""A person's calendar feed: an iCalendar document at a secret URL, for seeing their rhythm in the
calendar they already use.

Calendar clients refresh a subscribed feed only every few hours, so the feed is for seeing, not for
reminders (the prompt itself arrives in the app and by email). The URL is its own credential: only a
digest of its secret is stored, one works at a time, and revoking it answers 404 from then on. The feed
holds times and titles only (prompt times, and the due dates and titles of follow-ups the person owns),
never what anyone wrote in a journal: no journal text, no answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import CalendarToken, FollowUp, FollowUpStatus, Membership, PromptSchedule, User
from lms.security import digest, new_secret
from lms.services.prompts import cadence_of

PREFIX = "cal_"
HORIZON = timedelta(weeks=8)
PROMPT_MINUTES = 15  # how long a prompt's event is drawn: time set aside to reflect


@dataclass(frozen=True)
class FeedEvent:
    uid: str  # stable across refreshes, so a client updates an event rather than adding a copy
    start: datetime | date  # aware UTC, or a date for an all-day event (a follow-up's due date)
    minutes: int
    summary: str
    description: str = ""

    @property
    def order(self) -> tuple[str, str]:
        return (self.start.isoformat(), self.uid)


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


def follow_up_events(db: Session, user: User, *, host: str) -> list[FeedEvent]:
    """The due dates of the open follow-ups the person owns, in any of their organisations, as all-day
    events (a follow-up's title is shown: it is no journal text)."""
    rows = db.execute(
        select(FollowUp.id, FollowUp.title, FollowUp.due_on)
        .join(Membership, Membership.id == FollowUp.owner_id)
        .where(Membership.user_id == user.id, FollowUp.status == FollowUpStatus.OPEN)
    )
    return [
        FeedEvent(
            uid=f"follow-up-{follow_up_id}@{host}",
            start=due_on,
            minutes=0,
            summary=f"Follow-up due: {title}",
            description="A follow-up you own is due (see your follow-ups in Lead with Quality).",
        )
        for follow_up_id, title, due_on in rows
    ]


def feed(db: Session, user: User, *, host: str, now: datetime | None = None) -> bytes:
    """The person's feed: their prompt times for the next eight weeks and the due dates of the open
    follow-ups they own, as an iCalendar document."""
    now = now or utcnow()
    calendar = Calendar()
    calendar.add("prodid", "-//Lead with Quality//Coaching calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Lead with Quality")
    calendar.add("refresh-interval", timedelta(hours=4), parameters={"VALUE": "DURATION"})
    events = prompt_events(db, user, now, now + HORIZON, host=host) + follow_up_events(db, user, host=host)
    for item in sorted(events, key=lambda e: e.order):
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", now)
        event.add("dtstart", item.start)
        if isinstance(item.start, datetime):
            event.add("dtend", item.start + timedelta(minutes=item.minutes))
        else:
            event.add("dtend", item.start + timedelta(days=1))
        event.add("summary", item.summary)
        if item.description:
            event.add("description", item.description)
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()
