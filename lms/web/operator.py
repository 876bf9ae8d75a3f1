"""The platform operator's pages: the organisations of this platform (DESIGN.md section 6).

Only an operator (`User.is_operator`, set by `lms user operator`) sees them; anyone else gets 404, as for
any page that is not theirs. The services (lms.services.platform) check it, and record every change in
the organisation's audit trail. An operator sees no organisation's people or learning from here.
"""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_login import current_user, login_required

from lms.db import get_db
from lms.models import Invitation
from lms.services import platform
from lms.web import status_after_post, submit_form
from lms.web.admin_forms import ConfirmForm, NewOrganizationForm, OrganizationForm

bp = Blueprint("operator", __name__, url_prefix="/operator")


@bp.route("/organisations", methods=["GET", "POST"])
@login_required
def organisations():
    db = get_db()
    rows = platform.list_organizations(db, current_user)  # 404 unless an operator, before anything else
    form = NewOrganizationForm()
    done = submit_form(
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
    return render_template("operator/organisations.html", rows=rows, form=form), status_after_post()


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


@bp.post("/organisations/<int:org_id>/edit")
@login_required
def organisation_edit(org_id: int):
    form = OrganizationForm()
    done = submit_form(
        form,
        lambda: platform.update_organization(
            get_db(), current_user, org_id, name=form.name.data or "", time_zone=form.time_zone.data or ""
        ),
        lambda org: f"{org.name} is saved (time zone {org.time_zone}).",
        lambda org: url_for(".organisation", org_id=org.id),
    )
    return done or _organisation_page(org_id, details=form)


@bp.post("/organisations/<int:org_id>/archive")
@login_required
def organisation_archive(org_id: int):
    form = ConfirmForm()
    done = submit_form(
        form,
        lambda: platform.archive_organization(get_db(), current_user, org_id),
        lambda org: f"{org.name} is archived: its members can no longer sign in to it. Its records are kept.",
        lambda org: url_for(".organisation", org_id=org.id),
    )
    return done or _organisation_page(org_id, standing=form)


@bp.post("/organisations/<int:org_id>/restore")
@login_required
def organisation_restore(org_id: int):
    form = ConfirmForm()
    done = submit_form(
        form,
        lambda: platform.restore_organization(get_db(), current_user, org_id),
        lambda org: f"{org.name} is restored: its members can sign in to it again.",
        lambda org: url_for(".organisation", org_id=org.id),
    )
    return done or _organisation_page(org_id, standing=form)


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
    ), status_after_post()
