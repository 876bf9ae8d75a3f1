"""One person's extra dose level: HR gives a clinician who leads projects the practitioner level without
changing their role; they hold every module of it at once, the nightly reconcile keeps it so, taking it
away cancels what they have not completed, and it is audited and shown on their page."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import csrf_token
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_content_sync import corpus, module
from test_dosing import admin_of, assignments

from curricula.stakeholders import StakeholderRole
from lms.models import AuditEvent, Module, Progress, ProgressStatus
from lms.services import Forbidden, Invalid, NotFound, dosing, dosing_extra
from lms.services import content as publishing
from lms.services.access import Actor

TODAY = date(2025, 3, 3)
POLICY = {
    "clinician": {"awareness": 30},
    "unit-leader": {"awareness": 30, "sponsor": 120},
    "executive": {"awareness": 30, "sponsor": 90},
}


@pytest.fixture
def library(db: Session) -> dict[str, Module]:
    """`sponsor` stands for the practitioner level: one module for unit leaders, one for executives."""
    publishing.sync(
        db,
        corpus(
            module("what-matters"),
            module("leading-a-project", dose="sponsor", roles=("unit-leader",)),
            module("leader-presence", dose="sponsor", roles=("executive",)),
            policy=POLICY,
        ),
    )
    db.commit()
    return {m.slug: m for m in db.scalars(select(Module))}


def assigned_on(assignment, member) -> date:
    """The day an assignment was made where the organisation is: the day its due date counts from."""
    return assignment.assigned_at.astimezone(ZoneInfo(member.organization.time_zone)).date()


def test_hr_gives_a_clinician_a_level_and_they_hold_every_module_of_it_at_once(db, make, tree, library):
    hr = admin_of(make, tree)
    clinician = make.person(tree, StakeholderRole.CLINICIAN)
    dosing.plan_for(db, clinician)
    db.commit()
    assert set(assignments(db, clinician)) == {"what-matters"}

    change = dosing_extra.set_extra_level(db, hr, clinician.id, "sponsor", "45")
    db.commit()

    held = assignments(db, clinician)
    assert set(held) == {"what-matters", "leading-a-project", "leader-presence"}, "whichever roles"
    assert held["leader-presence"].level == "sponsor"
    presence = held["leader-presence"]
    assert presence.due_on == assigned_on(presence, clinician) + timedelta(days=45)
    assert change.counts.created == 2
    assert clinician.stakeholder_role is StakeholderRole.CLINICIAN, "the role is unchanged"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "person.extra_level_changed"))
    assert event.target_id == clinician.id and event.actor_id == hr.user.id
    assert event.changes == {"extra_level": [None, "sponsor"], "extra_level_days": [None, 45]}


def test_taking_the_level_away_cancels_what_they_have_not_completed(db, make, tree, library):
    hr = admin_of(make, tree)
    clinician = make.person(tree, StakeholderRole.CLINICIAN)
    dosing_extra.set_extra_level(db, hr, clinician.id, "sponsor", 60)
    db.add(
        Progress(
            user_id=clinician.user_id,
            module_id=library["leader-presence"].id,
            status=ProgressStatus.COMPLETED,
            completed_hash=library["leader-presence"].content_hash,
        )
    )
    db.commit()

    change = dosing_extra.set_extra_level(db, hr, clinician.id, "", None)
    db.commit()

    assert set(assignments(db, clinician)) == {"what-matters", "leader-presence"}, "completed stays"
    assert change.counts.cancelled == 1 and change.level is None
    assert clinician.extra_level is None and clinician.extra_level_days is None


def test_a_level_the_role_has_keeps_the_roles_days_for_its_own_modules(db, make, tree, library):
    hr = admin_of(make, tree)
    leader = make.person(tree, StakeholderRole.UNIT_LEADER)

    dosing_extra.set_extra_level(db, hr, leader.id, "sponsor", 10)
    db.commit()

    held = assignments(db, leader)
    assert set(held) == {"what-matters", "leading-a-project", "leader-presence"}
    assert (held["leading-a-project"].due_on - assigned_on(held["leading-a-project"], leader)).days == 120
    assert (held["leader-presence"].due_on - assigned_on(held["leader-presence"], leader)).days == 10


def test_what_is_wrong_is_said_by_field_and_nothing_is_saved(db, make, tree, library):
    hr = admin_of(make, tree)
    clinician = make.person(tree, StakeholderRole.CLINICIAN)

    with pytest.raises(Invalid) as refused:
        dosing_extra.set_extra_level(db, hr, clinician.id, "expert", "ninety")

    assert set(refused.value.errors) == {"extra_level", "extra_level_days"}
    for days in ("0", "731", "", "1.5", True):
        with pytest.raises(Invalid):
            dosing_extra.set_extra_level(db, hr, clinician.id, "sponsor", days)
    db.rollback()
    assert clinician.extra_level is None
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "person.extra_level_changed")) is None


def test_only_hr_and_org_admins_of_the_organisation_may_give_a_level(db, make, tree, other_tree, library):
    learner = make.person(tree, StakeholderRole.CLINICIAN)
    colleague = make.person(tree, StakeholderRole.CLINICIAN)
    stranger = make.person(other_tree, StakeholderRole.CLINICIAN)
    with pytest.raises(Forbidden):
        dosing_extra.set_extra_level(db, Actor(learner.user, learner), colleague.id, "sponsor", 30)
    with pytest.raises(NotFound):
        dosing_extra.set_extra_level(db, admin_of(make, tree), stranger.id, "sponsor", 30)
    admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True)
    dosing_extra.set_extra_level(db, Actor(admin.user, admin), colleague.id, "sponsor", 30)
    assert colleague.extra_level == "sponsor"


def test_the_nightly_reconcile_honours_an_extra_level_set_without_planning(db, make, tree, library):
    """As a roster import or a restore might leave it: the column set, nothing assigned yet."""
    clinician = make.person(tree, StakeholderRole.CLINICIAN)
    dosing.reconcile(db, tree.org.id, today=TODAY)
    db.commit()
    clinician.extra_level, clinician.extra_level_days = "sponsor", 20
    db.commit()

    counts = dosing.reconcile(db, tree.org.id, today=TODAY)
    db.commit()
    held = assignments(db, clinician)
    assert set(held) == {"what-matters", "leading-a-project", "leader-presence"}
    assert held["leader-presence"].due_on == TODAY + timedelta(days=20)
    assert counts.created == 2 and counts.memberships == {clinician.id}
    assert dosing.stale(db, tree.org.id, today=TODAY) == [], "once planned, the query names nobody"

    clinician.extra_level_days = 25
    db.commit()
    counts = dosing.reconcile(db, tree.org.id, today=TODAY)
    db.commit()
    assert assignments(db, clinician)["leader-presence"].due_on == TODAY + timedelta(days=25)
    assert counts.redated == 2
    assert dosing.stale(db, tree.org.id, today=TODAY) == []

    clinician.extra_level = None
    db.commit()
    counts = dosing.reconcile(db, tree.org.id, today=TODAY)
    db.commit()
    assert set(assignments(db, clinician)) == {"what-matters"} and counts.cancelled == 2
    assert dosing.stale(db, tree.org.id, today=TODAY) == []
    assert dosing.reconcile(db, tree.org.id, today=TODAY).changed == 0


# --- the person page ---------------------------------------------------------------------------------


def test_hr_gives_the_level_on_the_person_page_and_sees_it_there(db, make, tree, library, login_as):
    hr = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)
    clinician = make.person(tree, StakeholderRole.CLINICIAN, name="Dana Ruiz")
    client = login_as(hr)
    page = f"/o/{tree.org.slug}/admin/people/{clinician.id}"

    answer = client.post(
        page,
        data={
            "change": "extra_level",
            "csrf_token": csrf_token(client, page),
            "extra_level": "sponsor",
            "extra_level_days": "90",
        },
        follow_redirects=True,
    )

    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Dana Ruiz now also needs the Sponsor level, due in 90 days." in text
    assert "needs the <strong>Sponsor</strong> level on top of what the Clinician" in text
    assert ">Dana Ruiz</a> an extra dose level." in text, "the page's recent changes"
    assert "Extra dose level: none → sponsor" in text
    assert set(assignments(db, clinician)) == {"what-matters", "leading-a-project", "leader-presence"}


def test_a_wrong_number_of_days_is_shown_next_to_the_field_with_what_was_typed(
    db, make, tree, library, login_as
):
    hr = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)
    clinician = make.person(tree, StakeholderRole.CLINICIAN)
    client = login_as(hr)
    page = f"/o/{tree.org.slug}/admin/people/{clinician.id}"

    answer = client.post(
        page,
        data={
            "change": "extra_level",
            "csrf_token": csrf_token(client, page),
            "extra_level": "sponsor",
            "extra_level_days": "9000",
        },
    )

    text = answer.get_data(as_text=True)
    assert answer.status_code in (400, 422)
    assert "Enter a whole number of days from 1 to 730." in text
    assert 'value="9000"' in text
    db.expire_all()
    assert clinician.extra_level is None
