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
from markupsafe import Markup, escape
from wtforms import BooleanField, DateField, Form, SearchField, SelectField, StringField
from wtforms.fields import EmailField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError
from wtforms.widgets import NumberInput, Select, html_params

from curricula.stakeholders import LABELS
from lms.models import Membership, OrgUnit, Permission, UnitKind
from lms.services.audit import ACTIONS, EventFilter
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
    """Select options for units, each named by its full path ("Riverbend General > Medicine > 4 West"),
    in tree order: parents before their children, siblings by name."""
    lineages = sorted((unit.lineage for unit in units), key=lambda chain: [u.name.casefold() for u in chain])
    options = [SelectChoice("", blank)]
    for chain in lineages:
        options.append(SelectChoice(str(chain[-1].id), " > ".join(u.name for u in chain)))
    return options


# From this many units a picker is a text box that narrows a list as one types (an <input> with a
# <datalist>, no JavaScript): a <select> only jumps by first letters, and every full path starts alike.
SEARCHABLE_FROM = 12


class UnitPicker:
    """Renders a UnitField: a <select> for a short list, else a text box with the units as a <datalist>."""

    def __call__(self, field: UnitField, **kwargs: object) -> Markup:
        choices = [c for c in field.choices or [] if c.value != ""]
        if len(choices) < SEARCHABLE_FROM:
            return Select()(field, **kwargs)
        list_id = f"{field.id}-units"
        attrs = {"id": field.id, "type": "text", "name": field.name, "list": list_id, "autocomplete": "off"}
        attrs |= kwargs | {"value": field.shown()}
        options = "".join(f'<option value="{escape(c.label)}"></option>' for c in choices)
        # html_params escapes every value, as WTForms' own widgets do; each label is escaped above.
        html = f'<input {html_params(**attrs)}><datalist id="{escape(list_id)}">{options}</datalist>'
        return Markup(html)  # noqa: S704


class UnitField(SelectField):
    """A unit chosen by id (a <select>, or a script) or by its full path as typed ("General Hospital >
    Medicine"; any case): the path is looked up among the units offered, so `offer()` comes before
    validation."""

    widget = UnitPicker()

    def __init__(self, label: str, **kwargs) -> None:
        kwargs.setdefault("coerce", select_id)
        kwargs.setdefault("invalid_value_message", CHOOSE_UNIT)
        super().__init__(label, validate_choice=False, choices=[], **kwargs)
        self.typed: str | None = None

    @property
    def searchable(self) -> bool:
        return len([c for c in self.choices or [] if c.value != ""]) >= SEARCHABLE_FROM

    def process_formdata(self, valuelist: list[str]) -> None:
        typed = valuelist[0].strip() if valuelist else ""
        if typed and not typed.isdigit():
            self.typed, self.data = typed, None  # a path: looked up in pre_validate, once offered
            return
        super().process_formdata(valuelist)

    def pre_validate(self, form) -> None:
        if self.typed is None:
            return
        wanted = self.typed.casefold()
        found = next((c.value for c in self.choices or [] if c.value and c.label.casefold() == wanted), None)
        if found is None:
            raise ValidationError(CHOOSE_UNIT)
        self.data = int(found)

    def shown(self) -> str:
        """What the text box shows: the chosen unit's path, or what was typed when it matched none."""
        if self.data is not None:
            return next((c.label for c in self.choices or [] if c.value == str(self.data)), "")
        return self.typed or ""


def role_choices(*, blank: str) -> list[SelectChoice]:
    return [SelectChoice("", blank)] + [SelectChoice(role.value, label) for role, label in LABELS.items()]


# --- units --------------------------------------------------------------------------------------------


class AddUnitForm(FlaskForm):
    parent_id = UnitField("Inside", validators=[InputRequired("Choose where the new unit goes.")])
    name = StringField("Name", validators=[Needed()], render_kw={"maxlength": NAME_MAX})

    def offer(self, units: Iterable[OrgUnit]) -> AddUnitForm:
        """Units that can hold others: every active unit above the lowest level."""
        holders = [u for u in units if u.active and u.kind is not UnitKind.UNIT]
        self.parent_id.choices = unit_choices(holders, blank="Choose where the new unit goes")
        return self


class RenameUnitForm(FlaskForm):
    name = StringField("New name", validators=[Needed()], render_kw={"maxlength": NAME_MAX})


class MoveUnitForm(FlaskForm):
    parent_id = UnitField("Move under", validators=[InputRequired("Choose the unit to move it under.")])

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
    unit_id = UnitField("Unit")
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


class CoachForm(FlaskForm):
    """An org admin gives a person a coach (lms.services.coaching.create)."""

    coach_id = SelectField(
        "Coach",
        coerce=select_id,
        validators=[InputRequired("Choose a coach from the list.")],
        validate_choice=False,
    )

    def offer(self, coaches: Iterable[Membership], person_id: int) -> CoachForm:
        self.coach_id.choices = [("", "Choose a coach")] + [
            (str(m.id), m.user.name) for m in coaches if m.id != person_id
        ]
        return self


class ExtraLevelForm(FlaskForm):
    """HR or an org admin gives one person a dose level on top of their role's
    (lms.services.dosing_extra.set_extra_level: the service says what is wrong with what was typed)."""

    extra_level = SelectField("Extra dose level", validate_choice=False)
    extra_level_days = StringField("Days to complete it", widget=NumberInput(min=1, max=730))

    def offer(self, levels: Iterable[tuple[str, str]]) -> ExtraLevelForm:
        self.extra_level.choices = [("", "None: only what their role needs"), *levels]
        return self


class PeopleFilter(Form):
    """The GET toolbar above the people table (no CSRF: it changes nothing)."""

    q = SearchField("Search name, email, job code or employee ID")
    role = SelectField("Stakeholder role", validate_choice=False, choices=role_choices(blank="Any role"))
    unit = UnitField("Unit (and the units below it)")
    inactive = BooleanField("Include deactivated people")

    def offer(self, units: Iterable[OrgUnit]) -> PeopleFilter:
        self.unit.choices = unit_choices(units, blank="Any unit")
        return self


class SecondFactorPolicyForm(FlaskForm):
    required = BooleanField("Require two-step sign-in for organisation administrators, HR and coaches")


# --- the audit trail ----------------------------------------------------------------------------------

DATE_MESSAGE = "Enter a date as year, month and day, for example 2026-03-31."


class AuditFilter(Form):
    """The GET toolbar above the audit trail (no CSRF: it changes nothing)."""

    person = SearchField("Person (name or email)", description="Changes they made or that were made to them.")
    action = SelectField(
        "Kind of change",
        validate_choice=False,
        choices=[SelectChoice("", "Any change")] + [SelectChoice(k, v) for k, v in ACTIONS.items()],
    )
    since = DateField("From (day)", validators=[Optional()], format="%Y-%m-%d")
    until = DateField("To (day)", validators=[Optional()], format="%Y-%m-%d")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for name in ("since", "until"):
            if self[name].errors:
                self[name].errors = [DATE_MESSAGE]
        return valid

    def chosen(self) -> EventFilter:
        return EventFilter(
            person=self.person.data or "",
            action=self.action.data or "",
            since=self.since.data,
            until=self.until.data,
        )


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
