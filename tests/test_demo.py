"""`lms demo`: a health system to explore, seeded once, with six accounts that sign in."""

from __future__ import annotations

from collections import Counter

from click.testing import Result
from conftest import csrf_token
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curricula.stakeholders import StakeholderRole
from lms.cli import main
from lms.db import get_db
from lms.models import AuditEvent, Membership, Organization, OrgUnit, Permission, UnitKind, User
from lms.security import verify_password
from lms.services import sessions

ACCOUNTS = {
    "admin@demo.example": ({Permission.ORG_ADMIN}, StakeholderRole.EXECUTIVE),
    "hr@demo.example": ({Permission.HR}, StakeholderRole.QUALITY_STAFF),
    "faculty@demo.example": ({Permission.FACULTY}, StakeholderRole.QUALITY_STAFF),
    "coach@demo.example": ({Permission.COACH}, StakeholderRole.QUALITY_STAFF),
    "executive@demo.example": (set(), StakeholderRole.EXECUTIVE),
    "learner@demo.example": (set(), StakeholderRole.CLINICIAN),
}


def lms(app: Flask, *args: str) -> Result:
    """Run `lms ARGS` against the test app (the runner hands the CLI a ScriptInfo for `app`)."""
    result = app.test_cli_runner().invoke(main, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def demo_memberships(db: Session) -> list[Membership]:
    db.expire_all()
    org = db.scalar(select(Organization).where(Organization.slug == "demo"))
    assert org is not None, "no demo organisation"
    return list(db.scalars(select(Membership).where(Membership.org_id == org.id)))


def counts(db: Session) -> tuple[int, ...]:
    return tuple(
        db.scalar(select(func.count()).select_from(model)) or 0
        for model in (Organization, OrgUnit, User, Membership, AuditEvent)
    )


def test_the_demo_is_a_health_system_of_about_200_people_in_all_seven_roles(app: Flask, db: Session):
    output = lms(app, "demo").output

    people = demo_memberships(db)
    assert 180 <= len(people) <= 220
    roles = Counter(m.stakeholder_role for m in people)
    assert set(roles) == set(StakeholderRole)
    assert roles[StakeholderRole.CLINICIAN] > len(people) / 2, "most people work at the point of care"
    assert roles[StakeholderRole.BOARD] < roles[StakeholderRole.UNIT_LEADER]
    assert all(m.job_code and m.employee_id for m in people)
    assert len({m.employee_id for m in people}) == len(people)

    units = Counter(u.kind for u in db.scalars(select(OrgUnit)))
    assert units[UnitKind.SYSTEM] == 1
    assert units[UnitKind.FACILITY] == 2
    assert units[UnitKind.DEPARTMENT] >= 4
    assert units[UnitKind.UNIT] >= 2 * units[UnitKind.DEPARTMENT]
    assert "Riverbend Health" in output and "http://127.0.0.1:5000" in output


def test_the_six_demo_accounts_sign_in_with_the_demo_password_and_nobody_else_has_one(
    app: Flask, db: Session
):
    output = lms(app, "demo").output

    people = {m.user.email: m for m in demo_memberships(db)}
    for email, (permissions, role) in ACCOUNTS.items():
        membership = people[email]
        assert membership.permissions == permissions, email
        assert membership.stakeholder_role is role, email
        assert verify_password(membership.user.password_hash, "quality-demo"), email
        assert email in output
    assert people["learner@demo.example"].unit.kind is UnitKind.UNIT
    assert "quality-demo" in output
    others = [m.user for m in people.values() if m.user.email not in ACCOUNTS]
    assert all(user.password_hash is None for user in others)


def test_the_demo_is_built_through_the_services_so_the_audit_trail_records_it(app: Flask, db: Session):
    lms(app, "demo")

    actions = Counter(db.scalars(select(AuditEvent.action)))
    assert actions["organization.created"] == 1
    assert actions["person.added"] == len(demo_memberships(db))
    assert actions["unit.added"] == db.scalar(select(func.count()).select_from(OrgUnit)) - 1


def test_running_the_demo_again_changes_nothing(app: Flask, db: Session):
    lms(app, "demo")
    before = counts(db)
    hashes = {u.email: u.password_hash for u in db.scalars(select(User))}

    output = lms(app, "demo").output

    db.expire_all()
    assert counts(db) == before
    assert {u.email: u.password_hash for u in db.scalars(select(User))} == hashes
    assert "already exists" in output and "nothing changed" in output


def test_a_password_given_later_resets_only_the_six_demo_accounts(app: Flask, db: Session):
    lms(app, "demo")
    people_before = counts(db)[3]
    signed_in = {}
    for email in ACCOUNTS:
        user = db.scalar(select(User).where(User.email == email))
        signed_in[email] = sessions.start(db, user, ip="127.0.0.1", user_agent="test")

    output = lms(app, "demo", "--password", "a new demo passphrase").output

    db.expire_all()
    assert counts(db)[3] == people_before
    for email in ACCOUNTS:
        user = db.scalar(select(User).where(User.email == email))
        assert verify_password(user.password_hash, "a new demo passphrase"), email
        assert not verify_password(user.password_hash, "quality-demo"), email
        assert sessions.user_for(db, user.id, signed_in[email]) is None, (
            "old sessions of the demo accounts end"
        )
    assert "a new demo passphrase" in output


def test_each_demo_account_signs_in_through_the_sign_in_page(app: Flask):
    # No `db` fixture here: its app context would outlive each request and carry the signed-in user
    # from one client to the next.
    lms(app, "demo")
    with app.app_context():
        names = {m.user.email: m.user.name for m in demo_memberships(get_db())}

    for email in ACCOUNTS:
        client = app.test_client()
        form = {"csrf_token": csrf_token(client, "/sign-in"), "email": email, "password": "quality-demo"}
        home = client.post("/sign-in", data=form, follow_redirects=True)

        assert home.status_code == 200, email
        assert f"Welcome, {names[email]}" in home.get_data(as_text=True), email


def test_an_interrupted_demo_leaves_nothing_half_built(app: Flask, db: Session, monkeypatch):
    import lms.demo as seeding

    def power_cut(*args, **kwargs):
        raise RuntimeError("power cut after the people were added")

    monkeypatch.setattr(seeding, "_set_passwords", power_cut)
    result = app.test_cli_runner().invoke(main, ["demo"])
    assert result.exit_code != 0 and "power cut" in repr(result.exception)
    db.expire_all()
    assert counts(db) == (0, 0, 0, 0, 0)

    monkeypatch.undo()
    lms(app, "demo")
    assert len(demo_memberships(db)) == 200


def test_the_demo_hr_system_job_codes_are_mapped_and_some_clinicians_are_behind(app: Flask, db: Session):
    """HR finds the demo's job codes mapped (a roster file or SCIM client sending them needs nothing more),
    and an overdue list with people in it: clinicians assigned weeks ago who have not started. Their due
    dates are the policy's, so the nightly reconcile leaves them as they are."""
    from lms.services import coverage, dosing
    from lms.services.coverage_upkeep import org_today
    from lms.services.job_codes import key_of, roles_by_key

    lms(app, "demo")
    org = db.scalar(select(Organization).where(Organization.slug == "demo"))
    mapped = roles_by_key(db, org.id)
    people = demo_memberships(db)
    assert {key_of(m.job_code) for m in people} <= set(mapped)
    assert all(mapped[key_of(m.job_code)] is m.stakeholder_role for m in people)

    overdue = coverage.stored(db, org.id)[(0, "clinician", "awareness")][2]
    assert overdue >= 10, "the whole organisation's clinicians: some behind on awareness"
    assert coverage.stored(db, org.id) == coverage.recount(db, org.id, org_today(db, org.id))
    assert not dosing.reconcile(db, org.id).changed, "the demo's due dates are the policy's"
    by_email = {m.user.email: m for m in people}
    assert coverage.stored(db, org.id)[(by_email["learner@demo.example"].unit_id, "clinician", "awareness")]
