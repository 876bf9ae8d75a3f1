"""Organisations and their unit tree (system > facility > department > unit)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow


class UnitKind(StrEnum):
    SYSTEM = "system"
    FACILITY = "facility"
    DEPARTMENT = "department"
    UNIT = "unit"

    @property
    def depth(self) -> int:
        return list(UnitKind).index(self)

    @property
    def child_kind(self) -> UnitKind | None:
        kinds = list(UnitKind)
        return kinds[self.depth + 1] if self.depth + 1 < len(kinds) else None


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Whether org admins, HR and coaches must sign in with a second factor to use those permissions.
    second_factor_required: Mapped[bool] = mapped_column(default=False, server_default="0")
    # An archived organisation is closed: nobody signs in to it and it leaves every organisation picker;
    # its records stay, and a platform operator may restore it.
    archived_at: Mapped[datetime | None]
    # Changes whenever a follow-up board in the organisation may have changed (lms.kept bumps it on every
    # flush that writes a follow-up, its history, a unit, or the name of one of the organisation's people).
    follow_up_version: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def __repr__(self) -> str:
        return f"<Organization {self.slug}>"


class OrgUnit(Base):
    """A node of an organisation's tree.

    `path` is the materialised path of ids, e.g. "/1/4/9/": a subtree is one indexed prefix query
    (`path LIKE '/1/4/%'`) and a move rewrites the prefix of the subtree in one UPDATE.
    """

    __tablename__ = "org_unit"
    __table_args__ = (
        # Also the index for subtree queries: (org_id, path LIKE prefix%).
        UniqueConstraint("org_id", "path"),
        # A unit's own code (from the hospital's HR or finance system), used by `lms units import` to
        # recognise a unit on a second import. Optional: units added on the Units page have none.
        UniqueConstraint("org_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    kind: Mapped[UnitKind] = mapped_column(
        Enum(
            UnitKind,
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    name: Mapped[str] = mapped_column(String(120))
    code: Mapped[str | None] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(512))
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship()
    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    @property
    def active(self) -> bool:
        return self.archived_at is None

    @property
    def lineage(self) -> list[OrgUnit]:
        """The units from the root of the tree down to this one (parents load from the session's map)."""
        chain: list[OrgUnit] = []
        unit: OrgUnit | None = self
        while unit is not None:
            chain.append(unit)
            unit = unit.parent
        return chain[::-1]

    @property
    def full_name(self) -> str:
        """ "Riverbend General > Medicine > 4 West": the names from the root down to this unit."""
        return " > ".join(u.name for u in self.lineage)

    def __repr__(self) -> str:
        return f"<OrgUnit {self.kind} {self.name!r} {self.path}>"
