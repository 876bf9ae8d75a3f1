"""Gemba walks, the follow-ups raised on them, and each follow-up's history.

A walk belongs to the leader who made it (their membership); its answers are keyed by the question keys of
the question set it used (content/coaching/). A follow-up is a promise with an owner and a due date; while
it stays open past its due date it climbs the escalation tiers (coaching.escalation) to the leader of the
next level of the unit tree. Every change to a follow-up is a FollowUpEvent, so its page tells its whole
story to the person who raised it.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow
from lms.models.organization import Organization, OrgUnit
from lms.models.person import Membership


def _enum(cls: type[StrEnum], length: int) -> Enum:
    return Enum(
        cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
    )


class FollowUpStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class FollowUpEventKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    REASSIGNED = "reassigned"
    ESCALATED = "escalated"
    CLOSED = "closed"


class GembaWalk(Base):
    __tablename__ = "gemba_walk"
    __table_args__ = (
        # A walk the browser sends again (a dropped connection, a retry) finds the one it made.
        UniqueConstraint("leader_id", "client_key"),
        Index("ix_gemba_walk_leader_walked", "leader_id", "walked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    question_set: Mapped[str] = mapped_column(String(64))
    walked_at: Mapped[datetime] = mapped_column(default=utcnow)
    # {question key: answer}; questions left blank are left out.
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    observations: Mapped[str] = mapped_column(Text, default="")
    # The next step the leader expects to see (their prediction): a Kata prompt asks later what happened.
    expected_next: Mapped[str] = mapped_column(Text, default="", server_default="")
    client_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship()
    leader: Mapped[Membership] = relationship()
    unit: Mapped[OrgUnit] = relationship()
    follow_ups: Mapped[list[FollowUp]] = relationship(back_populates="walk", order_by="FollowUp.id")


class FollowUp(Base):
    __tablename__ = "follow_up"
    # The escalation pass reads the open follow-ups that are due.
    __table_args__ = (Index("ix_follow_up_open_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    walk_id: Mapped[int | None] = mapped_column(ForeignKey("gemba_walk.id"), index=True)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("membership.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("membership.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[FollowUpStatus] = mapped_column(_enum(FollowUpStatus, 8), default=FollowUpStatus.OPEN)
    # coaching.escalation.Tier: 1 unit, 2 department, 3 facility, 4 executive.
    tier: Mapped[int] = mapped_column(default=1)
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"), index=True)
    resolution: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    walk: Mapped[GembaWalk | None] = relationship(back_populates="follow_ups")
    raised_by: Mapped[Membership] = relationship(foreign_keys=[raised_by_id])
    owner: Mapped[Membership] = relationship(foreign_keys=[owner_id])
    escalated_to: Mapped[Membership | None] = relationship(foreign_keys=[escalated_to_id])
    unit: Mapped[OrgUnit] = relationship()
    events: Mapped[list[FollowUpEvent]] = relationship(
        back_populates="follow_up", order_by="FollowUpEvent.id", cascade="all, delete-orphan"
    )

    @property
    def open(self) -> bool:
        return self.status == FollowUpStatus.OPEN


class FollowUpEvent(Base):
    """One change to a follow-up: who made it (none for the scheduler's escalation), when, and what."""

    __tablename__ = "follow_up_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_up.id"), index=True)
    kind: Mapped[FollowUpEventKind] = mapped_column(_enum(FollowUpEventKind, 16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # What changed: {"field": [before, after]}, the tier reached, the resolution...
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    follow_up: Mapped[FollowUp] = relationship(back_populates="events")
    actor: Mapped[Membership | None] = relationship()


class GembaSettings(Base):
    """An organisation's own escalation days and leader-standard-work targets, where it overrides the
    defaults of coaching.escalation and coaching.standard_work. One row per organisation, made on the
    first save."""

    __tablename__ = "gemba_settings"

    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    # Days overdue before each move up: [to department, to facility, to executive].
    escalation_days: Mapped[list[int] | None] = mapped_column(JSON)
    # Stakeholder role -> {"per": "day" | "week", "count": n}; roles left out keep the default.
    targets: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))
