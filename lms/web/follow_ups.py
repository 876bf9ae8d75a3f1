"""The follow-up board (mine, my units', escalated to me, raised by me) and each follow-up's page: its
history, and forms to update, reassign or close it for those who may (lms.services.follow_ups)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from coaching.escalation import Tier
from lms.db import get_db
from lms.kept import follow_up_board
from lms.models import FollowUp
from lms.services import NotFound, follow_ups
from lms.services.escalation import TIER_NAMES
from lms.web import acting_actor, params, submit_change
from lms.web.admin_forms import Needed
from lms.web.gemba import owner_choices
from lms.web.params import select_id

bp = Blueprint("follow_ups", __name__)


class _OnePageForm(FlaskForm):
    """Forms sharing a follow-up's page: each prefix keeps its field ids its own."""

    PREFIX = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix=self.PREFIX, **kwargs)


class UpdateForm(_OnePageForm):
    PREFIX = "update"
    title = StringField(
        "What will be done", validators=[Needed()], render_kw={"maxlength": follow_ups.TITLE_MAX}
    )
    description = TextAreaField("Details", render_kw={"maxlength": follow_ups.TEXT_MAX, "rows": 3})
    due_on = DateField("Due", validators=[Optional()], format="%Y-%m-%d")


class ReassignForm(_OnePageForm):
    PREFIX = "reassign"
    owner_id = SelectField("New owner", coerce=select_id, validate_choice=False, choices=[])
    note = TextAreaField("Note for the new owner (optional)", render_kw={"rows": 2})


class CloseForm(_OnePageForm):
    PREFIX = "close"
    resolution = TextAreaField(
        "What was done", validators=[Needed()], render_kw={"maxlength": follow_ups.TEXT_MAX, "rows": 3}
    )


@bp.app_template_filter("tier_name")
def tier_name(tier: int) -> str:
    return TIER_NAMES[Tier(tier)]


@bp.get("/follow-ups")
@login_required
def board():
    """The board: the first follow-ups of every section, or with ?section= a page of one section; kept
    rendered between visits (lms.kept.FOLLOW_UP_BOARD)."""
    actor = acting_actor()
    name = request.args.get("section") or None
    if name is not None and name not in {s.value for s in follow_ups.Scope}:
        raise NotFound("No such section of the board.")
    scope = follow_ups.Scope(name) if name else None
    page = params.arg_number("page", default=1) if scope is not None else 1
    body = follow_up_board(
        actor,
        name,
        page,
        lambda: {
            "board": follow_ups.board(get_db(), actor, scope=scope, page=page),
            "section": scope,
            "titles": follow_ups.SCOPE_TITLES,
        },
    )
    title = "Follow-ups" if scope is None else f"Follow-ups: {follow_ups.SCOPE_TITLES[scope]}"
    return render_template("gemba/board.html", body=body, title=title)


def _page(follow_up_id: int, status: int = 200, **forms):
    db, actor = get_db(), acting_actor()
    item, events = follow_ups.history(db, actor, follow_up_id)
    zone = ZoneInfo(actor.org.time_zone)
    context = {
        "update_form": UpdateForm(
            formdata=None, title=item.title, description=item.description, due_on=item.due_on
        ),
        "reassign_form": ReassignForm(formdata=None),
        "close_form": CloseForm(formdata=None),
        **forms,
    }
    context["reassign_form"].owner_id.choices = owner_choices(
        [m for m in follow_ups.owners(db, actor) if m.id != item.owner_id], blank="Choose the new owner"
    )
    return render_template(
        "gemba/follow_up.html",
        item=item,
        events=events,
        may_change=follow_ups.may_change(actor, item) and item.open,
        today=follow_ups.local_today(actor.org),
        local=lambda moment: moment.astimezone(zone).strftime("%-d %b %Y, %H:%M"),
        **context,
    ), status


@bp.get("/follow-ups/<int:follow_up_id>")
@login_required
def item(follow_up_id: int):
    return _page(follow_up_id)


def _done(message: str):
    return lambda saved: message.format(title=saved.title)


def _target(saved: FollowUp) -> str:
    return url_for(".item", follow_up_id=saved.id)


@bp.post("/follow-ups/<int:follow_up_id>/update")
@login_required
def update(follow_up_id: int):
    actor = acting_actor()
    follow_ups.get(get_db(), actor, follow_up_id)  # 404 before anything for one the actor cannot see
    form = UpdateForm()
    done = submit_change(
        form,
        lambda: follow_ups.update(
            get_db(),
            actor,
            follow_up_id,
            title=form.title.data or "",
            description=form.description.data or "",
            due_on=form.due_on.data,
        ),
        _done("Saved: {title}."),
        _target,
    )
    return done or _page(follow_up_id, 400, update_form=form)


@bp.post("/follow-ups/<int:follow_up_id>/reassign")
@login_required
def reassign(follow_up_id: int):
    actor = acting_actor()
    follow_ups.get(get_db(), actor, follow_up_id)
    form = ReassignForm()
    done = submit_change(
        form,
        lambda: follow_ups.reassign(
            get_db(), actor, follow_up_id, owner_id=form.owner_id.data, note=form.note.data or ""
        ),
        lambda saved: f"{saved.owner.user.name} now owns {saved.title!r}, and is told by email.",
        # Given away, it may no longer be the actor's to see: then back to their board.
        lambda saved: _target(saved) if follow_ups.may_read(actor, saved) else url_for(".board"),
    )
    return done or _page(follow_up_id, 400, reassign_form=form)


@bp.post("/follow-ups/<int:follow_up_id>/close")
@login_required
def close(follow_up_id: int):
    actor = acting_actor()
    follow_ups.get(get_db(), actor, follow_up_id)
    form = CloseForm()
    done = submit_change(
        form,
        lambda: follow_ups.close(get_db(), actor, follow_up_id, resolution=form.resolution.data or ""),
        _done("Closed: {title}. The person who raised it is told."),
        _target,
    )
    return done or _page(follow_up_id, 400, close_form=form)
