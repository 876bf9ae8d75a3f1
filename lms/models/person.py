"""People: users (one per email) and their memberships in organisations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from curricula.stakeholders import StakeholderRole
from lms.db import Base, utcnow
from lms.models.organization import Organization, OrgUnit


class Permission(StrEnum):
    """What a membership may do beyond learning: see DESIGN.md section 6."""

    HR = "hr"
    COACH = "coach"
    FACULTY = "faculty"
    ORG_ADMIN = "org_admin"


class User(UserMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped whenever the password changes: sessions signed with an older value are signed out.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", order_by="Membership.id", lazy="selectin"
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active and any(m.active for m in self.memberships)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "org_id"),
        UniqueConstraint("org_id", "employee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    job_code: Mapped[str | None] = mapped_column(String(32))
    employee_id: Mapped[str | None] = mapped_column(String(64))
    stakeholder_role: Mapped[StakeholderRole] = mapped_column(
        Enum(
            StakeholderRole,
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    is_hr: Mapped[bool] = mapped_column(default=False)
    is_coach: Mapped[bool] = mapped_column(default=False)
    is_faculty: Mapped[bool] = mapped_column(default=False)
    is_org_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None]
    # Changes whenever what My learning shows for this membership may have changed: its assignments,
    # or the person's progress (lms.models.learning bumps it on every flush that writes either).
    learning_version: Mapped[int] = mapped_column(default=0, server_default="0")

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(lazy="joined")
    unit: Mapped[OrgUnit | None] = relationship()

    @property
    def permissions(self) -> frozenset[Permission]:
        return frozenset(p for p in Permission if getattr(self, f"is_{p.value}"))

    def has(self, *permissions: Permission) -> bool:
        """True when the membership is active and holds any of the given permissions."""
        return self.active and bool(self.permissions.intersection(permissions))
