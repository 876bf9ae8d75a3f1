"""A hospital's own organisation: `lms org create` and `lms org list`, platform operators (`lms user
operator`) and their Organisations page, and what archiving an organisation does to its members."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, csrf_token
from sqlalchemy import func, select

from curricula.stakeholders import StakeholderRole
from lms.cli import main
from lms.models import (
    AuditEvent,
    Invitation,
    Membership,
    Organization,
    OrgUnit,
    OutboxMessage,
    UnitKind,
    User,
)
from lms.services import Invalid, NotFound, platform

ADMIN = "dana.whitfield@stmarys.example"


@pytest.fixture
def lms(app, ctx):
    """lms(*args) -> click Result of `lms ARGS` against the test app."""
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(main, list(args))


def create_st_marys(lms, *extra: str):
    return lms(
        "org", "create", "--slug", "st-marys", "--name", "St Mary's Hospital",
        "--time-zone", "Europe/London", "--admin-email", ADMIN, *extra,
    )  # fmt: skip


def org_named(db, slug: str) -> Organization | None:
    db.expire_all()
    return db.scalar(select(Organization).where(Organization.slug == slug))


def sign_in(client, email: str, password: str = PASSWORD):
    token = csrf_token(client, "/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def operator(make, db) -> User:
    """A platform operator who belongs to no organisation."""
    from lms.security import hash_password

    user = User(email="olu.ops@platform.example", name="Olu Ops", password_hash=hash_password(PASSWORD))
    user.is_operator = True
    db.add(user)
    db.commit()
    return user


# --- lms org create / lms org list ---------------------------------------------------------------------


def test_org_create_makes_the_organisation_its_root_unit_and_an_invited_first_admin(db, lms):
    result = create_st_marys(lms)
    assert result.exit_code == 0, result.output
    assert "Created St Mary's Hospital (st-marys, Europe/London)." in result.output
    assert f"Dana Whitfield <{ADMIN}> was emailed a link to choose a password" in result.output
    org = org_named(db, "st-marys")
    assert org is not None and org.time_zone == "Europe/London"
    (root,) = db.scalars(select(OrgUnit).where(OrgUnit.org_id == org.id)).all()
    assert (root.kind, root.name, root.parent_id) == (UnitKind.SYSTEM, "St Mary's Hospital", None)
    (admin,) = db.scalars(select(Membership).where(Membership.org_id == org.id)).all()
    assert admin.is_org_admin and admin.unit_id == root.id
    assert admin.stakeholder_role is StakeholderRole.EXECUTIVE
    assert admin.user.password_hash is None  # they choose it through the link
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.to_addr == ADMIN))
    assert (
        mail is not None and "St Mary's Hospital has created your Lead with Quality account" in mail.subject
    )
    assert "/reset/" in mail.body_text
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.org_id == org.id).order_by(AuditEvent.id)
    ).all()
    assert actions == ["organization.created", "person.added"]


def test_org_create_reports_every_problem_in_one_line_each_and_creates_nothing(db, lms):
    result = lms(
        "org", "create", "--slug", "St Mary's", "--name", "  ", "--time-zone", "Europe/Londres",
        "--admin-email", "dana at stmarys",
    )  # fmt: skip
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0] == "Error: The organisation was not created:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "--slug",
        "--name",
        "--time-zone",
        "--admin-email",
    ]
    assert "'Europe/Londres' is not a time zone name such as Europe/London." in result.output
    assert "Traceback" not in result.output
    assert db.scalar(select(func.count()).select_from(Organization)) == 0
    assert db.scalar(select(func.count()).select_from(User)) == 0


def test_a_slug_that_is_taken_is_refused(db, lms, tree):
    result = lms(
        "org", "create", "--slug", "alpha", "--name", "Another Alpha", "--time-zone", "UTC",
        "--admin-email", "someone@alpha.example",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "--slug: An organisation with the slug 'alpha' already exists." in result.output


def test_an_admin_email_that_has_an_account_is_invited_not_taken(db, lms, make, tree):
    existing = make.person(tree, email=ADMIN, name="Dana From Alpha")
    result = create_st_marys(lms)
    assert result.exit_code == 0, result.output
    assert "already has an account, so it is theirs: an invitation" in result.output
    org = org_named(db, "st-marys")
    invitation = db.scalar(select(Invitation).where(Invitation.org_id == org.id))
    assert invitation.email == ADMIN and invitation.permissions_granted == "org_admin"
    db.expire_all()
    assert [m.org_id for m in db.get(User, existing.user_id).memberships] == [tree.org.id]


def test_org_list_shows_slug_name_time_zone_people_and_status(db, lms, make, tree, other_tree):
    make.person(tree)
    make.person(tree)
    make.person(other_tree)
    platform.archive_organization(db, None, other_tree.org.id)
    db.commit()
    result = lms("org", "list")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.strip().splitlines()]
    assert rows[0] == ["SLUG", "NAME", "TIME", "ZONE", "PEOPLE", "STATUS"]
    assert rows[1] == ["alpha", "Alpha", "Health", "America/New_York", "2", "active"]
    assert rows[2] == ["beta", "Beta", "Health", "America/New_York", "1", "archived"]


# --- operators ------------------------------------------------------------------------------------------


def test_user_operator_sets_and_clears_the_flag_and_records_it(db, lms, make, tree):
    person = make.person(tree, email="ops@alpha.example")
    result = lms("user", "operator", "OPS@alpha.example")
    assert result.exit_code == 0, result.output
    assert "ops@alpha.example is a platform operator" in result.output
    db.expire_all()
    assert db.get(User, person.user_id).is_operator
    result = lms("user", "operator", "ops@alpha.example", "--off")
    assert "ops@alpha.example is no longer a platform operator." in result.output
    db.expire_all()
    assert not db.get(User, person.user_id).is_operator
    actions = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.target_type == "user", AuditEvent.target_id == person.user_id)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["operator.granted", "operator.revoked"]
    assert lms("user", "operator", "nobody@alpha.example").output.strip() == (
        "Error: No account uses the email 'nobody@alpha.example'."
    )


def test_an_operator_who_belongs_to_no_organisation_signs_in_and_finds_the_page(client, operator):
    response = sign_in(client, operator.email)
    assert response.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "You operate this platform" in home
    assert 'href="/operator/organisations"' in home


def test_an_operator_creates_renames_rezones_archives_and_restores_an_organisation(
    app, db, client, operator, make, tree
):
    member = make.person(tree, email="member@alpha.example")
    sign_in(client, operator.email)
    page = client.get("/operator/organisations").get_data(as_text=True)
    assert "Alpha Health" in page and "America/New_York" in page
    assert "member@alpha.example" not in page  # an operator sees no organisation's people

    token = csrf_token(client, "/operator/organisations")
    response = client.post(
        "/operator/organisations",
        data={
            "csrf_token": token,
            "name": "St Mary's Hospital",
            "slug": "st-marys",
            "time_zone": "Europe/London",
            "admin_email": ADMIN,
            "admin_name": "",
        },
    )
    assert response.status_code == 302
    org = org_named(db, "st-marys")
    assert org is not None
    shown = client.get(response.location).get_data(as_text=True)
    assert f"We emailed {ADMIN} a link to choose a password." in shown

    response = client.post(
        f"/operator/organisations/{tree.org.id}/edit",
        data={"csrf_token": token, "name": "Alpha Health Partners", "time_zone": "Europe/Dublin"},
    )
    assert response.status_code == 302
    db.expire_all()
    assert (tree.org.name, tree.org.time_zone) == ("Alpha Health Partners", "Europe/Dublin")

    response = client.post(f"/operator/organisations/{tree.org.id}/archive", data={"csrf_token": token})
    assert response.status_code == 302
    assert "its members can no longer sign in to it" in client.get(response.location).get_data(as_text=True)
    refused = sign_in(client_for(app), member.user.email)
    assert refused.status_code == 400
    assert "This account is not active" in refused.get_data(as_text=True)

    client.post(f"/operator/organisations/{tree.org.id}/restore", data={"csrf_token": token})
    assert sign_in(client_for(app), member.user.email).status_code == 302

    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.org_id == tree.org.id).order_by(AuditEvent.id)
    ).all()
    assert actions == ["organization.updated", "organization.archived", "organization.restored"]
    updated = db.scalar(select(AuditEvent).where(AuditEvent.action == "organization.updated"))
    assert updated.actor_id == operator.id
    assert updated.changes == {
        "name": ["Alpha Health", "Alpha Health Partners"],
        "time_zone": ["America/New_York", "Europe/Dublin"],
    }


def client_for(app):
    return app.test_client()


def test_a_refused_change_shows_the_page_again_with_the_message_and_what_was_typed(
    db, client, operator, tree
):
    sign_in(client, operator.email)
    token = csrf_token(client, "/operator/organisations")
    response = client.post(
        "/operator/organisations",
        data={"csrf_token": token, "name": "New Place", "slug": "alpha", "time_zone": "", "admin_email": "x"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "An organisation with the slug &#39;alpha&#39; already exists." in page
    assert "is not a time zone name such as Europe/London." in page
    assert "Enter a valid email address" in page
    assert 'value="New Place"' in page
    assert db.scalar(select(func.count()).select_from(Organization)) == 1

    response = client.post(
        f"/operator/organisations/{tree.org.id}/edit",
        data={"csrf_token": token, "name": "", "time_zone": "Europe/London"},
    )
    assert response.status_code == 400
    assert "Give the organisation a name of 1 to 200 characters." in response.get_data(as_text=True)


def test_archived_organisations_leave_the_picker_and_refuse_their_pages(db, make, tree, other_tree, login_as):
    in_both = make.person(tree, email="faculty@both.example")
    make.person(other_tree, email="faculty@both.example")
    client = login_as(in_both)
    assert "Beta Health" in client.get("/").get_data(as_text=True)
    platform.archive_organization(db, None, other_tree.org.id)
    db.commit()
    home = client.get("/").get_data(as_text=True)
    assert "Beta Health" not in home and "Alpha Health" in home
    assert client.get("/o/beta/").status_code == 404
    assert client.get("/o/alpha/").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/operator/organisations"),
        ("POST", "/operator/organisations"),
        ("GET", "/operator/organisations/{id}"),
        ("POST", "/operator/organisations/{id}/edit"),
        ("POST", "/operator/organisations/{id}/archive"),
        ("POST", "/operator/organisations/{id}/restore"),
    ],
)
def test_anyone_but_an_operator_gets_not_found_and_changes_nothing(db, make, tree, login_as, method, path):
    admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True, hr=True)
    client = login_as(admin)
    token = csrf_token(client, "/")
    path = path.format(id=tree.org.id)
    data = {
        "csrf_token": token,
        "name": "Taken over",
        "time_zone": "UTC",
        "slug": "mine",
        "admin_email": "a@b.c",
    }
    response = client.get(path) if method == "GET" else client.post(path, data=data)
    assert response.status_code == 404
    db.expire_all()
    assert (tree.org.name, tree.org.archived) == ("Alpha Health", False)
    assert db.scalar(select(func.count()).select_from(Organization)) == 1
    assert "Organisations" not in client.get("/").get_data(as_text=True)


def test_an_operator_is_not_a_member_of_the_organisations_they_create(db, client, operator, tree):
    sign_in(client, operator.email)
    assert client.get("/o/alpha/admin/people").status_code == 404
    assert client.get("/o/alpha/").status_code == 404


def test_the_services_refuse_a_non_operator(db, make, tree):
    person = make.person(tree, org_admin=True)
    with pytest.raises(NotFound):
        platform.list_organizations(db, person.user)
    with pytest.raises(NotFound):
        platform.archive_organization(db, person.user, tree.org.id)
    with pytest.raises(Invalid) as refused:
        platform.found_organization(
            db, None, slug="x", name="X", time_zone="UTC", admin_email="a@x.example", admin_role="nurse"
        )
    assert refused.value.errors == {"admin_role": ["Choose one of the seven stakeholder roles."]}


def test_the_first_admins_name_comes_from_the_email_unless_given():
    assert platform.name_from_email("dana.whitfield@x.example") == "Dana Whitfield"
    assert platform.name_from_email("j_o-neill@x.example") == "J O Neill"
    assert re.fullmatch(r"\w+", platform.name_from_email("ops@x.example"))
