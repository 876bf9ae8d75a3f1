"""Nobody manages someone who holds more than they do (DESIGN.md section 6).

On main, HR edited an org admin's email, asked a reset link for the new address and signed in as the
org admin; HR also reactivated an org admin whom an admin had deactivated. One rule in the access layer
now stops every people service (and so its pages and its API twin).
"""

from __future__ import annotations

import pytest
from conftest import csrf_token
from sqlalchemy import func, select

from curricula.stakeholders import StakeholderRole
from lms.models import Membership, OutboxMessage, Permission
from lms.services import Forbidden, people
from lms.services.access import Actor


def actor(m: Membership) -> Actor:
    return Actor(m.user, m)


@pytest.fixture
def admin(make, tree) -> Membership:
    return make.person(tree, StakeholderRole.EXECUTIVE, name="Ada Admin", org_admin=True)


@pytest.fixture
def hr(make, tree) -> Membership:
    return make.person(tree, StakeholderRole.QUALITY_STAFF, name="Hal HR", hr=True)


def details(m: Membership, **changes) -> people.PersonInput:
    data = {
        "email": m.user.email,
        "name": m.user.name,
        "stakeholder_role": m.stakeholder_role.value,
        "unit_id": m.unit_id,
        "job_code": m.job_code,
        "employee_id": m.employee_id,
    }
    return people.PersonInput(**{**data, **changes})


def test_hr_cannot_change_an_org_admins_email_so_cannot_take_over_the_account(db, app, hr, admin, login_as):
    client = login_as(hr)
    path = f"/o/{admin.organization.slug}/admin/people/{admin.id}"
    form = {
        **details(admin, email="hal.owns.this@evil.example").__dict__,
        "csrf_token": csrf_token(client, path),
    }
    form["unit_id"] = str(form["unit_id"])
    resp = client.post(f"{path}/edit", data=form)
    assert resp.status_code == 403
    db.expire_all()
    assert admin.user.email != "hal.owns.this@evil.example"

    # The second half of the attack on main: a reset link for the new address. It finds no account.
    reset = client.post(
        "/reset", data={"email": "hal.owns.this@evil.example", "csrf_token": csrf_token(client, "/reset")}
    )
    assert reset.status_code == 200
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_hr_cannot_reactivate_an_org_admin_whom_an_admin_deactivated(db, make, tree, admin, hr):
    other_admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True)
    people.deactivate_person(db, actor(admin), other_admin.id)
    with pytest.raises(Forbidden, match="holds permissions you do not have"):
        people.reactivate_person(db, actor(hr), other_admin.id)
    db.refresh(other_admin)
    assert not other_admin.active


def test_hr_cannot_change_the_role_unit_or_status_of_someone_with_more_permissions(db, make, tree, hr):
    coach = make.person(tree, StakeholderRole.EXECUTIVE, coach=True)
    for attempt in (
        lambda: people.update_person(db, actor(hr), coach.id, details(coach, stakeholder_role="board")),
        lambda: people.update_person(db, actor(hr), coach.id, details(coach, unit_id=tree.department.id)),
        lambda: people.deactivate_person(db, actor(hr), coach.id),
    ):
        with pytest.raises(Forbidden):
            attempt()
    db.refresh(coach)
    assert (coach.stakeholder_role, coach.unit_id, coach.active) == (
        StakeholderRole.EXECUTIVE,
        tree.unit.id,
        True,
    )


def test_hr_still_manages_learners_and_other_hr(db, make, tree, hr):
    learner = make.person(tree)
    colleague = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)
    people.update_person(db, actor(hr), learner.id, details(learner, stakeholder_role="unit-leader"))
    people.deactivate_person(db, actor(hr), colleague.id)
    assert learner.stakeholder_role is StakeholderRole.UNIT_LEADER
    assert not colleague.active


def test_an_org_admin_manages_hr_and_grants_any_permission(db, make, tree, admin, hr):
    people.set_permissions(db, actor(admin), hr.id, {Permission.HR, Permission.COACH})
    assert hr.permissions == {Permission.HR, Permission.COACH}
    people.deactivate_person(db, actor(admin), hr.id)
    assert not hr.active


def test_nobody_grants_a_permission_they_lack(db, make, tree, hr):
    learner = make.person(tree)
    with pytest.raises(Forbidden):
        people.set_permissions(db, actor(hr), learner.id, {Permission.HR})
    with pytest.raises(Forbidden):
        people.add_person(
            db,
            actor(hr),
            people.PersonInput("new@alpha.example", "New Person", "clinician", tree.unit.id),
            permissions={Permission.COACH},
        )


def test_the_person_page_offers_no_forms_for_someone_who_holds_more(app, hr, admin, login_as):
    client = login_as(hr)
    html = client.get(f"/o/{admin.organization.slug}/admin/people/{admin.id}").get_data(as_text=True)
    assert "holds permissions you do not have" in html
    assert f"/admin/people/{admin.id}/edit" not in html
    assert f"/admin/people/{admin.id}/deactivate" not in html
