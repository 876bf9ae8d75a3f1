"""The JSON API under /api/v1: authentication, the endpoints, bad input, and its OpenAPI document."""

from __future__ import annotations

import re
from datetime import timedelta

import jsonschema_rs
import pytest
from flask_login import login_user
from flask_wtf.csrf import CSRFError

from curricula.stakeholders import StakeholderRole
from lms.db import utcnow
from lms.models import ApiToken, UnitKind
from lms.services import tokens
from lms.web import api
from lms.web.api import PREFIX

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def hr(make, tree):
    return make.person(tree, StakeholderRole.QUALITY_STAFF, name="Hana HR", email="hana@alpha.test", hr=True)


@pytest.fixture
def admin(make, tree):
    return make.person(tree, StakeholderRole.EXECUTIVE, name="Ada Admin", org_admin=True)


@pytest.fixture
def document(client) -> dict:
    return client.get(f"{PREFIX}/openapi.json").json


# --- answers checked against the served document (jsonschema_rs, which schemathesis brings) -----------


def resolve(doc: dict, ref: str) -> dict:
    """The part of the document a local `$ref` names."""
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def conforms(doc: dict, schema: dict, value) -> None:
    """Assert that `value` matches `schema` (refs resolved in the served document), and that its
    timestamps are UTC ("...Z")."""
    jsonschema_rs.validate({**schema, "components": doc["components"]}, value)
    for text in _strings(value):
        if re.match(r"^\d{4}-\d\d-\d\dT", text):
            assert ISO_UTC.match(text), f"{text!r} is not an ISO 8601 UTC timestamp"


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _strings(item)]


def response_schema(doc: dict, path: str, status: str = "200", method: str = "get") -> dict:
    return doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


# --- authentication -------------------------------------------------------------------------------


def test_me_by_session_shows_the_person_and_their_memberships(make, tree, login_as, document):
    m = make.person(tree, StakeholderRole.UNIT_LEADER, name="Uma Unit", email="uma@alpha.test", coach=True)
    resp = login_as(m).get(f"{PREFIX}/me")
    assert resp.status_code == 200
    body = resp.json
    assert body["email"] == "uma@alpha.test"
    assert body["name"] == "Uma Unit"
    assert body["time_zone"] == "UTC"
    assert body["memberships"] == [
        {
            "id": m.id,
            "organization": {"slug": "alpha", "name": "Alpha Health"},
            "unit": {"id": tree.unit.id, "name": "Ward 4B"},
            "stakeholder_role": "unit-leader",
            "permissions": ["coach"],
            "active": True,
        }
    ]
    conforms(document, response_schema(document, "/me"), body)
    assert "hash" not in resp.get_data(as_text=True)


def test_me_by_personal_access_token(db, make, tree, client):
    m = make.person(tree, email="tok@alpha.test")
    secret = tokens.create_token(db, m.user, name="reporting script")
    resp = client.get(f"{PREFIX}/me", headers=bearer(secret))
    assert resp.status_code == 200
    assert resp.json["email"] == "tok@alpha.test"


def test_without_credentials_the_api_answers_401_json_not_a_redirect(client):
    resp = client.get(f"{PREFIX}/me")
    assert resp.status_code == 401
    assert resp.json == {"error": "Sign in or send a personal access token.", "status": 401}
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("spoil", ["revoked", "expired"])
def test_revoked_or_expired_token_is_refused(db, make, tree, client, spoil):
    m = make.person(tree)
    secret = tokens.create_token(db, m.user, name="old", days=30)
    token = db.query(ApiToken).one()
    if spoil == "revoked":
        token.revoked_at = utcnow()
    else:
        token.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    assert client.get(f"{PREFIX}/me", headers=bearer(secret)).status_code == 401


@pytest.mark.parametrize(
    "header", ["Bearer lms_not-a-real-token", "Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz"]
)
def test_garbage_credentials_are_refused(client, header):
    resp = client.get(f"{PREFIX}/me", headers={"Authorization": header})
    assert resp.status_code == 401
    assert resp.json["error"] == "Sign in or send a personal access token."


def test_a_cookie_authenticated_write_must_carry_a_csrf_token(app, make, tree):
    """The guard every write passes through, checked directly (tests/test_learning_api.py sends real ones)."""
    user = make.person(tree).user
    with app.test_request_context(f"{PREFIX}/me", method="POST"):
        login_user(user)
        with pytest.raises(CSRFError):
            api._authenticate()
    with app.test_request_context(f"{PREFIX}/me", method="POST", headers=bearer("lms_x")):
        login_user(user)
        assert api._authenticate() is None
    with app.test_request_context(f"{PREFIX}/me", method="GET"):
        login_user(user)
        assert api._authenticate() is None


# --- units ----------------------------------------------------------------------------------------


def test_hr_lists_the_unit_tree_parents_first(make, tree, hr, login_as, document):
    old = make.unit(tree.org, "Closed Ward", UnitKind.UNIT, tree.department)
    old.archived_at = utcnow()
    make.db.commit()
    client = login_as(hr)

    resp = client.get(f"{PREFIX}/orgs/alpha/units")
    assert resp.status_code == 200
    conforms(document, response_schema(document, "/orgs/{org}/units"), resp.json)
    items = resp.json["items"]
    assert [u["name"] for u in items[:3]] == ["Alpha Health", "General Hospital", "Medicine"]
    assert {u["name"] for u in items[3:]} == {"Ward 4B", "Closed Ward"}
    closed = next(u for u in items if u["name"] == "Closed Ward")
    assert closed["active"] is False and ISO_UTC.match(closed["archived_at"])

    active_only = client.get(f"{PREFIX}/orgs/alpha/units?include_archived=false").json["items"]
    assert "Closed Ward" not in [u["name"] for u in active_only]
    assert len(active_only) == 4


def test_admin_reads_one_unit(tree, admin, login_as, document):
    resp = login_as(admin).get(f"{PREFIX}/orgs/alpha/units/{tree.department.id}")
    assert resp.status_code == 200
    conforms(document, response_schema(document, "/orgs/{org}/units/{unit_id}"), resp.json)
    assert resp.json["name"] == "Medicine"
    assert resp.json["kind"] == "department"
    assert resp.json["parent_id"] == tree.facility.id
    assert resp.json["archived_at"] is None
    assert ISO_UTC.match(resp.json["created_at"])


def test_unknown_unit_is_404_json(tree, admin, login_as):
    resp = login_as(admin).get(f"{PREFIX}/orgs/alpha/units/999999")
    assert resp.status_code == 404
    assert resp.json["status"] == 404 and resp.json["error"]


# --- people ---------------------------------------------------------------------------------------


@pytest.fixture
def roster(make, tree):
    """Five people in alpha: two in a second ward under Medicine, one deactivated."""
    ward = make.unit(tree.org, "Ward 5C", UnitKind.UNIT, tree.department)
    return {
        "amy": make.person(tree, StakeholderRole.CLINICIAN, name="Amy Ames", email="amy@alpha.test"),
        "bob": make.person(tree, StakeholderRole.CLINICIAN, name="Bob Best", unit=ward),
        "cal": make.person(tree, StakeholderRole.UNIT_LEADER, name="Cal Cole", unit=ward),
        "dee": make.person(tree, StakeholderRole.BOARD, name="Dee Dunn"),
        "eve": make.person(tree, StakeholderRole.CLINICIAN, name="Eve Gone", active=False),
        "ward": ward,
    }


def names(resp) -> list[str]:
    assert resp.status_code == 200, resp.json
    return [p["name"] for p in resp.json["items"]]


def test_hr_lists_people_by_name_with_every_field(hr, roster, login_as, document):
    resp = login_as(hr).get(f"{PREFIX}/orgs/alpha/people")
    assert names(resp) == ["Amy Ames", "Bob Best", "Cal Cole", "Dee Dunn", "Hana HR"]
    assert resp.json["total"] == 5 and resp.json["page"] == 1 and resp.json["per_page"] == 50
    conforms(document, response_schema(document, "/orgs/{org}/people"), resp.json)
    amy = resp.json["items"][0]
    assert amy["email"] == "amy@alpha.test"
    assert amy["stakeholder_role"] == "clinician"
    assert amy["unit"]["name"] == "Ward 4B"
    assert amy["job_code"] == "RN1"
    assert amy["permissions"] == []
    assert amy["deactivated_at"] is None
    assert "hash" not in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=amy", ["Amy Ames"]),
        ("q=AMES", ["Amy Ames"]),
        ("q=hana%40alpha", ["Hana HR"]),
        ("role=clinician", ["Amy Ames", "Bob Best"]),
        ("role=clinician&include_inactive=true", ["Amy Ames", "Bob Best", "Eve Gone"]),
        ("include_inactive=1", ["Amy Ames", "Bob Best", "Cal Cole", "Dee Dunn", "Eve Gone", "Hana HR"]),
        ("role=board&q=dee", ["Dee Dunn"]),
    ],
)
def test_people_filters(hr, roster, login_as, query, expected):
    assert names(login_as(hr).get(f"{PREFIX}/orgs/alpha/people?{query}")) == expected


def test_people_under_a_unit_include_its_whole_subtree(hr, roster, tree, login_as):
    client = login_as(hr)
    ward = roster["ward"].id
    assert names(client.get(f"{PREFIX}/orgs/alpha/people?unit_id={ward}")) == ["Bob Best", "Cal Cole"]
    assert len(names(client.get(f"{PREFIX}/orgs/alpha/people?unit_id={tree.department.id}"))) == 5


def test_people_come_a_page_at_a_time(hr, roster, login_as):
    client = login_as(hr)
    second = client.get(f"{PREFIX}/orgs/alpha/people?per_page=2&page=2")
    assert names(second) == ["Cal Cole", "Dee Dunn"]
    assert (second.json["total"], second.json["page"], second.json["per_page"]) == (5, 2, 2)
    assert names(client.get(f"{PREFIX}/orgs/alpha/people?per_page=2&page=3")) == ["Hana HR"]
    assert names(client.get(f"{PREFIX}/orgs/alpha/people?per_page=2&page=4")) == []
    # The document types page numbers as JSON Schema integers, which count 2.0 as 2 (schemathesis sends it).
    assert names(client.get(f"{PREFIX}/orgs/alpha/people?per_page=2.0&page=2.0")) == ["Cal Cole", "Dee Dunn"]
    assert client.get(f"{PREFIX}/orgs/alpha/people?page=2.5").status_code == 400


def test_admin_reads_one_person_with_permissions(make, tree, admin, login_as, document):
    m = make.person(tree, StakeholderRole.QUALITY_STAFF, name="Cora Coach", coach=True, faculty=True)
    resp = login_as(admin).get(f"{PREFIX}/orgs/alpha/people/{m.id}")
    assert resp.status_code == 200
    conforms(document, response_schema(document, "/orgs/{org}/people/{membership_id}"), resp.json)
    assert resp.json["id"] == m.id and resp.json["user_id"] == m.user_id
    assert resp.json["name"] == "Cora Coach"
    assert resp.json["permissions"] == ["coach", "faculty"]
    assert ISO_UTC.match(resp.json["created_at"])


def test_a_deactivated_person_shows_when_they_left(db, hr, roster, login_as):
    eve = roster["eve"]
    eve.deactivated_at = utcnow()
    db.commit()
    body = login_as(hr).get(f"{PREFIX}/orgs/alpha/people/{eve.id}").json
    assert body["active"] is False
    assert ISO_UTC.match(body["deactivated_at"])


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("people?page=abc", "page"),
        ("people?page=0", "page"),
        ("people?per_page=0", "per_page"),
        ("people?per_page=201", "per_page"),
        ("people?per_page=-5", "per_page"),
        ("people?role=surgeon", "role"),
        ("people?unit_id=ward", "unit_id"),
        ("people?include_inactive=maybe", "include_inactive"),
        ("units?include_archived=yes please", "include_archived"),
    ],
)
def test_bad_query_values_answer_400_naming_the_parameter(hr, login_as, path, param):
    resp = login_as(hr).get(f"{PREFIX}/orgs/alpha/{path}")
    assert resp.status_code == 400
    assert resp.json["status"] == 400
    assert list(resp.json["fields"]) == [param]
    assert param in resp.json["error"]


def test_a_unit_of_another_organisation_is_not_a_filter(hr, other_tree, login_as):
    resp = login_as(hr).get(f"{PREFIX}/orgs/alpha/people?unit_id={other_tree.unit.id}")
    assert resp.status_code == 400
    assert list(resp.json["fields"]) == ["unit_id"]
    assert "Beta" not in resp.get_data(as_text=True)


def test_errors_are_json_everywhere_under_the_api(client, make, tree, login_as):
    missing = client.get(f"{PREFIX}/nothing")
    assert missing.status_code == 404 and missing.is_json and missing.json["status"] == 404
    signed_in = login_as(make.person(tree))
    wrong_method = signed_in.post(f"{PREFIX}/me")
    assert wrong_method.status_code == 405 and wrong_method.json["status"] == 405
    assert "GET" in wrong_method.headers["Allow"]
    not_member = signed_in.get(f"{PREFIX}/orgs/nowhere/units")
    assert not_member.status_code == 404 and not_member.json["error"] == "No such organisation."


# --- the OpenAPI document -------------------------------------------------------------------------


def api_routes(app) -> list:
    return [r for r in app.url_map.iter_rules() if r.rule.startswith(f"{PREFIX}/")]


def openapi_path(rule) -> str:
    """/api/v1/orgs/<org>/units/<int:unit_id> -> /orgs/{org}/units/{unit_id}"""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix(PREFIX))


def test_the_document_is_public_json(client):
    resp = client.get(f"{PREFIX}/openapi.json")
    assert resp.status_code == 200 and resp.is_json
    assert resp.json["openapi"] == "3.1.0"


def test_every_api_route_is_documented_and_every_documented_path_exists(app, document):
    routes = [r for r in api_routes(app) if r.endpoint != "api.reference"]  # the document as a page
    assert all(r.endpoint.startswith("api.") for r in routes)
    served = {(openapi_path(r), method.lower()) for r in routes for method in r.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert served - documented == set(), "routes without @spec.validate in lms/web/api.py"
    assert documented - served == set(), "documented paths the app does not serve"
    assert len(served) >= 6


def test_documented_path_parameters_match_the_routes(app, document):
    for rule in api_routes(app):
        if rule.endpoint == "api.reference":
            continue
        for operation in document["paths"][openapi_path(rule)].values():
            params = [
                resolve(document, p["$ref"]) if "$ref" in p else p for p in operation.get("parameters", [])
            ]
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == set(rule.arguments), rule.rule
            assert all(p["required"] for p in params if p["in"] == "path")


def test_the_document_is_structurally_sound(document):
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["cookieAuth"]["in"] == "cookie" and schemes["cookieAuth"]["name"] == "lms_session"
    assert {"Error", "Me", "Unit", "Person", "PersonPage"} <= set(document["components"]["schemas"])
    refs: list[str] = []

    def collect(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert refs, "the document should share its schemas by $ref"
    for ref in refs:
        resolve(document, ref)
    for path, operations in document["paths"].items():
        assert path.startswith("/")
        for method, operation in operations.items():
            assert method in {"get", "put", "post", "patch", "delete"}
            assert operation["operationId"] and operation["responses"], path
            for status in operation["responses"]:
                if status != "200":
                    assert response_schema(document, path, status, method) == {
                        "$ref": "#/components/schemas/Error"
                    }, (path, status)
    operation_ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_every_protected_operation_documents_401_and_the_public_one_needs_no_auth(document):
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if path == "/openapi.json":
                assert operation["security"] == []
            else:
                assert "401" in operation["responses"], path


def test_error_answers_match_the_error_schema(client, hr, login_as, document):
    error = {"$ref": "#/components/schemas/Error"}
    conforms(document, error, client.get(f"{PREFIX}/me").json)
    conforms(document, error, login_as(hr).get(f"{PREFIX}/orgs/alpha/people?page=x").json)
    conforms(document, error, login_as(hr).get(f"{PREFIX}/orgs/alpha/people/999999").json)


def test_the_reference_page_lists_every_operation_without_scripts(client, document):
    page = client.get(f"{PREFIX}/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    for path, operations in document["paths"].items():
        for method in operations:
            assert f"{method.upper()} {path}" in text
    assert "<script" not in text.split("</header>", 1)[-1]
    assert 'id="schema-PersonPage"' in text
