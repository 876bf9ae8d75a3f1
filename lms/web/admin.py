"""Organisation administration: the unit tree, people, the audit trail.

Each view parses a form, calls one service and then redirects with a message (POST, redirect, GET) or,
when the service answers Invalid, shows the same page again with the messages next to the fields and
what was typed still in them (HTTP 400). The services check who may do what, so a learner gets 403
and an id from another organisation 404, whatever the page shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from curricula.stakeholders import LABELS
from lms.db import get_db
from lms.models import AuditEvent, Invitation, Membership, Permission
from lms.services import (
    Invalid,
    audit,
    coaching,
    coverage,
    dosing_extra,
    invitations,
    organizations,
    people,
    second_factor,
)
from lms.services.access import Actor
from lms.services.catalogue import vocabulary
from lms.services.units_import import import_units
from lms.web import acting_actor, params, refused, refused_status, show_errors, submit_change
from lms.web.admin_forms import (
    PERMISSION_LABELS,
    AddUnitForm,
    AuditFilter,
    CoachForm,
    ConfirmForm,
    ExtraLevelForm,
    MoveUnitForm,
    NewPersonForm,
    PeopleFilter,
    PermissionsForm,
    PersonForm,
    RenameUnitForm,
    SecondFactorPolicyForm,
    UnitsFileForm,
)
from lms.web.events import Trail, time_formatter, trail_context

bp = Blueprint("admin", __name__, url_prefix="/o/<org>/admin")

PEOPLE_PER_PAGE = 25
EVENTS_PER_PAGE = 50
HISTORY_LENGTH = 20

# --- units --------------------------------------------------------------------------------------------


@bp.route("/units", methods=["GET", "POST"])
@login_required
def units(org: str):
    actor = acting_actor()
    db = get_db()
    # Two forms post here: adding one unit, and importing a units file (the same service as
    # `lms units import`: all or nothing, every problem by row and column). The unposted one stays empty.
    importing = request.method == "POST" and request.form.get("change") == "import"
    form = AddUnitForm(**({"formdata": None} if importing else {}))
    form.offer(organizations.list_units(db, actor, include_archived=False))
    upload = UnitsFileForm(**({} if importing else {"formdata": None}))
    if importing:
        done = submit_change(
            upload,
            lambda: import_units(db, actor, upload.file.data.read() if upload.file.data else b""),
            lambda report: f"The units file was imported: {report.summary()}",
            lambda report: url_for(".units", org=org),
        )
    else:
        done = submit_change(
            form,
            lambda: organizations.add_unit(db, actor, parent_id=form.parent_id.data, name=form.name.data),
            lambda unit: f"{unit.name} was added under {unit.parent.name}.",
            lambda unit: url_for(".units", org=org),
        )
    if done is not None:
        return done
    tree = organizations.unit_tree(db, actor)
    return render_template("admin/units.html", tree=tree, form=form, upload=upload), refused_status()


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@login_required
def unit(org: str, unit_id: int):
    if request.method == "POST":
        return _posted_change(_UNIT, org, unit_id=unit_id)
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
    offer: Callable[..., Any] | None = None,
) -> None:
    """POST /<kind>/<id>/<name>, endpoint `<page>_<name>`: one form and one service call
    (`change(db, actor, object_id, form)`); on success a message and the object's page (POST, redirect,
    GET); when the service refuses, the object's page again with this form's errors in `slot`."""

    @login_required
    def view(org: str, **ids: int):
        actor = acting_actor()
        form = form_class()
        object_id = ids[kind.id_arg]
        if offer is not None:  # the units a picker offers, before the form is read
            offer(get_db(), actor, object_id, form)
        done = submit_change(
            form,
            lambda: change(get_db(), actor, object_id, form),
            message,
            lambda _: url_for(f".{kind.page}", org=org, **ids),
        )
        show_page = _unit_page if kind is _UNIT else _person_page
        return done or show_page(actor, object_id, **{slot: form})

    rule = f"/{kind.path}/<int:{kind.id_arg}>/{name}"
    bp.add_url_rule(rule, f"{kind.page}_{name}", view, methods=["POST"])
    _CHANGES[kind.page][name] = view


# The forms of a unit's or a person's page post to the page's own address with the change's name (a
# hidden `change` field), so a refused form is shown again at the address of the page, not of the form.
_CHANGES: dict[str, dict[str, Callable[..., Any]]] = {_UNIT.page: {}, _PERSON.page: {}}


def _posted_change(kind: _Kind, org: str, **ids: int):
    chosen = _CHANGES[kind.page].get(request.form.get("change", ""))
    if chosen is None:
        abort(400, "This form did not say which change it makes. Reload the page and try again.")
    return chosen(org=org, **ids)


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
    lambda db, actor, unit_id, form: form.offer(
        organizations.possible_parents(db, actor, organizations.get_unit(db, actor, unit_id))
    ),
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
    ), refused_status()


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
        refused(filters)

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
        local_date=time_formatter(actor),
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
    form = NewPersonForm().offer(organizations.list_units(db, actor, include_archived=False))
    done = submit_change(
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
    return render_template(
        "admin/person_new.html", form=form, can_grant=actor.can(Permission.ORG_ADMIN)
    ), refused_status()


def _added(added: Membership | Invitation) -> str:
    if isinstance(added, Invitation):
        return (
            f"{added.email} already has an account, so we emailed them an invitation. They join "
            f"{added.organization.name} when they accept it; until then you see only what you typed."
        )
    return f"{added.user.name} was added. We emailed them a link to choose their password."


@bp.route("/people/<int:membership_id>", methods=["GET", "POST"])
@login_required
def person(org: str, membership_id: int):
    if request.method == "POST":
        return _posted_change(_PERSON, org, membership_id=membership_id)
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
    lambda db, actor, membership_id, form: form.offer(
        organizations.list_units(db, actor), current=people.get_person(db, actor, membership_id).unit
    ),
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
    "coach",
    CoachForm,
    lambda db, actor, membership_id, form: coaching.create(
        db, actor, coach_id=form.coach_id.data, coachee_id=membership_id
    ),
    lambda rel: f"{rel.coach.user.name} now coaches {rel.coachee.user.name}.",
    "coach",
    lambda db, actor, membership_id, form: form.offer(coaching.coaches_in_org(db, actor), membership_id),
)
_change_route(
    _PERSON,
    "extra_level",
    ExtraLevelForm,
    lambda db, actor, membership_id, form: dosing_extra.set_extra_level(
        db, actor, membership_id, form.extra_level.data, form.extra_level_days.data
    ),
    lambda change: (
        f"{change.membership.user.name} now also needs the "
        f"{dict(_level_choices(get_db())).get(change.level, change.level)} level, due in {change.days} days."
        if change.level
        else f"{change.membership.user.name} now needs only what their role needs."
    ),
    "extra_level",
    lambda db, actor, membership_id, form: form.offer(_level_choices(db)),
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
    coach: CoachForm | None = None,
    extra_level: ExtraLevelForm | None = None,
):
    """The person page; a form passed in is the one just refused, shown with its errors and typed values."""
    db = get_db()
    membership = people.get_person(db, actor, membership_id)
    coaching_shown = actor.can(Permission.ORG_ADMIN) and membership.active
    if coaching_shown and coach is None:
        coach = CoachForm(formdata=None).offer(coaching.coaches_in_org(db, actor), membership.id)
    if details is None:
        details = PersonForm(formdata=None, data=_person_data(membership))
    units = organizations.list_units(db, actor)
    details.offer(units, current=membership.unit)
    permissions = permissions or PermissionsForm(
        formdata=None, data={p.value: p in membership.permissions for p in Permission}
    )
    history = people.person_history(db, actor, membership_id, limit=HISTORY_LENGTH)
    if extra_level is None:
        extra_level = ExtraLevelForm(
            formdata=None,
            data={
                "extra_level": membership.extra_level or "",
                "extra_level_days": str(membership.extra_level_days or dosing_extra.DEFAULT_DAYS),
            },
        )
    extra_level.offer(_level_choices(db))
    return render_template(
        "admin/person.html",
        person=membership,
        record=coverage.person_record(db, actor, membership_id),
        details=details,
        permissions=permissions,
        standing=standing or ConfirmForm(formdata=None),
        coach=coach,
        extra_level=extra_level,
        extra_level_title=dict(_level_choices(db)).get(membership.extra_level or "", membership.extra_level),
        relationships=coaching.relationships_of_person(db, actor, membership.id) if coaching_shown else [],
        history=history,
        can_grant=actor.can(Permission.ORG_ADMIN),
        can_manage=actor.may_manage(membership),
        identity_editable=people.identity_editable(membership),
        is_self=membership.id == actor.membership.id,
        role_labels=LABELS,
        permission_labels=PERMISSION_LABELS,
        **trail_context(Trail(actor, audit.names_for(db, actor, history), units)),
    ), refused_status()


def _level_choices(db: Session) -> list[tuple[str, str]]:
    return [(level.id, level.title) for level in vocabulary(db).levels]


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
    done = submit_change(
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
    return render_template("admin/sign_in_security.html", form=form), refused_status()


# --- the audit trail ----------------------------------------------------------------------------------


@bp.get("/audit", endpoint="audit")
@login_required
def audit_trail(org: str):
    """The trail, newest first, as sentences; filtered by person, kind of change and days (the service
    filters), a page of EVENTS_PER_PAGE at a time going back by id."""
    actor = acting_actor()
    db = get_db()
    filters = AuditFilter(request.args)
    before = params.arg_id("before")
    events: list[AuditEvent] = []
    if filters.validate():
        try:
            events = audit.list_events(
                db, actor, limit=EVENTS_PER_PAGE + 1, before_id=before, only=filters.chosen()
            )
        except Invalid as exc:
            show_errors(filters, exc.errors, {"since": "since", "until": "until"})
    if filters.errors or filters.form_errors:
        refused(filters)
    older = events[EVENTS_PER_PAGE - 1].id if len(events) > EVENTS_PER_PAGE else None
    events = events[:EVENTS_PER_PAGE]
    kept = {k: v for k, v in request.args.items() if k != "before" and v}
    return render_template(
        "admin/audit.html",
        events=events,
        filters=filters,
        filtered=bool(kept),
        older_url=url_for(".audit", org=org, before=older, **kept) if older else None,
        newest_url=url_for(".audit", org=org, **kept),
        newest_page=before is None,
        **trail_context(Trail(actor, audit.names_for(db, actor, events))),
    ), (400 if filters.errors or filters.form_errors else 200)
