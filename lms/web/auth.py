"""Sign in, sign out, password reset. (Being built: see the auth helper's work.)"""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import logout_user

bp = Blueprint("auth", __name__)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    return "sign in"


@bp.post("/sign-out")
def sign_out():
    logout_user()
    return redirect(url_for("auth.sign_in"))
