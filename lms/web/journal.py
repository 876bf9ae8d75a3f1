"""The journal pages: one's own entries and module reflections, private by default, shared with one's
coach entry by entry; search, tags, the export (Markdown and a printable page).

Every page here shows the signed-in person's own journal in their organisation and nothing else: the
services find each entry through the author (lms.services.journal), so another person's id is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.orm import Session
from wtforms import Form, SearchField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from lms.db import get_db
from lms.kept import journal_list
from lms.services import Invalid, coaching, journal
from lms.services.access import Actor
from lms.web import acting_actor, params, refused, refused_status, show_errors, submit_change
from lms.web.admin_forms import ConfirmForm, Needed
from lms.web.events import time_formatter

bp = Blueprint("journal", __name__, url_prefix="/journal")


class Tags(SelectMultipleField):
    """Tags as checkboxes (a fieldset of them): framework components and WSQ principles."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EntryForm(FlaskForm):
    title = StringField("Title (optional)", render_kw={"maxlength": journal.TITLE_MAX})
    body = TextAreaField(
        "Entry", validators=[Needed()], render_kw={"rows": 12, "maxlength": journal.BODY_MAX}
    )
    tags = Tags("Tags", validate_choice=False)

    def offer(self, choices: list[tuple[str, str]]) -> EntryForm:
        self.tags.choices = choices
        return self


class JournalFilter(Form):
    """The GET form above the journal (no CSRF: it changes nothing)."""

    q = SearchField("Search your journal", render_kw={"maxlength": journal.SEARCH_MAX})
    tags = Tags("Tags", validate_choice=False)


def _local(actor: Actor):
    return time_formatter(actor)


@bp.app_template_filter("journal_markdown")
def journal_markdown(text: str) -> Markup:
    """A comment in Markdown, rendered as modules are: raw HTML is printed as text, never as markup."""
    return Markup(journal.render_markdown(text))  # noqa: S704 - the curriculum renderer escapes raw HTML


# --- the list --------------------------------------------------------------------------------------


@bp.get("")
@login_required
def index():
    """A page of the journal (journal.PER_PAGE items, newest first), kept rendered between visits
    unless it shows a search (lms.kept.JOURNAL_LIST)."""
    actor = acting_actor()
    db = get_db()
    if request.args.keys() <= {"page"}:  # no search: the page is kept, its form built only to render it
        try:
            page = params.arg_number("page", default=1)
        except Invalid:
            pass  # refused below, next to the search form
        else:
            body = journal_list(db, actor, page, lambda: _list(db, actor, _filters(db), page))
            return render_template("journal/index.html", body=body)
    filters, page = _filters(db), 1
    try:
        page = params.arg_number("page", default=1)
    except Invalid as exc:
        show_errors(filters, exc.errors)
    body = journal_list(db, actor, page, lambda: _list(db, actor, filters, page), keep=False)
    return render_template("journal/index.html", body=body), 400 if _failed(filters) else 200


def _filters(db: Session) -> JournalFilter:
    filters = JournalFilter(request.args)
    filters.tags.choices = journal.tag_choices(db)
    return filters


def _list(db: Session, actor: Actor, filters: JournalFilter, page: int) -> dict[str, Any]:
    """What a page of the journal list shows (its search, if any, refused next to the field)."""
    shown = journal.JournalPage([], {}, 0, page, journal.PER_PAGE)
    if not _failed(filters):
        try:
            shown = journal.journal_page(
                db, actor, q=filters.q.data or "", tags=filters.tags.data or [], page=page
            )
        except Invalid as exc:
            show_errors(filters, exc.errors)
    if _failed(filters):
        refused(filters)
    return {
        "filters": filters,
        "shown": shown,
        "searched": bool(filters.q.data or filters.tags.data),
        "tag_titles": dict(filters.tags.choices),
        "local_time": _local(actor),
    }


def _failed(filters: JournalFilter) -> bool:
    return bool(filters.errors or filters.form_errors)


# --- writing ---------------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    actor = acting_actor()
    db = get_db()
    form = EntryForm().offer(journal.tag_choices(db))
    done = submit_change(
        form,
        lambda: journal.write_entry(
            db, actor, title=form.title.data or "", body=form.body.data or "", tags=form.tags.data or []
        ),
        lambda entry: "Your entry is saved. It is private: only you can read it.",
        lambda entry: url_for(".entry", entry_id=entry.id),
    )
    if done is not None:
        return done
    return render_template("journal/edit.html", form=form, item=None), refused_status()


@bp.route("/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@login_required
def edit(entry_id: int):
    actor = acting_actor()
    db = get_db()
    entry = journal.own_entry(db, actor, entry_id)
    data = {"title": entry.title, "body": entry.body, "tags": list(entry.tags)}
    form = EntryForm(data=data).offer(journal.tag_choices(db))
    done = submit_change(
        form,
        lambda: journal.edit_entry(
            db,
            actor,
            entry_id,
            title=form.title.data or "",
            body=form.body.data or "",
            tags=form.tags.data or [],
        ),
        lambda entry: "Your changes are saved.",
        lambda entry: url_for(".entry", entry_id=entry.id),
    )
    if done is not None:
        return done
    return render_template("journal/edit.html", form=form, item=journal.entry_item(entry)), refused_status()


@bp.route("/entries/<int:entry_id>/delete", methods=["GET", "POST"])
@login_required
def delete(entry_id: int):
    """A page that asks first; the entry and its comments go only when the person confirms."""
    actor = acting_actor()
    db = get_db()
    item = journal.entry_item(journal.own_entry(db, actor, entry_id))
    form = ConfirmForm()
    done = submit_change(
        form,
        lambda: journal.delete_entry(db, actor, entry_id),
        lambda _: f"“{item.title}” is deleted.",
        lambda _: url_for(".index"),
    )
    if done is not None:
        return done
    return render_template("journal/delete.html", item=item, form=form), refused_status()


# --- reading one entry or reflection, and sharing it -------------------------------------------------


def _item_page(item: journal.JournalItem, actor: Actor):
    current = coaching.current_coach(get_db(), actor.membership)
    return render_template(
        "journal/item.html",
        item=item,
        coach=current,
        shared_with_current=current is not None and item.shared_relationship_id == current.id,
        tag_titles=dict(journal.tag_choices(get_db())),
        confirm=ConfirmForm(formdata=None),
        local_time=_local(actor),
    )


@bp.get("/entries/<int:entry_id>")
@login_required
def entry(entry_id: int):
    actor = acting_actor()
    return _item_page(journal.entry_page(get_db(), actor, entry_id), actor)


@bp.get("/reflections/<int:reflection_id>")
@login_required
def reflection(reflection_id: int):
    actor = acting_actor()
    return _item_page(journal.reflection_page(get_db(), actor, reflection_id), actor)


def _sharing(kind: str, item_id: int, *, share: bool) -> Response:
    actor = acting_actor()
    form = ConfirmForm()
    page = (
        url_for(".entry", entry_id=item_id)
        if kind == "entry"
        else url_for(".reflection", reflection_id=item_id)
    )
    journal.own_item(get_db(), actor, kind, item_id)  # 404 before anything else for another's id
    if not form.validate_on_submit():
        flash("This form has expired. Try again.", "error")
        return redirect(page)
    try:
        if share:
            rel = journal.share(get_db(), actor, kind, item_id)
            flash(f"Shared with your coach, {rel.coach.user.name}. Only this entry is shared.", "success")
        else:
            journal.unshare(get_db(), actor, kind, item_id)
            flash("Private again: only you can read it.", "success")
    except Invalid as exc:
        flash(str(exc), "error")
    return redirect(page)


@bp.post("/entries/<int:entry_id>/share")
@login_required
def share_entry(entry_id: int):
    return _sharing("entry", entry_id, share=True)


@bp.post("/entries/<int:entry_id>/unshare")
@login_required
def unshare_entry(entry_id: int):
    return _sharing("entry", entry_id, share=False)


@bp.post("/reflections/<int:reflection_id>/share")
@login_required
def share_reflection(reflection_id: int):
    return _sharing("reflection", reflection_id, share=True)


@bp.post("/reflections/<int:reflection_id>/unshare")
@login_required
def unshare_reflection(reflection_id: int):
    return _sharing("reflection", reflection_id, share=False)


# --- the export --------------------------------------------------------------------------------------


@bp.get("/export.md")
@login_required
def export():
    actor = acting_actor()
    text = journal.export_markdown(get_db(), actor)
    return Response(
        text,
        mimetype="text/markdown",
        headers={
            "Content-Disposition": 'attachment; filename="journal.md"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/print")
@login_required
def printable():
    actor = acting_actor()
    db = get_db()
    items = journal.list_journal(db, actor)
    comments = journal.comments_of(db, items)
    return render_template(
        "journal/print.html",
        items=list(reversed(items)),
        comments=comments,
        tag_titles=dict(journal.tag_choices(db)),
        local_time=_local(actor),
    )
