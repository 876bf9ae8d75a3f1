"""Organisation administration: the unit tree, people, the audit trail.

Each view parses a form, calls one service and then redirects with a message (POST, redirect, GET) or,
when the service answers Invalid, shows the same page again with the messages next to the fields and
what was typed still in them (HTTP 400). The services check who may do what, so a learner gets 403
and an id from another organisation 404, whatever the page shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm

from curricula.stakeholders import LABELS, StakeholderRole
from lms.db import get_db
from lms.models import AuditEvent, Invitation, Membership, OrgUnit, Permission
from lms.services import Invalid, audit, invitations, organizations, people, second_factor
from lms.services.access import Actor
from lms.services.units_import import import_units
from lms.web import acting_actor, params, show_errors
from lms.web import status_after_post as _status
from lms.web import submit_form as _submit
from lms.web.admin_forms import (
    PERMISSION_LABELS,
    AddUnitForm,
    ConfirmForm,
    MoveUnitForm,
    NewPersonForm,
    PeopleFilter,
    PermissionsForm,
    PersonForm,
    RenameUnitForm,
    SecondFactorPolicyForm,
    UnitsFileForm,
)

bp = Blueprint("admin", __name__, url_prefix="/o/<org>/admin")

PEOPLE_PER_PAGE = 25
EVENTS_PER_PAGE = 50
HISTORY_LENGTH = 20

# --- units --------------------------------------------------------------------------------------------


@bp.route("/units", methods=["GET", "POST"])
@login_required
def units(org: str):
    actor = acting_actor()
    form = AddUnitForm()
    done = _submit(
        form,
        lambda: organizations.add_unit(get_db(), actor, parent_id=form.parent_id.data, name=form.name.data),
        lambda unit: f"{unit.name} was added under {unit.parent.name}.",
        lambda unit: url_for(".units", org=org),
    )
    return done or _units_page(actor, form=form)


@bp.post("/units/import")
@login_required
def units_import(org: str):
    """The same import as `lms units import`: all or nothing, every problem by row and column."""
    actor = acting_actor()
    upload = UnitsFileForm()
    done = _submit(
        upload,
        lambda: import_units(get_db(), actor, upload.file.data.read() if upload.file.data else b""),
        lambda report: f"The units file was imported: {report.summary()}",
        lambda report: url_for(".units", org=org),
    )
    return done or _units_page(actor, upload=upload)


def _units_page(actor: Actor, *, form: AddUnitForm | None = None, upload: UnitsFileForm | None = None):
    db = get_db()
    tree = organizations.unit_tree(db, actor)
    form = (form or AddUnitForm(formdata=None)).offer(
        organizations.list_units(db, actor, include_archived=False)
    )
    return render_template(
        "admin/units.html", tree=tree, form=form, upload=upload or UnitsFileForm(formdata=None)
    ), _status()


@bp.get("/units/<int:unit_id>")
@login_required
def unit(org: str, unit_id: int):
    return _unit_page(acting_actor(), unit_id)


@dataclass(frozen=True)
class _Kind:
    """What a family of admin POST routes acts on: units or people."""

    path: str  # "units": /units/<id>/<name>
    id_arg: str  # the route's id argument
    page: str  # the endpoint of the object's page, shown again when a change is refused


_UNIT = _Kind("units", "unit_id", "unit")
_PERSON = _Kind("people", "membership_id", "person")


def _change_route(
    kind: _Kind,
    name: str,
    form_class: type[FlaskForm],
    change: Callable[..., Any],
    message: Callable[[Any], str],
    slot: str,
) -> None:
    """POST /<kind>/<id>/<name>, endpoint `<page>_<name>`: one form and one service call
    (`change(db, actor, object_id, form)`); on success a message and the object's page (POST, redirect,
    GET); when the service refuses, the object's page again with this form's errors in `slot`."""

    @login_required
    def view(org: str, **ids: int):
        actor = acting_actor()
        form = form_class()
        object_id = ids[kind.id_arg]
        done = _submit(
            form,
            lambda: change(get_db(), actor, object_id, form),
            message,
            lambda _: url_for(f".{kind.page}", org=org, **ids),
        )
        show_page = _unit_page if kind is _UNIT else _person_page
        return done or show_page(actor, object_id, **{slot: form})

    rule = f"/{kind.path}/<int:{kind.id_arg}>/{name}"
    bp.add_url_rule(rule, f"{kind.page}_{name}", view, methods=["POST"])


_change_route(
    _UNIT,
    "rename",
    RenameUnitForm,
    lambda db, actor, unit_id, form: organizations.rename_unit(db, actor, unit_id, name=form.name.data),
    lambda unit: f"The unit is now called {unit.name}.",
    "rename",
)
_change_route(
    _UNIT,
    "move",
    MoveUnitForm,
    lambda db, actor, unit_id, form: organizations.move_unit(
        db, actor, unit_id, new_parent_id=form.parent_id.data
    ),
    lambda unit: f"{unit.name} now sits under {unit.parent.name}.",
    "move",
)
_change_route(
    _UNIT,
    "archive",
    ConfirmForm,
    lambda db, actor, unit_id, form: organizations.archive_unit(db, actor, unit_id),
    lambda unit: f"{unit.name} is archived. Its history is kept; restore it at any time.",
    "standing",
)
_change_route(
    _UNIT,
    "restore",
    ConfirmForm,
    lambda db, actor, unit_id, form: organizations.restore_unit(db, actor, unit_id),
    lambda unit: f"{unit.name} is restored.",
    "standing",
)


def _unit_page(
    actor: Actor,
    unit_id: int,
    *,
    rename: RenameUnitForm | None = None,
    move: MoveUnitForm | None = None,
    standing: ConfirmForm | None = None,
):
    """The unit page; a form passed in is the one just refused, shown with its errors and typed values."""
    db = get_db()
    unit = organizations.get_unit(db, actor, unit_id)
    rename = rename or RenameUnitForm(formdata=None, name=unit.name)
    move = (move or MoveUnitForm(formdata=None)).offer(organizations.possible_parents(db, actor, unit))
    return render_template(
        "admin/unit.html",
        unit=unit,
        rename=rename,
        move=move,
        standing=standing or ConfirmForm(formdata=None),
        can_change=actor.can(Permission.ORG_ADMIN),
    ), _status()


# --- people -------------------------------------------------------------------------------------------

PERSON_FIELDS = ("email", "name", "stakeholder_role", "unit_id", "job_code", "employee_id")


@bp.get("/people", endpoint="people")
@login_required
def people_list(org: str):
    actor = acting_actor()
    db = get_db()
    filters = PeopleFilter(request.args).offer(organizations.list_units(db, actor))
    result, status = None, 200
    if filters.validate():
        try:
            result = people.list_people(
                db,
                actor,
                q=filters.q.data or "",
                role=filters.role.data or "",
                unit_id=filters.unit.data,
                include_inactive=filters.inactive.data,
                page=params.arg_number("page", default=1),
                per_page=PEOPLE_PER_PAGE,
            )
        except Invalid as exc:
            show_errors(filters, exc.errors, {"unit_id": "unit", "stakeholder_role": "role"})
    if result is None:
        status = 400

    def page_url(number: int) -> str:
        args = {k: v for k, v in request.args.items() if k != "page"}
        return url_for(".people", org=org, page=number, **args)

    return render_template(
        "admin/people.html",
        filters=filters,
        result=result,
        page_url=page_url,
        role_labels=LABELS,
        permission_labels=PERMISSION_LABELS,
        invitations=invitations.waiting_in_org(db, actor),
        confirm=ConfirmForm(formdata=None),
        local_date=_event_helpers(actor, [])["local_time"],
    ), status


@bp.post("/invitations/<int:invitation_id>/cancel")
@login_required
def invitation_cancel(org: str, invitation_id: int):
    actor = acting_actor()
    form = ConfirmForm()
    if form.validate_on_submit():
        invitation = invitations.cancel(get_db(), actor, invitation_id)
        flash(f"The invitation to {invitation.email} is withdrawn.", "success")
    else:
        flash("This form has expired. Try again.", "error")
    return redirect(url_for(".people", org=org))


@bp.route("/people/new", methods=["GET", "POST"])
@login_required
def person_new(org: str):
    actor = acting_actor()
    db = get_db()
    form = NewPersonForm()
    done = _submit(
        form,
        lambda: people.add_person(db, actor, _person_input(form), permissions=form.chosen_permissions()),
        _added,
        lambda added: (
            url_for(".people", org=org)
            if isinstance(added, Invitation)
            else url_for(".person", org=org, membership_id=added.id)
        ),
    )
    if done is not None:
        return done
    form.offer(organizations.list_units(db, actor, include_archived=False))
    return render_template(
        "admin/person_new.html", form=form, can_grant=actor.can(Permission.ORG_ADMIN)
    ), _status()


def _added(added: Membership | Invitation) -> str:
    if isinstance(added, Invitation):
        return (
            f"{added.email} already has an account, so we emailed them an invitation. They join "
            f"{added.organization.name} when they accept it; until then you see only what you typed."
        )
    return f"{added.user.name} was added. We emailed them a link to choose their password."


@bp.get("/people/<int:membership_id>")
@login_required
def person(org: str, membership_id: int):
    return _person_page(acting_actor(), membership_id)


_change_route(
    _PERSON,
    "edit",
    PersonForm,
    lambda db, actor, membership_id, form: people.update_person(
        db, actor, membership_id, _person_input(form)
    ),
    lambda m: f"{m.user.name}'s details are saved.",
    "details",
)
_change_route(
    _PERSON,
    "permissions",
    PermissionsForm,
    lambda db, actor, membership_id, form: people.set_permissions(
        db, actor, membership_id, form.chosen_permissions()
    ),
    lambda m: f"{m.user.name}'s permissions are saved.",
    "permissions",
)
_change_route(
    _PERSON,
    "deactivate",
    ConfirmForm,
    lambda db, actor, membership_id, form: people.deactivate_person(db, actor, membership_id),
    lambda m: f"{m.user.name} is deactivated. Their records are kept.",
    "standing",
)
_change_route(
    _PERSON,
    "reactivate",
    ConfirmForm,
    lambda db, actor, membership_id, form: people.reactivate_person(db, actor, membership_id),
    lambda m: f"{m.user.name} is active again.",
    "standing",
)


def _person_input(form: PersonForm) -> people.PersonInput:
    return people.PersonInput(**{name: form[name].data for name in PERSON_FIELDS})


def _person_page(
    actor: Actor,
    membership_id: int,
    *,
    details: PersonForm | None = None,
    permissions: PermissionsForm | None = None,
    standing: ConfirmForm | None = None,
):
    """The person page; a form passed in is the one just refused, shown with its errors and typed values."""
    db = get_db()
    membership = people.get_person(db, actor, membership_id)
    if details is None:
        details = PersonForm(formdata=None, data=_person_data(membership))
    units = organizations.list_units(db, actor)
    details.offer(units, current=membership.unit)
    permissions = permissions or PermissionsForm(
        formdata=None, data={p.value: p in membership.permissions for p in Permission}
    )
    history = people.person_history(db, actor, membership_id, limit=HISTORY_LENGTH)
    return render_template(
        "admin/person.html",
        person=membership,
        details=details,
        permissions=permissions,
        standing=standing or ConfirmForm(formdata=None),
        history=history,
        can_grant=actor.can(Permission.ORG_ADMIN),
        can_manage=actor.may_manage(membership),
        identity_editable=people.identity_editable(membership),
        is_self=membership.id == actor.membership.id,
        role_labels=LABELS,
        permission_labels=PERMISSION_LABELS,
        **_event_helpers(actor, units),
    ), _status()


def _person_data(m: Membership) -> dict[str, Any]:
    return {
        "email": m.user.email,
        "name": m.user.name,
        "stakeholder_role": m.stakeholder_role.value,
        "unit_id": m.unit_id,
        "job_code": m.job_code or "",
        "employee_id": m.employee_id or "",
    }


# --- sign-in security ----------------------------------------------------------------------------------


@bp.route("/sign-in-security", methods=["GET", "POST"])
@login_required
def sign_in_security(org: str):
    actor = acting_actor()
    actor.require(Permission.ORG_ADMIN)
    form = SecondFactorPolicyForm(data={"required": actor.org.second_factor_required})
    done = _submit(
        form,
        lambda: second_factor.set_required(get_db(), actor, bool(form.required.data)),
        lambda _: (
            "Two-step sign-in is now required for administrators, HR and coaches."
            if form.required.data
            else "Two-step sign-in is now up to each person."
        ),
        lambda _: url_for(".sign_in_security", org=org),
    )
    if done is not None:
        return done
    return render_template("admin/sign_in_security.html", form=form), _status()


# --- the audit trail ----------------------------------------------------------------------------------


@bp.get("/audit", endpoint="audit")
@login_required
def audit_trail(org: str):
    actor = acting_actor()
    db = get_db()
    before = params.arg_id("before")
    events = audit.list_events(db, actor, limit=EVENTS_PER_PAGE + 1, before_id=before)
    older = events[EVENTS_PER_PAGE - 1].id if len(events) > EVENTS_PER_PAGE else None
    return render_template(
        "admin/audit.html",
        events=events[:EVENTS_PER_PAGE],
        older=older,
        newest_page=before is None,
        **_event_helpers(actor, organizations.list_units(db, actor)),
    )


FIELD_LABELS = {
    "email": "Email",
    "name": "Name",
    "stakeholder_role": "Stakeholder role",
    "unit_id": "Unit",
    "job_code": "Job code",
    "employee_id": "Employee ID",
    "permissions": "Permissions",
    "active": "Active",
    "parent": "Parent",
    "kind": "Level",
    "slug": "Slug",
    "root_unit": "Root unit",
    "role": "Stakeholder role",
    "levels": "Dose levels (days to complete)",
    "overridden": "Organisation's own policy",
}


ROLE_VALUES = frozenset(r.value for r in StakeholderRole)


def _event_helpers(actor: Actor, units: list[OrgUnit]) -> dict[str, Any]:
    """What the templates need to show events readably: local times and "field: old → new" lines."""
    zone = ZoneInfo(actor.org.time_zone)
    unit_names = {u.id: u.name for u in units}

    def local_time(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def describe(event: AuditEvent) -> list[str]:
        return [_describe_change(key, value, unit_names) for key, value in event.changes.items()]

    return {"time_zone": actor.org.time_zone, "local_time": local_time, "describe": describe}


def _describe_change(key: str, value: Any, unit_names: Mapping[int, str]) -> str:
    label = FIELD_LABELS.get(key, key.replace("_", " ").capitalize())
    if _is_old_and_new(key, value):
        old, new = value
        return f"{label}: {_shown(key, old, unit_names)} → {_shown(key, new, unit_names)}"
    return f"{label}: {_shown(key, value, unit_names)}"


def _is_old_and_new(key: str, value: Any) -> bool:
    """Changes are stored as [old, new]; a permission list is a pair only when both sides are lists."""
    if not (isinstance(value, list) and len(value) == 2):
        return False
    return key != "permissions" or all(isinstance(side, list) for side in value)


def _shown(key: str, value: Any, unit_names: Mapping[int, str]) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in ("unit_id", "root_unit") and isinstance(value, int):
        return unit_names.get(value, f"unit {value}")
    if key == "levels" and isinstance(value, dict):
        return ", ".join(f"{level.capitalize()} {days} days" for level, days in value.items()) or "none"
    if key in ("stakeholder_role", "role") and value in ROLE_VALUES:
        return LABELS[StakeholderRole(value)]
    if key == "permissions" and isinstance(value, list):
        return ", ".join(label for p, label in PERMISSION_LABELS.items() if p.value in value)
    return str(value)
