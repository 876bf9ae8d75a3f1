"""The JSON API under /api/v1, described by lms/openapi.py (served at /api/v1/openapi.json).

Callers authenticate with the session cookie of a signed-in browser or a personal access token
(`Authorization: Bearer lms_...`). Errors are JSON ({"error", "status"} and, for 400, "fields"): the
app's error handlers answer so for every path under /api/.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from curricula.stakeholders import StakeholderRole
from lms import openapi
from lms.db import get_db
from lms.models import Membership, OrgUnit, User
from lms.services import Invalid, organizations, people
from lms.services.access import Actor, actor_for
from lms.web import csrf

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
        "unit_id": _int("unit_id", default=None),
        "include_inactive": _flag("include_inactive", default=False),
        "page": _int("page", default=1),
        "per_page": _int("per_page", default=openapi.DEFAULT_PER_PAGE, maximum=openapi.MAX_PER_PAGE),
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


def _int(name: str, *, default: int | None, maximum: int | None = None) -> int | None:
    """A whole number of 1 or more (ids and page numbers), up to `maximum`."""
    value = request.args.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise Invalid(f"{name} must be a whole number of 1 or more.", name)
    if maximum is not None and int(value) > maximum:
        raise Invalid(f"{name} must be at most {maximum}.", name)
    return int(value)


def _role(name: str) -> str:
    value = request.args.get(name, "").strip()
    roles = [r.value for r in StakeholderRole]
    if value and value not in roles:
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
