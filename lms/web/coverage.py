"""Coverage pages for HR and organisation administrators: a unit subtree by stakeholder role and dose level,
the capability pyramid, a heat map of the units below, the people behind every number, and exports.

All of them are GET pages: the filters are a GET form (a link can be shared), and a bad filter shows
the page again with the message next to the field (HTTP 400). lms.services.coverage decides who may read.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import login_required
from wtforms import Form, SelectField
from wtforms.fields.choices import SelectChoice

from curricula.stakeholders import LABELS
from lms.db import get_db
from lms.services import Invalid, coverage
from lms.services.catalogue import vocabulary
from lms.web import acting_actor, params, refused, show_errors
from lms.web.admin_forms import UnitField, role_choices, unit_choices
from lms.web.spreadsheet import csv_response, xlsx_response

bp = Blueprint("coverage", __name__, url_prefix="/o/<org>/coverage")

FORMATS = ("csv", "xlsx")


class CoverageFilter(Form):
    """The GET toolbar of the coverage pages (no CSRF: it changes nothing)."""

    unit = UnitField("Unit (and the units below it)")
    role = SelectField("Stakeholder role", validate_choice=False, choices=role_choices(blank="Every role"))
    level = SelectField("Dose level", validate_choice=False, choices=[])
    status = SelectField(
        "Status",
        validate_choice=False,
        choices=[SelectChoice(s.value, label) for s, label in coverage.STATUS_LABELS.items()],
    )


def _filters() -> tuple[CoverageFilter, coverage.Filters | None]:
    """The filters as sent; None (and the form's errors shown) when one is wrong."""
    actor = acting_actor()
    db = get_db()
    form = CoverageFilter(request.args)
    shown = request.args.get("unit", "").strip()
    near = coverage.nearby_units(db, actor, int(shown) if shown.isdigit() and len(shown) < 10 else None)
    form.unit.choices = unit_choices(near, blank="The whole organisation")
    form.level.choices = [SelectChoice("", "Every level")] + [
        SelectChoice(lv.id, lv.title) for lv in vocabulary(db).levels
    ]
    chosen = None
    if form.validate():
        try:
            chosen = coverage.clean_filters(
                db, form.unit.data, form.role.data or "", form.level.data or "", form.status.data or ""
            )
            coverage.scope(db, actor, chosen.unit_id)
        except Invalid as exc:
            show_errors(form, exc.errors, {"unit_id": "unit"})
            chosen = None
    if chosen is None:
        refused(form)
    return form, chosen


def _link(endpoint: str, filters: coverage.Filters, **changes: Any) -> str:
    """A URL of this area keeping the filters, with some changed (None drops one)."""
    args = {
        "unit": filters.unit_id,
        "role": filters.role,
        "level": filters.level,
        "status": filters.status.value,
    } | changes
    return url_for(
        endpoint, org=acting_actor().org.slug, **{k: v for k, v in args.items() if v not in (None, "")}
    )


@bp.get("/", endpoint="page")
@login_required
def page(org: str):
    actor = acting_actor()
    form, filters = _filters()
    heat_page = params.arg_number("heat", default=1)
    result = coverage.summary(get_db(), actor, filters, heat_page=heat_page) if filters else None
    return render_template(
        "coverage/index.html",
        form=form,
        result=result,
        link=_link,
        role_labels=LABELS,
    ), (200 if filters else 400)


@bp.get("/people", endpoint="people")
@login_required
def people_page(org: str):
    actor = acting_actor()
    form, filters = _filters()
    result = None
    if filters:
        result = coverage.people(
            get_db(), actor, filters, page=params.arg_number("page", default=1), per_page=coverage.PER_PAGE
        )
    unit = coverage.scope(get_db(), actor, filters.unit_id) if filters else None
    return render_template(
        "coverage/people.html",
        form=form,
        filters=filters,
        result=result,
        unit=unit,
        link=_link,
        level_title={lv.id: lv.title for lv in vocabulary(get_db()).levels},
        status_labels=coverage.STATUS_LABELS,
        role_labels=LABELS,
    ), (200 if filters else 400)


SUMMARY_HEADER = ("Stakeholder role", "Dose level", "Need it", "Completed", "Per cent completed", "Overdue")
PEOPLE_HEADER = (
    "Name",
    "Email",
    "Unit",
    "Stakeholder role",
    "Dose level",
    "Completed",
    "Earliest open due date",
    "Overdue",
)


@bp.get("/export.<fmt>", endpoint="export")
@login_required
def export(org: str, fmt: str):
    """The table by role and level, as on the page (same filters)."""
    if fmt not in FORMATS:
        abort(404)
    _form, filters = _filters()
    if filters is None:
        abort(400)
    result = coverage.summary(get_db(), acting_actor(), filters)
    rows = [
        (
            line.role_label,
            result.level_title(line.level),
            line.needed,
            line.completed,
            line.percent,
            line.overdue,
        )
        for line in result.lines
    ]
    send = csv_response if fmt == "csv" else xlsx_response
    return send("coverage", SUMMARY_HEADER, rows)


@bp.get("/people.<fmt>", endpoint="people_export")
@login_required
def people_export(org: str, fmt: str):
    """Every person behind the number (all pages), as the list shows them."""
    if fmt not in FORMATS:
        abort(404)
    _form, filters = _filters()
    if filters is None:
        abort(400)
    db = get_db()
    titles = {lv.id: lv.title for lv in vocabulary(db).levels}
    rows = [
        (
            p.name,
            p.email,
            p.unit or "",
            p.role_label,
            titles.get(p.level, p.level),
            "yes" if p.open_due is None else "no",
            p.open_due,
            "yes" if p.overdue else "no",
        )
        for p in coverage.every_person(db, acting_actor(), filters)
    ]
    send = csv_response if fmt == "csv" else xlsx_response
    return send("coverage-people", PEOPLE_HEADER, rows)
