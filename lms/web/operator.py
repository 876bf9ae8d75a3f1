"""The platform operator's pages: the organisations of this platform (DESIGN.md section 6).

Only an operator (`User.is_operator`, set by `lms user operator`) sees them; anyone else gets 404, as for
any page that is not theirs. The services (lms.services.platform) check it, and record every change in
the organisation's audit trail. An operator sees no organisation's people or learning from here.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from lms.db import get_db
from lms.models import Invitation, Organization
from lms.services import platform
from lms.web import refused_status, submit_change
from lms.web.admin_forms import ConfirmForm, NewOrganizationForm, OrganizationForm

bp = Blueprint("operator", __name__, url_prefix="/operator")


@bp.route("/organisations", methods=["GET", "POST"])
@login_required
def organisations():
    db = get_db()
    rows = platform.list_organizations(db, current_user)  # 404 unless an operator, before anything else
    form = NewOrganizationForm()
    done = submit_change(
        form,
        lambda: platform.found_organization(
            get_db(),
            current_user,
            slug=form.slug.data or "",
            name=form.name.data or "",
            time_zone=form.time_zone.data or "",
            admin_email=form.admin_email.data or "",
            admin_name=form.admin_name.data or "",
        ),
        _founded,
        lambda founded: url_for(".organisation", org_id=founded.org.id),
    )
    if done is not None:
        return done
    return render_template("operator/organisations.html", rows=rows, form=form), refused_status()


def _founded(founded: platform.Founded) -> str:
    org, admin = founded.org, founded.admin
    if isinstance(admin, Invitation):
        return (
            f"{org.name} was created. {admin.email} already has an account, so we emailed them an invitation "
            "to administer it; they accept it on their home page."
        )
    return f"{org.name} was created. We emailed {admin.user.email} a link to choose a password."


@bp.get("/organisations/<int:org_id>")
@login_required
def organisation(org_id: int):
    return _organisation_page(org_id)


def _change_route(
    name: str,
    form_class: type[FlaskForm],
    change: Callable[..., Organization],
    message: Callable[[Organization], str],
    slot: str,
) -> None:
    """POST /organisations/<id>/<name>: one form and one service call (`change(db, operator, org_id,
    form)`); on success a message and the organisation's page, on refusal that page with the form."""

    @login_required
    def view(org_id: int):
        form = form_class()
        done = submit_change(
            form,
            lambda: change(get_db(), current_user, org_id, form),
            message,
            lambda org: url_for(".organisation", org_id=org.id),
        )
        return done or _organisation_page(org_id, **{slot: form})

    bp.add_url_rule(f"/organisations/<int:org_id>/{name}", f"organisation_{name}", view, methods=["POST"])


_change_route(
    "edit",
    OrganizationForm,
    lambda db, operator, org_id, form: platform.update_organization(
        db, operator, org_id, name=form.name.data or "", time_zone=form.time_zone.data or ""
    ),
    lambda org: f"{org.name} is saved (time zone {org.time_zone}).",
    "details",
)
_change_route(
    "archive",
    ConfirmForm,
    lambda db, operator, org_id, form: platform.archive_organization(db, operator, org_id),
    lambda org: f"{org.name} is archived: its members can no longer sign in to it. Its records are kept.",
    "standing",
)
_change_route(
    "restore",
    ConfirmForm,
    lambda db, operator, org_id, form: platform.restore_organization(db, operator, org_id),
    lambda org: f"{org.name} is restored: its members can sign in to it again.",
    "standing",
)


def _organisation_page(
    org_id: int, *, details: OrganizationForm | None = None, standing: ConfirmForm | None = None
):
    """One organisation; a form passed in is the one just refused, shown with its errors."""
    org = platform.get_organization(get_db(), current_user, org_id)
    details = details or OrganizationForm(formdata=None, data={"name": org.name, "time_zone": org.time_zone})
    return render_template(
        "operator/organisation.html",
        org=org,
        details=details,
        standing=standing or ConfirmForm(formdata=None),
    ), refused_status()
