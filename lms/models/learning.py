"""Curricula as published from content/, and each person's assignments and progress through them.

A module row is the published copy of one Markdown file. Its checks and reflections live in JSON on the
row (a module page is one row read), keyed by their stable keys; attempts and reflections refer to them
by (module, key). Every row that records learning keeps the content hash it was made against, so an edit
to a module never silently re-opens or completes anyone's work.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow
from lms.models.person import Membership


def _enum(cls: type[StrEnum], length: int) -> Enum:
    return Enum(
        cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
    )


class ContentRelease(Base):
    """One successful `lms content sync`: the vocabularies and the default dosing policy it published."""

    __tablename__ = "content_release"

    id: Mapped[int] = mapped_column(primary_key=True)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
    # {"curricula": [{id, title, summary}], "levels": [...], "components": [...], "principles": [...]}
    vocabulary: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON)  # role -> {level: days}
    added: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)
    retired: Mapped[int] = mapped_column(default=0)


class Module(Base):
    __tablename__ = "module"
    # Covers what a sync compares, so a re-sync reads the index, not rows heavy with JSON.
    __table_args__ = (Index("ix_module_sync", "slug", "content_hash", "position", "path", "retired_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    curriculum: Mapped[str] = mapped_column(String(80), index=True)
    title: Mapped[str] = mapped_column(String(200))
    dose: Mapped[str] = mapped_column(String(32), index=True)
    component: Mapped[str | None] = mapped_column(String(80))
    principles: Mapped[list[str]] = mapped_column(JSON, default=list)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    minutes: Mapped[int]
    requires: Mapped[list[str]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    objectives: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    # [{"kind": "html"|"check"|"reflection", "value": html-or-key}, ...] in reading order
    segments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # [{"key", "question_html", "options": [{"text_html", "correct"}], "explanation_html"}]
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"key", "prompt_html"}]
    reflections: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    search_text: Mapped[str] = mapped_column(Text, default="")  # lower-cased title, summary, objectives
    path: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)  # prerequisites first
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.retired_at is None


class AssignmentSource(StrEnum):
    DOSE = "dose"
    COHORT = "cohort"
    MANUAL = "manual"


class Assignment(Base):
    """A module a person must complete in one organisation, by a date."""

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("membership_id", "module_id"),
        Index("ix_assignment_org_due", "org_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"), index=True)
    source: Mapped[AssignmentSource] = mapped_column(_enum(AssignmentSource, 16))
    level: Mapped[str | None] = mapped_column(String(32))  # the dose level that required it
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[date] = mapped_column(Date)
    cancelled_at: Mapped[datetime | None]  # no longer required (role changed); history kept

    membership: Mapped[Membership] = relationship()
    module: Mapped[Module] = relationship()


class ProgressStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class Progress(Base):
    """A person's progress through a module (one row per person and module, across organisations)."""

    __tablename__ = "progress"
    __table_args__ = (UniqueConstraint("user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"), index=True)
    status: Mapped[ProgressStatus] = mapped_column(_enum(ProgressStatus, 16))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    resume_at: Mapped[str | None] = mapped_column(String(80))  # key of the last block answered
    completed_at: Mapped[datetime | None]
    completed_hash: Mapped[str | None] = mapped_column(String(64))  # the version it was completed against
    score: Mapped[float | None]  # share of checks right at the first attempt, at completion

    module: Mapped[Module] = relationship()


class CheckAttempt(Base):
    __tablename__ = "check_attempt"
    __table_args__ = (Index("ix_check_attempt_user_module", "user_id", "module_id", "check_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"))
    check_key: Mapped[str] = mapped_column(String(80))
    chosen: Mapped[list[int]] = mapped_column(JSON)
    correct: Mapped[bool]
    content_hash: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reflection(Base):
    """A learner's written answer to a module's reflection prompt.

    DESIGN.md section 6: the author reads and writes it; their coach, and faculty of a cohort they are in,
    may read it once coaching and cohorts exist; nobody else (not HR, not org admins) ever sees it.
    """

    __tablename__ = "reflection"
    __table_args__ = (UniqueConstraint("user_id", "module_id", "prompt_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"), index=True)
    prompt_key: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Shared with the coach of this coaching relationship, as a journal entry is (lms.models.journal).
    shared_at: Mapped[datetime | None]
    shared_relationship_id: Mapped[int | None] = mapped_column(ForeignKey("coaching_relationship.id"))


class DosePolicyOverride(Base):
    """An organisation's own dosing for one stakeholder role, replacing the default for that role."""

    __tablename__ = "dose_policy_override"
    __table_args__ = (UniqueConstraint("org_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    role: Mapped[str] = mapped_column(String(32))
    levels: Mapped[dict[str, int]] = mapped_column(JSON)  # {level: days}; {} means no training required
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
