"""SCIM 2.0 (RFC 7643, 7644) at /scim/v2, for an organisation's identity provider.

Bearer tokens only (`Authorization: Bearer scim_...`, made on the organisation's SCIM page or by `lms scim
token create`): no cookie is read, so no CSRF token is asked for (the blueprint is exempt). The token names
the organisation. Every answer is SCIM JSON (application/scim+json), errors included: a SCIM Error with
status, scimType and detail, for whatever the request got wrong, at any address under /scim/v2.

The endpoint is not part of /api/v1's OpenAPI document: SCIM describes itself (ServiceProviderConfig,
ResourceTypes, Schemas). Views are thin: the services in lms.services.scim check, change and flush, and
the request commits (lms.db.finish_request) when the answer is a success.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, json, request
from scim2_models import (
    Context,
    Error,
    ListResponse,
    NotFoundException,
    NotImplementedException,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
)
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from lms.db import get_db
from lms.rate import Budget
from lms.security import digest
from lms.services import Forbidden, Invalid, ServiceError
from lms.services import NotFound as NoSuchThing
from lms.services.access import Actor
from lms.services.scim import groups, resources, tokens, users
from lms.services.scim.resources import MAX_RESULTS, POLICY, PREFIX, Group

bp = Blueprint("scim", __name__, url_prefix=PREFIX)

MEDIA_TYPE = "application/scim+json"
DISCOVERY = {"scim.service_provider_config", "scim.resource_types", "scim.schemas"}
EVERY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def reply(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(payload), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


def error(status: int, detail: str, scim_type: str | None = None) -> Response:
    payload = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if status == 401 else None
    return reply(payload, status, headers)


def _actor() -> Actor:
    return g.scim_actor


def _base_url() -> str:
    return current_app.config["BASE_URL"]


@bp.before_request
def _authenticate() -> Response | None:
    """401 without a live SCIM token; the token's organisation is the one every request acts in."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    actor = tokens.actor_for_token(get_db(), secret.strip()) if scheme.lower() == "bearer" else None
    if actor is None:
        return error(401, "Send a live SCIM token: Authorization: Bearer scim_...")
    wait = _budget().spend(digest(secret.strip()))
    if wait is not None:
        response = error(429, f"Too many requests with this token: try again in {wait} seconds.")
        response.headers["Retry-After"] = str(wait)
        return response
    g.scim_actor = actor
    return None


def _budget() -> Budget:
    """Each token's requests a minute in this worker (LMS_SCIM_REQUESTS_PER_MINUTE)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    budget = app.extensions.get("lms.scim_budget")
    if budget is None:
        budget = app.extensions["lms.scim_budget"] = Budget(app.config["SCIM_REQUESTS_PER_MINUTE"])
    return budget


# --- discovery ----------------------------------------------------------------------------------------


@bp.route("/ServiceProviderConfig", methods=EVERY_METHOD)
def service_provider_config() -> Response:
    _only_get()
    return reply(resources.service_provider_config().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@bp.route("/ResourceTypes", methods=EVERY_METHOD)
@bp.route("/ResourceTypes/<name>", methods=EVERY_METHOD)
def resource_types(name: str | None = None) -> Response:
    _only_get()
    return _listed_or_one(ResourceType, resources.resource_types(), name, lambda kind: kind.id)


@bp.route("/Schemas", methods=EVERY_METHOD)
@bp.route("/Schemas/<name>", methods=EVERY_METHOD)
def schemas(name: str | None = None) -> Response:
    _only_get()
    return _listed_or_one(Schema, resources.schemas(), name, lambda schema: schema.id)


def _only_get() -> None:
    if request.method != "GET":
        raise MethodNotAllowed(valid_methods=["GET"])


def _listed_or_one(model: Any, found: list[Any], name: str | None, key: Any) -> Response:
    if name is None:
        listing = ListResponse[model](
            total_results=len(found), start_index=1, items_per_page=len(found), resources=found
        )
        return reply(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE))
    for item in found:
        if key(item) == name:
            return reply(item.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"No {name} here.")


# --- users --------------------------------------------------------------------------------------------


@bp.get("/Users")
def list_users() -> Response:
    start_index, count = _paging()
    total, page = users.list_users(
        get_db(),
        _actor(),
        filter_text=request.args.get("filter") or None,
        start_index=start_index,
        count=count,
        base_url=_base_url(),
    )
    listing = ListResponse[users.User](
        total_results=total, start_index=start_index, items_per_page=len(page), resources=page
    )
    return reply(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=_shown()))


@bp.post("/Users")
def create_user() -> Response:
    made = users.create_user(get_db(), _actor(), _body(), _base_url())
    return _one(made, 201, Context.RESOURCE_CREATION_RESPONSE)


@bp.get("/Users/<resource_id>")
def get_user(resource_id: str) -> Response:
    return _one(
        users.get_user(get_db(), _actor(), resource_id, _base_url()), 200, Context.RESOURCE_QUERY_RESPONSE
    )


@bp.put("/Users/<resource_id>")
def replace_user(resource_id: str) -> Response:
    changed = users.replace_user(get_db(), _actor(), resource_id, _body(), _base_url())
    return _one(changed, 200, Context.RESOURCE_REPLACEMENT_RESPONSE)


@bp.patch("/Users/<resource_id>")
def patch_user(resource_id: str) -> Response:
    changed = users.patch_user(get_db(), _actor(), resource_id, _body(), _base_url())
    return _one(changed, 200, Context.RESOURCE_PATCH_RESPONSE)


@bp.delete("/Users/<resource_id>")
def delete_user(resource_id: str) -> Response:
    users.delete_user(get_db(), _actor(), resource_id)
    return Response(status=204)


def _one(user: users.User, status: int, context: Context) -> Response:
    headers = {"Location": user.meta.location} if status == 201 and user.meta and user.meta.location else None
    return reply(user.model_dump(scim_ctx=context, response_parameters=_shown()), status, headers)


def _shown() -> ResponseParameters[Any] | None:
    """The `attributes` and `excludedAttributes` asked for, if any."""
    asked = {key: request.args[key] for key in ("attributes", "excludedAttributes") if request.args.get(key)}
    if not asked:
        return None
    try:
        return ResponseParameters.model_validate(asked, scim_policy=POLICY)
    except SCIMException:
        raise
    except ValueError as exc:
        raise users.refusal(exc) from None


def _body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise Invalid("Send a JSON object (Content-Type: application/scim+json).")
    return body


def _paging() -> tuple[int, int]:
    """startIndex (from 1) and count (at most MAX_RESULTS; 0 asks only for the total)."""
    start_index = _whole_number("startIndex", default=1, minimum=1)
    return start_index, min(_whole_number("count", default=MAX_RESULTS, minimum=0), MAX_RESULTS)


def _whole_number(name: str, *, default: int, minimum: int) -> int:
    """A query parameter that is a whole number; SCIM reads one below the minimum as the minimum
    (RFC 7644 section 3.4.2.4), and anything else is invalidValue."""
    text = request.args.get(name, "").strip()
    if not text:
        return default
    negative = text.startswith("-")
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 9:
        raise Invalid(f"{name} must be a whole number.")
    return max(minimum, -int(digits) if negative else int(digits))


# --- groups (units, read only) -------------------------------------------------------------------------


@bp.get("/Groups")
def list_groups() -> Response:
    start_index, count = _paging()
    total, page = groups.list_groups(
        get_db(),
        _actor(),
        filter_text=request.args.get("filter") or None,
        start_index=start_index,
        count=count,
        base_url=_base_url(),
    )
    listing = ListResponse[Group](
        total_results=total, start_index=start_index, items_per_page=len(page), resources=page
    )
    return reply(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=_shown()))


@bp.get("/Groups/<resource_id>")
def get_group(resource_id: str) -> Response:
    found = groups.get_group(get_db(), _actor(), resource_id, _base_url())
    return reply(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=_shown()))


@bp.route("/Groups", methods=["POST"])
@bp.route("/Groups/<resource_id>", methods=["PUT", "PATCH", "DELETE"])
def change_group(resource_id: str | None = None) -> Response:
    return error(
        403,
        "Groups are the organisation's units and read only here: change units on the Units page.",
        "mutability",
    )


@bp.post("/.search")
def search_everything() -> Response:
    """Searching every resource type at once is not offered (RFC 7644 section 3.4.3 lets a server say so)."""
    raise NotImplementedException(detail="Search one resource type at a time: GET /Users?filter=...")


# --- anything else, and errors ------------------------------------------------------------------------


@bp.route("/<path:anything>", methods=EVERY_METHOD)
def unknown(anything: str) -> Response:
    return error(404, f"Nothing at {PREFIX}/{anything}.")


@bp.errorhandler(SCIMException)
def _scim_error(exc: SCIMException) -> Response:
    answer = exc.to_error()
    return error(answer.status or 400, answer.detail or str(exc), answer.scim_type)


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    if isinstance(exc, NoSuchThing):
        return error(404, str(exc) or "Not found.")
    if isinstance(exc, Forbidden):
        return error(403, str(exc))
    return error(400, str(exc), "invalidValue" if isinstance(exc, Invalid) else None)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    answer = error(status, exc.description or exc.name)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        answer.headers["Allow"] = ", ".join(exc.valid_methods)
    return answer


@bp.errorhandler(Exception)
def _failure(exc: Exception) -> Response:
    """A fault of ours still answers SCIM JSON (and is logged, as every unexpected error is)."""
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    if isinstance(exc, IntegrityError):  # two requests for the same person at once: one of them wins
        get_db().rollback()
        return error(
            409, "Another request changed this person at the same time: send it again.", "uniqueness"
        )
    current_app.logger.exception("SCIM request failed")
    return error(500, "The server failed to answer; nothing was changed.")
