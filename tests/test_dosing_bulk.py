"""The organisation-wide reconcile is set-based (one query finds whose assignments differ from the
policy, only they are planned, Core writes): it must leave every person exactly as planning them one by
one does, in any state (role changes, deactivations, overrides, retired modules, completions, manual
assignments, due dates off by a day around daylight-saving changes, modules written for some roles of a
level only, a person given an extra level), and bump the learning_version of
exactly the people it changed, so My learning shows the change."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from test_content_sync import corpus, module

from curricula.stakeholders import StakeholderRole
from lms.db import utcnow
from lms.models import (
    Assignment,
    AssignmentSource,
    DosePolicyOverride,
    Membership,
    Module,
    Progress,
    ProgressStatus,
    User,
)
from lms.services import content as publishing
from lms.services import dosing

TODAY = date(2025, 11, 3)  # the Monday after New York's clocks went back
POLICY = {
    "clinician": {"awareness": 30, "foundational": 90},
    "executive": {"awareness": 30, "sponsor": 90},
    "board": {"awareness": 60},
}
SLUGS = ("model-for-improvement", "what-matters", "pdsa", "run-charts", "sponsoring-a-portfolio")
ROLES = (StakeholderRole.CLINICIAN, StakeholderRole.EXECUTIVE, StakeholderRole.BOARD)
ZONES = ("America/New_York", "UTC", "Asia/Kolkata", "Australia/Lord_Howe")  # Lord Howe: 30-minute DST


@pytest.fixture
def library(db: Session) -> dict[str, Module]:
    publishing.sync(
        db,
        corpus(
            module("model-for-improvement"),
            module("what-matters", roles=("clinician", "board")),  # not the executives' awareness
            module("pdsa", dose="foundational"),
            module("run-charts", dose="foundational", roles=("clinician",)),
            module("sponsoring-a-portfolio", dose="sponsor", roles=("executive",)),
            policy=POLICY,
        ),
    )
    db.commit()
    return {m.slug: m for m in db.scalars(select(Module))}


_numbers = itertools.count(1)

# What a person may hold of one module before the reconcile.
HOLDINGS = (
    "none",
    "dose",
    "dose",
    "dose, a day late",
    "dose, a day early",
    "dose, another level",
    "cancelled",
    "manual",
)
SHIFT = {"dose, a day late": 1, "dose, a day early": -1}

moments = st.builds(
    lambda days, hour, minute: (
        datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=days, hours=hour, minutes=minute)
    ),
    # Around local midnight in New York (04:00-05:00 UTC), in winter and summer; the DST changes of
    # 2025 fall on days 67 and 305.
    st.integers(min_value=0, max_value=306),
    st.sampled_from([3, 4, 5, 13, 18, 23]),
    st.sampled_from([0, 29, 30, 59]),
)
people = st.lists(
    st.tuples(
        st.sampled_from(ROLES),
        st.sampled_from([True, True, True, False]),  # active
        st.lists(st.tuples(st.sampled_from(HOLDINGS), moments, st.booleans()), min_size=5, max_size=5),
        st.none() | st.tuples(st.sampled_from(["awareness", "foundational", "sponsor"]), st.integers(1, 120)),
    ),
    min_size=1,
    max_size=4,
)
worlds = st.fixed_dictionaries(
    {
        "zone": st.sampled_from(ZONES),
        "people": people,
        "override": st.none()
        | st.dictionaries(st.sampled_from(["awareness", "foundational", "sponsor"]), st.integers(1, 120)),
        "retired": st.sets(st.sampled_from(SLUGS), max_size=2),
    }
)


def arrange(db: Session, tree, library: dict[str, Module], world: dict) -> list[Membership]:
    """The world as the reconcile finds it: assignments written as other code paths and older policies
    left them (due dates computed here from the default policy, some a day or a level off)."""
    tree.org.time_zone = world["zone"]
    zone = ZoneInfo(world["zone"])
    if world["override"] is not None:
        db.add(DosePolicyOverride(org_id=tree.org.id, role="clinician", levels=world["override"]))
    for slug in world["retired"]:
        library[slug].retired_at = utcnow()
    made = []
    for role, active, holdings, extra in world["people"]:
        n = next(_numbers)
        user = User(email=f"bulk{n}@alpha.example", name=f"Bulk {n}")
        db.add(user)
        db.flush()
        person = Membership(
            user_id=user.id,
            org_id=tree.org.id,
            unit_id=tree.unit.id,
            stakeholder_role=role,
            active=active,
            extra_level=extra[0] if extra else None,
            extra_level_days=extra[1] if extra else None,
        )
        db.add(person)
        db.flush()
        for (holding, moment, completed), slug in zip(holdings, SLUGS, strict=True):
            target = library[slug]
            days = POLICY[role.value].get(target.dose, 45)
            due = moment.astimezone(zone).date() + timedelta(days=days)
            if holding != "none":
                db.add(
                    Assignment(
                        membership_id=person.id,
                        org_id=tree.org.id,
                        user_id=person.user_id,
                        module_id=target.id,
                        source=AssignmentSource.MANUAL if holding == "manual" else AssignmentSource.DOSE,
                        level=None
                        if holding == "manual"
                        else "sponsor"
                        if "level" in holding
                        else target.dose,
                        assigned_at=moment,
                        due_on=due + timedelta(days=SHIFT.get(holding, 0)),
                        cancelled_at=moment + timedelta(days=3) if holding == "cancelled" else None,
                    )
                )
            if completed:
                db.add(
                    Progress(
                        user_id=person.user_id,
                        module_id=target.id,
                        status=ProgressStatus.COMPLETED,
                        completed_at=moment,
                        completed_hash=target.content_hash,
                    )
                )
        made.append(person)
    db.flush()
    return made


def state(db: Session, made: list[Membership]) -> tuple[dict, dict[int, int]]:
    """Every assignment by (person's place in the world, module), and each person's learning_version."""
    db.expire_all()
    place = {m.id: n for n, m in enumerate(made)}
    rows = db.execute(
        select(
            Assignment.membership_id,
            Assignment.module_id,
            Assignment.source,
            Assignment.level,
            Assignment.assigned_at,
            Assignment.due_on,
            Assignment.cancelled_at.is_not(None),
        ).where(Assignment.membership_id.in_(place))
    )
    held = {(place[r[0]], r[1]): tuple(r[2:]) for r in rows}
    versions = dict(
        db.execute(select(Membership.id, Membership.learning_version).where(Membership.id.in_(place))).all()
    )
    return held, {place[k]: v for k, v in versions.items()}


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(world=worlds)
def test_the_reconcile_leaves_everyone_as_planning_them_one_by_one_does(db, tree, library, world):
    one_by_one = db.begin_nested()
    try:
        made = arrange(db, tree, library, world)
        for person in made:
            dosing.plan_for(db, person, today=TODAY)
        expected, _ = state(db, made)
    finally:
        one_by_one.rollback()

    together = db.begin_nested()
    try:
        made = arrange(db, tree, library, world)
        before, versions_before = state(db, made)
        counts = dosing.reconcile(db, tree.org.id, today=TODAY)
        after, versions_after = state(db, made)
        again = dosing.reconcile(db, tree.org.id, today=TODAY)
        named_after = dosing.stale(db, tree.org.id, today=TODAY)
        ids = [m.id for m in made]
    finally:
        together.rollback()

    assert after == expected
    changed = {
        n
        for n in range(len(made))
        if {k: v for k, v in before.items() if k[0] == n} != {k: v for k, v in after.items() if k[0] == n}
    }
    assert {ids.index(m) for m in counts.memberships} == changed, "the changed memberships are reported"
    assert {n for n in versions_after if versions_after[n] != versions_before[n]} == changed, (
        "exactly the people whose assignments changed get a new learning_version"
    )
    assert again.changed == 0 and not again.memberships, "a second reconcile finds nothing to change"
    assert named_after == [], "once everyone is planned, the query names nobody (nothing is read again)"


def test_an_open_assignment_due_a_day_off_is_redated_by_the_reconcile_and_shows(db, make, tree, library):
    person = make.person(tree)
    dosing.plan_for(db, person, today=TODAY)
    db.commit()
    pdsa = db.scalar(
        select(Assignment).where(
            Assignment.membership_id == person.id, Assignment.module_id == library["pdsa"].id
        )
    )
    right = pdsa.due_on
    pdsa.due_on = right + timedelta(days=1)
    db.commit()
    db.refresh(person)
    version = person.learning_version

    counts = dosing.reconcile(db, tree.org.id, today=TODAY)

    db.refresh(pdsa)
    assert pdsa.due_on == right and counts.redated == 1 and counts.memberships == {person.id}
    assert person.learning_version == version + 1, "read again after the bulk write"


def test_a_policy_change_replans_the_whole_role_in_bulk(db, make, tree, library):
    from test_dosing import admin_of

    hr = admin_of(make, tree)
    clinicians = [make.person(tree) for _ in range(3)]
    executive = make.person(tree, StakeholderRole.EXECUTIVE)
    dosing.reconcile(db, tree.org.id)
    db.commit()

    change = dosing.set_override(db, hr, "clinician", {"awareness": 10})

    assert change.counts.cancelled == 3 * 2 and change.counts.redated == 3 * 2
    assert change.counts.people == 3 + 0, "the HR actor is quality staff, not a clinician"
    assert change.counts.memberships == {c.id for c in clinicians}
    held = db.scalars(
        select(Assignment.membership_id).where(
            Assignment.cancelled_at.is_(None), Assignment.level == "foundational"
        )
    ).all()
    assert held == [], "no clinician holds an open foundational assignment"
    assert executive.id not in change.counts.memberships


@pytest.mark.postgres
def test_a_large_reconcile_analyses_what_it_grew_inside_its_transaction(db, make, tree, library, monkeypatch):
    """Past the threshold, PostgreSQL's statistics learn of the rows the transaction created (so later
    batches plan by them), and the plan is the same as without the analysis."""
    from lms.services import dosing_bulk

    monkeypatch.setattr(dosing_bulk, "_ANALYZE_FROM", 1)
    people = [make.person(tree) for _ in range(3)]
    db.execute(text("ANALYZE assignment"))
    db.commit()
    counts = dosing.reconcile(db, tree.org.id, today=TODAY)
    estimated = db.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'assignment'"))
    planned = db.scalar(select(func.count()).select_from(Assignment).where(Assignment.cancelled_at.is_(None)))
    db.commit()
    assert counts.created > 0 and counts.memberships >= {p.id for p in people}
    assert estimated == planned
