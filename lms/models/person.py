"""People: users (one per email) and their memberships in organisations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ColumnElement, Enum, ForeignKey, Index, String, UniqueConstraint, and_, exists
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from curricula.stakeholders import StakeholderRole
from lms.db import Base, utcnow
from lms.models.organization import Organization, OrgUnit


class Permission(StrEnum):
    """What a membership may do beyond learning: see DESIGN.md section 6."""

    HR = "hr"
    COACH = "coach"
    FACULTY = "faculty"
    ORG_ADMIN = "org_admin"


def _stakeholder_role_column() -> Mapped[StakeholderRole]:
    """One of the seven WSQ groups, stored by its value (a membership's, or an invitation's to be)."""
    return mapped_column(
        Enum(
            StakeholderRole,
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda e: [m.value for m in e],
        )
    )


class User(UserMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # The second factor: a TOTP secret (base32) once the person has turned it on, and the last time step
    # a code was accepted for, so that one code cannot be used twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    # A platform operator creates and archives organisations (DESIGN.md section 6). The flag gives no
    # membership: an operator reads no organisation's people, learning or coaching data.
    is_operator: Mapped[bool] = mapped_column(default=False, server_default="0")

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", order_by="Membership.id", lazy="selectin"
    )

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active and any(m.usable for m in self.memberships)

    @property
    def is_authenticated(self) -> bool:
        """A loaded user is signed in: the loaders (lms.login) decide, from a live session or token.
        (Flask-Login's default, `is_active`, would sign out someone who has left their organisation but
        has signed in to accept another's invitation.)"""
        return self.active

    @property
    def claimed(self) -> bool:
        """The person has taken the account: chosen a password or signed in. From then on only they
        change its email and name (DESIGN.md section 6)."""
        return self.password_hash is not None or self.last_login_at is not None

    @property
    def second_factor_on(self) -> bool:
        return self.totp_enabled_at is not None

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
    stakeholder_role: Mapped[StakeholderRole] = _stakeholder_role_column()
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
    # A dose level given to this person on top of their role's (HR, org admins): every module of it, due
    # `extra_level_days` after assignment (curricula.dosing states the rule).
    extra_level: Mapped[str | None] = mapped_column(String(32))
    extra_level_days: Mapped[int | None]
    # Changes whenever the journal list may have changed for this person (lms.kept bumps it on every
    # flush that writes one of their journal entries or a comment on their entries or reflections).
    journal_version: Mapped[int] = mapped_column(default=0, server_default="0")

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(lazy="joined")
    unit: Mapped[OrgUnit | None] = relationship()

    @property
    def usable(self) -> bool:
        """The person may sign in to and act in this organisation: the membership is active and the
        organisation is not archived."""
        return self.active and self.organization.archived_at is None

    @property
    def permissions(self) -> frozenset[Permission]:
        return frozenset(p for p in Permission if getattr(self, f"is_{p.value}"))

    def has(self, *permissions: Permission) -> bool:
        """True when the membership is active and holds any of the given permissions."""
        return self.active and bool(self.permissions.intersection(permissions))


class Invitation(Base):
    """An organisation's invitation to a person whose account exists already (it is theirs, not the
    organisation's): they join only by accepting it while signed in. Until then the organisation sees
    only what it typed (`name`, `email` and the membership details), nothing the account holds."""

    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_email_open", "email", "accepted_at", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    job_code: Mapped[str | None] = mapped_column(String(32))
    employee_id: Mapped[str | None] = mapped_column(String(64))
    stakeholder_role: Mapped[StakeholderRole] = _stakeholder_role_column()
    # Comma-separated Permission values granted on acceptance ("" for none).
    permissions_granted: Mapped[str] = mapped_column(String(64), default="")
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    # Declined by the person, or cancelled by the organisation.
    closed_at: Mapped[datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(String(16))
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))

    organization: Mapped[Organization] = relationship(lazy="joined")
    unit: Mapped[OrgUnit | None] = relationship()

    @hybrid_property
    def open(self) -> bool:
        """Waiting for an answer: neither accepted, declined nor cancelled (in Python and in SQL)."""
        return self.accepted_at is None and self.closed_at is None

    @open.inplace.expression
    @classmethod
    def _open_expression(cls) -> ColumnElement[bool]:
        return and_(cls.accepted_at.is_(None), cls.closed_at.is_(None))

    @property
    def permissions(self) -> frozenset[Permission]:
        return frozenset(Permission(p) for p in self.permissions_granted.split(",") if p)


# Whether an invitation waits for this person: read with the signed-in person in the session loader's one
# statement (lms.services.sessions), so the home page looks invitations up only for those who have one.
User.invited = column_property(
    exists().where(Invitation.email == User.email, Invitation.open),
    deferred=True,
)
