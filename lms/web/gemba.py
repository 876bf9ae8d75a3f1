"""Gemba walks on a phone: start a walk (unit and question set), answer one question per fieldset, note
what you saw, raise a follow-up; my walks; my leader standard work; the organisation's gemba settings.

The walk form works without JavaScript. With it, lms/static/js/gemba-draft.js keeps a draft on the
phone while typing and, when the connection drops as the walk is sent, keeps it and sends it again
when the connection returns. The form carries a key made once per walk (`client_key`), so a walk sent
twice is saved once (lms.services.gemba.record_walk).
"""

from __future__ import annotations

import secrets
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from coaching.questions import QuestionSet
from coaching.standard_work import DEFAULT_TARGETS
from curricula.stakeholders import LABELS, StakeholderRole
from lms.db import get_db
from lms.models import Membership, Permission
from lms.services import NotFound, follow_ups, gemba
from lms.services.access import Actor
from lms.web import acting_actor, refused, refused_status, submit_change
from lms.web.admin_forms import UnitField, unit_choices
from lms.web.params import select_id

bp = Blueprint("gemba", __name__)

# Who is offered gemba walks in the navigation and on the home page (anyone may walk).
WALKERS = frozenset(
    {StakeholderRole.UNIT_LEADER, StakeholderRole.DEPARTMENTAL_LEADER, StakeholderRole.EXECUTIVE}
)
FOLLOW_UP_PREFIX = "follow_up_"


@bp.app_template_global()
def walks_gemba(actor: Actor | None) -> bool:
    return actor is not None and (
        actor.membership.stakeholder_role in WALKERS or actor.can(Permission.ORG_ADMIN)
    )


def owner_choices(members: list[Membership], *, blank: str) -> list[SelectChoice]:
    return [SelectChoice("", blank), *(SelectChoice(str(m.id), m.user.name) for m in members)]


# --- forms ----------------------------------------------------------------------------------------


class StartForm(FlaskForm):
    """Where and with which questions: a GET form (no CSRF), so the walk's page has its own address."""

    class Meta:
        csrf = False

    unit_id = UnitField(
        "Unit you are walking", validators=[InputRequired("Choose the unit you are walking.")]
    )
    question_set = SelectField("Questions", validators=[InputRequired("Choose a question set.")], choices=[])

    def offer(self, units, sets: dict[str, QuestionSet]) -> StartForm:
        self.unit_id.choices = unit_choices(units, blank="Choose a unit")
        self.question_set.choices = [SelectChoice(s.key, s.title) for s in sets.values()]
        return self


class WalkFormBase(FlaskForm):
    unit_id = HiddenField()
    question_set = HiddenField()
    client_key = HiddenField()
    observations = TextAreaField(
        "What did you see?", render_kw={"maxlength": gemba.OBSERVATIONS_MAX, "rows": 4}
    )
    expected_next = TextAreaField(
        "The next step you expect (optional)",
        render_kw={"maxlength": gemba.EXPECTED_MAX, "rows": 2},
    )
    follow_up_title = StringField("What will be done", render_kw={"maxlength": follow_ups.TITLE_MAX})
    follow_up_owner_id = SelectField("Owner", coerce=select_id, validate_choice=False, choices=[])
    follow_up_due_on = DateField("Due", validators=[Optional()], format="%Y-%m-%d")
    follow_up_description = TextAreaField(
        "Details (optional)", render_kw={"maxlength": follow_ups.TEXT_MAX, "rows": 3}
    )

    def answer_fields(self, questions: QuestionSet):
        return [(q, self[f"answer_{q.key}"]) for q in questions.questions]

    def raised(self) -> list[follow_ups.NewFollowUp]:
        """The follow-up sub-form, when anything was put in it."""
        typed = (
            (self.follow_up_title.data or "").strip(),
            self.follow_up_owner_id.data,
            self.follow_up_due_on.data,
            (self.follow_up_description.data or "").strip(),
        )
        if not any(typed):
            return []
        title, owner_id, due_on, description = typed
        return [follow_ups.NewFollowUp(title, owner_id, due_on, description)]


def walk_form(questions: QuestionSet, members: list[Membership], **kwargs) -> WalkFormBase:
    fields = {
        # The question is the fieldset's legend; the label says what goes in the box.
        f"answer_{q.key}": TextAreaField("Your answer", render_kw={"maxlength": gemba.ANSWER_MAX, "rows": 3})
        for q in questions.questions
    }
    form = type("WalkForm", (WalkFormBase,), fields)(**kwargs)
    form.follow_up_owner_id.choices = owner_choices(members, blank="Choose who will do it")
    return form


# --- pages ----------------------------------------------------------------------------------------


@bp.get("/gemba")
@login_required
def walks():
    actor = acting_actor()
    db = get_db()
    starting = "unit_id" in request.args or "question_set" in request.args
    start = StartForm(request.args if starting else None)
    start.offer(gemba.walkable_units(db, actor), gemba.question_sets())
    if starting and start.validate():
        return _walk_page(actor, start.unit_id.data, start.question_set.data)
    if start.errors:
        refused(start)
    zone = ZoneInfo(actor.org.time_zone)
    return render_template(
        "gemba/walks.html",
        start=start,
        walks=gemba.my_walks(db, actor),
        sets=gemba.question_sets(),
        local=lambda moment: moment.astimezone(zone),
    ), (400 if start.errors else 200)


def _walk_page(actor: Actor, unit_id: int, set_key: str, form: WalkFormBase | None = None, status: int = 200):
    db = get_db()
    questions = gemba.question_set(set_key)
    unit = next((u for u in gemba.walkable_units(db, actor) if u.id == unit_id), None)
    if questions is None or unit is None:
        raise NotFound("No such unit or question set.")
    if form is None:
        form = walk_form(
            questions,
            follow_ups.owners(db, actor),
            formdata=None,
            unit_id=str(unit.id),
            question_set=set_key,
            client_key=secrets.token_urlsafe(18),
        )
    return render_template(
        "gemba/walk_form.html",
        form=form,
        questions=questions,
        unit=unit,
        today=follow_ups.local_today(actor.org),
    ), status


@bp.post("/gemba")
@login_required
def record():
    actor = acting_actor()
    db = get_db()
    set_key = request.form.get("question_set", "")
    unit_id = select_id_or_none(request.form.get("unit_id"))
    questions = gemba.question_set(set_key)
    if questions is None or unit_id is None:
        raise NotFound("No such unit or question set.")
    form = walk_form(questions, follow_ups.owners(db, actor))

    def change() -> gemba.Recorded:
        return gemba.record_walk(
            db,
            actor,
            gemba.NewWalk(
                unit_id=unit_id,
                question_set=set_key,
                client_key=form.client_key.data or "",
                answers={q.key: field.data or "" for q, field in form.answer_fields(questions)},
                observations=form.observations.data or "",
                expected_next=form.expected_next.data or "",
                follow_ups=form.raised(),
            ),
            prefix=FOLLOW_UP_PREFIX,
        )

    aliases = {f"answers.{q.key}": f"answer_{q.key}" for q in questions.questions}
    done = submit_change(
        form,
        change,
        lambda saved: (
            f"Your walk on {saved.walk.unit.name} is saved"
            + (f" with {len(saved.walk.follow_ups)} follow-up." if saved.walk.follow_ups else ".")
            if saved.created
            else f"This walk on {saved.walk.unit.name} was saved already: it is kept once."
        ),
        lambda saved: url_for(".walk", walk_id=saved.walk.id),
        aliases,
    )
    return done or _walk_page(actor, unit_id, set_key, form, refused_status())


def select_id_or_none(value: str | None) -> int | None:
    try:
        return select_id(value)
    except ValueError:
        return None


@bp.get("/gemba/walks/<int:walk_id>")
@login_required
def walk(walk_id: int):
    actor = acting_actor()
    found = gemba.get_walk(get_db(), actor, walk_id)
    return render_template(
        "gemba/walk.html",
        walk=found,
        questions=gemba.question_set(found.question_set),
        walked_at=found.walked_at.astimezone(ZoneInfo(actor.org.time_zone)),
    )


@bp.get("/gemba/standard-work")
@login_required
def standard_work():
    actor = acting_actor()
    return render_template(
        "gemba/standard_work.html",
        work=gemba.standard_work(get_db(), actor),
        role=LABELS[actor.membership.stakeholder_role],
    )


# --- the organisation's settings ------------------------------------------------------------------

PERIODS = [SelectChoice("", "The default"), SelectChoice("day", "per day"), SelectChoice("week", "per week")]


class SettingsForm(FlaskForm):
    days_0 = IntegerField("Days overdue before it goes to the department", validators=[Optional()])
    days_1 = IntegerField("Days overdue before it goes to the facility", validators=[Optional()])
    days_2 = IntegerField("Days overdue before it goes to the executive", validators=[Optional()])


def settings_form(**kwargs) -> SettingsForm:
    fields = {}
    for role, label in LABELS.items():
        name = role.name.lower()
        fields[f"count_{name}"] = IntegerField(f"{label}: walks", validators=[Optional()])
        fields[f"per_{name}"] = SelectField(f"{label}: per", choices=PERIODS, validate_choice=False)
    return type("GembaSettingsForm", (SettingsForm,), fields)(**kwargs)


@bp.route("/o/<org>/gemba/settings", methods=["GET", "POST"])
@login_required
def settings(org: str):
    actor = acting_actor()
    actor.require(Permission.ORG_ADMIN)
    db = get_db()
    policy = gemba.escalation_policy(db, actor.org_id)
    own = gemba.settings_of(db, actor.org_id)
    current = {f"days_{i}": d for i, d in enumerate(policy.days)}
    for role in LABELS:
        target = (own.targets if own else {}).get(role.value)
        if target:
            current[f"count_{role.name.lower()}"] = target["count"]
            current[f"per_{role.name.lower()}"] = target["per"]
    form = settings_form(data=current) if request.method == "GET" else settings_form()

    def change():
        targets: dict[str, dict | None] = {}
        for role in LABELS:
            count, per = form[f"count_{role.name.lower()}"].data, form[f"per_{role.name.lower()}"].data
            targets[role.value] = {"per": per, "count": count} if per else None
        days = [form.days_0.data, form.days_1.data, form.days_2.data]
        return gemba.save_settings(db, actor, escalation_days=days, targets=targets)

    aliases = {f"target_{role.value}": f"count_{role.name.lower()}" for role in LABELS}
    if request.method == "POST":
        done = submit_change(
            form,
            change,
            lambda _: "Gemba settings saved.",
            lambda _: url_for(".settings", org=org),
            aliases,
        )
        if done:
            return done
    return render_template(
        "gemba/settings.html", form=form, labels=LABELS, defaults=DEFAULT_TARGETS
    ), refused_status()
