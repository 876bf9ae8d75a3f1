"""The coverage numbers always equal a recount from the raw records: after any sequence of people added,
modules completed, role changes, moves between units, units moved, deactivations, reactivations, a
person joining a second organisation, and days passing, every cell of every subtree (needed, completed,
overdue) is what counting person by person gives. Runs on SQLite and, in CI, on PostgreSQL."""

from __future__ import annotations

import contextlib
import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select
from test_content_sync import corpus, module

from curricula.stakeholders import StakeholderRole
from lms.cli import main
from lms.db import utcnow
from lms.models import Membership, Module, Progress, UnitKind, User
from lms.services import Invalid, coverage, dosing, dosing_extra, modules, organizations, people
from lms.services import content as publishing
from lms.services.access import Actor
from lms.services.coverage_upkeep import fold, org_today

POLICY = {
    "clinician": {"awareness": 30, "foundational": 90},
    "executive": {"awareness": 30, "sponsor": 90},
    "unit-leader": {"awareness": 10},
}
ROLES = [
    StakeholderRole.CLINICIAN,
    StakeholderRole.EXECUTIVE,
    StakeholderRole.UNIT_LEADER,
    StakeholderRole.BOARD,
]
_emails = itertools.count(1)


@pytest.fixture
def library(db):
    publishing.sync(
        db,
        corpus(
            module("model-for-improvement"),
            module("what-matters"),
            module("pdsa", dose="foundational"),
            module("sponsoring", dose="sponsor"),
            policy=POLICY,
        ),
    )
    db.commit()
    return [m.slug for m in db.scalars(select(Module))]


def test_coverage_equals_a_recount_after_any_sequence_of_changes(db, make, library):
    class Coverage(RuleBasedStateMachine):
        @initialize()
        def organisations(self):
            self.tree = make.org()
            self.other = make.org()
            t = self.tree
            second = make.unit(t.org, "Community Hospital", UnitKind.FACILITY, t.system)
            surgery = make.unit(t.org, "Surgery", UnitKind.DEPARTMENT, second)
            ward = make.unit(t.org, "Ward 2", UnitKind.UNIT, surgery)
            self.units = [t.unit, t.department, ward, surgery, t.facility]
            self.departments = [t.department, surgery]
            self.facilities = [t.facility, second]
            admin = make.person(t, StakeholderRole.QUALITY_STAFF, hr=True, org_admin=True)
            self.hr = Actor(admin.user, admin)
            self.people: list[int] = []
            self.today = org_today(db, t.org.id)

        def membership(self, data) -> Membership:
            return db.get(Membership, data.draw(st.sampled_from(self.people)))

        @rule(role=st.sampled_from(ROLES), unit=st.integers(0, 4))
        def import_person(self, role, unit):
            n = next(_emails)
            added = people.add_person(
                db,
                self.hr,
                people.PersonInput(
                    email=f"cov{n}@coverage.example",
                    name=f"Person {n}",
                    stakeholder_role=role.value,
                    unit_id=self.units[unit].id,
                ),
                welcome=False,
            )
            self.people.append(added.id)

        @precondition(lambda self: self.people)
        @rule(
            data=st.data(),
            slug=st.sampled_from(["model-for-improvement", "what-matters", "pdsa", "sponsoring"]),
        )
        def complete(self, data, slug):
            user = db.get(User, self.membership(data).user_id)
            modules.answer_check(db, user, slug, "q1", [0])

        @precondition(lambda self: self.people)
        @rule(data=st.data(), role=st.sampled_from(ROLES))
        def change_role(self, data, role):
            self.update(self.membership(data), stakeholder_role=role.value)

        @precondition(lambda self: self.people)
        @rule(data=st.data(), unit=st.integers(0, 4))
        def move_person(self, data, unit):
            self.update(self.membership(data), unit_id=self.units[unit].id)

        def update(self, m: Membership, **changes):
            data = {
                "email": m.user.email,
                "name": m.user.name,
                "stakeholder_role": m.stakeholder_role.value,
                "unit_id": m.unit_id,
                "job_code": m.job_code,
                "employee_id": m.employee_id,
                **changes,
            }
            people.update_person(db, self.hr, m.id, people.PersonInput(**data))

        @precondition(lambda self: self.people)
        @rule(
            data=st.data(),
            level=st.sampled_from(["", "foundational", "sponsor"]),
            days=st.integers(1, 120),
        )
        def give_an_extra_level(self, data, level, days):
            dosing_extra.set_extra_level(db, self.hr, self.membership(data).id, level, days)

        @precondition(lambda self: self.people)
        @rule(data=st.data())
        def deactivate(self, data):
            people.deactivate_person(db, self.hr, self.membership(data).id)

        @precondition(lambda self: self.people)
        @rule(data=st.data())
        def reactivate(self, data):
            people.reactivate_person(db, self.hr, self.membership(data).id)

        @rule(department=st.integers(0, 1), facility=st.integers(0, 1))
        def move_unit(self, department, facility):
            with contextlib.suppress(Invalid):  # already there
                organizations.move_unit(
                    db, self.hr, self.departments[department].id, new_parent_id=self.facilities[facility].id
                )

        @precondition(lambda self: self.people)
        @rule(data=st.data())
        def join_another_organisation(self, data):
            m = self.membership(data)
            if db.scalar(
                select(Membership.id).where(
                    Membership.user_id == m.user_id, Membership.org_id == self.other.org.id
                )
            ):
                return
            joined = Membership(
                user_id=m.user_id,
                org_id=self.other.org.id,
                unit_id=self.other.unit.id,
                stakeholder_role=StakeholderRole.CLINICIAN,
            )
            db.add(joined)
            db.flush()
            dosing.plan_for(db, joined)

        @rule(days=st.integers(1, 120), folded=st.booleans())
        def days_pass(self, days, folded):
            self.today += timedelta(days=days)
            if folded:
                fold(db.connection(), self.tree.org.id, self.today)

        @rule(whole=st.booleans(), unit=st.integers(0, 4))
        def refresh(self, whole, unit):
            coverage.refresh(db, self.tree.org.id, None if whole else [self.units[unit].id])

        @invariant()
        def numbers_equal_a_recount(self):
            db.flush()
            db.expire_all()
            for org in (self.tree.org, self.other.org):
                assert coverage.stored(db, org.id, self.today) == coverage.recount(db, org.id, self.today)

    Coverage.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=14,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    Coverage.TestCase().runTest()


def test_a_completion_moves_the_numbers_of_the_unit_and_every_unit_above_it(db, make, tree, library):
    """The cells count each person in their unit, every unit above it and the organisation."""
    admin = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)
    hr = Actor(admin.user, admin)
    added = people.add_person(
        db,
        hr,
        people.PersonInput(
            email="nurse@coverage.example",
            name="Nia Nurse",
            stakeholder_role="clinician",
            unit_id=tree.unit.id,
        ),
        welcome=False,
    )
    numbers = coverage.stored(db, tree.org.id)
    for unit in (0, tree.system.id, tree.facility.id, tree.department.id, tree.unit.id):
        assert numbers[(unit, "clinician", "awareness")] == (1, 0, 0)
    for slug in ("model-for-improvement", "what-matters"):
        modules.answer_check(db, added.user, slug, "q1", [0])
    numbers = coverage.stored(db, tree.org.id)
    for unit in (0, tree.system.id, tree.facility.id, tree.department.id, tree.unit.id):
        assert numbers[(unit, "clinician", "awareness")] == (1, 1, 0)
        assert numbers[(unit, "clinician", "foundational")] == (1, 0, 0)
    later = org_today(db, tree.org.id) + timedelta(days=91)
    assert coverage.stored(db, tree.org.id, later)[(tree.unit.id, "clinician", "foundational")] == (1, 0, 1)


def test_a_bulk_write_outside_the_orm_is_caught_up_by_a_rebuild(app, db, make, tree, library):
    """`lms coverage rebuild --org` (and `coverage.refresh`, which bulk writers call) recount from the raw
    records: a completion written in SQL shows once the organisation is rebuilt."""
    admin = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)
    added = people.add_person(
        db,
        Actor(admin.user, admin),
        people.PersonInput(email="bulk@coverage.example", name="Bo Bulk", stakeholder_role="executive"),
        welcome=False,
    )
    db.commit()
    sponsoring = db.scalar(select(Module.id).where(Module.slug == "sponsoring"))
    db.execute(
        Progress.__table__.insert().values(
            user_id=added.user_id,
            module_id=sponsoring,
            status="completed",
            started_at=utcnow(),
            last_seen_at=utcnow(),
        )
    )
    db.commit()
    assert coverage.stored(db, tree.org.id)[(0, "executive", "sponsor")] == (1, 0, 0)  # not seen yet
    assert coverage.recount(db, tree.org.id)[(0, "executive", "sponsor")] == (1, 1, 0)
    result = app.test_cli_runner().invoke(main, ["coverage", "rebuild", "--org", tree.org.slug])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Coverage of {tree.org.slug} rebuilt: 2 active people counted."
    db.expire_all()
    assert coverage.stored(db, tree.org.id) == coverage.recount(db, tree.org.id)


def test_work_deferred_by_a_bulk_writer_is_counted_once_at_the_end(db, make, tree, library):
    admin = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)
    hr = Actor(admin.user, admin)
    with coverage.deferred(db, tree.org.id):
        for n in range(3):
            people.add_person(
                db,
                hr,
                people.PersonInput(
                    email=f"d{n}@coverage.example", name=f"D {n}", stakeholder_role="clinician"
                ),
                welcome=False,
            )
        assert (0, "clinician", "awareness") not in coverage.stored(db, tree.org.id)
    assert coverage.stored(db, tree.org.id)[(0, "clinician", "awareness")] == (3, 0, 0)
    assert coverage.stored(db, tree.org.id) == coverage.recount(db, tree.org.id)


def test_what_if_shows_how_a_change_would_move_the_numbers_and_changes_nothing(db, make, tree, library):
    admin = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)
    hr = Actor(admin.user, admin)
    before = coverage.stored(db, tree.org.id)

    def hire():
        people.add_person(
            db,
            hr,
            people.PersonInput(email="w@coverage.example", name="Will", stakeholder_role="executive"),
            welcome=False,
        )

    moved = coverage.what_if(db, tree.org.id, hire)
    assert moved[(0, "executive", "sponsor")] == ((0, 0, 0), (1, 0, 0))
    assert moved[(0, "executive", "")] == ((0, 0, 0), (1, 1, 0))  # one more on the staff
    assert coverage.stored(db, tree.org.id) == before
    assert db.scalar(select(User.id).where(User.email == "w@coverage.example")) is None


def test_a_bulk_plan_restates_a_few_people_or_rebuilds_for_many_and_both_equal_a_recount(
    db, make, tree, library, monkeypatch
):
    """dosing's bulk plans bring coverage up to date once at their end: person by person when they changed
    few of the organisation's people, the whole organisation rebuilt when they changed many
    (coverage.REBUILD_SHARE). Either way the numbers are a recount's."""
    ran = []
    for name in ("restate", "rebuild"):
        real = getattr(coverage, name)
        monkeypatch.setattr(coverage, name, lambda *a, _real=real, _name=name: ran.append(_name) or _real(*a))
    staff = [make.person(tree) for _ in range(8)]  # made directly: nobody planned yet
    db.commit()
    ran.clear()

    first = dosing.reconcile(db, tree.org.id)
    db.commit()
    assert first.memberships == {m.id for m in staff} and ran == ["rebuild"]
    assert coverage.stored(db, tree.org.id) == coverage.recount(db, tree.org.id)

    # One person's role changed behind the ORM's back (no listener): the next reconcile changes one of 8.
    db.execute(
        Membership.__table__.update()
        .where(Membership.id == staff[0].id)
        .values(stakeholder_role=StakeholderRole.EXECUTIVE)
    )
    db.commit()
    ran.clear()
    second = dosing.reconcile(db, tree.org.id)
    db.commit()
    assert second.memberships == {staff[0].id} and ran == ["restate"]
    db.expire_all()
    assert coverage.stored(db, tree.org.id)[(0, "executive", "sponsor")][0] == 1
    assert coverage.stored(db, tree.org.id) == coverage.recount(db, tree.org.id)
