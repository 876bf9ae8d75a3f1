"""Forms of the organisation administration pages.

The forms only parse what was sent (text, ids, checkboxes); the services own the rules (lengths, names,
levels of the tree, duplicates) and answer Invalid with a message per field, which the views attach to
these forms. `Needed` marks a field required for browsers and screen readers without repeating a rule.
The one check made here is that a parent unit was chosen at all: the services take its id, not None.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, Form, SearchField, SelectField, StringField
from wtforms.fields import EmailField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from curricula.stakeholders import LABELS
from lms.models import OrgUnit, Permission, UnitKind
from lms.services.organizations import NAME_MAX, ORG_NAME_MAX
from lms.services.people import LIMITS
from lms.web.params import select_id

CHOOSE_UNIT = "Choose a unit from the list."

PERMISSION_LABELS: dict[Permission, str] = {
    Permission.HR: "HR",
    Permission.COACH: "Coach",
    Permission.FACULTY: "Faculty",
    Permission.ORG_ADMIN: "Organisation administrator",
}


class Needed:
    """Flags a field as required (the `required` attribute, "(required)" in its label); validates nothing."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        return None


def unit_choices(units: Iterable[OrgUnit], *, blank: str) -> list[SelectChoice]:
    """Select options for units, indented by depth in the tree (as text, so no CSS is needed)."""
    options = [SelectChoice("", blank)]
    for unit in units:
        indent = "\u00a0\u00a0\u00a0" * unit.depth
        options.append(SelectChoice(str(unit.id), f"{indent}{unit.name} ({unit.kind.value})"))
    return options


def role_choices(*, blank: str) -> list[SelectChoice]:
    return [SelectChoice("", blank)] + [SelectChoice(role.value, label) for role, label in LABELS.items()]


# --- units --------------------------------------------------------------------------------------------


class AddUnitForm(FlaskForm):
    parent_id = SelectField(
        "Inside",
        coerce=select_id,
        invalid_value_message=CHOOSE_UNIT,
        validate_choice=False,
        validators=[InputRequired("Choose where the new unit goes.")],
        choices=[],
    )
    name = StringField("Name", validators=[Needed()], render_kw={"maxlength": NAME_MAX})

    def offer(self, units: Iterable[OrgUnit]) -> AddUnitForm:
        """Units that can hold others: every active unit above the lowest level."""
        holders = [u for u in units if u.active and u.kind is not UnitKind.UNIT]
        self.parent_id.choices = unit_choices(holders, blank="Choose where the new unit goes")
        return self


class RenameUnitForm(FlaskForm):
    name = StringField("New name", validators=[Needed()], render_kw={"maxlength": NAME_MAX})


class MoveUnitForm(FlaskForm):
    parent_id = SelectField(
        "Move under",
        coerce=select_id,
        invalid_value_message=CHOOSE_UNIT,
        validate_choice=False,
        validators=[InputRequired("Choose the unit to move it under.")],
        choices=[],
    )

    def offer(self, parents: Iterable[OrgUnit]) -> MoveUnitForm:
        self.parent_id.choices = unit_choices(parents, blank="Choose the new parent")
        return self


class ConfirmForm(FlaskForm):
    """A button that changes something (archive, restore, deactivate, reactivate): only the CSRF token."""


# --- people -------------------------------------------------------------------------------------------


class PersonForm(FlaskForm):
    email = EmailField("Email", validators=[Needed()], render_kw={"maxlength": LIMITS["email"]})
    name = StringField("Name", validators=[Needed()], render_kw={"maxlength": LIMITS["name"]})
    stakeholder_role = SelectField(
        "Stakeholder role",
        validators=[Needed()],
        validate_choice=False,
        choices=role_choices(blank="Choose one of the seven roles"),
    )
    unit_id = SelectField(
        "Unit", coerce=select_id, invalid_value_message=CHOOSE_UNIT, validate_choice=False, choices=[]
    )
    job_code = StringField("Job code", render_kw={"maxlength": LIMITS["job_code"]})
    employee_id = StringField("Employee ID", render_kw={"maxlength": LIMITS["employee_id"]})

    def offer(self, units: Iterable[OrgUnit], current: OrgUnit | None = None) -> PersonForm:
        """Active units, plus the person's current unit even when it was archived since."""
        units = [u for u in units if u.active or (current is not None and u.id == current.id)]
        self.unit_id.choices = unit_choices(units, blank="No unit yet")
        return self


class PermissionFields:
    """The four permission checkboxes, shared by the new-person and permissions forms."""

    hr = BooleanField(PERMISSION_LABELS[Permission.HR])
    coach = BooleanField(PERMISSION_LABELS[Permission.COACH])
    faculty = BooleanField(PERMISSION_LABELS[Permission.FACULTY])
    org_admin = BooleanField(PERMISSION_LABELS[Permission.ORG_ADMIN])

    def chosen_permissions(self) -> set[Permission]:
        return {p for p in Permission if getattr(self, p.value).data}


class NewPersonForm(PersonForm, PermissionFields):
    """Permission checkboxes are shown to org admins only; if anyone else sends them, the service refuses."""


class PermissionsForm(FlaskForm, PermissionFields):
    pass


class PeopleFilter(Form):
    """The GET toolbar above the people table (no CSRF: it changes nothing)."""

    q = SearchField("Search name, email, job code or employee ID")
    role = SelectField("Stakeholder role", validate_choice=False, choices=role_choices(blank="Any role"))
    unit = SelectField(
        "Unit (and the units below it)",
        coerce=select_id,
        invalid_value_message=CHOOSE_UNIT,
        validate_choice=False,
        choices=[],
    )
    inactive = BooleanField("Include deactivated people")

    def offer(self, units: Iterable[OrgUnit]) -> PeopleFilter:
        self.unit.choices = unit_choices(units, blank="Any unit")
        return self


class SecondFactorPolicyForm(FlaskForm):
    required = BooleanField("Require two-step sign-in for organisation administrators, HR and coaches")


# --- organisations (platform operators) ---------------------------------------------------------------


def time_zone_choices() -> list[SelectChoice]:
    return [SelectChoice("", "Choose a time zone")] + [
        SelectChoice(zone, zone) for zone in sorted(available_timezones())
    ]


class OrganizationForm(FlaskForm):
    """Rename an organisation or change its time zone (its slug stays: it is part of every address)."""

    name = StringField("Name", validators=[Needed()], render_kw={"maxlength": ORG_NAME_MAX})
    time_zone = SelectField("Time zone", validators=[Needed()], validate_choice=False, choices=[])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = time_zone_choices()


class NewOrganizationForm(OrganizationForm):
    slug = StringField("Slug", validators=[Needed()], render_kw={"maxlength": 64})
    admin_email = EmailField(
        "First administrator's email", validators=[Needed()], render_kw={"maxlength": LIMITS["email"]}
    )
    admin_name = StringField("First administrator's name", render_kw={"maxlength": LIMITS["name"]})


class UnitsFileForm(FlaskForm):
    file = FileField("Units file (CSV)", validators=[Needed()])
