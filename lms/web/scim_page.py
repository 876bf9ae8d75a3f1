"""The organisation's SCIM page (/o/<org>/admin/scim), for HR and org admins: the address to give the
identity provider, its tokens (created here, shown once, revoked here), and what the provider sent that
could not be applied as sent (a job code no stakeholder role is mapped to, a department that is no unit).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import StringField

from lms.db import get_db
from lms.services import Invalid
from lms.services.access import MANAGES_PEOPLE
from lms.services.scim import tokens
from lms.services.scim.resources import PREFIX
from lms.web import acting_actor, refused, show_refusal
from lms.web.admin_forms import ConfirmForm, Needed

bp = Blueprint("scim_page", __name__, url_prefix="/o/<org>/admin/scim")


class ScimTokenForm(FlaskForm):
    name = StringField(
        "Which identity provider is it for?", validators=[Needed()], render_kw={"maxlength": 120}
    )


@bp.get("")
@login_required
def page(org: str):
    acting_actor().require(*MANAGES_PEOPLE)
    return _page()


@bp.post("/tokens")
@login_required
def create_token(org: str):
    actor = acting_actor()
    form = ScimTokenForm()
    if form.validate_on_submit():
        try:
            secret = tokens.create(get_db(), actor, name=form.name.data or "")
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            # Shown once, in the answer to the POST that made it (as a personal token on the profile).
            return _page(201, new_token=secret, new_token_name=" ".join((form.name.data or "").split()))
    refused(form)
    return _page(400, form=form)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(org: str, token_id: int):
    actor = acting_actor()
    confirm = ConfirmForm()
    if not confirm.validate_on_submit():
        return _page(400, confirm=confirm)
    token = tokens.revoke(get_db(), actor, token_id)
    flash(f"The SCIM token {token.name!r} is revoked: the identity provider can no longer use it.", "success")
    return redirect(url_for(".page", org=org))


def _page(status: int = 200, **forms_and_secrets):
    db, actor = get_db(), acting_actor()
    context = {
        "form": ScimTokenForm(formdata=None),
        "confirm": ConfirmForm(formdata=None),
        **forms_and_secrets,
    }
    return render_template(
        "admin/scim.html",
        endpoint=current_app.config["BASE_URL"] + PREFIX,
        live=tokens.live_tokens(db, actor),
        reported=tokens.reported(db, actor),
        **context,
    ), status
