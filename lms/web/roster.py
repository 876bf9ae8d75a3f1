"""The Roster page (/o/<org>/admin/roster), for HR and org admins: upload the HR system's roster file,
see its preview (what would change, every problem by row and column, how each unit's coverage would
move), then apply it. The work runs after the response (lms.roster_jobs); the job's page shows a progress
bar that lms/static/js/roster-progress.js keeps up to date, or a link to check again without JavaScript.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.utils import secure_filename

from lms import roster_jobs
from lms.services import Invalid
from lms.services.access import MANAGES_PEOPLE
from lms.web import acting_actor, refused, show_refusal
from lms.web.admin_forms import ConfirmForm, Needed
from lms.web.after_response import run_after_response

bp = Blueprint("roster", __name__, url_prefix="/o/<org>/admin/roster")


class RosterFileForm(FlaskForm):
    file = FileField("Roster file (CSV or XLSX)", validators=[Needed()])


@bp.route("", methods=["GET", "POST"])
@login_required
def page(org: str):
    actor = acting_actor()
    actor.require(*MANAGES_PEOPLE)
    form = RosterFileForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            job = roster_jobs.start(
                actor,
                secure_filename(getattr(upload, "filename", "") or "") or "roster",
                upload.read() if upload else b"",
            )
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            return run_after_response(
                redirect(url_for(".job", org=org, job_id=job)), roster_jobs.preview_job, job=job
            )
    elif form.errors or form.is_submitted():
        refused(form)
    return render_template("admin/roster.html", form=form), 400 if form.is_submitted() else 200


@bp.get("/<job_id>")
@login_required
def job(org: str, job_id: str):
    actor = acting_actor()
    state = roster_jobs.read(actor, job_id)
    return render_template(
        "admin/roster_job.html",
        job_id=job_id,
        state=state,
        working=state["state"] in roster_jobs.WORKING,
        confirm=ConfirmForm(formdata=None),
        form=RosterFileForm(formdata=None),
    )


@bp.get("/<job_id>/progress")
@login_required
def progress(org: str, job_id: str):
    state = roster_jobs.read(acting_actor(), job_id)
    return jsonify(state=state["state"], done=state.get("done", 0), total=state.get("total", 0))


@bp.post("/<job_id>/apply")
@login_required
def apply(org: str, job_id: str):
    actor = acting_actor()
    confirm = ConfirmForm()
    if not confirm.validate_on_submit():
        refused(confirm)
        state = roster_jobs.read(actor, job_id)
        return render_template(
            "admin/roster_job.html",
            job_id=job_id,
            state=state,
            working=False,
            confirm=confirm,
            form=RosterFileForm(formdata=None),
        ), 400
    roster_jobs.begin_apply(actor, job_id)
    return run_after_response(
        redirect(url_for(".job", org=org, job_id=job_id)), roster_jobs.apply_job, job=job_id
    )
