"""The learner's pages: My learning, the catalogue, a module's page and the printable record.

A module page holds a form per knowledge check and per reflection prompt. Each posts to its own URL
and, when the service accepts it, redirects back to the block it came from (POST, redirect, GET); when
the service refuses it, the module page is shown again (HTTP 400) with the message next to that block's
field and what was typed still in it. Forms post to the block's anchor, so the browser lands there.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import Form, SearchField, SelectField, SelectMultipleField, TextAreaField

from curricula.stakeholders import LABELS
from lms import kept
from lms.db import get_db
from lms.models import User
from lms.services import Invalid, NotFound, learning, modules
from lms.services import catalogue as catalogue_service
from lms.services.access import Actor
from lms.web import current_actor, params, refused, show_errors, show_refusal

bp = Blueprint("learning", __name__)


def _actor() -> Actor:
    actor = current_actor()
    if actor is None:  # a signed-in person has an active membership; this only narrows the type
        raise NotFound("You are not part of an active organisation.")
    return actor


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


# --- forms ----------------------------------------------------------------------------------------


class CatalogueFilter(Form):
    """The GET form above the catalogue (no CSRF: it changes nothing)."""

    q = SearchField("Search the modules' words")
    curriculum = SelectField("Curriculum", validate_choice=False)
    component = SelectField("Framework component", validate_choice=False)
    principle = SelectField("Whole System Quality principle", validate_choice=False)
    role = SelectField("Written for", validate_choice=False)
    dose = SelectField("Dose level", validate_choice=False)

    def offer(self, words: catalogue_service.Vocabulary) -> CatalogueFilter:
        def choices(terms, blank: str) -> list[tuple[str, str]]:
            return [("", blank), *((t.id, t.title) for t in terms)]

        self.curriculum.choices = choices(words.curricula, "Any curriculum")
        self.component.choices = choices(words.components, "Any component")
        self.principle.choices = choices(words.principles, "Any principle")
        self.role.choices = [("", "Any role"), *((r.value, label) for r, label in LABELS.items())]
        self.dose.choices = choices(words.levels, "Any level")
        return self

    def values(self) -> dict[str, str]:
        return {name: (self[name].data or "").strip() for name in catalogue_service.CATALOGUE_FILTERS}


class AnswerForm(FlaskForm):
    """The options chosen, by number; the service says what is wrong with them."""

    chosen = SelectMultipleField(validate_choice=False)

    def numbers(self) -> set[int]:
        # Anything but a number cannot come from the page: it becomes an option that does not exist.
        return {_option_number(v) for v in self.chosen.data or []}


def _option_number(value: str) -> int:
    try:
        return params.whole_number(value, "chosen", minimum=0)
    except Invalid:
        return -1


class ReflectionForm(FlaskForm):
    text = TextAreaField("Your reflection")


# --- pages ----------------------------------------------------------------------------------------


@bp.get("/learning")
@login_required
def my_learning():
    # Kept rendered (lms.kept): a learner back from a module they only read is served from memory.
    return render_template("learning/my_learning.html", listing=kept.my_learning(get_db(), _actor()))


@bp.get("/learning/record")
@login_required
def record():
    actor = _actor()
    return render_template(
        "learning/record.html", record=learning.record(get_db(), actor), today=learning.org_today(actor)
    )


@bp.get("/catalogue")
@login_required
def catalogue():
    db = get_db()
    words = catalogue_service.vocabulary(db)
    filters = CatalogueFilter(request.args).offer(words)
    found, status = None, 200
    if filters.validate():
        try:
            found = catalogue_service.catalogue(db, _user(), **filters.values())
        except Invalid as exc:
            show_errors(filters, exc.errors)
    if found is None:
        refused(filters)
        status = 400
    chosen = filters.values()
    narrowed = sum(1 for name, value in chosen.items() if value and name != "q")
    standing = learning.statuses(db, _user(), [m.id for m in found or ()])
    return render_template(
        "learning/catalogue.html",
        filters=filters,
        modules=found,
        words=words,
        filtered=any(chosen.values()),
        narrowed=narrowed,
        standing=standing,
    ), status


@bp.get("/modules/<slug>")
@login_required
def module(slug: str):
    db, user, actor = get_db(), _user(), _actor()
    # Kept (lms.kept): the module's identity per release, the visit noted at most once a minute, the
    # page rendered per version; re-reading a module makes no query of its own, and an answer, a
    # reflection or a new release renders it again.
    found = kept.module_identity(db, slug)
    kept.note_visit(actor, found, lambda: modules.visit(db, user, found))
    body = kept.module_page(db, actor, found, lambda: modules.view_of(db, user, found))
    return _module_page(found.title, body)


@bp.post("/modules/<slug>/checks/<key>")
@login_required
def answer(slug: str, key: str):
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            modules.answer_check(get_db(), _user(), slug, key, form.numbers())
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            return redirect(url_for(".module", slug=slug, _anchor=f"check-{key}"), 303)
    return _refused(modules.module_view(get_db(), _user(), slug), "check", key, form)


@bp.post("/modules/<slug>/reflections/<key>")
@login_required
def reflect(slug: str, key: str):
    form = ReflectionForm()
    if form.validate_on_submit():
        try:
            modules.save_reflection(get_db(), _user(), slug, key, form.text.data or "")
        except Invalid as exc:
            show_refusal(form, exc)
        else:
            return redirect(url_for(".module", slug=slug, _anchor=f"reflection-{key}"), 303)
    return _refused(modules.module_view(get_db(), _user(), slug), "reflection", key, form)


def _module_page(title: str, body: Markup, status: int = 200):
    return render_template("learning/module.html", title=title, body=body), status


def _refused(view: modules.ModuleView, kind: str, key: str, form: FlaskForm):
    """The module page again (400), the refused form shown with its errors and what was typed, and in
    the error summary at the top (base.html, outside the kept part): its links go to the ids the block's
    fields have on the page (lms/templates/learning/_module.html), under the block's own heading."""
    if kind == "check":
        modules.check_data(view.module, key)  # NotFound for a check the module does not have
        field, field_id = form["chosen"], f"check-{key}-option-0"
        field.label.text = f"Knowledge check {view.check_number(key)} of {len(view.module.checks)}"
    else:
        modules.reflection_data(view.module, key)
        field, field_id = form["text"], f"reflection-{key}-text"
    field.id = field.label.field_id = field_id
    refused(form)
    return _module_page(view.module.title, kept.refused_module_page(_actor(), view, kind, key, form), 400)


# --- what other pages show of a person's learning --------------------------------------------------


@bp.app_template_filter("learning_date")
def learning_date(value: date | datetime | None, time_zone: str = "UTC") -> str:
    """A date as 7 Mar 2026 (no-break spaces): unambiguous in English; a time as its date locally."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(time_zone)).date()
    return f"{value.day}\u00a0{value:%b}\u00a0{value.year}"


@bp.app_template_filter("learning_inline")
def learning_inline(html: str) -> Markup:
    """A question or an option as phrasing content: a <legend> or <label> may not hold a paragraph, so
    the one paragraph the engine wraps it in is unwrapped. The HTML is the engine's (raw HTML is refused
    in content), hence Markup."""
    text = html.strip()
    if text.startswith("<p>") and text.endswith("</p>") and text.count("<p>") == 1:
        text = text[3:-4]
    return Markup(text)  # noqa: S704 - rendered by the curriculum engine with raw HTML disabled
