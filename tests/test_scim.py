"""SCIM 2.0 at /scim/v2: an organisation's identity provider keeps its roster in step, as Microsoft Entra ID
and Okta actually send it (their recorded requests, tests/fixtures/scim, are replayed), within the rules
every other way of changing people keeps: an account is its person's, nobody manages someone who holds
more, a leaver keeps their history, every change is audited and dose assignment follows at once."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from scim_factory import Scim, token_for
from sqlalchemy import select
from test_content_sync import corpus, module

from curricula.stakeholders import StakeholderRole
from lms.models import (
    Assignment,
    AuditEvent,
    Invitation,
    Membership,
    OutboxMessage,
    ScimRecord,
    UnitKind,
    User,
)
from lms.services import content as publishing

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
def hr(make, tree) -> Membership:
    return make.person(tree, StakeholderRole.QUALITY_STAFF, name="Hana HR", email="hana@alpha.test", hr=True)


@pytest.fixture
def units(db, make, tree):
    """Ward 4B is coded 4W; 5 East (5E) sits beside it."""
    tree.unit.code = "4W"
    db.commit()
    east = make.unit(tree.org, "5 East", UnitKind.UNIT, tree.department)
    east.code = "5E"
    db.commit()
    return {"4W": tree.unit, "5E": east}


@pytest.fixture
def scim(db, client, hr) -> Scim:
    return Scim(client, token_for(db, hr))


@pytest.fixture
def library(db):
    """Published modules for clinicians and unit leaders, so dose assignment has something to assign."""
    publishing.sync(
        db,
        corpus(
            module("model-for-improvement"),
            module("leading-huddles", dose="foundational"),
            policy={"clinician": {"awareness": 30}, "unit-leader": {"awareness": 30, "foundational": 60}},
        ),
    )
    db.commit()


def membership_of(db, email: str, tree) -> Membership:
    db.expire_all()
    return db.scalar(
        select(Membership).join(User).where(User.email == email, Membership.org_id == tree.org.id)
    )


def open_modules(db, membership: Membership) -> set[str]:
    db.expire_all()
    found = db.scalars(
        select(Assignment).where(Assignment.membership_id == membership.id, Assignment.cancelled_at.is_(None))
    )
    return {a.module.slug for a in found}


def actions(db, membership: Membership) -> list[str]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target_type == "membership", AuditEvent.target_id == membership.id)
            .order_by(AuditEvent.id)
        )
    )


# --- Microsoft Entra ID -------------------------------------------------------------------------------


def test_entra_provisions_a_person_who_holds_their_dose_assignments_at_once(db, scim, tree, units, library):
    assert scim.replay("entra/connection_test").json["totalResults"] == 0

    created = scim.replay("entra/create_user")

    assert created.status_code == 201, created.json
    assert created.headers["Content-Type"].startswith("application/scim+json")
    assert created.headers["Location"].endswith(f"/scim/v2/Users/{created.json['id']}")
    person = membership_of(db, "marta.kowalski@riverbend.example", tree)
    assert person.user.name == "Marta Kowalski"
    assert (person.employee_id, person.job_code, person.unit_id) == ("100234", "RN-ICU-3", units["4W"].id)
    assert person.stakeholder_role is StakeholderRole.CLINICIAN
    assert open_modules(db, person) == {"model-for-improvement"}
    assert actions(db, person) == ["person.added"]
    # What the provider sent reads back as sent (its phone numbers are not kept: nothing here uses them).
    user = scim.send("GET", f"/Users/{created.json['id']}").json
    assert user["userName"] == "Marta.Kowalski@riverbend.example"
    assert user["externalId"] == "mkowalski"
    assert user["name"] == {"formatted": "Marta Kowalski", "familyName": "Kowalski", "givenName": "Marta"}
    assert "phoneNumbers" not in user
    # The job code no role is mapped to is reported, not guessed.
    record = db.scalar(select(ScimRecord).where(ScimRecord.membership_id == person.id))
    assert any("RN-ICU-3" in problem for problem in record.problems)


@pytest.mark.parametrize(
    "lookup",
    ["entra/find_by_user_name", "entra/find_by_external_id_and_user_name", "entra/find_by_work_email"],
)
def test_entra_finds_the_person_by_each_of_its_matching_filters(scim, units, lookup):
    created = scim.replay("entra/create_user").json

    found = scim.replay(lookup)

    assert found.status_code == 200, found.json
    assert found.json["totalResults"] == 1
    assert [u["id"] for u in found.json["Resources"]] == [created["id"]]


def test_entra_capitalised_operations_change_role_unit_and_name_and_assign_the_new_dose(
    db, scim, tree, units, library
):
    created = scim.replay("entra/create_user").json

    patched = scim.replay("entra/update_attributes", id=created["id"])

    assert patched.status_code == 200, patched.json
    person = membership_of(db, "marta.kowalski@riverbend.example", tree)
    assert person.stakeholder_role is StakeholderRole.UNIT_LEADER  # the job code names a role
    assert person.unit_id == units["5E"].id
    assert person.user.name == "Marta Kowalska"  # nobody has taken the account: the organisation may
    assert open_modules(db, person) == {"model-for-improvement", "leading-huddles"}
    assert "person.role_changed" in actions(db, person)
    assert patched.json["title"] == "unit-leader"


def test_entra_disables_with_the_string_false_and_history_stays(db, scim, tree, units, library):
    created = scim.replay("entra/create_user").json
    person = membership_of(db, "marta.kowalski@riverbend.example", tree)

    disabled = scim.replay("entra/disable_user", id=created["id"])

    assert disabled.status_code == 200, disabled.json
    assert disabled.json["active"] is False
    person = membership_of(db, "marta.kowalski@riverbend.example", tree)
    assert not person.active and person.deactivated_at is not None
    assert open_modules(db, person) == set()  # open dose assignments cancelled, the rows kept
    assert db.scalar(select(Assignment.id).where(Assignment.membership_id == person.id)) is not None
    assert actions(db, person)[-1] == "person.deactivated"

    enabled = scim.replay("entra/enable_user", id=created["id"])

    assert enabled.json["active"] is True
    assert membership_of(db, "marta.kowalski@riverbend.example", tree).active
    assert open_modules(db, person) == {"model-for-improvement"}


def test_a_person_who_has_signed_in_keeps_their_own_email_and_name(db, scim, tree, units):
    created = scim.replay("entra/create_user").json
    person = membership_of(db, "marta.kowalski@riverbend.example", tree)
    person.user.password_hash = "chosen by Marta"
    db.commit()

    answer = scim.replay("entra/change_work_email", id=created["id"])

    assert answer.status_code == 200, answer.json
    account = membership_of(db, "marta.kowalski@riverbend.example", tree).user
    assert account.email == "marta.kowalski@riverbend.example"
    record = db.scalar(select(ScimRecord).where(ScimRecord.membership_id == person.id))
    assert record.email == "marta.kowalska@riverbend.example"
    assert any("its person's" in problem for problem in record.problems)


# --- Okta -----------------------------------------------------------------------------------------------


def test_okta_probes_with_a_small_page(scim, make, tree):
    for _ in range(3):
        make.person(tree)

    probe = scim.replay("okta/connection_test")

    assert probe.status_code == 200
    assert probe.json["startIndex"] == 1
    assert probe.json["itemsPerPage"] == 2 and len(probe.json["Resources"]) == 2
    assert probe.json["totalResults"] == 4  # the three and HR


def test_okta_replaces_the_whole_record_without_active_and_nobody_is_suspended(db, scim, tree):
    assert scim.replay("okta/find_by_user_name").json["totalResults"] == 0
    created = scim.replay("okta/create_user").json
    assert scim.replay("okta/find_by_user_name").json["totalResults"] == 1

    replaced = scim.replay("okta/replace_profile", id=created["id"])

    assert replaced.status_code == 200, replaced.json
    person = membership_of(db, "dev.patel@lakeside.example", tree)
    assert person.active
    assert person.user.name == "Devendra Patel"
    assert person.stakeholder_role is StakeholderRole.QUALITY_STAFF
    assert person.employee_id == "00u1a2b3c4d5e6f7g8h9"  # externalId, with no employeeNumber sent

    deactivated = scim.replay("okta/deactivate", id=created["id"])

    assert deactivated.json["active"] is False
    assert not membership_of(db, "dev.patel@lakeside.example", tree).active


# --- identity, access, history ----------------------------------------------------------------------


def test_an_email_known_in_another_organisation_invites_its_person(db, scim, make, tree, other_tree):
    elsewhere = make.person(other_tree, email="sam@beta.example", name="Sam Own Name")

    answer = scim.send(
        "POST",
        "/Users",
        body={
            "userName": "sam@beta.example",
            "name": {"formatted": "Samuel Renamed"},
            "emails": [{"value": "sam@beta.example"}],
        },
    )

    assert answer.status_code == 201, answer.json
    assert answer.json["id"].startswith("invited-") and answer.json["active"] is False
    db.expire_all()
    assert db.get(User, elsewhere.user_id).name == "Sam Own Name"
    assert membership_of(db, "sam@beta.example", tree) is None
    invitation = db.scalar(select(Invitation).where(Invitation.org_id == tree.org.id))
    assert invitation.email == "sam@beta.example" and invitation.open
    assert db.scalar(select(OutboxMessage.id).where(OutboxMessage.to_addr == "sam@beta.example")) is not None
    assert scim.send("GET", f"/Users/{answer.json['id']}").json["userName"] == "sam@beta.example"


def test_an_account_in_two_organisations_is_not_renamed_by_one(db, scim, make, tree, other_tree):
    shared = make.person(other_tree, email="faculty@beta.test", name="Fay Faculty", password=None)
    make.person(tree, email="faculty@beta.test")

    listed = scim.send("GET", "/Users", query={"filter": 'userName eq "FACULTY@beta.test"'}).json
    answer = scim.send(
        "PATCH",
        f"/Users/{listed['Resources'][0]['id']}",
        body={
            "Operations": [
                {"op": "replace", "value": {"displayName": "Renamed", "name": {"formatted": "Renamed"}}}
            ]
        },
    )

    assert answer.status_code == 200, answer.json
    db.expire_all()
    assert db.get(User, shared.user_id).name == "Fay Faculty"


def test_a_token_never_manages_someone_who_holds_more_than_its_creator(db, scim, make, tree):
    admin = make.person(tree, email="admin@alpha.test", org_admin=True)

    answer = scim.send(
        "PATCH",
        f"/Users/{admin.id}",
        body={"Operations": [{"op": "replace", "path": "active", "value": False}]},
    )

    assert answer.status_code == 403
    assert answer.json["schemas"] == [ERROR]
    assert membership_of(db, "admin@alpha.test", tree).active


def test_delete_deactivates_keeps_history_and_a_new_create_brings_the_same_person_back(db, scim, tree):
    created = scim.replay("okta/create_user").json
    person = membership_of(db, "dev.patel@lakeside.example", tree)

    assert scim.send("DELETE", f"/Users/{created['id']}").status_code == 204

    assert scim.send("GET", f"/Users/{created['id']}").status_code == 404
    assert scim.replay("okta/find_by_user_name").json["totalResults"] == 0
    gone = membership_of(db, "dev.patel@lakeside.example", tree)
    assert gone.id == person.id and not gone.active

    again = scim.replay("okta/create_user")

    assert again.status_code == 201 and again.json["id"] == created["id"]
    assert membership_of(db, "dev.patel@lakeside.example", tree).active
    assert actions(db, person) == ["person.added", "person.deactivated", "person.reactivated"]


def test_another_organisations_people_are_not_found(db, scim, make, other_tree):
    stranger = make.person(other_tree)

    assert scim.send("GET", f"/Users/{stranger.id}").status_code == 404
    assert scim.send("PUT", f"/Users/{stranger.id}", body={"userName": "x@alpha.test"}).status_code == 404
    assert scim.send("GET", "/Users").json["totalResults"] == 1  # HR alone


# --- tokens -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "scim_not-a-token", "lms_personal-token"])
def test_without_a_live_token_nothing_is_answered(client, token):
    answer = Scim(client, token).send("GET", "/Users")

    assert answer.status_code == 401
    assert answer.json["schemas"] == [ERROR]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_browser_is_not_a_scim_client(hr, login_as):
    browser = login_as(hr)

    assert browser.get("/scim/v2/Users").status_code == 401
    assert browser.post("/scim/v2/Users", json={"userName": "a@alpha.test"}).status_code == 401


def test_a_token_stops_when_its_creator_loses_hr(db, scim, hr):
    hr.is_hr = False
    db.commit()

    answer = scim.send("GET", "/Users")

    assert answer.status_code == 403
    assert answer.json["detail"]


def test_the_token_is_stored_as_a_digest(db, scim):
    from lms.models import ScimToken

    assert scim.token.startswith("scim_")
    assert db.scalar(select(ScimToken.token_hash)) != scim.token


# --- errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "query", "status", "scim_type"),
    [
        ("GET", "/Users", None, {"filter": "userName eq"}, 400, "invalidFilter"),
        ("GET", "/Users", None, {"filter": 'nickName eq "x"'}, 400, "invalidFilter"),
        ("GET", "/Users", None, {"startIndex": "two"}, 400, "invalidValue"),
        ("POST", "/Users", {"userName": "no address here"}, None, 400, "invalidValue"),
        (
            "POST",
            "/Users",
            {"userName": "hana@alpha.test", "emails": [{"value": "hana@alpha.test"}]},
            None,
            409,
            "uniqueness",
        ),
        ("PATCH", "/Users/1", {"Operations": [{"op": "merge", "path": "title"}]}, None, 400, "invalidValue"),
        ("GET", "/Users/999999", None, None, 404, None),
        ("GET", "/Elsewhere", None, None, 404, None),
        ("POST", "/Groups", {"displayName": "New unit"}, None, 403, "mutability"),
    ],
)
def test_every_refusal_is_a_scim_error(scim, hr, method, path, body, query, status, scim_type):
    path = path.replace("/Users/1", f"/Users/{hr.id}")

    answer = scim.send(method, path, body=body, query=query)

    assert answer.status_code == status, answer.json
    assert answer.json["schemas"] == [ERROR]
    assert answer.json["status"] == str(status)
    assert answer.json.get("scimType") == scim_type
    assert answer.json["detail"]


def test_a_body_that_is_not_json_and_a_nul_character_are_scim_errors(scim):
    assert scim.send("POST", "/Users", raw=b"{not json").json["schemas"] == [ERROR]
    nul = scim.send("POST", "/Users", body={"userName": "a\u0000@alpha.test"})
    assert nul.status_code == 400 and nul.json["schemas"] == [ERROR]


def test_discovery_documents_answer_only_get(scim):
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        assert scim.send("GET", path).status_code == 200
        assert scim.send("POST", path, body={}).status_code == 405
    config = scim.send("GET", "/ServiceProviderConfig").json
    assert config["patch"]["supported"] is True and config["bulk"]["supported"] is False


def test_units_are_read_only_groups(scim, tree, units):
    found = scim.send("GET", "/Groups", query={"filter": 'externalId eq "5E"'}).json

    assert [g["displayName"] for g in found["Resources"]] == ["5 East"]
    assert scim.send("DELETE", f"/Groups/{units['5E'].id}").status_code == 403


def test_scim_is_not_in_the_api_document(client):
    document = client.get("/api/v1/openapi.json").json
    assert not [path for path in document["paths"] if "scim" in path.lower()]


# --- no input answers 500 ---------------------------------------------------------------------------------

KEYS = [
    "schemas",
    "userName",
    "emails",
    "name",
    "active",
    "title",
    "externalId",
    "displayName",
    "value",
    "type",
    "primary",
    "givenName",
    "Operations",
    "op",
    "path",
    "id",
    "meta",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "employeeNumber",
    "department",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "False",
            "True",
            "Replace",
            "add",
            "remove",
            "a@alpha.example",
            'emails[type eq "work"].value',
            "title",
            "active",
            "userName",
            "x" * 300,
            "urn:ietf:params:scim:api:messages:2.0:PatchOp",
        ]
    ),
)
ODD_JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=12,
)


def test_no_json_a_provider_could_send_answers_500(app, db, hr, scim):
    from hypothesis import HealthCheck, given, settings

    target = f"/Users/{hr.id}"

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=ODD_JSON, method=st.sampled_from(["POST", "PUT", "PATCH"]))
    def odd(body, method):
        answer = scim.send(method, "/Users" if method == "POST" else target, body=body)
        assert answer.status_code < 500, (method, body, answer.json)
        if answer.status_code >= 400:
            assert answer.json["schemas"] == [ERROR]

    odd()


def test_an_invitation_follows_the_provider_and_then_the_person_who_accepts_it(
    db, scim, make, tree, other_tree
):
    from lms.services import invitations

    elsewhere = make.person(other_tree, email="ida@beta.example", name="Ida Own Name")
    invited = scim.send(
        "POST",
        "/Users",
        body={
            "userName": "ida@beta.example",
            "externalId": "ida-7",
            "emails": [{"value": "ida@beta.example"}],
        },
    ).json

    patched = scim.send(
        "PATCH",
        f"/Users/{invited['id']}",
        body={"Operations": [{"op": "Add", "path": "title", "value": "executive"}]},
    )

    assert patched.status_code == 200, patched.json
    invitation = db.scalar(select(Invitation).where(Invitation.org_id == tree.org.id))
    db.refresh(invitation)
    assert invitation.job_code == "executive" and invitation.stakeholder_role is StakeholderRole.EXECUTIVE
    assert (
        db.scalar(
            select(AuditEvent.action)
            .where(AuditEvent.target_type == "invitation")
            .order_by(AuditEvent.id.desc())
        )
        == "invitation.updated"
    )

    joined = invitations.accept(db, db.get(User, elsewhere.user_id), invitation.id)
    db.commit()

    followed = scim.send("GET", f"/Users/{invited['id']}").json
    assert followed["id"] == str(joined.id) and followed["active"] is True
    found = scim.send("GET", "/Users", query={"filter": 'externalId eq "ida-7"'}).json
    assert [u["id"] for u in found["Resources"]] == [str(joined.id)]
    assert db.get(User, elsewhere.user_id).name == "Ida Own Name"


FILTER_WORDS = st.sampled_from(
    [
        "userName",
        "emails",
        "emails.value",
        "externalId",
        "id",
        "active",
        "title",
        "eq",
        "ne",
        "co",
        "sw",
        "pr",
        "gt",
        "and",
        "or",
        "not",
        "(",
        ")",
        "[",
        "]",
        '"x"',
        "true",
        "null",
        "12",
        'type eq "work"',
        ".value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "meta.created",
        "\\",
        '"',
    ]
)


def test_no_filter_answers_500(app, db, scim):
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=80,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(words=st.lists(FILTER_WORDS | st.text(max_size=6), max_size=8), count=st.text(max_size=4))
    def odd(words, count):
        answer = scim.send(
            "GET", "/Users", query={"filter": " ".join(words), "count": count, "startIndex": count}
        )
        assert answer.status_code < 500, (words, count, answer.json)
        if answer.status_code >= 400:
            assert answer.json["schemas"] == [ERROR]

    odd()
