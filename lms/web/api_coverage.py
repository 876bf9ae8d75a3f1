"""Coverage in the JSON API (HR and org admins): a unit subtree by role and level with its pyramid and the
units below it, the overdue list, and a person's learning record. The models live here, built from the
pieces of lms/web/api_fields.py; the operations join the one document of lms/web/api.py."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from flask import request
from flask_login import current_user
from pydantic import Field

from lms.db import get_db
from lms.services import Invalid, coverage
from lms.services.access import actor_for
from lms.web.api import answers, bp, reply, spec
from lms.web.api_fields import QueryText, QueryValue, Role, Shape, Timestamp, number
from lms.web.api_models import Query, UnitRef
from lms.web.params import ID_MAX

# --- requests ---------------------------------------------------------------------------------------

_UNIT = "Only this unit and the units below it (its subtree); the whole organisation when not sent."
_LEVEL = "Only this dose level (an id of content/dosing.yaml's levels, as the catalogue's `dose`)."


class CoverageQuery(Query):
    unit_id: Annotated[number(ID_MAX), Field(description=_UNIT)] = None
    role: Annotated[Role, QueryValue(), Field(description="Only this stakeholder role.")] = None
    dose: Annotated[QueryText, Field(description=_LEVEL, max_length=32)] = ""


class OverdueQuery(CoverageQuery):
    page: Annotated[number(ID_MAX), Field(description="Page number, from 1.")] = 1
    per_page: Annotated[number(coverage.PER_PAGE_MAX), Field(description="Rows per page.")] = (
        coverage.PER_PAGE
    )


# --- answers ----------------------------------------------------------------------------------------


class CoverageLine(Shape):
    """A stakeholder role at a dose level in the subtree (or, in `units`, over the levels chosen)."""

    role: Role
    level: Annotated[str, Field(description="The dose level; blank in `units` when every level is summed.")]
    needed: Annotated[int, Field(description="Active people who hold open dose assignments at the level.")]
    completed: Annotated[int, Field(description="Of those, people who completed every one of them.")]
    percent: Annotated[int | None, Field(description="Completed of needed, whole per cent rounded down.")]
    overdue: Annotated[
        int, Field(description="People with a module of the level due before today, not done.")
    ]

    @classmethod
    def of(cls, line: coverage.Line) -> CoverageLine:
        return cls(
            role=line.role,
            level=line.level,
            needed=line.needed,
            completed=line.completed,
            percent=line.percent,
            overdue=line.overdue,
        )


class PyramidStep(Shape):
    level: str
    completed: int
    needed: int
    per_thousand: Annotated[int | None, Field(description="Completed per 1,000 staff, rounded down.")]


class UnitCoverage(Shape):
    """A unit right below the one asked for (the first 25 by name, as the page's heat map), by role, over
    its whole subtree."""

    unit: UnitRef
    roles: list[CoverageLine]


class CoverageOut(Shape):
    """A unit subtree's coverage (the whole organisation when no unit is asked for)."""

    unit: UnitRef | None
    today: Annotated[date, Field(description="Today in the organisation's time zone: overdue is before it.")]
    staff: Annotated[int, Field(description="Active people in the subtree.")]
    target_percent: int
    lines: list[CoverageLine]
    pyramid: list[PyramidStep]
    units: list[UnitCoverage]


class OverdueRow(Shape):
    person_id: Annotated[int, Field(description="The membership's id (`Person.id`).")]
    name: str
    email: str
    unit: str | None
    role: Role
    level: str
    due_on: Annotated[date, Field(description="The earliest due date of what is not completed at the level.")]


class OverduePage(Shape):
    """People overdue at a level (one row per person and level), by name."""

    items: list[OverdueRow]
    total: int
    page: int
    per_page: int


class RecordItem(Shape):
    module: str
    title: str
    level: str | None
    source: str
    due_on: date
    status: Annotated[str, Field(description="not-started, in-progress or completed.")]
    completed_at: Timestamp | None
    overdue: bool
    cancelled: Annotated[bool, Field(description="No longer required; kept for history.")]


class PersonRecord(Shape):
    """A person's assignments in the organisation with their progress (never their reflections)."""

    person_id: int
    name: str
    active: bool
    today: date
    items: list[RecordItem]


# --- operations -------------------------------------------------------------------------------------


def _filters(query: CoverageQuery, status: coverage.Status) -> coverage.Filters:
    role = query.role.value if query.role else ""
    try:
        return coverage.clean_filters(get_db(), query.unit_id, role, query.dose, status.value)
    except Invalid as exc:  # the service names the page's field, `level`
        raise Invalid({"dose" if k == "level" else k: v for k, v in exc.errors.items()}) from exc


@bp.get("/orgs/<org>/coverage")
@spec.validate(
    query=CoverageQuery,
    resp=answers(CoverageOut, "The subtree by role and level.", "403", "404"),
    operation_id="getCoverage",
)
def get_coverage(org: str):
    """A unit subtree's coverage by stakeholder role and dose level, its capability pyramid, and the
    units right below it by role. HR and org admins."""
    actor = actor_for(current_user, org)  # type: ignore[arg-type]
    query: CoverageQuery = request.context.query  # type: ignore[attr-defined]
    found = coverage.summary(get_db(), actor, _filters(query, coverage.Status.NEEDED))
    return reply(
        CoverageOut(
            unit=UnitRef.of(found.unit),
            today=found.today,
            staff=found.staff,
            target_percent=found.target,
            lines=[CoverageLine.of(line) for line in found.lines],
            pyramid=[
                PyramidStep(
                    level=s.level, completed=s.completed, needed=s.needed, per_thousand=s.per_thousand
                )
                for s in found.pyramid
            ],
            units=[
                UnitCoverage(
                    unit=UnitRef.of(row.unit), roles=[CoverageLine.of(x) for x in row.cells.values()]
                )
                for row in found.heat
            ],
        )
    )


@bp.get("/orgs/<org>/coverage/overdue")
@spec.validate(
    query=OverdueQuery,
    resp=answers(OverduePage, "One page of people overdue.", "403", "404"),
    operation_id="listOverdue",
)
def list_overdue(org: str):
    """People overdue in a unit subtree, by name, one row per person and dose level. HR and org admins."""
    actor = actor_for(current_user, org)  # type: ignore[arg-type]
    query: OverdueQuery = request.context.query  # type: ignore[attr-defined]
    page = coverage.people(
        get_db(), actor, _filters(query, coverage.Status.OVERDUE), page=query.page, per_page=query.per_page
    )
    return reply(
        OverduePage(
            items=[
                OverdueRow(
                    person_id=p.membership_id,
                    name=p.name,
                    email=p.email,
                    unit=p.unit,
                    role=p.role,
                    level=p.level,
                    due_on=p.open_due,
                )
                for p in page.items
            ],
            total=page.total,
            page=page.page,
            per_page=page.per_page,
        )
    )


@bp.get("/orgs/<org>/people/<int:membership_id>/record")
@spec.validate(
    resp=answers(PersonRecord, "The person's assignments and progress.", "403", "404"),
    operation_id="getPersonRecord",
)
def get_person_record(org: str, membership_id: int):
    """A person's assignments in the organisation, with progress and what is overdue. HR and org admins."""
    actor = actor_for(current_user, org)  # type: ignore[arg-type]
    record = coverage.person_record(get_db(), actor, membership_id)
    return reply(
        PersonRecord(
            person_id=record.membership.id,
            name=record.membership.user.name,
            active=record.membership.active,
            today=record.today,
            items=[
                RecordItem(
                    module=i.module_slug,
                    title=i.module_title,
                    level=i.level,
                    source=i.source,
                    due_on=i.due_on,
                    status=i.status,
                    completed_at=i.completed_at,
                    overdue=i.overdue,
                    cancelled=i.cancelled,
                )
                for i in record.items
            ],
        )
    )
