"""Transactions at the boundary: services change and flush; the request (on success), the `lms` command
and each job run commit once, and roll back on any error (DESIGN.md section 2).

Every check reads through a session of its own, which sees only what was committed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import csrf_token
from flask import has_request_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curricula.stakeholders import StakeholderRole
from lms.cli import main as lms_cli
from lms.db import commit_each, unit_of_work, utcnow
from lms.models import ApiToken, AuditEvent, Organization, OutboxMessage, User
from lms.security import verify_password
from lms.services import Forbidden, Invalid, dosing, people, tokens

# What these tests claim is what a session of its own sees after a real commit or rollback (the `committed`
# reader), and what pysqlite does with a savepoint outside a transaction: they commit for real.
pytestmark = pytest.mark.committed

PASSWORD = "a long enough password"
NEW = "nora.new@alpha.example"


@pytest.fixture
def hr(make, tree):
    return make.person(tree, StakeholderRole.QUALITY_STAFF, name="Hal HR", hr=True)


@pytest.fixture
def committed(app):
    """committed(statement) -> its scalar, read through a session of its own (committed rows only)."""

    def read(statement):
        with Session(app.extensions["lms.engine"]) as fresh:
            return fresh.scalar(statement)

    return read


def users_with(email: str):
    return select(func.count()).select_from(User).where(User.email == email)


def add_person(client, slug: str, email: str = NEW):
    path = f"/o/{slug}/admin/people/new"
    form = {"csrf_token": csrf_token(client, path), "stakeholder_role": "clinician", "email": email}
    return client.post(path, data={**form, "name": "Nora New"})


def refuse_after_the_change(monkeypatch, exc: Exception) -> None:
    """Make the dose planning that `people.add_person` runs after adding the person fail: by then the
    user, their membership, the audit event (and the welcome email) are flushed, not committed."""

    def failing_plan(db, membership):
        assert db.get(User, membership.user_id) is not None, "the person was added before the failure"
        raise exc

    monkeypatch.setattr(dosing, "plan_for", failing_plan)


# --- requests -------------------------------------------------------------------------------------------


def test_a_request_that_succeeds_is_committed_with_everything_its_services_did(
    app, db, hr, tree, login_as, committed
):
    client = login_as(hr)
    resp = add_person(client, tree.org.slug)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    # people.add_person, dosing.plan_for, accounts.send_welcome, audit.record: one commit, all there.
    assert committed(users_with(NEW)) == 1
    assert committed(select(func.count()).where(AuditEvent.action == "person.added")) == 1
    assert committed(select(func.count()).where(OutboxMessage.to_addr == NEW)) == 1


def test_a_refusal_half_way_through_a_request_leaves_nothing_behind(
    app, db, hr, tree, login_as, committed, monkeypatch
):
    client = login_as(hr)
    refuse_after_the_change(monkeypatch, Forbidden("Refused half-way."))
    resp = add_person(client, tree.org.slug)
    assert resp.status_code == 403
    assert committed(users_with(NEW)) == 0
    assert committed(select(func.count()).where(AuditEvent.action == "person.added")) == 0
    assert committed(select(func.count()).where(OutboxMessage.to_addr == NEW)) == 0


def test_a_view_that_crashes_half_way_leaves_nothing_behind(
    app, db, hr, tree, login_as, committed, monkeypatch
):
    client = login_as(hr)
    refuse_after_the_change(monkeypatch, RuntimeError("a bug half-way through"))
    with pytest.raises(RuntimeError):  # TESTING propagates it; a server answers 500
        add_person(client, tree.org.slug)
    assert committed(users_with(NEW)) == 0
    assert committed(select(func.count()).where(OutboxMessage.to_addr == NEW)) == 0


def test_a_commit_that_fails_is_an_error_not_a_success(app, db, hr, tree, login_as, committed, monkeypatch):
    client = login_as(hr)
    real_commit = Session.commit

    def commit(self):
        if has_request_context():
            raise RuntimeError("the database refused the commit")
        return real_commit(self)

    monkeypatch.setattr(Session, "commit", commit)
    with pytest.raises(RuntimeError, match="refused the commit"):
        add_person(client, tree.org.slug)
    assert committed(users_with(NEW)) == 0


def test_a_get_that_notes_a_tokens_use_commits_it(app, db, hr, client, committed):
    secret = tokens.create_token(db, hr.user, name="script")
    token_id = db.scalar(select(ApiToken.id).where(ApiToken.user_id == hr.user_id))
    db.commit()  # the test is the boundary of what it arranged
    assert committed(select(ApiToken.last_used_at).where(ApiToken.id == token_id)) is None
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    used = committed(select(ApiToken.last_used_at).where(ApiToken.id == token_id))
    assert used is not None and used > utcnow() - timedelta(minutes=1)


def test_a_refused_sign_in_still_records_its_attempt(app, db, hr, client, committed):
    from lms.models import LoginAttempt

    path = "/sign-in"
    resp = client.post(
        path, data={"csrf_token": csrf_token(client, path), "email": hr.user.email, "password": "wrong one"}
    )
    assert resp.status_code == 400
    assert (
        committed(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.succeeded.is_(False)))
        == 1
    )


# --- commands -------------------------------------------------------------------------------------------


def run_lms(app, *args: str):
    return app.test_cli_runner().invoke(lms_cli, list(args))


def create_user(app, tree, email: str = NEW):
    return run_lms(
        app,
        "user", "create", "--email", email, "--name", "Nora New", "--org", tree.org.slug,
        "--role", "clinician", "--password", PASSWORD,
    )  # fmt: skip


def test_a_command_commits_its_two_services_together(app, db, tree, committed):
    result = create_user(app, tree)
    assert result.exit_code == 0, result.output
    # people.add_person, then people.set_password_as_operator: one commit when the command returns.
    assert committed(users_with(NEW)) == 1
    assert verify_password(committed(select(User.password_hash).where(User.email == NEW)), PASSWORD)


def test_a_command_whose_second_service_refuses_leaves_nothing_of_the_first(
    app, db, tree, committed, monkeypatch
):
    def refuse(db, user_id, password):
        assert db.get(User, user_id) is not None, "the first service added the person"
        raise Invalid("Refused.", "password")

    monkeypatch.setattr(people, "set_password_as_operator", refuse)
    result = create_user(app, tree)
    assert result.exit_code == 1 and "Refused." in result.output
    assert committed(users_with(NEW)) == 0


def test_a_command_that_crashes_half_way_leaves_nothing(app, db, tree, committed, monkeypatch):
    refuse_after_the_change(monkeypatch, RuntimeError("the machine fell over"))
    result = create_user(app, tree)
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)
    assert committed(users_with(NEW)) == 0
    assert committed(select(func.count()).where(AuditEvent.action == "person.added")) == 0


# --- the helpers jobs use -----------------------------------------------------------------------------


def test_unit_of_work_commits_when_the_block_ends_and_rolls_back_when_it_raises(app, db, tree, committed):
    with unit_of_work(db):
        tree.org.name = "Alpha Kept"
    assert committed(select(Organization.name).where(Organization.id == tree.org.id)) == "Alpha Kept"
    with pytest.raises(RuntimeError), unit_of_work(db):
        tree.org.name = "Alpha Lost"
        db.flush()
        raise RuntimeError
    assert committed(select(Organization.name).where(Organization.id == tree.org.id)) == "Alpha Kept"


def test_commit_each_keeps_the_steps_before_a_failure(app, db, tree, committed):
    org = tree.org

    def steps():
        for name in ("First", "Second"):
            org.name = name
            db.flush()
            yield name
        org.name = "Third"
        db.flush()
        raise RuntimeError("the third step fails")

    with pytest.raises(RuntimeError):
        commit_each(steps(), db)
    assert committed(select(Organization.name).where(Organization.id == org.id)) == "Second"


# --- a race on a unique key takes a savepoint -------------------------------------------------------------


def test_a_start_that_collides_with_a_parallel_one_keeps_the_rest_of_the_unit_of_work(
    app, db, lib, learner, committed
):
    from lms.models import Progress, ProgressStatus
    from lms.services import modules

    module = lib.module("pdsa")
    db.commit()
    now = utcnow()
    with Session(app.extensions["lms.engine"]) as parallel:  # the same person's other request, first
        first = Progress(
            user_id=learner.user_id,
            module_id=module.id,
            status=ProgressStatus.IN_PROGRESS,
            started_at=now,
            last_seen_at=now,
        )
        parallel.add(first)
        parallel.commit()
        first_id = first.id

    learner.user.name = "Lena Kept"  # earlier work of this unit of work
    db.flush()
    progress = modules._start(db, learner.user, module.id, now)  # collides on (user, module)

    assert progress.id == first_id
    db.commit()
    assert committed(select(User.name).where(User.id == learner.user_id)) == "Lena Kept"
    assert committed(select(func.count()).select_from(Progress)) == 1


def test_a_savepoint_that_is_the_first_write_still_rolls_back_with_its_unit_of_work(
    app, db, lib, learner, committed
):
    """On SQLite a SAVEPOINT opened before any write would start a transaction of its own and commit
    on release (lms.db begins one first)."""
    from lms.models import Progress
    from lms.services import modules

    module = lib.module("pdsa")
    db.commit()
    db.scalar(select(func.count()).select_from(Progress))  # a read, then the savepoint is the first write
    modules._start(db, learner.user, module.id, utcnow())
    db.rollback()  # the unit of work fails after it
    assert committed(select(func.count()).select_from(Progress)) == 0

    modules._start(db, learner.user, module.id, utcnow())
    db.commit()
    assert committed(select(func.count()).select_from(Progress)) == 1
