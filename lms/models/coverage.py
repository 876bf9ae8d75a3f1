"""Coverage: who needs which dose level and who completed it, kept as aggregates (DESIGN.md section 3).

Three tables, all maintained in the transaction that changes an assignment, a progress or a membership
(lms.services.coverage):
- `coverage_need`: one row per active membership and dose level it needs: the person's standing at that
  level (the earliest due date of what they have not completed, or none once every module is done). It is
  what the drill-down lists page through; the dashboards never read it.
- `coverage_cell`: per organisation, *unit subtree*, stakeholder role and level, how many need it, how
  many completed it, and how many were overdue at the last fold (see below). Each person counts in their
  unit and in every unit above it, and under `unit_id` 0, the whole organisation (people without a unit
  too), so a subtree's numbers are one row per role and level, whatever the number of learners.
- `coverage_open`: per subtree, role, level and due date, the people not done whose earliest open due
  date it is. Overdue = `coverage_cell.overdue` + the open rows due before today. A fold (daily) moves
  the rows due before today into `coverage_cell.overdue`, so time passing costs one write per cell per day,
  never one per learner.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base

WHOLE_ORGANISATION = 0  # the `unit_id` of the cells that count everyone in the organisation


class CoverageNeed(Base):
    __tablename__ = "coverage_need"
    __table_args__ = (
        Index("ix_coverage_need_org_level", "org_id", "dose_level", "stakeholder_role", "unit_id"),
        Index("ix_coverage_need_user", "user_id"),
    )

    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"), primary_key=True)
    dose_level: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    user_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    stakeholder_role: Mapped[str] = mapped_column(String(32))
    open_due: Mapped[date | None] = mapped_column(Date)  # None: every module of the level completed


class CoverageCell(Base):
    __tablename__ = "coverage_cell"

    org_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # subtree root, 0: the organisation
    stakeholder_role: Mapped[str] = mapped_column(String(32), primary_key=True)
    dose_level: Mapped[str] = mapped_column(String(32), primary_key=True)
    needed: Mapped[int] = mapped_column(default=0)
    completed: Mapped[int] = mapped_column(default=0)
    overdue: Mapped[int] = mapped_column(default=0)  # overdue at the last fold (see the module docstring)


class CoverageOpen(Base):
    __tablename__ = "coverage_open"
    __table_args__ = (Index("ix_coverage_open_due", "org_id", "due_on"),)

    org_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stakeholder_role: Mapped[str] = mapped_column(String(32), primary_key=True)
    dose_level: Mapped[str] = mapped_column(String(32), primary_key=True)
    due_on: Mapped[date] = mapped_column(Date, primary_key=True)
    people: Mapped[int] = mapped_column(default=0)


class CoverageFold(Base):
    """Per organisation, the first date not folded yet: `coverage_open` rows due before it are counted in
    `coverage_cell.overdue` instead."""

    __tablename__ = "coverage_fold"

    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    folded_before: Mapped[date] = mapped_column(Date)
