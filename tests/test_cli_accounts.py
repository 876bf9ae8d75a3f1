"""`lms user create` and `lms token create`, run the way an operator runs them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.cli import main
from lms.models import ApiToken, AuditEvent, OutboxMessage, Permission, User
from lms.security import verify_password

PASSWORD = "a long enough password"


@pytest.fixture
def lms(app, ctx):
    """lms(*args, input=None) -> click Result of `lms ARGS` against the test app."""
    runner = app.test_cli_runner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input)

    return run


def added(db, email: str) -> User | None:
    db.expire_all()
    return db.scalar(select(User).where(User.email == email))


# --- lms user create --------------------------------------------------------------------------------


def test_user_create_adds_a_person_with_role_permissions_and_password(db, tree, lms):
    result = lms(
        "user", "create",
        "--email", "Olu.Ops@Alpha.Example", "--name", "Olu Ops", "--org", "alpha",
        "--role", "quality-staff", "--unit-id", str(tree.department.id),
        "--job-code", "QI3", "--employee-id", "Q-7",
        "--permission", "hr", "--permission", "org_admin",
        "--password", PASSWORD,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Added Olu Ops <olu.ops@alpha.example> to alpha" in result.output
    user = added(db, "olu.ops@alpha.example")
    assert user is not None
    (m,) = user.memberships
    assert m.org_id == tree.org.id and m.unit_id == tree.department.id
    assert m.stakeholder_role is StakeholderRole.QUALITY_STAFF
    assert (m.job_code, m.employee_id) == ("QI3", "Q-7")
    assert m.permissions == {Permission.HR, Permission.ORG_ADMIN}
    assert verify_password(user.password_hash, PASSWORD)
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["person.added", "password.set_by_operator"]


def test_user_create_asks_for_the_password_twice_without_showing_it(db, tree, lms):
    result = lms(
        "user", "create", "--email", "pat@alpha.example", "--name", "Pat", "--org", "alpha",
        "--role", "clinician",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and "Repeat for confirmation" in result.output
    assert PASSWORD not in result.output
    assert verify_password(added(db, "pat@alpha.example").password_hash, PASSWORD)


def test_user_create_without_a_password(db, tree, lms):
    result = lms(
        "user", "create", "--email", "np@alpha.example", "--name", "No Pass", "--org", "alpha",
        "--role", "board", "--no-password",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    user = added(db, "np@alpha.example")
    assert user.password_hash is None
    assert user.memberships[0].permissions == frozenset()
    assert "An invitation to choose a password was emailed to np@alpha.example." in result.output
    (welcome,) = db.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == "np@alpha.example"))
    assert "/reset/" in welcome.body_text


def test_user_create_for_an_email_known_elsewhere_invites_and_joins_nobody(db, make, tree, other_tree, lms):
    known = make.person(other_tree, email="known@beta.example", name="Known Elsewhere")
    result = lms(
        "user", "create", "--email", "known@beta.example", "--name", "Typed Name", "--org", "alpha",
        "--role", "clinician", "--no-password",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "already has an account" in result.output and "invitation" in result.output
    db.expire_all()
    assert [m.org_id for m in db.get(User, known.user_id).memberships] == [other_tree.org.id]


def test_user_create_in_an_unknown_organisation_fails_clearly(db, tree, lms):
    result = lms(
        "user", "create", "--email", "x@x.test", "--name", "X", "--org", "nowhere",
        "--role", "clinician", "--no-password",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "No organisation has the slug 'nowhere'." in result.output
    assert added(db, "x@x.test") is None


def test_user_create_names_every_field_to_fix_and_adds_nobody(db, tree, other_tree, lms):
    result = lms(
        "user", "create", "--email", "not-an-email", "--name", " ", "--org", "alpha",
        "--role", "clinician", "--unit-id", str(other_tree.unit.id), "--no-password",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "The person was not added:" in result.output
    assert "--email: Enter a valid email address" in result.output
    assert "--name: Enter the person's name." in result.output
    assert "--unit-id: Choose a unit of this organisation." in result.output
    assert db.scalar(select(User.id)) is None


def test_user_create_refuses_a_short_password_before_adding_anyone(db, tree, lms):
    result = lms(
        "user", "create", "--email", "s@alpha.example", "--name", "Short", "--org", "alpha",
        "--role", "clinician", "--password", "short",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "--password: Use 10 to 128 characters" in result.output
    assert added(db, "s@alpha.example") is None


def test_user_create_refuses_an_unknown_role_and_both_password_options(tree, lms):
    bad_role = lms(
        "user", "create", "--email", "r@alpha.example", "--name", "R", "--org", "alpha",
        "--role", "surgeon", "--no-password",
    )  # fmt: skip
    assert bad_role.exit_code != 0 and "'surgeon' is not one of" in bad_role.output
    both = lms(
        "user", "create", "--email", "r@alpha.example", "--name", "R", "--org", "alpha",
        "--role", "clinician", "--password", PASSWORD, "--no-password",
    )  # fmt: skip
    assert both.exit_code != 0 and "not both" in both.output


def test_user_create_refuses_a_duplicate_email_in_the_organisation(make, tree, lms):
    make.person(tree, email="dup@alpha.example")
    result = lms(
        "user", "create", "--email", "dup@alpha.example", "--name", "Dup", "--org", "alpha",
        "--role", "clinician", "--no-password",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "--email: Someone in this organisation already uses this email address." in result.output


# --- lms token create -------------------------------------------------------------------------------


def test_token_create_prints_a_token_on_its_last_line_that_opens_the_api(db, make, tree, lms, client):
    m = make.person(tree, email="ops@alpha.example")
    result = lms("token", "create", "--email", "OPS@alpha.example", "--name", "nightly export", "--days", "7")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) >= 2 and "nightly export" in lines[0]
    token = lines[-1]
    assert token.startswith("lms_") and " " not in token
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.json["id"] == m.user_id
    stored = db.scalar(select(ApiToken))
    assert stored.name == "nightly export" and stored.expires_at is not None
    assert token not in stored.token_hash


def test_token_create_for_an_unknown_email_fails(tree, lms, db):
    result = lms("token", "create", "--email", "ghost@alpha.example")
    assert result.exit_code != 0
    assert "No account uses the email 'ghost@alpha.example'." in result.output
    assert db.scalar(select(ApiToken.id)) is None


def test_token_create_for_a_deactivated_person_fails(make, tree, lms, db):
    make.person(tree, email="gone@alpha.example", active=False)
    result = lms("token", "create", "--email", "gone@alpha.example")
    assert result.exit_code != 0
    assert "not active" in result.output
    assert db.scalar(select(ApiToken.id)) is None


def test_token_create_refuses_a_lifetime_under_a_day(make, tree, lms):
    make.person(tree, email="ops@alpha.example")
    result = lms("token", "create", "--email", "ops@alpha.example", "--days", "0")
    assert result.exit_code != 0
    assert "--days: A token must live at least one day." in result.output
