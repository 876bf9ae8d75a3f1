"""The JSON API under /api/v1, described by lms/openapi.py (served at /api/v1/openapi.json).

Callers authenticate with the session cookie of a signed-in browser or a personal access token
(`Authorization: Bearer lms_...`). Errors are JSON ({"error", "status"} and, for 400, "fields"): the
app's error handlers answer so for every path under /api/.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from curricula.stakeholders import StakeholderRole, role_named
from lms import openapi
from lms.db import get_db
from lms.models import CheckAttempt, Membership, Module, OrgUnit, Progress, Reflection, User
from lms.services import Invalid, catalogue, learning, modules, organizations, people
from lms.services.access import Actor, actor_for
from lms.web import csrf, params

bp = Blueprint("api", __name__, url_prefix=openapi.PREFIX)

PUBLIC_ENDPOINTS = {"api.openapi_document"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
UNAUTHENTICATED = "Sign in or send a personal access token."


@bp.before_request
def _authenticate():
    """401 JSON (never a redirect to the sign-in page) without a session or a valid token.

    The blueprint is exempt from the app-wide CSRF check because token callers have no CSRF token; a
    write authenticated by the session cookie alone must still carry one, or any site could make a
    signed-in browser send it. A request with an Authorization header cannot come from a plain
    cross-site form, so token callers are not asked for one.
    """
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        response = jsonify(error=UNAUTHENTICATED, status=401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="lms"'
        return response, 401
    if request.method not in SAFE_METHODS and "Authorization" not in request.headers:
        csrf.protect()
    return None


# --- endpoints ----------------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document(cookie_name=current_app.config["SESSION_COOKIE_NAME"]))


@bp.get("/me")
def me():
    user: User = current_user._get_current_object()  # type: ignore[attr-defined]
    return jsonify(
        id=user.id,
        email=user.email,
        name=user.name,
        time_zone=user.time_zone,
        memberships=[_membership(m) for m in user.memberships],
    )


@bp.get("/orgs/<org>/units")
def list_units(org: str):
    include_archived = _flag("include_archived", default=True)
    units = organizations.list_units(get_db(), _actor(org), include_archived=include_archived)
    return jsonify(items=[_unit(u) for u in units])


@bp.get("/orgs/<org>/units/<int:unit_id>")
def get_unit(org: str, unit_id: int):
    return jsonify(_unit(organizations.get_unit(get_db(), _actor(org), unit_id)))


@bp.get("/orgs/<org>/people")
def list_people(org: str):
    filters = {
        "q": request.args.get("q", ""),
        "role": _role("role"),
        "unit_id": params.arg_id("unit_id"),
        "include_inactive": _flag("include_inactive", default=False),
        "page": params.arg_number("page", default=1),
        "per_page": params.arg_number(
            "per_page", default=openapi.DEFAULT_PER_PAGE, maximum=openapi.MAX_PER_PAGE
        ),
    }
    page = people.list_people(get_db(), _actor(org), **filters)
    return jsonify(
        items=[_person(m) for m in page.items], total=page.total, page=page.page, per_page=page.per_page
    )


@bp.get("/orgs/<org>/people/<int:membership_id>")
def get_person(org: str, membership_id: int):
    return jsonify(_person(people.get_person(get_db(), _actor(org), membership_id)))


# --- reading the request --------------------------------------------------------------------------


def _actor(org: str) -> Actor:
    """The caller's membership in the organisation; NotFound (404) when they do not belong to it."""
    return actor_for(current_user, org)  # type: ignore[arg-type]


def _flag(name: str, *, default: bool) -> bool:
    value = request.args.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"true", "1"}:
        return True
    if value in {"false", "0"}:
        return False
    raise Invalid(f"{name} must be true or false.", name)


def _role(name: str) -> str:
    value = request.args.get(name, "").strip()
    if value and role_named(value) is None:
        roles = [r.value for r in StakeholderRole]
        raise Invalid(f"{name} must be one of: {', '.join(roles)}.", name)
    return value


# --- writing the response: snake_case keys, UTC timestamps, never a password or token hash ----------


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _unit_ref(unit: OrgUnit | None) -> dict | None:
    return None if unit is None else {"id": unit.id, "name": unit.name}


def _permissions(m: Membership) -> list[str]:
    return sorted(p.value for p in m.permissions)


def _membership(m: Membership) -> dict:
    return {
        "id": m.id,
        "organization": {"slug": m.organization.slug, "name": m.organization.name},
        "unit": _unit_ref(m.unit),
        "stakeholder_role": m.stakeholder_role.value,
        "permissions": _permissions(m),
        "active": m.active,
    }


def _unit(u: OrgUnit) -> dict:
    return {
        "id": u.id,
        "name": u.name,
        "kind": u.kind.value,
        "parent_id": u.parent_id,
        "active": u.active,
        "archived_at": _timestamp(u.archived_at),
        "created_at": _timestamp(u.created_at),
    }


def _person(m: Membership) -> dict:
    return {
        "id": m.id,
        "user_id": m.user_id,
        "name": m.user.name,
        "email": m.user.email,
        "stakeholder_role": m.stakeholder_role.value,
        "unit": _unit_ref(m.unit),
        "job_code": m.job_code,
        "employee_id": m.employee_id,
        "permissions": _permissions(m),
        "active": m.active,
        "created_at": _timestamp(m.created_at),
        "deactivated_at": _timestamp(m.deactivated_at),
    }


# --- learning: the published modules and the caller's own assignments, answers and reflections -------


@bp.get("/modules")
def list_modules():
    filters = {name: request.args.get(name, "").strip() for name in catalogue.CATALOGUE_FILTERS}
    found = catalogue.catalogue(get_db(), _user(), **filters)
    return jsonify(items=[_module_summary(m) for m in found])


@bp.get("/modules/<slug>")
def get_module(slug: str):
    return jsonify(_module_detail(modules.module_view(get_db(), _user(), slug)))


@bp.get("/me/assignments")
def my_assignments():
    """The caller's assignments in every organisation they are an active member of."""
    user = _user()
    items = []
    for membership in user.memberships:
        if membership.active:
            mine = learning.my_learning(get_db(), Actor(user, membership))
            items.extend(_assignment(membership, item, item == mine.next_up) for item in mine.items)
    return jsonify(items=items)


@bp.post("/modules/<slug>/checks/<key>/answer")
def answer_check(slug: str, key: str):
    chosen = _body().get("chosen")
    if not isinstance(chosen, list) or not all(type(c) is int for c in chosen):
        raise Invalid("chosen must be a list of option numbers, counted from 0.", "chosen")
    answer = modules.answer_check(get_db(), _user(), slug, key, set(chosen))
    return jsonify(
        correct=answer.correct,
        explanation_html=answer.explanation_html,
        module_completed=answer.module_completed,
        just_completed=answer.just_completed,
        progress=_progress(answer.progress),
    )


@bp.put("/modules/<slug>/reflections/<key>")
def save_reflection(slug: str, key: str):
    text = _body().get("text")
    if not isinstance(text, str):
        raise Invalid("text must be a string.", "text")
    return jsonify(_reflection(key, modules.save_reflection(get_db(), _user(), slug, key, text)))


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _body() -> dict[str, Any]:
    body = request.get_json()  # not JSON, or nested too deeply: Invalid saying so (lms.web.params)
    if not isinstance(body, dict):
        raise Invalid(params.NOT_JSON)
    return body


def _module_summary(m: Module) -> dict:
    return {
        "slug": m.slug,
        "title": m.title,
        "summary": m.summary,
        "curriculum": m.curriculum,
        "dose": m.dose,
        "component": m.component,
        "principles": list(m.principles),
        "roles": list(m.roles),
        "minutes": m.minutes,
        "requires": list(m.requires),
        "objectives": list(m.objectives),
        "active": m.active,
    }


def _attempt(attempt: CheckAttempt | None) -> dict | None:
    if attempt is None:
        return None
    return {
        "chosen": attempt.chosen,
        "correct": attempt.correct,
        "answered_at": _timestamp(attempt.answered_at),
    }


def _module_detail(view: modules.ModuleView) -> dict:
    def check(data: dict) -> dict:
        attempt = view.attempts.get(data["key"])
        return {
            "key": data["key"],
            "question_html": data["question_html"],
            "options": [{"text_html": o["text_html"]} for o in data["options"]],
            "multiple": view.check(data["key"]).multiple,
            "latest_attempt": _attempt(attempt),
            "explanation_html": data.get("explanation_html") if view.explanation_shown(data["key"]) else None,
        }

    def reflection(data: dict) -> dict:
        saved = view.reflections.get(data["key"])
        return {
            "key": data["key"],
            "prompt_html": data["prompt_html"],
            "text": saved.text if saved else None,
            "updated_at": _timestamp(saved.updated_at) if saved else None,
        }

    return {
        **_module_summary(view.module),
        "content_hash": view.module.content_hash,
        "segments": [{"kind": s["kind"], "value": s["value"]} for s in view.module.segments],
        "checks": [check(c) for c in view.module.checks],
        "reflections": [reflection(r) for r in view.module.reflections],
        "prerequisites_complete": view.prerequisites_complete,
        "progress": _progress(view.progress),
    }


def _progress(p: Progress | None) -> dict | None:
    if p is None:
        return None
    return {
        "status": p.status.value,
        "started_at": _timestamp(p.started_at),
        "last_seen_at": _timestamp(p.last_seen_at),
        "resume_at": p.resume_at,
        "completed_at": _timestamp(p.completed_at),
        "completed_hash": p.completed_hash,
        "score": p.score,
    }


def _assignment(m: Membership, item: learning.AssignedModule, next_up: bool) -> dict:
    return {
        "id": item.assignment_id,
        "organization": {"slug": m.organization.slug, "name": m.organization.name},
        "module": {
            "slug": item.module.slug,
            "title": item.module.title,
            "minutes": item.module.minutes,
            "dose": item.module.dose,
        },
        "source": item.source.value,
        "assigned_at": _timestamp(item.assigned_at),
        "due_on": item.due_on.isoformat(),
        "overdue": item.overdue,
        "status": item.status.value,
        "completed_at": _timestamp(item.completed_at),
        "next_up": next_up,
    }


def _reflection(key: str, r: Reflection) -> dict:
    return {"key": key, "text": r.text, "updated_at": _timestamp(r.updated_at)}
