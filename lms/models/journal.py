"""Coaching relationships and the private journal (DESIGN.md sections 3 and 6).

A journal entry is its author's alone until they share it, entry by entry, with their coach: sharing
records the coaching relationship it was shared under, so a later coach never inherits what was shared
with an earlier one. A module reflection (lms.models.learning.Reflection) is shared the same way, by the
same two columns on its own row.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow
from lms.models.person import Membership, User


class JournalSource(StrEnum):
    ENTRY = "entry"  # written in the journal
    PROMPT = "prompt"  # the answer to a reflection prompt


class CoachingRelationship(Base):
    """A coach and a coachee, both members of one organisation.

    Proposed by a coach (waiting until the coachee accepts) or made by an org admin (accepted at once).
    Active while accepted and not ended; a declined proposal is ended with `end_reason` "declined".
    """

    __tablename__ = "coaching_relationship"
    __table_args__ = (
        Index("ix_coaching_relationship_coach", "coach_id", "ended_at"),
        Index("ix_coaching_relationship_coachee", "coachee_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    coachee_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)  # proposed, or made by an org admin
    accepted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(16))  # "declined", "withdrawn", "ended"

    coach: Mapped[Membership] = relationship(foreign_keys=[coach_id])
    coachee: Mapped[Membership] = relationship(foreign_keys=[coachee_id])

    @property
    def active(self) -> bool:
        return self.accepted_at is not None and self.ended_at is None

    @property
    def pending(self) -> bool:
        return self.accepted_at is None and self.ended_at is None


class JournalEntry(Base):
    __tablename__ = "journal_entry"
    __table_args__ = (
        Index("ix_journal_entry_author", "user_id", "org_id", "created_at"),
        Index("ix_journal_entry_shared", "shared_relationship_id", "shared_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)  # Markdown as the author wrote it
    body_html: Mapped[str] = mapped_column(Text)  # rendered as modules are (curricula.render): no raw HTML
    search_text: Mapped[str] = mapped_column(Text, default="")  # lower-cased title and body
    # Ids of framework components and WSQ principles (the latest content release's vocabulary).
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[JournalSource] = mapped_column(
        Enum(
            JournalSource,
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=JournalSource.ENTRY,
    )
    # Shared with the coach of this relationship (None: private, the default).
    shared_at: Mapped[datetime | None]
    shared_relationship_id: Mapped[int | None] = mapped_column(ForeignKey("coaching_relationship.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship()
    comments: Mapped[list[JournalComment]] = relationship(
        back_populates="entry",
        order_by="JournalComment.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def shared(self) -> bool:
        return self.shared_at is not None


class JournalComment(Base):
    """A coach's comment on an entry or a module reflection shared with them."""

    __tablename__ = "journal_comment"
    __table_args__ = (
        CheckConstraint("(entry_id IS NULL) <> (reflection_id IS NULL)", name="on_entry_or_reflection"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entry.id", ondelete="CASCADE"), index=True
    )
    reflection_id: Mapped[int | None] = mapped_column(
        ForeignKey("reflection.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[JournalEntry | None] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()
