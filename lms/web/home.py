"""The signed-in home page: what this person can do in their organisation."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from curricula.stakeholders import LABELS
from lms.web import current_actor

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    return render_template(
        "home/index.html", role_labels=LABELS, memberships=[m for m in current_user.memberships if m.active]
    )


@bp.get("/o/<org>/")
@login_required
def org_home(org: str):
    current_actor()  # 404 unless a member
    return render_template(
        "home/index.html", role_labels=LABELS, memberships=[m for m in current_user.memberships if m.active]
    )
