"""Reflection prompts on a rhythm: a person's schedules, what was delivered, and their calendar feed.

A schedule's cadence columns mirror `coaching.cadence.Cadence` (read back with `PromptSchedule.cadence`).
`next_due_at` is the one column the scheduler asks ("what is due?"): it is NULL while the schedule is
paused or waits for its owner's consent, so the due query is one range scan on its index.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from lms.db import Base, utcnow
from lms.models.person import User


class PromptSchedule(Base):
    __tablename__ = "prompt_schedule"
    # "What is due", walked in this order by the scheduler (lms.services.prompt_delivery).
    __table_args__ = (Index("ix_prompt_schedule_due", "next_due_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    # The cadence (coaching.cadence.Cadence): kind, local time, IANA zone and the kind's own fields.
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[time]
    time_zone: Mapped[str] = mapped_column(String(64))
    weekdays: Mapped[str] = mapped_column(String(20), default="")  # "0,2,4": Monday is 0
    day_of_month: Mapped[int | None]
    nth: Mapped[int | None]  # 1-4, or -1 for the last
    weekday: Mapped[int | None]
    anchor: Mapped[date | None]  # the first week of a fortnightly cadence
    # Only prompts with one of these tags ("" for the whole library), comma-separated.
    tags: Mapped[str] = mapped_column(String(400), default="")
    # Who set it: the owner, or their coach. A coach's schedule runs only once the owner consents.
    set_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    consented_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    next_due_at: Mapped[datetime | None]
    # Prompt keys delivered in the current round of the rotation (no repeat before the set is used up).
    rotation: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    set_by: Mapped[User] = relationship(foreign_keys=[set_by_id])

    @property
    def weekday_set(self) -> frozenset[int]:
        return frozenset(int(d) for d in self.weekdays.split(",") if d)

    @property
    def tag_set(self) -> frozenset[str]:
        return frozenset(t for t in self.tags.split(",") if t)

    @property
    def waiting_for_consent(self) -> bool:
        return self.consented_at is None


class PromptDelivery(Base):
    """One prompt delivered for one due time of a schedule: unique on (schedule, due time), so delivering
    the same occurrence twice is impossible, whoever runs the scheduler and however often."""

    __tablename__ = "prompt_delivery"
    __table_args__ = (
        UniqueConstraint("schedule_id", "due_at"),
        # The inbox and the count in the navigation: one person's unanswered deliveries.
        Index("ix_prompt_delivery_inbox", "user_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("prompt_schedule.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    due_at: Mapped[datetime]
    prompt_key: Mapped[str] = mapped_column(String(120))
    prompt_text: Mapped[str] = mapped_column(Text)  # as delivered, even if the library changes later
    delivered_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    # The answer: a private entry of the owner's journal.
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))

    schedule: Mapped[PromptSchedule] = relationship()


class CalendarToken(Base):
    """The secret of a person's calendar feed URL: only its SHA-256 digest is stored (as for API tokens)."""

    __tablename__ = "calendar_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


# How many delivered prompts wait for the person's answer: the navigation's count, read with the signed-in
# person in the session loader's one statement (lms.services.sessions), not by a query of its own per page.
User.prompts_waiting = column_property(
    select(func.count())
    .where(PromptDelivery.user_id == User.id, PromptDelivery.answered_at.is_(None))
    .correlate_except(PromptDelivery)
    .scalar_subquery(),
    deferred=True,
)
