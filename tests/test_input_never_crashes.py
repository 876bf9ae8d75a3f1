"""Input that never crashes: whatever a browser or an API caller sends, the answer is a 4xx saying what
to fix (or 404 for an id that cannot exist), never a 500, on SQLite and on PostgreSQL.

One test per kind of input that once answered 500, then a property-based walk of every route in the
app's URL map with odd digits, huge numbers, NUL, LIKE wildcards, long and empty strings.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import random
import re
import secrets
from dataclasses import dataclass
from html import unescape
from urllib.parse import quote, urlencode

import pytest
from conftest import csrf_token
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from learning_factory import LEVELS
from sqlalchemy import func, select
from werkzeug.routing import Rule
from wtforms import Form
from wtforms.fields.core import UnboundField

import lms.web
from curricula.stakeholders import StakeholderRole
from lms.models import CheckAttempt, Module, OrgUnit, Reflection
from lms.services import tokens
from lms.services.search import contains, escape_like
from lms.web import api, params, policy
from lms.web.api import PREFIX

PAST_POSTGRES = 2**31  # one past PostgreSQL's integer
PAST_SQLITE = 2**63  # one past SQLite's integer
TOO_BIG = [PAST_POSTGRES, PAST_SQLITE]

CHECKS = [
    (
        "aim",
        "Which question sets the aim?",
        [("Who?", False), ("What are we trying to accomplish?", True)],
        "",
    ),
]


@pytest.fixture
def mfi(lib):
    return lib.module("model-for-improvement", title="The Model for Improvement", checks=CHECKS)


@pytest.fixture
def hr(make, tree):
    return make.person(tree, StakeholderRole.QUALITY_STAFF, name="Hana HR", email="hana@alpha.test", hr=True)


@pytest.fixture
def admin(make, tree):
    return make.person(
        tree, StakeholderRole.EXECUTIVE, name="Ada Admin", email="ada@alpha.test", org_admin=True
    )


@pytest.fixture
def bearer(db, learner) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.create_token(db, learner.user, name='app')}"}


def text_of(resp) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))).split())


def error_for(resp, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', resp.get_data(as_text=True), re.S)
    return unescape(match.group(1)).strip() if match else ""


def post_form(client: FlaskClient, path: str, data: dict, *, token_from: str | None = None):
    return client.post(path, data={"csrf_token": csrf_token(client, token_from or path), **data})


# --- 1. a digit that int() refuses ---------------------------------------------------------------------


def test_a_digit_that_int_refuses_is_a_400_saying_what_to_send(db, mfi, learner, hr, lib, login_as):
    learner_client, hr_client = login_as(learner), login_as(hr)

    answered = post_form(
        learner_client, "/modules/model-for-improvement/checks/aim", {"chosen": "²"}, token_from="/learning"
    )
    assert answered.status_code == 400
    assert error_for(answered, "check-aim") == "Choose from the options given."
    assert db.scalar(select(func.count()).select_from(CheckAttempt)) == 0

    for name in ("page", "per_page", "unit_id"):
        listed = hr_client.get(f"{PREFIX}/orgs/alpha/people", query_string={name: "²"})
        assert listed.status_code == 400 and listed.is_json
        assert listed.json["fields"] == {name: [f"{name} must be a whole number of 1 or more."]}

    for typed in ("²", "9" * 5000):
        saved = post_form(
            hr_client,
            "/o/alpha/admin/dosing/clinician",
            {"require_awareness": "y", "days_awareness": typed},
            token_from="/o/alpha/admin/dosing",
        )
        assert saved.status_code == 400
        assert "Enter a whole number of days from 1 to 730." in text_of(saved)


# --- 2. ids and numbers past what the databases hold ----------------------------------------------------


@pytest.mark.parametrize("number", TOO_BIG)
def test_an_id_past_the_databases_in_a_path_is_a_404(tree, admin, learner, login_as, number):
    client = login_as(admin)
    for path in (f"/o/alpha/admin/units/{number}", f"/o/alpha/admin/people/{number}"):
        assert client.get(path).status_code == 404
    renamed = post_form(
        client, f"/o/alpha/admin/units/{number}/rename", {"name": "Ward 9"}, token_from="/o/alpha/admin/units"
    )
    assert renamed.status_code == 404
    for path in (f"{PREFIX}/orgs/alpha/units/{number}", f"{PREFIX}/orgs/alpha/people/{number}"):
        found = client.get(path)
        assert found.status_code == 404 and found.is_json and found.json["status"] == 404
    assert client.get(f"/o/alpha/admin/units/{tree.unit.id}").status_code == 200


@pytest.mark.parametrize("number", TOO_BIG)
def test_an_id_or_page_past_the_databases_in_a_query_is_a_400_naming_it(tree, admin, login_as, number):
    client = login_as(admin)

    older = client.get("/o/alpha/admin/audit", query_string={"before": number})
    assert older.status_code == 400
    assert f"before must be at most {params.ID_MAX}." in text_of(older)

    paged = client.get("/o/alpha/admin/people", query_string={"page": number})
    assert paged.status_code == 400
    assert f"page must be at most {params.ID_MAX}." in text_of(paged)

    filtered = client.get("/o/alpha/admin/people", query_string={"unit": number})
    assert filtered.status_code == 400
    assert error_for(filtered, "unit") == "Choose a unit from the list."

    for name, most in (("unit_id", params.ID_MAX), ("page", params.ID_MAX), ("per_page", 200)):
        listed = client.get(f"{PREFIX}/orgs/alpha/people", query_string={name: number})
        assert listed.status_code == 400 and listed.is_json
        assert listed.json["fields"] == {name: [f"{name} must be at most {most}."]}


@pytest.mark.parametrize("number", TOO_BIG)
def test_an_id_past_the_databases_in_a_form_is_a_400_next_to_the_field(db, tree, admin, login_as, number):
    client = login_as(admin)
    units = "/o/alpha/admin/units"

    added = post_form(client, units, {"parent_id": number, "name": "Ward 9"})
    assert added.status_code == 400 and error_for(added, "parent_id") == "Choose a unit from the list."

    moved = post_form(
        client, f"{units}/{tree.unit.id}/move", {"parent_id": number}, token_from=f"{units}/{tree.unit.id}"
    )
    assert moved.status_code == 400 and error_for(moved, "parent_id") == "Choose a unit from the list."

    person = {"email": "new@alpha.test", "name": "New Person", "stakeholder_role": "clinician"}
    created = post_form(client, "/o/alpha/admin/people/new", {**person, "unit_id": number})
    assert created.status_code == 400 and error_for(created, "unit_id") == "Choose a unit from the list."

    assert db.scalar(select(func.count()).select_from(OrgUnit)) == 4


# --- 3. JSON nested too deeply ---------------------------------------------------------------------------


def test_json_nested_100000_deep_is_a_400_in_json(db, mfi, client, bearer):
    deep = "[" * 100_000 + "]" * 100_000
    answer = f"{PREFIX}/modules/model-for-improvement/checks/aim/answer"
    for body in (deep, '{"chosen": ' + deep + "}"):
        resp = client.post(answer, data=body, content_type="application/json", headers=bearer)
        assert resp.status_code == 400 and resp.is_json
        assert resp.json["error"] == params.TOO_DEEP
    reflection = f"{PREFIX}/modules/model-for-improvement/reflections/what-matters"
    resp = client.put(
        reflection, data='{"text": ' + deep + "}", content_type="application/json", headers=bearer
    )
    assert resp.status_code == 400 and resp.json["error"] == params.TOO_DEEP
    assert db.scalar(select(func.count()).select_from(CheckAttempt)) == 0


# --- 4. the NUL character ----------------------------------------------------------------------------------


def test_a_nul_anywhere_is_a_400_naming_where_before_any_database_work(
    db, mfi, learner, hr, client, bearer, login_as
):
    signed_in = post_form(client, "/sign-in", {"email": "lena\x00@alpha.test", "password": "x"})
    assert signed_in.status_code == 400
    assert "Remove the invisible NUL character from email." in text_of(signed_in)

    reset = post_form(client, "/reset", {"email": "lena@alpha.test\x00"})
    assert reset.status_code == 400
    assert "Remove the invisible NUL character from email." in text_of(reset)

    learner_client = login_as(learner)
    searched = learner_client.get("/catalogue", query_string={"q": "run\x00charts"})
    assert searched.status_code == 400
    assert "Remove the invisible NUL character from q." in text_of(searched)

    module = learner_client.get("/modules/model-for-improvement%00")
    assert module.status_code == 400
    assert "Remove the invisible NUL character from slug." in text_of(module)

    reflected = post_form(
        learner_client,
        "/modules/model-for-improvement/reflections/what-matters",
        {"text": "Being heard\x00"},
        token_from="/learning",
    )
    assert reflected.status_code == 400
    assert "Remove the invisible NUL character from text." in text_of(reflected)

    people = login_as(hr).get(f"{PREFIX}/orgs/alpha/people", query_string={"q": "\x00"})
    assert people.status_code == 400
    assert people.json["fields"] == {"q": ["Remove the invisible NUL character from q."]}

    url = f"{PREFIX}/modules/model-for-improvement/reflections/what-matters"
    saved = client.put(url, json={"text": "Being heard\x00"}, headers=bearer)
    assert saved.status_code == 400 and saved.is_json
    assert saved.json["fields"] == {"text": ["Remove the invisible NUL character from text."]}
    unpaired = client.put(url, data='{"text": "\\ud800"}', content_type="application/json", headers=bearer)
    assert unpaired.status_code == 400 and list(unpaired.json["fields"]) == ["text"]

    assert db.scalar(select(func.count()).select_from(Reflection)) == 0


# --- 5. LIKE wildcards in search terms ------------------------------------------------------------------


def test_search_terms_find_percent_and_underscore_literally(db, lib, learner, login_as):
    lib.module("step-by-step", title="Step_by_step change")
    lib.module("step-x", title="Stepxbyxstep change")
    lib.module("reliable", title="100% reliable care")
    lib.module("reliable-too", title="1000 reliable patients")

    assert escape_like("50%_\\") == "50\\%\\_\\\\"
    assert db.scalars(select(Module.slug).where(contains(Module.search_text, "p_b"))).all() == [
        "step-by-step"
    ]
    assert db.scalars(select(Module.slug).where(contains(Module.search_text, "0%"))).all() == ["reliable"]
    assert db.scalars(select(Module.slug).where(contains(Module.search_text, "\\"))).all() == []

    client = login_as(learner)
    page = client.get("/catalogue", query_string={"q": "_"}).get_data(as_text=True)
    assert 'href="/modules/step-by-step"' in page and 'href="/modules/step-x"' not in page
    found = client.get(f"{PREFIX}/modules", query_string={"q": "%"}).json["items"]
    assert [m["slug"] for m in found] == ["reliable"]


# --- every route, any input: never a 5xx -----------------------------------------------------------------
#
# Each route of the URL map (so a new route is walked without editing this test) is sent one hostile value
# in each of its path parameters in turn (the others real), then real path parameters with the value in
# one of the query parameters the route reads and, for writes, one of the fields of its form (or JSON
# body). What a route reads comes from its view's source (the forms it builds, the query parameters it
# names) and, for the API, from the OpenAPI document; a view where nothing is found is sent them all.


def _document(app: Flask) -> dict:
    """The generated OpenAPI document (spectree reads the routes of the app in context)."""
    with app.app_context():
        return api.document(cookie_name="session")


def _forms_of(module_names: list[str]) -> dict[str, type[Form]]:
    """Every WTForms form class the web layer defines, by class name."""
    found: dict[str, type[Form]] = {}
    for name in module_names:
        for value in vars(importlib.import_module(f"lms.web.{name}")).values():
            if isinstance(value, type) and issubclass(value, Form) and value.__module__.startswith("lms."):
                found[value.__name__] = value
    return found


FORMS = _forms_of([info.name for info in pkgutil.iter_modules(lms.web.__path__)])


def _field_names(form: type[Form]) -> set[str]:
    names = {name for name in dir(form) if isinstance(getattr(form, name, None), UnboundField)}
    if form is policy.RolePolicyForm:  # its fields are made per content release, a pair per dose level
        names |= {f"{kind}_{policy._name(level)}" for level in LEVELS for kind in ("require", "days")}
    return names


def _view_source(app: Flask, endpoint: str) -> str:
    try:
        return inspect.getsource(inspect.unwrap(app.view_functions[endpoint]))
    except (OSError, TypeError):
        return ""


_QUERY_READS = (
    r"request\.args\.get\(\s*\"(\w+)\"",  # request.args.get("next")
    r"params\.arg_\w+\(\s*\"(\w+)\"",  # params.arg_id("before"), params.arg_number("page", ...)
)


def _api_operation(app: Flask, rule: Rule, method: str) -> dict:
    path = re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule.rule.removeprefix(PREFIX))
    return _document(app)["paths"].get(path, {}).get(method.lower(), {})


def query_names(app: Flask, rule: Rule, method: str) -> list[str]:
    if rule.rule.startswith(PREFIX):
        parameters = _api_operation(app, rule, method).get("parameters", [])
        return sorted(p["name"] for p in parameters if p.get("in") == "query")
    source = _view_source(app, rule.endpoint)
    names = {name for pattern in _QUERY_READS for name in re.findall(pattern, source)}
    for form in FORMS.values():
        if not issubclass(form, FlaskForm) and re.search(rf"\b{form.__name__}\(request\.args", source):
            names |= _field_names(form)
    return sorted(names)


def _properties(document: dict, schema: dict) -> set[str]:
    """The fields a body schema names, through $refs and the variants of a body of several kinds."""
    if "$ref" in schema:
        return _properties(document, document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    names = set(schema.get("properties", {}))
    for variant in [*schema.get("oneOf", []), *schema.get("anyOf", [])]:
        names |= _properties(document, variant)
    return names


def form_names(app: Flask, rule: Rule, method: str) -> list[str]:
    if rule.rule.startswith(PREFIX):
        document = _document(app)
        body = _api_operation(app, rule, method).get("requestBody", {}).get("content", {})
        schemas = [content["schema"] for content in body.values()]
        return sorted({name for schema in schemas for name in _properties(document, schema)})
    source = _view_source(app, rule.endpoint)
    names = set()
    for form in FORMS.values():
        if issubclass(form, FlaskForm) and re.search(rf"\b{form.__name__}\b", source):
            names |= _field_names(form)
    return sorted(names or set().union(*(_field_names(f) for f in FORMS.values())))


# What once answered 500, or might: digits int() refuses, numbers past both databases, NUL, LIKE's
# wildcards, long, empty and blank text. Each is an explicit example; Hypothesis adds more.
HOSTILE = [
    "²",
    "٣",
    "-1",
    "0",
    str(PAST_POSTGRES),
    str(PAST_SQLITE),
    "9" * 5000,
    "\x00",
    "%_",
    "",
    " ",
    "x" * 10_000,
]
hostile = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(st.characters(codec="utf-8"), max_size=12),
)
DEEP = "[" * 100_000 + "]" * 100_000


@dataclass
class World:
    """Real values for path parameters, by name, so that requests reach the views past their lookups."""

    real: dict[str, str]
    people: dict[str, object]

    def value(self, name: str) -> str:
        return self.real.get(name, "1")


@pytest.fixture
def world(db, make, tree, lib, learner, hr, admin) -> World:
    lib.module("model-for-improvement", checks=CHECKS)
    real = {
        "org": "alpha",
        "unit_id": str(tree.unit.id),
        "membership_id": str(learner.id),
        "slug": "model-for-improvement",
        "key": "aim",
        "role": StakeholderRole.CLINICIAN.value,
        "filename": "css/app.css",
    }
    return World(real=real, people={"learner": learner, "hr": hr, "org_admin": admin})


def _url(rule: Rule, values: dict[str, str], query: dict[str, str] | None = None) -> str:
    path = re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", lambda m: quote(values[m.group(1)], safe=""), rule.rule)
    return f"{path}?{urlencode(query)}" if query else path


def _csrf(app: Flask, client: FlaskClient) -> str:
    """A valid CSRF token for the client's session, made the way Flask-WTF makes one (no page needed)."""
    raw = secrets.token_hex(20)
    with client.session_transaction() as session:
        session["csrf_token"] = raw
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


@dataclass(frozen=True)
class Route:
    rule: Rule
    method: str
    query: list[str]
    fields: list[str]

    @property
    def writes(self) -> bool:
        return self.method not in {"GET", "HEAD", "OPTIONS"}

    @property
    def json(self) -> bool:
        return self.rule.rule.startswith(PREFIX)


def routes(app: Flask) -> list[Route]:
    return [
        Route(rule, method, query_names(app, rule, method), form_names(app, rule, method))
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def requests_for(route: Route, value: str, world: World, token: str, pick: random.Random):
    """(url, keyword arguments of client.open) for each request sent to one route."""
    real = {name: world.value(name) for name in route.rule.arguments}
    for name in sorted(route.rule.arguments):
        yield _url(route.rule, real | {name: value}), _body(route, {}, token)
    query = {pick.choice(route.query): value} if route.query else {}
    fields = {pick.choice(route.fields): value} if route.fields else {}
    yield _url(route.rule, real, query), _body(route, fields, token, pick=pick)


def _body(route: Route, fields: dict[str, str], token: str, pick: random.Random | None = None) -> dict:
    kwargs: dict = {"method": route.method, "headers": {"X-CSRFToken": token}}
    if not route.writes:
        return kwargs
    if not route.json:
        return kwargs | {"data": {"csrf_token": token, **fields}}
    body = json.dumps(fields)
    if pick is not None and pick.random() < 0.2:
        body = pick.choice([DEEP, '{"' + next(iter(fields), "text") + '": ' + DEEP + "}", "{", ""])
    return kwargs | {"data": body, "content_type": "application/json"}


def _explicit(test):
    for number, value in enumerate(HOSTILE):
        test = example(value=value, seed=number)(test)
    return test


@pytest.mark.parametrize("who", ["anonymous", "learner", "hr", "org_admin"])
def test_no_route_answers_5xx_whatever_it_is_sent(app, world, login_as, who):
    walk = routes(app)

    @settings(
        max_examples=6,  # generated values, after the explicit examples (one per HOSTILE value)
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # reported as found: shrinking hundreds of requests is slow
        suppress_health_check=list(HealthCheck),
    )
    @given(value=hostile, seed=st.integers(min_value=0, max_value=2**16))
    @_explicit
    def every_route(value: str, seed: int) -> None:
        client = app.test_client() if who == "anonymous" else login_as(world.people[who])
        token = _csrf(app, client)
        pick = random.Random(seed)  # which query parameter and field get the value: reproducible
        crashed = []
        for route in walk:
            for url, kwargs in requests_for(route, value, world, token, pick):
                sent = f"{route.method} {url[:200]} {kwargs.get('data')!r:.200}"
                try:
                    status = client.open(url, **kwargs).status_code
                except Exception as exc:  # TESTING propagates what would be a 500
                    crashed.append(f"{sent} raised {exc!r:.300}")
                else:
                    if status >= 500:
                        crashed.append(f"{sent} answered {status}")
        assert not crashed, "\n".join(crashed)

    every_route()


def test_the_walk_reads_what_the_views_read(app):
    """What the walk derives from the views and the OpenAPI document: if a view reads its input in a
    new way, teach `query_names` or `form_names` to see it, or the walk stops sending that input."""
    by_endpoint = {(r.rule.endpoint, r.method): r for r in routes(app)}
    assert set(by_endpoint["admin.people", "GET"].query) >= {"q", "role", "unit", "inactive", "page"}
    assert set(by_endpoint["admin.audit", "GET"].query) == {"before", "person", "action", "since", "until"}
    assert set(by_endpoint["learning.catalogue", "GET"].query) >= {"q", "curriculum", "dose"}
    assert set(by_endpoint["api.list_people", "GET"].query) >= {"unit_id", "page", "per_page"}
    assert by_endpoint["admin.units", "POST"].fields == ["file", "name", "parent_id"]
    assert "unit_id" in by_endpoint["admin.person_edit", "POST"].fields
    assert by_endpoint["learning.answer", "POST"].fields == ["chosen"]
    assert "days_awareness" in by_endpoint["policy.save", "POST"].fields
    assert by_endpoint["api.save_reflection", "PUT"].fields == ["text"]
    assert by_endpoint["api.answer_check", "POST"].fields == ["chosen"]
