"""Coaching pages: a person's coach and the proposals waiting for their answer; a coach's coachees, what
each shared, and comments on it.

A coach reaches a coachee's entry only through lms.services.journal's shared-item lookups: private
entries, unshared ones and other coaches' coachees answer 404, as a wrong id does.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, TextAreaField

from lms.db import get_db
from lms.models import Permission
from lms.services import Invalid, coaching, journal
from lms.services.access import Actor
from lms.web import acting_actor, params, refused_status, submit_change
from lms.web.admin_forms import ConfirmForm, Needed
from lms.web.events import time_formatter

bp = Blueprint("coaching", __name__, url_prefix="/coaching")


class ProposeForm(FlaskForm):
    email = EmailField(
        "Email of the person you would coach", validators=[Needed()], render_kw={"maxlength": 254}
    )


class CommentForm(FlaskForm):
    body = TextAreaField(
        "Your comment", validators=[Needed()], render_kw={"rows": 5, "maxlength": journal.COMMENT_MAX}
    )


def _page(actor: Actor, propose: ProposeForm | None = None):
    db = get_db()
    is_coach = actor.can(Permission.COACH)
    return render_template(
        "coaching/index.html",
        mine=coaching.my_coaching(db, actor),
        coachees=coaching.coachees(db, actor) if is_coach else [],
        is_coach=is_coach,
        propose=propose or ProposeForm(formdata=None),
        confirm=ConfirmForm(formdata=None),
        local_time=time_formatter(actor),
    ), refused_status()


@bp.get("")
@login_required
def index():
    return _page(acting_actor())


@bp.post("/propose")
@login_required
def propose():
    actor = acting_actor()
    form = ProposeForm()
    done = submit_change(
        form,
        lambda: coaching.propose(get_db(), actor, email=form.email.data or ""),
        lambda rel: f"You proposed to coach {rel.coachee.user.name}. It starts when they accept.",
        lambda rel: url_for(".index"),
    )
    return done or _page(actor, propose=form)


def _answer(relationship_id: int, change, message: str):
    actor = acting_actor()
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("This form has expired. Try again.", "error")
        return redirect(url_for(".index"))
    try:
        rel = change(get_db(), actor, relationship_id)
        flash(message.format(coach=rel.coach.user.name, coachee=rel.coachee.user.name), "success")
    except Invalid as exc:
        flash(str(exc), "error")
    try:
        person = params.select_id(request.form.get("person"))
    except ValueError:  # not an id: back to the coaching page
        person = None
    if person is not None and actor.can(Permission.ORG_ADMIN):  # ended from the admin's person page
        return redirect(url_for("admin.person", org=actor.org.slug, membership_id=person))
    return redirect(url_for(".index"))


@bp.post("/<int:relationship_id>/accept")
@login_required
def accept(relationship_id: int):
    return _answer(relationship_id, coaching.accept, "{coach} is now your coach.")


@bp.post("/<int:relationship_id>/decline")
@login_required
def decline(relationship_id: int):
    return _answer(relationship_id, coaching.decline, "You declined {coach}'s proposal.")


@bp.post("/<int:relationship_id>/end")
@login_required
def end(relationship_id: int):
    return _answer(relationship_id, coaching.end, "The coaching of {coachee} by {coach} has ended.")


# --- what a coachee shares ------------------------------------------------------------------------------


@bp.get("/coachees/<int:membership_id>")
@login_required
def coachee(membership_id: int):
    actor = acting_actor()
    db = get_db()
    rel = coaching.coaching_of(db, actor, membership_id)
    return render_template(
        "coaching/coachee.html",
        relationship=rel,
        items=journal.shared_by(db, actor, membership_id),
        local_time=time_formatter(actor),
    )


def _shared_page(kind: str, item_id: int):
    actor = acting_actor()
    db = get_db()
    item = journal.shared_item(db, actor, kind, item_id)  # 404 unless shared with this coach
    form = CommentForm()
    here = (
        url_for(".shared_entry", entry_id=item_id)
        if kind == "entry"
        else url_for(".shared_reflection", reflection_id=item_id)
    )
    done = submit_change(
        form,
        lambda: journal.add_comment(db, actor, kind, item_id, form.body.data or ""),
        lambda _: "Your comment is posted.",
        lambda c: f"{here}#comment-{c.id}",
    )
    if done is not None:
        return done
    return render_template(
        "coaching/shared.html",
        item=journal.shared_item(db, actor, kind, item_id) if request.method == "POST" else item,
        form=form,
        tag_titles=dict(journal.tag_choices(db)),
        local_time=time_formatter(actor),
    ), refused_status()


@bp.route("/shared/entries/<int:entry_id>", methods=["GET", "POST"])
@login_required
def shared_entry(entry_id: int):
    return _shared_page("entry", entry_id)


@bp.route("/shared/reflections/<int:reflection_id>", methods=["GET", "POST"])
@login_required
def shared_reflection(reflection_id: int):
    return _shared_page("reflection", reflection_id)
