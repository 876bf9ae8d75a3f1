"""The harness: each test runs in one transaction rolled back at its end (tests/conftest.py `_rolled_back`),
every session of the app in a savepoint of its own. A session that rolls back (a refused request, a failed
command, the test's own) loses only its own work, and the next one starts a savepoint again and commits.

What the request and the command themselves commit or roll back against a real database is checked in
tests/test_transaction_boundary.py, which commits for real (`committed`).
"""

from __future__ import annotations

from conftest import csrf_token
from sqlalchemy import func, select

from curricula.stakeholders import StakeholderRole
from lms.cli import main as lms_cli
from lms.models import Organization, User
from lms.services import Forbidden, dosing

NEW = "nora.new@alpha.example"


def people_named(db, email: str) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(User).where(User.email == email))


def add_person(client, slug: str):
    path = f"/o/{slug}/admin/people/new"
    form = {"csrf_token": csrf_token(client, path), "stakeholder_role": "clinician", "email": NEW}
    return client.post(path, data={**form, "name": "Nora New"})


def test_a_refused_request_loses_only_its_own_work_and_the_next_request_commits(
    db, make, tree, login_as, monkeypatch
):
    hr = make.person(tree, StakeholderRole.QUALITY_STAFF, name="Hal HR", hr=True)
    client = login_as(hr)

    def refuse(db, membership):
        raise Forbidden("Refused half-way.")

    with monkeypatch.context() as patched:  # the person is added and flushed, then the request refuses
        patched.setattr(dosing, "plan_for", refuse)
        assert add_person(client, tree.org.slug).status_code == 403
    assert people_named(db, NEW) == 0
    assert people_named(db, hr.user.email) == 1, "what the test committed before the request is kept"

    assert add_person(client, tree.org.slug).status_code == 302
    assert people_named(db, NEW) == 1


def test_a_failed_command_loses_only_its_own_work_and_the_next_command_commits(app, db, tree, monkeypatch):
    def create_user(email: str):
        return app.test_cli_runner().invoke(
            lms_cli,
            ["user", "create", "--email", email, "--name", "Nora New", "--org", tree.org.slug,
             "--role", "clinician", "--password", "a long enough password"],
        )  # fmt: skip

    with monkeypatch.context() as patched:
        patched.setattr(dosing, "plan_for", lambda db, membership: 1 / 0)
        failed = create_user(NEW)
    assert failed.exit_code == 1 and isinstance(failed.exception, ZeroDivisionError)
    assert people_named(db, NEW) == 0

    created = create_user(NEW)
    assert created.exit_code == 0, created.output
    assert people_named(db, NEW) == 1


def test_the_tests_own_rollback_loses_only_what_it_had_not_committed(db, tree):
    def name_now() -> str:
        return db.scalar(select(Organization.name).where(Organization.id == tree.org.id))

    tree.org.name = "Alpha Lost"
    db.flush()
    db.rollback()
    assert name_now() == "Alpha Health"

    tree.org.name = "Alpha Kept"
    db.commit()
    tree.org.name = "Alpha Lost again"
    db.flush()
    db.rollback()
    assert name_now() == "Alpha Kept"
