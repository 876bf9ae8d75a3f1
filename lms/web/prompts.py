"""Reflection prompts: the inbox (with its count in the navigation), answering a prompt, setting one's
rhythm (a preview of the next times before saving), a coach's suggestion, and the calendar feed.

Everything here is the signed-in person's own; a coach only suggests a schedule, which waits for the
person's consent. The feed at /calendar/<secret>.ics needs no sign-in: its secret URL is the credential.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, SelectMultipleField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from coaching.cadence import ORDINALS, WEEKDAY_NAMES, Kind
from coaching.prompts import KATA_TAG
from lms.db import get_db
from lms.models import Permission, PromptSchedule, User
from lms.services import Invalid, NotFound, calendar, prompts
from lms.services.access import Actor
from lms.services.prompts import ScheduleSpec
from lms.web import acting_actor, current_actor, refused, show_refusal, submit_change
from lms.web.admin_forms import ConfirmForm, Needed, time_zone_choices

bp = Blueprint("prompts", __name__)

KIND_LABELS = {
    Kind.DAILY: "Every day",
    Kind.WEEKDAYS: "Every weekday (Monday to Friday)",
    Kind.WEEKLY: "Every week, on the days you choose",
    Kind.FORTNIGHTLY: "Every two weeks, on the days you choose",
    Kind.MONTHLY_DAY: "Every month, on a day of the month",
    Kind.MONTHLY_NTH: "Every month, on the first, second ... or last such weekday",
}
# What a refusal about a cadence field is attached to on the form.
ALIASES = {"kind": "kind", "at": "at", "time_zone": "time_zone", "weekdays": "weekdays"}


DAYS = [SelectChoice(number, name) for number, name in enumerate(WEEKDAY_NAMES)]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ScheduleForm(FlaskForm):
    kind = SelectField(
        "How often",
        validators=[Needed()],
        validate_choice=False,
        choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()],
    )
    at = TimeField("Time of day", validators=[Needed()])
    time_zone = SelectField("Time zone", validators=[Needed()], validate_choice=False, choices=[])
    weekdays = CheckboxesField("Days of the week", coerce=int, choices=DAYS, validate_choice=False)
    anchor = DateField("First week of the two-week rhythm", validators=[Optional()])
    day_of_month = IntegerField(
        "Day of the month", validators=[Optional(), NumberRange(1, 31, "Choose a day from 1 to 31.")]
    )
    nth = SelectField(
        "Which one in the month",
        coerce=int,
        validate_choice=False,
        choices=[SelectChoice(n, word.capitalize()) for n, word in ORDINALS.items()],
    )
    weekday = SelectField("Day of the week (monthly)", coerce=int, validate_choice=False, choices=DAYS)
    tags = CheckboxesField("Only prompts about", validate_choice=False, choices=[])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = time_zone_choices()
        self.tags.choices = [SelectChoice(tag, tag_label(tag)) for tag in prompts.schedule_tags()]

    def spec(self) -> ScheduleSpec:
        return ScheduleSpec(
            kind=self.kind.data or "",
            at=self.at.data,
            time_zone=self.time_zone.data or "",
            weekdays=frozenset(self.weekdays.data or ()),
            day_of_month=self.day_of_month.data,
            nth=self.nth.data,
            weekday=self.weekday.data,
            anchor=self.anchor.data or date.today(),
            tags=frozenset(self.tags.data or ()),
        ).keeping_what_the_kind_uses()

    def fill(self, schedule: PromptSchedule) -> ScheduleForm:
        self.kind.data = schedule.kind
        self.at.data = schedule.at
        self.time_zone.data = schedule.time_zone
        self.weekdays.data = sorted(schedule.weekday_set)
        self.anchor.data = schedule.anchor
        self.day_of_month.data = schedule.day_of_month
        self.nth.data = schedule.nth or 1
        self.weekday.data = schedule.weekday or 0
        self.tags.data = sorted(schedule.tag_set)
        return self


def tag_label(tag: str) -> str:
    if tag == KATA_TAG:
        return "Toyota Kata: what happened since your last gemba walk"
    return tag.replace("-", " ")


class PromptAnswerForm(FlaskForm):
    body = TextAreaField("Your answer", validators=[Needed()], render_kw={"rows": 10})


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


@bp.app_context_processor
def _waiting_prompts() -> dict:
    """The count in the navigation, for a signed-in member only: read with the person at sign-in's check
    (`User.prompts_waiting`, in the session loader's statement), so a page makes no query for it."""

    def waiting() -> int:
        try:
            actor = current_actor()
        except NotFound:
            return 0
        return (actor.user.prompts_waiting or 0) if actor else 0

    return {"prompts_waiting": waiting}


def local_time(moment: datetime | None, time_zone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(time_zone)).strftime("%a %-d %b %Y, %H:%M %Z")


# --- the inbox and answering --------------------------------------------------------------------


@bp.get("/prompts")
@login_required
def inbox():
    actor = acting_actor()
    db = get_db()
    return render_template(
        "prompts/inbox.html",
        waiting=prompts.inbox(db, actor.user),
        answered=prompts.inbox(db, actor.user, answered=True, limit=10),
        has_schedule=bool(prompts.schedules_of(db, actor)),
        time_zone=prompts.default_time_zone(actor),
        local_time=local_time,
    )


@bp.route("/prompts/<int:delivery_id>", methods=["GET", "POST"])
@login_required
def answer(delivery_id: int):
    actor = acting_actor()
    delivery = prompts.delivery(get_db(), actor.user, delivery_id)
    form = PromptAnswerForm()
    done = submit_change(
        form,
        lambda: prompts.answer(get_db(), actor, delivery_id, form.body.data or ""),
        lambda _: "Your answer is saved in your journal, private to you.",
        lambda entry: url_for("journal.entry", entry_id=entry.id),
    )
    if done:
        return done
    return render_template(
        "prompts/answer.html",
        delivery=delivery,
        form=form,
        time_zone=prompts.default_time_zone(actor),
        local_time=local_time,
    ), (400 if form.errors else 200)


# --- the rhythm -----------------------------------------------------------------------------------


def _schedule_page(actor: Actor, form: ScheduleForm, *, preview=None, status: int = 200, **more):
    db = get_db()
    schedules = prompts.schedules_of(db, actor)
    return render_template(
        "prompts/schedule.html",
        form=form,
        preview=preview,
        schedules=[
            (s, prompts.cadence_of(s), prompts.preview(s) if s.next_due_at else []) for s in schedules
        ],
        suggested=prompts.suggested_by(db, actor) if actor.can(Permission.COACH) else [],
        confirm=ConfirmForm(formdata=None),
        local_time=local_time,
        **more,
    ), status


def _new_form(actor: Actor) -> ScheduleForm:
    form = ScheduleForm(formdata=None)
    form.kind.data = Kind.WEEKLY.value
    form.weekdays.data = [0]
    form.at.data = datetime.strptime("08:00", "%H:%M").time()
    form.time_zone.data = prompts.default_time_zone(actor)
    return form


def _save_or_preview(actor: Actor, form: ScheduleForm, save, **page):
    """The schedule form's two buttons: Preview shows the next times (or what to fix); Save saves."""
    if "preview" in request.form:
        if not form.validate_on_submit():
            refused(form)
            return _schedule_page(actor, form, status=400, **page)
        try:
            times = prompts.preview(form.spec())
        except Invalid as exc:
            show_refusal(form, exc, ALIASES)
            return _schedule_page(actor, form, status=400, **page)
        return _schedule_page(actor, form, preview=(prompts.cadence_of(form.spec()), times), **page)
    done = submit_change(
        form,
        lambda: save(form.spec()),
        lambda s: f"Saved: {prompts.cadence_of(s).describe()}.",
        lambda _: url_for(".schedule"),
        ALIASES,
    )
    return done or _schedule_page(actor, form, status=400, **page)


@bp.route("/prompts/schedule", methods=["GET", "POST"])
@login_required
def schedule():
    actor = acting_actor()
    if request.method == "GET":
        return _schedule_page(actor, _new_form(actor))
    return _save_or_preview(actor, ScheduleForm(), lambda spec: prompts.set_schedule(get_db(), actor, spec))


@bp.route("/prompts/schedule/<int:schedule_id>", methods=["GET", "POST"])
@login_required
def edit_schedule(schedule_id: int):
    actor = acting_actor()
    found = prompts.get_schedule(get_db(), actor, schedule_id)
    if request.method == "GET":
        return _schedule_page(actor, ScheduleForm(formdata=None).fill(found), editing=found)
    return _save_or_preview(
        actor,
        ScheduleForm(),
        lambda spec: prompts.set_schedule(get_db(), actor, spec, schedule_id=schedule_id),
        editing=found,
    )


@bp.post("/prompts/schedule/<int:schedule_id>/<any(pause, resume, accept, decline, delete):change>")
@login_required
def change_schedule(schedule_id: int, change: str):
    actor = acting_actor()
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _schedule_page(actor, _new_form(actor), status=400, confirm=form)
    db = get_db()
    try:
        if change in ("pause", "resume"):
            prompts.pause(db, actor, schedule_id, paused=change == "pause")
        elif change in ("accept", "decline"):
            prompts.consent(db, actor, schedule_id, accept=change == "accept")
        else:
            prompts.remove(db, actor, schedule_id)
    except Invalid as exc:
        flash(str(exc), "error")
        return redirect(url_for(".schedule"))
    said = {
        "pause": "Paused: no prompts until you resume it.",
        "resume": "Resumed: the next prompt comes at its next time (missed ones are not sent).",
        "accept": "Accepted: your prompts start at the next time shown.",
        "decline": "Declined: nothing will be sent.",
        "delete": "Deleted.",
    }
    flash(said[change], "success")
    return redirect(url_for(".schedule"))


@bp.route("/prompts/suggest/<int:membership_id>", methods=["GET", "POST"])
@login_required
def suggest(membership_id: int):
    """A coach suggests a rhythm to a person of their organisation; it waits for that person's consent."""
    actor = acting_actor()
    if not actor.can(Permission.COACH):
        raise NotFound("Not found.")
    person = prompts.coachee(get_db(), actor, membership_id)
    if request.method == "GET":
        form = _new_form(actor)
        form.time_zone.data = prompts.default_time_zone(Actor(person.user, person))
        return _schedule_page(actor, form, suggesting=person)
    return _save_or_preview(
        actor,
        ScheduleForm(),
        lambda spec: prompts.set_schedule(get_db(), actor, spec, for_membership_id=membership_id),
        suggesting=person,
    )


# --- the calendar feed ----------------------------------------------------------------------------


@bp.get("/calendar")
@login_required
def calendar_page():
    return _calendar_page()


def _calendar_page(new_secret: str | None = None):
    db, user = get_db(), _user()
    return render_template(
        "prompts/calendar.html",
        token=calendar.live_token(db, user),
        feed_url=url_for(".feed", secret=new_secret, _external=True) if new_secret else None,
        confirm=ConfirmForm(formdata=None),
        local_time=local_time,
        time_zone=user.time_zone,
        horizon_weeks=calendar.HORIZON.days // 7,
    )


@bp.post("/calendar")
@login_required
def calendar_create():
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".calendar_page"))
    secret = calendar.create_token(get_db(), _user())
    return _calendar_page(new_secret=secret)  # shown once, in this answer only


@bp.post("/calendar/revoke")
@login_required
def calendar_revoke():
    if ConfirmForm().validate_on_submit():
        calendar.revoke(get_db(), _user())
        flash("Your calendar feed is off: its address answers nothing from now on.", "success")
    return redirect(url_for(".calendar_page"))


@bp.get("/calendar/<secret>.ics")
def feed(secret: str):
    db = get_db()
    user = calendar.user_for_feed(db, secret)
    if user is None:
        raise NotFound("No such calendar.")
    body = calendar.feed(db, user, host=request.host.split(":")[0])
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Cache-Control": "private, no-cache",
            "Content-Disposition": 'inline; filename="lead-with-quality.ics"',
        },
    )
