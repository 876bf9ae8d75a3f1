"""Sign in, sign out, and resetting a forgotten password by an emailed link."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp

from lms.db import get_db
from lms.services import Invalid, Throttled, accounts
from lms.web import show_errors

bp = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    email = EmailField(
        "Email", [DataRequired("Enter your email address."), Length(max=254, message="Emails are shorter.")]
    )
    # Long enough for any passphrase, short enough that nobody makes the server hash a megabyte.
    password = PasswordField(
        "Password", [DataRequired("Enter your password."), Length(max=1024, message="That is too long.")]
    )


class ResetRequestForm(FlaskForm):
    email = EmailField(
        "Email",
        [
            DataRequired("Enter the email address you sign in with."),
            Length(max=254, message="Use an email address of at most 254 characters."),
            # Only the shape: an account's address may be on an internal domain (".local") that a strict
            # validator refuses, and any other address simply gets the same answer as an unknown one.
            Regexp(r"^[^@\s]+@[^@\s]+$", message="Enter an email address like name@hospital.org."),
        ],
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", [DataRequired("Choose a new password.")])
    confirm = PasswordField("Type the new password again", [DataRequired("Type the new password again.")])


def safe_next(target: str | None) -> str | None:
    """A redirect target after sign-in, only if it is a path on this site.

    "//evil.example" and "/\\evil.example" are other sites to a browser, and browsers drop tabs and
    newlines inside URLs, so any of those characters disqualifies the target.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return None
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.sign_in(
                get_db(), email=form.email.data, password=form.password.data, ip=request.remote_addr
            )
        except Throttled as exc:
            form.form_errors.append(str(exc))
            status = 429
        except Invalid as exc:
            show_errors(form, exc.errors)
            status = 400
        else:
            login_user(user)
            flash(f"Welcome back, {user.name}.", "success")
            return redirect(safe_next(request.args.get("next")) or url_for("home.index"))
    elif form.errors:
        status = 400
    return render_template("auth/sign_in.html", form=form), status


@bp.post("/sign-out")
def sign_out():
    was_signed_in = current_user.is_authenticated
    logout_user()
    if was_signed_in:
        flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/reset", methods=["GET", "POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        accounts.request_password_reset(get_db(), email=form.email.data)
        return render_template("auth/reset_sent.html")
    return render_template("auth/reset_request.html", form=form), 400 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = NewPasswordForm()
    try:
        if form.validate_on_submit():
            accounts.reset_password(
                get_db(), secret=token, password=form.password.data, confirm=form.confirm.data
            )
            flash("Your password has been changed. Sign in with your new password.", "success")
            return redirect(url_for("auth.sign_in"))
        accounts.check_reset_link(get_db(), secret=token)
    except Invalid as exc:
        if "" in exc.errors:  # the link itself cannot be used: no form to fill in
            return render_template("auth/reset_link_problem.html", messages=exc.errors[""]), 400
        show_errors(form, exc.errors)
    status = 400 if form.errors else 200
    return render_template("auth/reset_password.html", form=form), status
