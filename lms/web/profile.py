"""A person's own account: name, sign-in email, two-step sign-in, signed-in devices, API tokens, and
the invitations organisations have sent them.

Everything here acts on the signed-in person alone; no organisation can reach these pages for someone
else. Secrets (a new token, recovery codes) are shown once, in the answer to the POST that made them,
never put in the session cookie or a redirect.
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import segno
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import EmailField, IntegerField, PasswordField, StringField
from wtforms.validators import NumberRange, Optional

from lms import login
from lms.db import get_db
from lms.models import User
from lms.services import Invalid, invitations, profile, second_factor, sessions, tokens
from lms.services.profile import NAME_MAX
from lms.web import current_actor, refused, show_refusal, submit_change
from lms.web.admin_forms import ConfirmForm, Needed

bp = Blueprint("profile", __name__)

_SETUP = "lms_second_factor_setup"  # the secret being confirmed (the person sees it on the page anyway)
TOKEN_DAYS_MAX = 366


class NameForm(FlaskForm):
    name = StringField("Your name", validators=[Needed()], render_kw={"maxlength": NAME_MAX})


class _OnePageForm(FlaskForm):
    """A form that shares the profile page with others: its prefix keeps its field ids its own."""

    PREFIX = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix=self.PREFIX, **kwargs)


class EmailForm(_OnePageForm):
    PREFIX = "change"
    email = EmailField("New email", validators=[Needed()], render_kw={"maxlength": 254})
    password = PasswordField("Your current password", validators=[Needed()])


class PasswordCheckForm(FlaskForm):
    password = PasswordField("Your current password", validators=[Needed()])


class TurnOffForm(_OnePageForm, PasswordCheckForm):
    PREFIX = "off"


class RenewCodesForm(_OnePageForm, PasswordCheckForm):
    PREFIX = "codes"


class SetupForm(FlaskForm):
    code = StringField("The 6-digit code your app shows", validators=[Needed()], render_kw={"maxlength": 12})
    password = PasswordField("Your current password", validators=[Needed()])


class TokenForm(_OnePageForm):
    PREFIX = "token"
    name = StringField("What is it for?", validators=[Needed()], render_kw={"maxlength": 120})
    days = IntegerField(
        "Days until it expires",
        default=90,
        validators=[Optional(), NumberRange(1, TOKEN_DAYS_MAX, "Choose 1 to %(max)s days.")],
    )


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


# --- the profile page -----------------------------------------------------------------------------


@bp.get("/profile")
@login_required
def page():
    return _page()


def _page(status: int = 200, **forms_and_secrets):
    db, user = get_db(), _user()
    actor = current_actor()
    zone = ZoneInfo(actor.org.time_zone if actor else user.time_zone)

    def local_time(moment: datetime | None) -> str:
        return "never" if moment is None else moment.astimezone(zone).strftime("%-d %b %Y, %H:%M")

    key = login.current_session_key()
    context = {
        "name_form": NameForm(formdata=None, name=user.name),
        "email_form": EmailForm(formdata=None),
        "off_form": TurnOffForm(formdata=None),
        "codes_form": RenewCodesForm(formdata=None),
        "token_form": TokenForm(formdata=None),
        "confirm": ConfirmForm(formdata=None),
        **forms_and_secrets,
    }
    return render_template(
        "profile/page.html",
        pending_email=profile.pending_email(db, user),
        live_sessions=[(s, sessions.is_current(s, key)) for s in sessions.live(db, user)],
        tokens=tokens.tokens_of(db, user),
        codes_left=second_factor.recovery_codes_left(db, user) if user.second_factor_on else 0,
        local_time=local_time,
        time_zone=str(zone),
        **context,
    ), status


@bp.post("/profile/name")
@login_required
def rename():
    form = NameForm()
    done = submit_change(
        form,
        lambda: profile.rename(get_db(), _user(), form.name.data or ""),
        lambda _: "Your name is saved.",
        lambda _: url_for(".page"),
    )
    return done or _page(400, name_form=form)


@bp.post("/profile/email")
@login_required
def change_email():
    form = EmailForm()
    done = submit_change(
        form,
        lambda: profile.request_email_change(
            get_db(), _user(), new_email=form.email.data or "", password=form.password.data or ""
        ),
        lambda email: f"We sent a link to {email}. Open it to start signing in with that address.",
        lambda _: url_for(".page"),
    )
    return done or _page(400, email_form=form)


@bp.route("/profile/email/<secret>", methods=["GET", "POST"])
def confirm_email(secret: str):
    """GET shows a button and changes nothing (mail scanners open links); POST makes the change."""
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            user = profile.confirm_email_change(get_db(), secret=secret)
        except Invalid as exc:
            return render_template("profile/email_link_problem.html", messages=exc.errors[""]), 400
        if current_user.is_authenticated and current_user.id == user.id:
            login.sign_out()  # this session ended with the others; forget it in the cookie too
        flash(f"You now sign in as {user.email}. Every device was signed out: sign in again.", "success")
        return redirect(url_for("auth.sign_in"))
    return render_template("profile/confirm_email.html", form=form), 400 if form.errors else 200


# --- signed-in devices ----------------------------------------------------------------------------


@bp.post("/profile/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(400, confirm=form)
    count = sessions.sign_out_everywhere(get_db(), _user())
    login.sign_out()
    flash(f"Signed out on {count} device{'s' if count != 1 else ''}, this one included.", "success")
    return redirect(url_for("auth.sign_in"))


# --- two-step sign-in -----------------------------------------------------------------------------


@bp.route("/profile/second-factor", methods=["GET", "POST"])
@login_required
def second_factor_setup():
    user = _user()
    if user.second_factor_on:
        flash("Two-step sign-in is on already.", "info")
        return redirect(url_for(".page", _anchor="second-factor"))
    form = SetupForm()
    # One secret until it is confirmed, so that a reload shows the code the app has already scanned.
    secret = session.get(_SETUP)
    if not isinstance(secret, str):
        secret = second_factor.offer(user).secret
        session[_SETUP] = secret
    setup = second_factor.offer(user, secret)
    status = 200
    if form.validate_on_submit():
        try:
            codes = second_factor.turn_on(
                get_db(),
                user,
                secret=setup.secret,
                code=form.code.data or "",
                password=form.password.data or "",
            )
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            session.pop(_SETUP, None)
            return render_template("profile/recovery_codes.html", codes=codes, first=True), 201
    if request.method == "POST":
        refused(form)
        status = 400
    return render_template(
        "profile/second_factor_setup.html", form=form, setup=setup, qr=_qr_svg(setup.uri)
    ), status


@bp.post("/profile/second-factor/off")
@login_required
def second_factor_off():
    form = TurnOffForm()
    done = submit_change(
        form,
        lambda: second_factor.turn_off(get_db(), _user(), password=form.password.data or ""),
        lambda _: "Two-step sign-in is off. You sign in with your password alone.",
        lambda _: url_for(".page", _anchor="second-factor"),
    )
    return done or _page(400, off_form=form)


@bp.post("/profile/recovery-codes")
@login_required
def recovery_codes():
    form = RenewCodesForm()
    if form.validate_on_submit():
        try:
            codes = second_factor.renew_recovery_codes(get_db(), _user(), password=form.password.data or "")
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            return render_template("profile/recovery_codes.html", codes=codes, first=False), 201
    refused(form)
    return _page(400, codes_form=form)


def _qr_svg(uri: str) -> Markup:
    """The otpauth:// address as an inline SVG QR code (drawn here: no third-party service sees it)."""
    out = BytesIO()
    segno.make(uri, error="m").save(
        out,
        kind="svg",
        scale=5,
        border=2,
        xmldecl=False,
        svgns=True,
        title="QR code for your app",
        dark="#000",
        light="#fff",
    )
    return Markup(out.getvalue().decode())  # noqa: S704 - segno's own SVG of our own otpauth address


# Browser families and systems, in the order their tokens must be looked for (Edge's says "Chrome" too).
_BROWSERS = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


@bp.app_template_filter("browser_name")
def browser_name(user_agent: str) -> str:
    """ "Chrome on Windows" from a User-Agent header: enough to recognise one's own devices."""
    browser = next((name for token, name in _BROWSERS if token in user_agent), "")
    system = next((name for token, name in _SYSTEMS if token in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "An unknown browser"


# --- API tokens -----------------------------------------------------------------------------------


@bp.post("/profile/tokens")
@login_required
def create_token():
    form = TokenForm()
    if form.validate_on_submit():
        try:
            secret = tokens.create_token(get_db(), _user(), name=form.name.data or "", days=form.days.data)
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            return _page(201, new_token=secret, new_token_name=form.name.data.strip())
    refused(form)
    return _page(400, token_form=form)


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(400, confirm=form)
    token = tokens.revoke(get_db(), token_id, owner=_user())
    flash(f"The token {token.name!r} is revoked: it no longer works.", "success")
    return redirect(url_for(".page", _anchor="tokens"))


# --- invitations from organisations ---------------------------------------------------------------


@bp.post("/invitations/<int:invitation_id>/accept")
@login_required
def accept_invitation(invitation_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise Invalid("This form has expired. Reload the page and try again.")
    try:
        membership = invitations.accept(get_db(), _user(), invitation_id)
    except Invalid as exc:
        get_db().rollback()
        flash(str(exc), "error")
        return redirect(url_for("home.index"))
    flash(f"You have joined {membership.organization.name}.", "success")
    return redirect(url_for("home.org_home", org=membership.organization.slug))


@bp.post("/invitations/<int:invitation_id>/decline")
@login_required
def decline_invitation(invitation_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise Invalid("This form has expired. Reload the page and try again.")
    invitation = invitations.decline(get_db(), _user(), invitation_id)
    flash(f"You declined {invitation.organization.name}'s invitation.", "success")
    return redirect(url_for("home.index"))
