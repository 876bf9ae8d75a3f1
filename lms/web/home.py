"""The signed-in home page: what this person can do in their organisation, and their learning."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from curricula.stakeholders import LABELS
from lms import kept
from lms.db import get_db
from lms.services import invitations
from lms.web import current_actor
from lms.web.admin_forms import ConfirmForm

bp = Blueprint("home", __name__)


def _home():
    actor = current_actor()  # 404 on /o/<org>/ unless a member
    card = None if actor is None else kept.home_card(get_db(), actor)
    waiting = invitations.waiting_for(get_db(), current_user) if current_user.invited else []
    return render_template(
        "home/index.html",
        role_labels=LABELS,
        memberships=[m for m in current_user.memberships if m.usable],
        learning_card=card,
        invitations=waiting,
        # The accept and decline buttons' form: built only when there is an invitation to answer.
        confirm=ConfirmForm(formdata=None) if waiting else None,
    )


@bp.get("/")
@login_required
def index():
    return _home()


@bp.get("/o/<org>/")
@login_required
def org_home(org: str):
    return _home()
