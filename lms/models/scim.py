"""SCIM provisioning: an organisation's bearer tokens, and what its identity provider wrote about a person.

A SCIM token acts for the HR person or org admin who created it (with their permissions, while they hold
them), so a token can never do what its creator could not. Only the SHA-256 digest of a token is stored.

A ScimRecord holds the attributes the identity provider last wrote about one person of the organisation
(a membership, or an invitation to an account that belongs to someone already), verbatim. The account's
own name and email are its person's: an organisation whose provider sends another name for a shared or
taken account keeps that name here, and the account stays as it is (DESIGN.md section 6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow
from lms.models.organization import Organization
from lms.models.person import Invitation, Membership


class ScimToken(Base):
    __tablename__ = "scim_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The membership the token acts for: its permissions are the token's, while it holds them.
    created_by_id: Mapped[int] = mapped_column(ForeignKey("membership.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship()
    created_by: Mapped[Membership] = relationship()

    @property
    def live(self) -> bool:
        return self.revoked_at is None


class ScimRecord(Base):
    __tablename__ = "scim_record"
    __table_args__ = (
        Index("ix_scim_record_org_user_name", "org_id", "user_name"),
        Index("ix_scim_record_org_external_id", "org_id", "external_id"),
        Index("ix_scim_record_org_email", "org_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"), unique=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"), unique=True)
    # The provider's keys, lowercased where SCIM compares without case (userName, emails), for filters.
    user_name: Mapped[str] = mapped_column(String(254))
    external_id: Mapped[str | None] = mapped_column(String(254))
    email: Mapped[str | None] = mapped_column(String(254))
    # The writable attributes as the provider last sent them (SCIM JSON, without id, meta and active).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The provider deleted the person: the membership is deactivated and keeps its history, and the SCIM
    # resource is gone (404) until the provider creates the person again.
    deleted_at: Mapped[datetime | None]
    # What could not be applied as sent (a job code no stakeholder role is mapped to, a department that is
    # no unit, a name the account's person keeps): reported to HR on the SCIM page, never guessed.
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)

    membership: Mapped[Membership | None] = relationship()
    invitation: Mapped[Invitation | None] = relationship()
