"""People: add, edit, role and permission changes, deactivation; every change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.models import AuditEvent, Invitation, Membership, Permission, User
from lms.services import Forbidden, Invalid, NotFound, invitations, people
from lms.services.access import Actor


def actor(m: Membership) -> Actor:
    return Actor(m.user, m)


@pytest.fixture
def admin(make, tree) -> Actor:
    return actor(make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True))


@pytest.fixture
def hr(make, tree) -> Actor:
    return actor(make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True))


def nurse(tree, **kw) -> people.PersonInput:
    return people.PersonInput(
        email=kw.get("email", "Nia.Nurse@Alpha.Example"),
        name=kw.get("name", "Nia Nurse"),
        stakeholder_role=kw.get("role", "clinician"),
        unit_id=kw.get("unit_id", tree.unit.id),
        job_code="RN2",
        employee_id=kw.get("employee_id", "A-100"),
    )


def test_hr_adds_a_person_and_it_is_audited(db, hr, tree):
    m = people.add_person(db, hr, nurse(tree))
    assert m.user.email == "nia.nurse@alpha.example"
    assert m.stakeholder_role is StakeholderRole.CLINICIAN and m.permissions == frozenset()
    event = db.query(AuditEvent).filter_by(action="person.added").one()
    assert event.actor_id == hr.user.id and event.changes["email"] == "nia.nurse@alpha.example"


def test_every_problem_is_reported_at_once_and_nothing_is_added(db, hr, tree, other_tree):
    bad = people.PersonInput(
        email="not-an-email", name="", stakeholder_role="surgeon", unit_id=other_tree.unit.id
    )
    with pytest.raises(Invalid) as exc:
        people.add_person(db, hr, bad)
    assert set(exc.value.errors) == {"email", "name", "stakeholder_role", "unit_id"}
    assert db.query(User).filter_by(email="not-an-email").count() == 0


def test_duplicate_email_and_employee_id_are_refused(db, hr, tree):
    people.add_person(db, hr, nurse(tree))
    with pytest.raises(Invalid) as exc:
        people.add_person(db, hr, nurse(tree, email="NIA.NURSE@alpha.example", employee_id="B-1"))
    assert exc.value.errors == {"email": ["Someone in this organisation already uses this email address."]}
    with pytest.raises(Invalid) as exc:
        people.add_person(db, hr, nurse(tree, email="other@alpha.example"))
    assert "employee ID" in exc.value.errors["employee_id"][0]


def test_a_person_known_elsewhere_is_invited_and_joins_when_they_accept(db, make, tree, other_tree):
    faculty = make.person(
        other_tree, StakeholderRole.QUALITY_STAFF, email="fay@faculty.example", faculty=True
    )
    admin = actor(make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True))
    invited = people.add_person(db, admin, nurse(tree, email="fay@faculty.example", role="quality-staff"))
    assert isinstance(invited, Invitation)
    assert invited.name == "Nia Nurse", "the organisation keeps what it typed, not the account's name"
    assert not db.scalar(
        select(Membership).where(Membership.org_id == tree.org.id, Membership.user_id == faculty.user_id)
    )

    m = invitations.accept(db, faculty.user, invited.id)
    assert m.org_id == tree.org.id and m.user_id == faculty.user_id
    assert {x.org_id for x in m.user.memberships} == {tree.org.id, other_tree.org.id}
    with pytest.raises(Invalid, match="only they can change their name and email"):
        people.update_person(db, admin, m.id, nurse(tree, email="fay@faculty.example", name="Fay F."))


def test_role_change_is_audited_with_old_and_new(db, hr, tree):
    m = people.add_person(db, hr, nurse(tree))
    people.update_person(db, hr, m.id, nurse(tree, role="unit-leader"))
    event = db.query(AuditEvent).filter_by(action="person.role_changed").one()
    assert event.changes == {"stakeholder_role": ["clinician", "unit-leader"]}


def test_only_org_admins_grant_permissions(db, hr, admin, tree):
    with pytest.raises(Forbidden):
        people.add_person(db, hr, nurse(tree), permissions={Permission.ORG_ADMIN})
    m = people.add_person(db, hr, nurse(tree))
    with pytest.raises(Forbidden):
        people.set_permissions(db, hr, m.id, {Permission.HR})
    people.set_permissions(db, admin, m.id, {Permission.COACH, Permission.FACULTY})
    assert db.get(Membership, m.id).permissions == {Permission.COACH, Permission.FACULTY}
    event = db.query(AuditEvent).filter_by(action="person.permissions_changed").one()
    assert event.changes == {"permissions": [[], ["coach", "faculty"]]}


def test_the_last_admin_cannot_be_removed(db, admin):
    with pytest.raises(Invalid, match="last administrator"):
        people.set_permissions(db, admin, admin.membership.id, set())
    assert db.get(Membership, admin.membership.id).is_org_admin


def test_deactivate_keeps_the_person_and_signs_them_out(db, hr, tree, login_as):
    m = people.add_person(db, hr, nurse(tree))
    people.deactivate_person(db, hr, m.id)
    kept = db.get(Membership, m.id)
    assert not kept.active and kept.deactivated_at is not None
    assert not kept.user.is_active
    assert people.list_people(db, hr).total == 1  # only HR themself is active
    assert people.list_people(db, hr, include_inactive=True).total == 2
    people.reactivate_person(db, hr, m.id)
    assert db.get(Membership, m.id).active


def test_nobody_deactivates_themself(db, hr):
    with pytest.raises(Invalid, match="cannot deactivate yourself"):
        people.deactivate_person(db, hr, hr.membership.id)


def test_list_filters_by_text_role_and_subtree(db, hr, make, tree):
    make.person(tree, StakeholderRole.BOARD, name="Bo Board", unit=tree.facility)
    make.person(tree, StakeholderRole.CLINICIAN, name="Cal Clinician")
    assert [m.user.name for m in people.list_people(db, hr, q="cal").items] == ["Cal Clinician"]
    assert [m.user.name for m in people.list_people(db, hr, role="board").items] == ["Bo Board"]
    in_dept = people.list_people(db, hr, unit_id=tree.department.id).items
    assert "Bo Board" not in [m.user.name for m in in_dept] and len(in_dept) == 2


def test_another_organisations_person_is_not_found(db, hr, make, other_tree):
    stranger = make.person(other_tree)
    for call in (
        lambda: people.get_person(db, hr, stranger.id),
        lambda: people.deactivate_person(db, hr, stranger.id),
        lambda: people.update_person(db, hr, stranger.id, nurse(other_tree)),
    ):
        with pytest.raises(NotFound):
            call()


def test_learners_cannot_see_the_roster(db, make, tree):
    learner = actor(make.person(tree))
    with pytest.raises(Forbidden):
        people.list_people(db, learner)


def test_a_search_for_percent_or_underscore_finds_them_literally(db, make, tree, hr):
    make.person(tree, name="Pat 100% Sure")
    make.person(tree, name="Sam Under_score")
    make.person(tree, name="Plain Person")
    found = people.list_people(db, hr, q="%").items
    assert [m.user.name for m in found] == ["Pat 100% Sure"]
    assert [m.user.name for m in people.list_people(db, hr, q="_").items] == ["Sam Under_score"]
