"""The JSON API under /api/v1: its views, and the OpenAPI 3.1 document generated from their models.

What each operation reads and answers is a pydantic model (lms/web/api_models.py); spectree validates
the request against it before the view runs, checks the answer against it, and builds the document
served at /api/v1/openapi.json (with a readable reference at /api/v1/docs) from the same models.

Callers authenticate with the session cookie of a signed-in browser or a personal access token
(`Authorization: Bearer lms_...`). Errors are JSON ({"error", "status"} and, for 400, "fields"): the
app's error handlers answer so for every path under /api/, and a request a model refuses raises the
same `Invalid` a service raises, so its answer has the same shape.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_login import current_user
from pydantic import BaseModel, TypeAdapter, ValidationError
from spectree import Response as Answers
from spectree import SpecTree

from lms.db import get_db
from lms.models import User
from lms.services import Invalid, catalogue, learning, modules, organizations, people
from lms.services.access import Actor, actor_for
from lms.web import api_models as m
from lms.web import csrf, params
from lms.web.api_fields import BLANK

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)

PUBLIC_ENDPOINTS = {"api.openapi_document", "api.reference"}
# Operations whose filters take the content release's terms (m.VOCABULARY_FILTERS), listed by the document.
VOCABULARY_PATHS = {"/modules", "/orgs/{org}/coverage", "/orgs/{org}/coverage/overdue"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
UNAUTHENTICATED = "Sign in or send a personal access token."

DESCRIPTION = (
    "Read access to organisations' unit trees and people for HR and org admins, and to the caller's own "
    "profile; the published modules, and the caller's own assignments, answers to knowledge checks and "
    "reflections (nobody else's). Authenticate with a personal access token (`lms token create`) in "
    "`Authorization: Bearer lms_...`, or with the session cookie of a signed-in browser. Writes made with "
    "the session cookie must send the page's CSRF token in `X-CSRFToken`. Timestamps are ISO 8601 in UTC. "
    "Asking for another organisation's objects answers 404. A query parameter sent blank counts as not "
    "sent; one the operation does not list is ignored. The caller's own journal and coaching are here too: "
    "a private entry is the caller's alone; a coach reads only what a coachee shared with them."
)


def _refuse(req, resp, error: ValidationError | None, instance, model_adapter) -> None:
    """spectree's `before` hook: a request its model refuses is `Invalid`, answered as every 400 is."""
    if req.method not in SAFE_METHODS and not isinstance(req.get_json(), dict):
        raise Invalid(params.NOT_JSON)  # not JSON at all: get_json raised Invalid saying what is wrong
    if error is not None:
        raise Invalid(fields_at_fault(error))


# Request models defined outside api_models (lms/web/api_journal.py's), by name: their `refusals` too.
REQUEST_MODELS: dict[str, type[BaseModel]] = {}
# The kinds a tagged-union body may be of (pydantic puts the kind first in an error's location).
UNION_TAGS: set[str] = set()


def fields_at_fault(error: ValidationError) -> dict[str, list[str]]:
    """pydantic's errors as the API's `fields`: each parameter or body field with what to fix."""
    model = getattr(m, error.title, None) or REQUEST_MODELS.get(error.title)
    own: dict[str, str] = getattr(model, "refusals", {})
    found: dict[str, list[str]] = {}
    for problem in error.errors(include_url=False):
        where = [str(part) for part in problem["loc"]]
        if len(where) > 1 and where[0] in UNION_TAGS:  # a body of one of several kinds: the field follows
            where = where[1:]
        field = where[0] if where else ""
        said = own.get(f"{field}/{problem['type']}") or own.get(field)
        if said:
            ctx = problem.get("ctx") or {}
            length = len(problem["input"]) if isinstance(problem["input"], str | list) else 0
            message = said.format(**ctx, maximum=ctx.get("max_length"), length=length)
        else:
            message = _message(".".join(where) or "the body", problem)
        if message not in found.get(field, []):
            found.setdefault(field, []).append(message)
    return found


# What a refusal says, by pydantic's error type; {field} is where, the rest is the error's context.
MESSAGES = {
    "int_parsing": "{field} must be a whole number of 1 or more.",
    "int_type": "{field} must be a whole number of 1 or more.",
    "int_from_float": "{field} must be a whole number of 1 or more.",
    "greater_than_equal": "{field} must be a whole number of {ge} or more.",
    "less_than_equal": "{field} must be at most {le}.",
    "enum": "{field} must be one of: {expected}.",
    "literal_error": "{field} must be one of: {expected}.",
    "missing": "Send {field}.",
    "extra_forbidden": "Remove {field}: it is not a field of this request.",
    "string_too_long": "{field} must be at most {max_length:,} characters.",
    "string_pattern_mismatch": "{field} holds a character it may not (NUL), or only spaces.",
    "too_short": "{field} must hold at least {min_length}.",
    "model_type": params.NOT_JSON,
}


def _message(field: str, problem: Any) -> str:
    ctx = {
        key: str(value).replace("'", "") if key == "expected" else value
        for key, value in (problem.get("ctx") or {}).items()
    }
    if problem["type"] == "value_error":
        return f"{field} {ctx['error']}."
    template = MESSAGES.get(problem["type"])
    return template.format(field=field, **ctx) if template else f"{field}: {problem['msg']}."


spec = SpecTree(
    "flask",
    mode="strict",  # the document lists the operations declared below, nothing else of the app
    annotations=False,
    page_templates={},  # no spectree doc pages: they load their scripts from a CDN
    before=_refuse,
    validation_error_status=400,
    validation_error_model=m.Error,
    naming_strategy=lambda model: model.__name__.removesuffix("Out"),
    nested_naming_strategy=lambda _parent, child: child.removesuffix("Out"),
    title="Lead with Quality API",
    version="1.0.0",
    description=DESCRIPTION,
)

# The errors each kind of operation answers, besides 400 (every operation: a query or body its model
# refuses, a NUL character anywhere, a cookie write without its CSRF token).
UNAUTHORIZED = (m.Error, "No session and no valid personal access token.")
FORBIDDEN = (m.Error, "A member of the organisation without HR or org admin permission.")
NOT_FOUND = (m.Error, "No such object here, or an organisation the caller does not belong to.")
BAD_REQUEST = (m.Error, "The request is not valid: `fields` names what to fix.")


# The errors an operation may list by code (modules of the API add theirs: lms/web/api_journal.py).
ERRORS: dict[str, tuple[type[BaseModel], str]] = {"401": UNAUTHORIZED, "403": FORBIDDEN, "404": NOT_FOUND}


def answers(model: type[BaseModel], summary: str, *errors: str) -> Answers:
    return Answers(
        HTTP_200=(model, summary),
        HTTP_400=BAD_REQUEST,
        **{f"HTTP_{code}": ERRORS[code] for code in ("401", *errors)},
    )


def reply(model: BaseModel) -> Response:
    """The answer as Flask's JSON (keys sorted, as the API has always sent them)."""
    return jsonify(model.model_dump(mode="json"))


def _query() -> Any:
    return request.context.query  # type: ignore[attr-defined]


def _json() -> Any:
    return request.context.json  # type: ignore[attr-defined]


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


# --- the document ---------------------------------------------------------------------------------


# Modules of the API that add to the document what only the served one knows (the content release's
# vocabulary, say): each is called with the document and the vocabulary, as `_list_vocabulary` is.
DOCUMENT_HOOKS: list[Callable[[dict, catalogue.Vocabulary | None], None]] = []


def document(*, cookie_name: str, vocabulary: catalogue.Vocabulary | None = None) -> dict:
    """The OpenAPI document: spectree's, with paths relative to PREFIX, the path parameters described by
    their models, the security schemes (`cookie_name` is the app's session cookie) and, when given, the
    content release's vocabulary as the values the catalogue's filters take."""
    generated = copy.deepcopy(spec.spec)
    paths = {path.removeprefix(PREFIX): ops for path, ops in generated["paths"].items()}
    for path, operations in paths.items():
        for operation in operations.values():
            operation.pop("tags", None)
            if not operation.get("description"):
                operation.pop("description", None)
            for parameter in operation["parameters"]:
                if parameter["in"] == "path":
                    parameter["schema"] = TypeAdapter(m.PATH_PARAMETERS[parameter["name"]]).json_schema()
                    parameter["description"] = parameter["schema"].pop("description", "")
                elif parameter["in"] == "query" and path in VOCABULARY_PATHS and vocabulary is not None:
                    _list_vocabulary(parameter, vocabulary)
    generated["paths"] = paths
    for hook in DOCUMENT_HOOKS:
        hook(generated, vocabulary)
    for name in [n for n in generated["components"]["schemas"] if n.endswith("Query")]:
        generated["components"]["schemas"].pop(name)  # queries are listed as parameters, not as bodies
    generated.pop("tags", None)
    generated["servers"] = [{"url": PREFIX}]
    generated["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
    generated["components"]["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token (lms_...), from `lms token create`.",
        },
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": cookie_name},
    }
    return generated


def _list_vocabulary(parameter: dict, vocabulary: catalogue.Vocabulary) -> None:
    kind = m.VOCABULARY_FILTERS.get(parameter["name"])
    terms = getattr(vocabulary, kind) if kind else ()
    if terms:  # before the first content sync any value is taken (and nothing matches)
        parameter["schema"] = {
            "anyOf": [{"type": "string", "enum": [t.id for t in terms]}, BLANK],
            "default": "",
        }


@bp.get("/openapi.json")
@spec.validate(resp=Answers(HTTP_200=(m.OpenApiDocument, "The OpenAPI 3.1 document.")), security={})
def openapi_document():
    """This document. No authentication needed."""
    return jsonify(_served_document())


def _served_document() -> dict:
    return document(
        cookie_name=current_app.config["SESSION_COOKIE_NAME"], vocabulary=catalogue.vocabulary(get_db())
    )


@bp.get("/docs")
def reference():
    """The document as a page: operations, their parameters and answers, and the schemas."""
    return render_template("api/reference.html", doc=_served_document(), describe=describe)


# --- endpoints ----------------------------------------------------------------------------------


@bp.get("/me")
@spec.validate(resp=answers(m.Me, "The authenticated person and their memberships."), operation_id="getMe")
def me():
    """The authenticated person and their memberships."""
    return reply(m.Me.of(_user()))


@bp.get("/orgs/<org>/units")
@spec.validate(
    query=m.UnitsQuery,
    resp=answers(m.UnitList, "The organisation's unit tree.", "403", "404"),
    operation_id="listUnits",
)
def list_units(org: str):
    """The organisation's unit tree, parents before children. HR and org admins."""
    units = organizations.list_units(get_db(), _actor(org), include_archived=_query().include_archived)
    return reply(m.UnitList(items=[m.Unit.of(u) for u in units]))


@bp.get("/orgs/<org>/units/<int:unit_id>")
@spec.validate(resp=answers(m.Unit, "One unit.", "403", "404"), operation_id="getUnit")
def get_unit(org: str, unit_id: int):
    """One unit. HR and org admins."""
    return reply(m.Unit.of(organizations.get_unit(get_db(), _actor(org), unit_id)))


@bp.get("/orgs/<org>/people")
@spec.validate(
    query=m.PeopleQuery,
    resp=answers(m.PersonPage, "One page of people.", "403", "404"),
    operation_id="listPeople",
)
def list_people(org: str):
    """People of the organisation, by name, one page at a time. HR and org admins."""
    query: m.PeopleQuery = _query()
    page = people.list_people(
        get_db(),
        _actor(org),
        q=query.q,
        role=query.role.value if query.role else "",
        unit_id=query.unit_id,
        include_inactive=query.include_inactive,
        page=query.page,
        per_page=query.per_page,
    )
    return reply(
        m.PersonPage(
            items=[m.Person.of(p) for p in page.items],
            total=page.total,
            page=page.page,
            per_page=page.per_page,
        )
    )


@bp.get("/orgs/<org>/people/<int:membership_id>")
@spec.validate(resp=answers(m.Person, "One person.", "403", "404"), operation_id="getPerson")
def get_person(org: str, membership_id: int):
    """One person of the organisation. HR and org admins."""
    return reply(m.Person.of(people.get_person(get_db(), _actor(org), membership_id)))


# --- learning: the published modules and the caller's own assignments, answers and reflections -------


@bp.get("/modules")
@spec.validate(
    query=m.ModulesQuery,
    resp=answers(m.ModuleList, "Modules matching the filters."),
    operation_id="listModules",
)
def list_modules():
    """Published modules, filtered as in the catalogue. Any signed-in person."""
    query: m.ModulesQuery = _query()
    filters = query.model_dump(mode="json")
    filters["role"] = filters["role"] or ""
    found = catalogue.catalogue(
        get_db(), _user(), **{name: filters[name] for name in catalogue.CATALOGUE_FILTERS}
    )
    return reply(m.ModuleList(items=[m.ModuleSummary.of(module) for module in found]))


@bp.get("/modules/<slug>")
@spec.validate(
    resp=answers(m.ModuleDetail, "The module and the caller's progress in it.", "404"),
    operation_id="getModule",
)
def get_module(slug: str):
    """One module with the caller's own progress, latest answers and reflections.

    404 for a retired module the caller never started.
    """
    return reply(m.ModuleDetail.of_view(modules.module_view(get_db(), _user(), slug)))


@bp.get("/me/assignments")
@spec.validate(resp=answers(m.AssignmentList, "The caller's assignments."), operation_id="listMyAssignments")
def my_assignments():
    """The caller's assignments with their progress and due dates, in every organisation they are an
    active member of."""
    user = _user()
    items = []
    for membership in user.memberships:
        if membership.usable:
            mine = learning.my_learning(get_db(), Actor(user, membership))
            items.extend(m.AssignmentOut.of(membership, item, item == mine.next_up) for item in mine.items)
    return reply(m.AssignmentList(items=items))


@bp.post("/modules/<slug>/checks/<key>/answer")
@spec.validate(
    json=m.AnswerRequest,
    resp=answers(m.AnswerResult, "Whether the answer was right.", "404"),
    operation_id="answerCheck",
)
def answer_check(slug: str, key: str):
    """Answer a knowledge check; completes the module when every check's latest answer is right."""
    body: m.AnswerRequest = _json()
    return reply(m.AnswerResult.of(modules.answer_check(get_db(), _user(), slug, key, set(body.chosen))))


@bp.put("/modules/<slug>/reflections/<key>")
@spec.validate(
    json=m.ReflectionRequest,
    resp=answers(m.ReflectionOut, "The saved reflection.", "404"),
    operation_id="saveReflection",
)
def save_reflection(slug: str, key: str):
    """Save (or replace) the caller's reflection on a prompt."""
    body: m.ReflectionRequest = _json()
    return reply(m.ReflectionOut.of(key, modules.save_reflection(get_db(), _user(), slug, key, body.text)))


def _actor(org: str) -> Actor:
    """The caller's membership in the organisation; NotFound (404) when they do not belong to it."""
    return actor_for(current_user, org)  # type: ignore[arg-type]


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def describe(schema: dict | None) -> str:
    """A schema in words for the reference page: "integer, 1 to 200", "one of: a, b", "list of Unit"."""
    if not schema:
        return "anything"
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "anyOf" in schema:
        return " or ".join(describe(option) for option in schema["anyOf"])
    if "enum" in schema:
        return "one of: " + ", ".join(str(value) for value in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type", "anything")
    if kind == "array":
        text = f"list of {describe(schema.get('items'))}"
        if "minItems" in schema:
            text += f", at least {schema['minItems']}"
        return text
    if schema == BLANK:
        return "blank"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {describe(schema['additionalProperties'])}"
    limits = [
        (f"from {schema['minimum']}" if "minimum" in schema else ""),
        (f"to {schema['maximum']}" if "maximum" in schema else ""),
        (f"at most {schema['maxLength']:,} characters" if "maxLength" in schema else ""),
        (f"matching {schema['pattern']}" if "pattern" in schema else ""),
        schema.get("format", ""),
    ]
    detail = " ".join(limit for limit in limits if limit)
    return f"{kind}, {detail}" if detail else str(kind)


# The operations of other modules join the blueprint and the document when imported.
from lms.web import (  # noqa: E402, F401
    api_coverage,
    api_gemba,
    api_journal,
    api_prompts,
)
