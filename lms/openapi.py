"""The OpenAPI 3.1 description of the JSON API under /api/v1, built in code next to what it describes.

tests/test_api.py compares its paths with the routes of the `api` blueprint, so an endpoint that is not
described here fails the tests, and checks the JSON the endpoints send against these schemas.
"""

from __future__ import annotations

from typing import Any

from curricula.stakeholders import StakeholderRole
from lms.models import Permission, UnitKind
from lms.services import catalogue, learning, modules

PREFIX = "/api/v1"
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def _object(description: str, properties: dict[str, Schema]) -> Schema:
    """Every property is always present (null when empty), so clients never test for missing keys."""
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


TIMESTAMP: Schema = {"type": "string", "format": "date-time", "description": "ISO 8601 in UTC (ends in Z)."}
ROLE: Schema = {"type": "string", "enum": [r.value for r in StakeholderRole]}
PERMISSIONS: Schema = {
    "type": "array",
    "items": {"type": "string", "enum": [p.value for p in Permission]},
    "description": "What this membership may do beyond learning, in alphabetical order.",
}

SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "description": "Every error answer: a message for people and the HTTP status.",
        "properties": {
            "error": {"type": "string"},
            "status": {"type": "integer"},
            "fields": {
                "type": "object",
                "description": "For 400: each parameter or field at fault, with what to fix.",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
        "required": ["error", "status"],
    },
    "OrganizationRef": _object(
        "An organisation, by the slug used in URLs.",
        {"slug": {"type": "string"}, "name": {"type": "string"}},
    ),
    "UnitRef": _object(
        "A unit of an organisation's tree.", {"id": {"type": "integer"}, "name": {"type": "string"}}
    ),
    "Membership": _object(
        "The signed-in person's place in one organisation.",
        {
            "id": {"type": "integer"},
            "organization": _ref("OrganizationRef"),
            "unit": _nullable(_ref("UnitRef")),
            "stakeholder_role": ROLE,
            "permissions": PERMISSIONS,
            "active": {"type": "boolean"},
        },
    ),
    "Me": _object(
        "The person the request is authenticated as.",
        {
            "id": {"type": "integer"},
            "email": {"type": "string", "format": "email"},
            "name": {"type": "string"},
            "time_zone": {"type": "string", "description": "IANA time zone name."},
            "memberships": {"type": "array", "items": _ref("Membership")},
        },
    ),
    "Unit": _object(
        "A node of the unit tree (system > facility > department > unit).",
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": [k.value for k in UnitKind]},
            "parent_id": _nullable({"type": "integer"}),
            "active": {"type": "boolean", "description": "False once archived."},
            "archived_at": _nullable(TIMESTAMP),
            "created_at": TIMESTAMP,
        },
    ),
    "UnitList": _object(
        "Every unit of the organisation, parents before their children.",
        {"items": {"type": "array", "items": _ref("Unit")}},
    ),
    "Person": _object(
        "A person's membership of the organisation (the id is the membership's).",
        {
            "id": {"type": "integer"},
            "user_id": {"type": "integer"},
            "name": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "stakeholder_role": ROLE,
            "unit": _nullable(_ref("UnitRef")),
            "job_code": _nullable({"type": "string"}),
            "employee_id": _nullable({"type": "string"}),
            "permissions": PERMISSIONS,
            "active": {"type": "boolean"},
            "created_at": TIMESTAMP,
            "deactivated_at": _nullable(TIMESTAMP),
        },
    ),
    "PersonPage": _object(
        "One page of people, by name.",
        {
            "items": {"type": "array", "items": _ref("Person")},
            "total": {"type": "integer", "description": "People matching the filters, on all pages."},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        },
    ),
}


def _error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


RESPONSES: dict[str, dict] = {
    "BadRequest": _error_response("A query parameter is not valid: `fields` names it."),
    "Unauthorized": _error_response("No session and no valid personal access token."),
    "Forbidden": _error_response("A member of the organisation without HR or org admin permission."),
    "NotFound": _error_response("No such object here, or an organisation the caller does not belong to."),
}

PARAMETERS: dict[str, dict] = {
    "org": {
        "name": "org",
        "in": "path",
        "required": True,
        "description": "The organisation's slug.",
        "schema": {"type": "string"},
    },
    "unit_id": {"name": "unit_id", "in": "path", "required": True, "schema": {"type": "integer"}},
    "membership_id": {
        "name": "membership_id",
        "in": "path",
        "required": True,
        "description": "The id of the person's membership (`Person.id`).",
        "schema": {"type": "integer"},
    },
}


def _query(name: str, schema: Schema, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _param(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _get(
    operation_id: str,
    summary: str,
    schema: str,
    *,
    parameters: list[dict] | None = None,
    errors: tuple[str, ...] = ("Unauthorized", "Forbidden", "NotFound"),
) -> dict:
    codes = {"BadRequest": "400", "Unauthorized": "401", "Forbidden": "403", "NotFound": "404"}
    responses: dict[str, Any] = {
        "200": {"description": summary, "content": {"application/json": {"schema": _ref(schema)}}}
    }
    for error in errors:
        responses[codes[error]] = {"$ref": f"#/components/responses/{error}"}
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "responses": responses}
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


PATHS: dict[str, dict] = {
    "/me": _get("getMe", "The authenticated person and their memberships.", "Me", errors=("Unauthorized",)),
    "/orgs/{org}/units": _get(
        "listUnits",
        "The organisation's unit tree, parents before children. HR and org admins.",
        "UnitList",
        parameters=[
            _param("org"),
            _query("include_archived", {"type": "boolean", "default": True}, "Include archived units."),
        ],
        errors=("BadRequest", "Unauthorized", "Forbidden", "NotFound"),
    ),
    "/orgs/{org}/units/{unit_id}": _get(
        "getUnit", "One unit. HR and org admins.", "Unit", parameters=[_param("org"), _param("unit_id")]
    ),
    "/orgs/{org}/people": _get(
        "listPeople",
        "People of the organisation, by name, one page at a time. HR and org admins.",
        "PersonPage",
        parameters=[
            _param("org"),
            _query("q", {"type": "string"}, "Part of a name, email, employee id or job code."),
            _query("role", ROLE, "Only people in this stakeholder role."),
            _query("unit_id", {"type": "integer"}, "Only people in this unit or any unit below it."),
            _query("include_inactive", {"type": "boolean", "default": False}, "Include deactivated people."),
            _query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number, from 1."),
            _query(
                "per_page",
                {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
                "People per page.",
            ),
        ],
        errors=("BadRequest", "Unauthorized", "Forbidden", "NotFound"),
    ),
    "/orgs/{org}/people/{membership_id}": _get(
        "getPerson",
        "One person of the organisation. HR and org admins.",
        "Person",
        parameters=[_param("org"), _param("membership_id")],
    ),
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApiDocument",
            "summary": "This document. No authentication needed.",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.1 document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


def document(*, cookie_name: str) -> dict:
    """The whole OpenAPI document; `cookie_name` is the session cookie the app is configured with."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lead with Quality API",
            "version": "1.0.0",
            "description": (
                "Read access to organisations' unit trees and people for HR and org admins, and to the "
                "caller's own profile; the published modules, and the caller's own assignments, answers to "
                "knowledge checks and reflections (nobody else's). Authenticate with a personal access "
                "token (`lms token create`) in "
                "`Authorization: Bearer lms_...`, or with the session cookie of a signed-in browser. "
                "Writes made with the session cookie must send the page's CSRF token in `X-CSRFToken`. "
                "Timestamps are ISO 8601 in UTC. Asking for another organisation's objects answers 404."
            ),
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "parameters": PARAMETERS,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token (lms_...), from `lms token create`.",
                },
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": cookie_name},
            },
        },
    }


# --- learning: published modules, the caller's assignments, answers and reflections ------------------

LEARNING_STATUS: Schema = {"type": "string", "enum": [s.value for s in learning.LearningStatus]}
_HTML = "HTML rendered by the curriculum engine (raw HTML is refused in content)."

MODULE_FIELDS: dict[str, Schema] = {
    "slug": {"type": "string", "description": "The module's id, as in /modules/{slug}."},
    "title": {"type": "string"},
    "summary": {"type": "string"},
    "curriculum": {"type": "string"},
    "dose": {"type": "string", "description": "The dose level."},
    "component": _nullable({"type": "string"}),
    "principles": {"type": "array", "items": {"type": "string"}},
    "roles": {"type": "array", "items": ROLE, "description": "The roles it is written for."},
    "minutes": {"type": "integer"},
    "requires": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Slugs to take first.",
    },
    "objectives": {"type": "array", "items": {"type": "string"}},
    "active": {"type": "boolean", "description": "False once retired from the content."},
}

SCHEMAS.update(
    {
        "ModuleSummary": _object(
            "A published module (ids of curricula, levels, components and principles as in content/).",
            MODULE_FIELDS,
        ),
        "ModuleList": _object(
            "Active modules matching the filters, prerequisites first.",
            {"items": {"type": "array", "items": _ref("ModuleSummary")}},
        ),
        "Attempt": _object(
            "The caller's latest answer to a check, against the module's current content.",
            {
                "chosen": {"type": "array", "items": {"type": "integer"}},
                "correct": {"type": "boolean"},
                "answered_at": TIMESTAMP,
            },
        ),
        "CheckState": _object(
            "A knowledge check; which options are correct is never sent.",
            {
                "key": {"type": "string"},
                "question_html": {"type": "string", "description": _HTML},
                "options": {
                    "type": "array",
                    "items": _object(
                        "An option, answered by its index (from 0).", {"text_html": {"type": "string"}}
                    ),
                },
                "multiple": {"type": "boolean", "description": "More than one option is correct."},
                "latest_attempt": _nullable(_ref("Attempt")),
                "explanation_html": _nullable(
                    {
                        "type": "string",
                        "description": "Once the check is answered correctly (or the module completed).",
                    }
                ),
            },
        ),
        "ReflectionState": _object(
            "A reflection prompt and the caller's saved answer to it.",
            {
                "key": {"type": "string"},
                "prompt_html": {"type": "string", "description": _HTML},
                "text": _nullable({"type": "string"}),
                "updated_at": _nullable(TIMESTAMP),
            },
        ),
        "Progress": _object(
            "The caller's progress through a module.",
            {
                "status": {"type": "string", "enum": ["in_progress", "completed"]},
                "started_at": TIMESTAMP,
                "last_seen_at": TIMESTAMP,
                "resume_at": _nullable({"type": "string", "description": "Key of the last block answered."}),
                "completed_at": _nullable(TIMESTAMP),
                "completed_hash": _nullable(
                    {"type": "string", "description": "The content hash the module was completed against."}
                ),
                "score": _nullable(
                    {"type": "number", "description": "Share of checks right at the first attempt."}
                ),
            },
        ),
        "ModuleDetail": _object(
            "A module with its content in reading order and the caller's own progress in it.",
            {
                **MODULE_FIELDS,
                "content_hash": {"type": "string"},
                "segments": {
                    "type": "array",
                    "items": _object(
                        "A piece of the body: HTML, or the key of a check or reflection.",
                        {
                            "kind": {"type": "string", "enum": ["html", "check", "reflection"]},
                            "value": {"type": "string"},
                        },
                    ),
                },
                "checks": {"type": "array", "items": _ref("CheckState")},
                "reflections": {"type": "array", "items": _ref("ReflectionState")},
                "prerequisites_complete": {
                    "type": "boolean",
                    "description": "The caller completed every module this one requires (advice only).",
                },
                "progress": _nullable(_ref("Progress")),
            },
        ),
        "Assignment": _object(
            "A module the caller must complete in one of their organisations.",
            {
                "id": {"type": "integer"},
                "organization": _ref("OrganizationRef"),
                "module": _object(
                    "The module assigned.",
                    {
                        "slug": {"type": "string"},
                        "title": {"type": "string"},
                        "minutes": {"type": "integer"},
                        "dose": {"type": "string"},
                    },
                ),
                "source": {"type": "string", "enum": ["dose", "cohort", "manual"]},
                "assigned_at": TIMESTAMP,
                "due_on": {"type": "string", "format": "date"},
                "overdue": {
                    "type": "boolean",
                    "description": "Past the due date in the organisation's time zone, not completed.",
                },
                "status": LEARNING_STATUS,
                "completed_at": _nullable(TIMESTAMP),
                "next_up": {"type": "boolean", "description": "The next thing to do in this organisation."},
            },
        ),
        "AssignmentList": _object(
            "The caller's active assignments, by organisation, dose level and due date.",
            {"items": {"type": "array", "items": _ref("Assignment")}},
        ),
        "AnswerRequest": _object(
            "The options chosen, by index from 0.",
            {"chosen": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1}},
        ),
        "AnswerResult": _object(
            "Whether the answer was right. A completed module stays completed, whatever is answered later.",
            {
                "correct": {"type": "boolean"},
                "explanation_html": _nullable({"type": "string", "description": "When the answer is right."}),
                "module_completed": {"type": "boolean"},
                "just_completed": {"type": "boolean", "description": "This answer completed the module."},
                "progress": _ref("Progress"),
            },
        ),
        "ReflectionRequest": _object(
            "The caller's reflection: 1 to 10,000 characters after trimming.",
            {"text": {"type": "string", "minLength": 1, "maxLength": modules.REFLECTION_MAX}},
        ),
        "Reflection": _object(
            "The caller's saved reflection.",
            {"key": {"type": "string"}, "text": {"type": "string"}, "updated_at": TIMESTAMP},
        ),
    }
)

RESPONSES["InvalidBody"] = _error_response(
    "The body is not valid (`fields` names what to fix), or a session-cookie write lacks `X-CSRFToken`."
)

PARAMETERS.update(
    {
        "slug": {
            "name": "slug",
            "in": "path",
            "required": True,
            "description": "The module's id (`ModuleSummary.slug`).",
            "schema": {"type": "string"},
        },
        "key": {
            "name": "key",
            "in": "path",
            "required": True,
            "description": "The key of a check or reflection prompt within the module.",
            "schema": {"type": "string"},
        },
    }
)


def _write(
    method: str, operation_id: str, summary: str, request: str, schema: str, parameters: list[dict]
) -> dict:
    codes = {"InvalidBody": "400", "Unauthorized": "401", "NotFound": "404"}
    return {
        method: {
            "operationId": operation_id,
            "summary": summary,
            "parameters": parameters,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request)}}},
            "responses": {
                "200": {"description": summary, "content": {"application/json": {"schema": _ref(schema)}}},
                **{code: {"$ref": f"#/components/responses/{name}"} for name, code in codes.items()},
            },
        }
    }


PATHS.update(
    {
        "/modules": _get(
            "listModules",
            "Published modules, filtered as in the catalogue. Any signed-in person.",
            "ModuleList",
            parameters=[
                _query(
                    "q", {"type": "string", "maxLength": catalogue.SEARCH_MAX}, "Words that must all match."
                ),
                _query("curriculum", {"type": "string"}, "A curriculum id."),
                _query("component", {"type": "string"}, "A Leadership Framework for Quality component id."),
                _query("principle", {"type": "string"}, "A Whole System Quality leadership principle id."),
                _query("role", ROLE, "Modules written for this stakeholder role."),
                _query("dose", {"type": "string"}, "A dose level id."),
            ],
            errors=("BadRequest", "Unauthorized"),
        ),
        "/modules/{slug}": _get(
            "getModule",
            "One module with the caller's own progress, latest answers and reflections. 404 for a retired "
            "module the caller never started.",
            "ModuleDetail",
            parameters=[_param("slug")],
            errors=("Unauthorized", "NotFound"),
        ),
        "/me/assignments": _get(
            "listMyAssignments",
            "The caller's assignments with their progress and due dates.",
            "AssignmentList",
            errors=("Unauthorized",),
        ),
        "/modules/{slug}/checks/{key}/answer": _write(
            "post",
            "answerCheck",
            "Answer a knowledge check; completes the module when every check's latest answer is right.",
            "AnswerRequest",
            "AnswerResult",
            [_param("slug"), _param("key")],
        ),
        "/modules/{slug}/reflections/{key}": _write(
            "put",
            "saveReflection",
            "Save (or replace) the caller's reflection on a prompt.",
            "ReflectionRequest",
            "Reflection",
            [_param("slug"), _param("key")],
        ),
    }
)
