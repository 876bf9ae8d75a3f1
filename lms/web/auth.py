"""Sign in, sign out, and resetting a forgotten password by an emailed link."""

from __future__ import annotations

import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from lms import login
from lms.db import get_db, keep_refused
from lms.models import User
from lms.services import Invalid, Throttled, accounts, second_factor
from lms.web import refused, refused_status, show_errors, show_refusal
from lms.web.after_response import run_after_response

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


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        [DataRequired("Type the code from your app."), Length(max=32, message="That code is too long.")],
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


# A half-finished sign-in (the password was right; the second factor is still to come) lasts this long.
SECOND_STEP_SECONDS = 300
_PENDING = "lms_pending_sign_in"


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
            refused(form)
            return _throttled(render_template("auth/sign_in.html", form=form), exc)
        except Invalid as exc:
            keep_refused()  # the failed attempt is recorded: the throttle counts it
            # The service's one vague message (no telling whether the account exists), in the summary too.
            show_errors(form, exc.errors)
            refused(form)
            status = 400
        else:
            target = safe_next(request.args.get("next"))
            if user.second_factor_on:
                session.clear()
                session[_PENDING] = {"user": user.id, "at": int(time.time()), "next": target}
                return redirect(url_for(".second_step"))
            return _signed_in(user, target)
    elif form.errors:
        refused(form)
        status = 400
    return render_template("auth/sign_in.html", form=form), status


@bp.route("/sign-in/code", methods=["GET", "POST"])
def second_step():
    """The second step of signing in: a code from the person's app, or one of their recovery codes.

    Wrong codes count against the email and the address exactly as wrong passwords do."""
    pending = session.get(_PENDING)
    user = _pending_user(pending)
    if user is None:
        session.pop(_PENDING, None)
        flash("Sign in again: the second step waits for at most five minutes.", "info")
        return redirect(url_for(".sign_in"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        db = get_db()
        try:
            accounts.check_throttle(db, email=user.email, ip=request.remote_addr)
        except Throttled as exc:
            form.form_errors.append(str(exc))
            refused(form)
            return _throttled(render_template("auth/second_step.html", form=form), exc)
        right = second_factor.verify(db, user, form.code.data)
        accounts.record_attempt(db, email=user.email, ip=request.remote_addr, succeeded=right)
        if right:
            return _signed_in(user, pending.get("next"))
        keep_refused()  # the wrong code is recorded: the throttle counts it
        form.code.errors = [
            "That code is not right. Type the 6 digits your app shows now, or one of your recovery codes."
        ]
        refused(form)
        status = 400
    elif form.errors:
        refused(form)
        status = 400
    return render_template("auth/second_step.html", form=form), status


def _pending_user(pending: object) -> User | None:
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int):
        return None
    if not isinstance(pending.get("at"), int) or time.time() - pending["at"] > SECOND_STEP_SECONDS:
        return None
    db = get_db()
    user = db.get(User, pending["user"])
    if user is None or not user.second_factor_on or not accounts.may_sign_in(db, user):
        return None
    return user


def _signed_in(user: User, target: str | None):
    login.sign_in(user, ip=request.remote_addr, user_agent=request.user_agent.string)
    flash(f"Welcome back, {user.name}.", "success")
    return redirect(target or url_for("home.index"))


def _throttled(body: str, exc: Throttled):
    """429 with the page and Retry-After, in seconds, as RFC 9110 asks."""
    return body, 429, {"Retry-After": str(exc.retry_after_minutes * 60)}


@bp.post("/sign-out")
def sign_out():
    was_signed_in = current_user.is_authenticated
    login.sign_out()
    if was_signed_in:
        flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/reset", methods=["GET", "POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        # The same answer, at once, whether or not the email has an account: the lookup, the link and the
        # email happen after the answer has been sent, so how long they take tells nobody anything.
        sent = render_template("auth/reset_sent.html")
        return run_after_response(sent, accounts.request_password_reset, email=form.email.data)
    if form.errors:
        refused(form)
    return render_template("auth/reset_request.html", form=form), refused_status()


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
        link = accounts.check_reset_link(get_db(), secret=token)
    except Invalid as exc:
        if "" in exc.errors:  # the link itself cannot be used: no form to fill in
            return render_template("auth/reset_link_problem.html", messages=exc.errors[""]), 400
        show_refusal(form, exc)
        link = None
    status = 200
    if form.errors:
        refused(form)
        status = 400
    welcome = link is not None and link.purpose == "welcome"
    return render_template("auth/reset_password.html", form=form, welcome=welcome), status
