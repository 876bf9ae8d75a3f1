"""The organisation's Job codes page (/o/<org>/admin/job-codes), for HR and org admins: which stakeholder
role each job code of the HR system means (lms.services.job_codes), read by the roster import and SCIM."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from curricula.stakeholders import LABELS
from lms.db import get_db
from lms.services import job_codes
from lms.services.access import MANAGES_PEOPLE
from lms.services.people import LIMITS
from lms.web import acting_actor, refused_status, submit_change
from lms.web.admin_forms import ConfirmForm, Needed, role_choices

bp = Blueprint("job_codes", __name__, url_prefix="/o/<org>/admin/job-codes")


class JobCodeForm(FlaskForm):
    job_code = StringField("Job code", validators=[Needed()], render_kw={"maxlength": LIMITS["job_code"]})
    stakeholder_role = SelectField(
        "Stakeholder role",
        validators=[Needed()],
        validate_choice=False,
        choices=role_choices(blank="Choose one of the seven roles"),
    )


class RoleForm(FlaskForm):
    stakeholder_role = SelectField("Stakeholder role", validate_choice=False, choices=role_choices(blank=""))


@bp.route("", methods=["GET", "POST"])
@login_required
def page(org: str):
    actor = acting_actor()
    actor.require(*MANAGES_PEOPLE)
    form = JobCodeForm(**({} if request.method == "POST" else {"formdata": None}))
    done = submit_change(
        form,
        lambda: job_codes.add(get_db(), actor, form.job_code.data or "", form.stakeholder_role.data or ""),
        lambda m: f"The job code {m.job_code} now means {LABELS[m.stakeholder_role]}.",
        lambda m: url_for(".page", org=org),
    )
    return done or _page(form=form)


@bp.post("/<int:mapping_id>")
@login_required
def change(org: str, mapping_id: int):
    actor = acting_actor()
    actor.require(*MANAGES_PEOPLE)
    form = RoleForm(prefix=f"m{mapping_id}")
    done = submit_change(
        form,
        lambda: job_codes.change(get_db(), actor, mapping_id, form.stakeholder_role.data or ""),
        lambda m: f"The job code {m.job_code} now means {LABELS[m.stakeholder_role]}.",
        lambda m: url_for(".page", org=org),
    )
    return done or _page(changing={mapping_id: form})


@bp.post("/<int:mapping_id>/remove")
@login_required
def remove(org: str, mapping_id: int):
    actor = acting_actor()
    actor.require(*MANAGES_PEOPLE)
    confirm = ConfirmForm()
    done = submit_change(
        confirm,
        lambda: job_codes.remove(get_db(), actor, mapping_id),
        lambda m: f"The job code {m.job_code} is no longer mapped: people who hold it keep their role.",
        lambda m: url_for(".page", org=org),
    )
    return done or _page(confirm=confirm)


def _page(form: JobCodeForm | None = None, changing: dict[int, RoleForm] | None = None, confirm=None):
    db, actor = get_db(), acting_actor()
    mapped = job_codes.mappings(db, actor)
    held = job_codes.holders(db, actor)
    forms = {}
    for m in mapped:
        forms[m.id] = (changing or {}).get(m.id) or RoleForm(
            formdata=None, prefix=f"m{m.id}", stakeholder_role=m.stakeholder_role.value
        )
    known = {m.job_key for m in mapped}
    unmapped = sorted(
        (code, n)
        for code, n in held.items()
        if code not in known and job_codes.role_for(db, 0, code, {}) is None
    )
    return render_template(
        "admin/job_codes.html",
        mapped=mapped,
        held=held,
        forms=forms,
        unmapped=unmapped,
        form=form or JobCodeForm(formdata=None),
        confirm=confirm or ConfirmForm(formdata=None),
        labels=LABELS,
    ), refused_status()
