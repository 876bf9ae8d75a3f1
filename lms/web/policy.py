"""The dosing policy page: which dose levels each stakeholder role needs, and in how many days.

HR and org admins see the default (from the latest content release) and their organisation's overrides
side by side, change a role's levels and days, or reset a role to the default. Each change re-plans the
assignments of everyone in that role (lms/services/dosing.py). A learner gets 403, another
organisation's admin 404 (the page is under /o/<org>/).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.widgets import NumberInput

from curricula.stakeholders import StakeholderRole
from lms.db import get_db
from lms.services import dosing, dosing_page
from lms.services.dosing import DAYS_MAX, DAYS_MIN, PolicyChange
from lms.services.dosing_page import PolicyOverview, RolePolicy
from lms.web import acting_actor, submit_change
from lms.web.admin_forms import ConfirmForm

bp = Blueprint("policy", __name__, url_prefix="/o/<org>/admin/dosing")


class RolePolicyForm(FlaskForm):
    """A role's levels: per dose level a "required" checkbox and the days to complete it.

    The fields are made per release (`for_role`), named `require_<level>` and `days_<level>`, with ids
    that name the role so that seven forms live on one page. Days are taken as typed: the service says
    what is wrong with them, next to the field.
    """

    levels: list[str]

    @classmethod
    def for_role(cls, overview: PolicyOverview, role: RolePolicy, *, posted: bool) -> RolePolicyForm:
        fields = {}
        for level, title in overview.levels:
            name = _name(level)
            fields[f"require_{name}"] = BooleanField(title, id=f"{role.role}-require-{level}")
            fields[f"days_{name}"] = StringField(
                f"Days to complete {title} for {role.label}",
                id=f"{role.role}-days-{level}",
                widget=NumberInput(min=DAYS_MIN, max=DAYS_MAX, step=1),
            )
        form_class = type("RolePolicyForm", (cls,), fields)
        data = {}
        for level, _ in overview.levels:
            data[f"require_{_name(level)}"] = level in role.levels
            days = role.levels.get(level, role.default.get(level))
            data[f"days_{_name(level)}"] = "" if days is None else str(days)
        kwargs = {} if posted else {"formdata": None}
        form = form_class(data=data, **kwargs)
        form.levels = [level for level, _ in overview.levels]
        return form

    def chosen(self) -> dict[str, str]:
        """{level: days as typed} for the levels ticked."""
        return {
            level: self[f"days_{_name(level)}"].data or ""
            for level in self.levels
            if self[f"require_{_name(level)}"].data
        }

    def aliases(self) -> dict[str, str]:
        """The service names a level; the message belongs next to that level's days."""
        return {level: f"days_{_name(level)}" for level in self.levels}


def _name(level: str) -> str:
    return level.replace("-", "_")


@bp.get("")
@login_required
def page(org: str):
    return _page(dosing_page.overview(get_db(), acting_actor()))


@bp.post("", endpoint="change")
@login_required
def change(org: str):
    """The forms post to the page's own address, naming their role: a refused form is shown again here."""
    return save(org, request.form.get("role", ""))


@bp.post("/<role>")
@login_required
def save(org: str, role: str):
    actor = acting_actor()
    overview = dosing_page.overview(get_db(), actor)
    form = RolePolicyForm.for_role(overview, _role(overview, role), posted=True)
    done = submit_change(
        form,
        lambda: dosing.set_override(get_db(), actor, role, form.chosen()),
        lambda change: f"The dosing for {change.role_label} was saved. {_replanned(change)}",
        lambda change: url_for(".page", org=org),
        form.aliases(),
    )
    return done or (_page(overview, submitted=(role, form)), 400)


@bp.post("/<role>/reset")
@login_required
def reset(org: str, role: str):
    actor = acting_actor()
    if role not in {r.value for r in StakeholderRole}:
        abort(404)
    if ConfirmForm().validate_on_submit():
        change = dosing.clear_override(get_db(), actor, role)
        flash(f"The dosing for {change.role_label} is the default again. {_replanned(change)}", "success")
    return redirect(url_for(".page", org=org))


def _role(overview: PolicyOverview, role: str) -> RolePolicy:
    found = next((r for r in overview.roles if r.role == role), None)
    if found is None or not overview.published:
        abort(404)
    return found


def _replanned(change: PolicyChange) -> str:
    counts = change.counts
    people = f"{counts.people} {'person' if counts.people == 1 else 'people'}"
    return f"Assignments of {people} re-planned: {counts}."


def _page(overview: PolicyOverview, submitted: tuple[str, RolePolicyForm] | None = None):
    forms = {
        r.role: submitted[1]
        if submitted and submitted[0] == r.role
        else RolePolicyForm.for_role(overview, r, posted=False)
        for r in overview.roles
    }
    return render_template(
        "policy/dosing.html",
        overview=overview,
        forms=forms,
        reset_form=ConfirmForm(formdata=None),
        days_min=DAYS_MIN,
        days_max=DAYS_MAX,
    )
