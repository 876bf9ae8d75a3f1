"""Dosing by role within a level: a role's dose level assigns the modules of that level written for the
role (their front matter's `roles`), not every module of it; one person planned, a whole organisation
reconciled and the project's own content follow the same rule (curricula.dosing)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_content_sync import corpus, module
from test_dosing import assignments, plan

from curricula import dosing as rule
from curricula.corpus import load_corpus
from curricula.stakeholders import StakeholderRole
from lms.models import Module
from lms.services import content as publishing
from lms.services import dosing, dosing_page
from lms.services.access import Actor

TODAY = date(2025, 3, 3)
POLICY = {
    "clinician": {"awareness": 30},
    "unit-leader": {"awareness": 30, "sponsor": 120},
    "executive": {"awareness": 30, "sponsor": 90},
}
REAL = Path(__file__).resolve().parent.parent / "content"


def publish(db: Session, *, presence_roles: tuple[str, ...] = ("unit-leader", "executive")) -> None:
    publishing.sync(
        db,
        corpus(
            module("what-matters"),
            module("leading-a-project", dose="sponsor", roles=("unit-leader",)),
            # Its text stands for the file's: a change of roles is a change of the file.
            module("leader-presence", dose="sponsor", roles=presence_roles, text=",".join(presence_roles)),
            policy=POLICY,
        ),
    )
    db.commit()


@pytest.fixture
def library(db: Session) -> dict[str, Module]:
    publish(db)
    return {m.slug: m for m in db.scalars(select(Module))}


def test_within_a_level_each_role_gets_only_the_modules_written_for_it(db, make, tree, library):
    leader = make.person(tree, StakeholderRole.UNIT_LEADER)
    executive = make.person(tree, StakeholderRole.EXECUTIVE)

    plan(db, leader)
    plan(db, executive)

    assert set(assignments(db, leader)) == {"what-matters", "leading-a-project", "leader-presence"}
    mine = assignments(db, executive)
    assert set(mine) == {"what-matters", "leader-presence"}, "not the unit leaders' project module"
    assert mine["leader-presence"].due_on == TODAY + timedelta(days=90), "the executive policy's days"


def test_the_reconcile_follows_a_module_whose_roles_change(db, make, tree, library):
    executive = make.person(tree, StakeholderRole.EXECUTIVE)
    dosing.reconcile(db, tree.org.id, today=TODAY)
    db.commit()
    assert "leader-presence" in assignments(db, executive)

    publish(db, presence_roles=("unit-leader",))
    counts = dosing.reconcile(db, tree.org.id, today=TODAY)
    db.commit()

    assert set(assignments(db, executive)) == {"what-matters"}
    assert counts.cancelled == 1 and counts.memberships == {executive.id}
    assert dosing.stale(db, tree.org.id, today=TODAY) == [], "the query follows the module's roles"

    publish(db)
    dosing.reconcile(db, tree.org.id, today=TODAY)
    db.commit()
    assert set(assignments(db, executive)) == {"what-matters", "leader-presence"}, "re-opened"


def test_a_module_naming_no_role_is_for_every_role_of_its_level():
    modules = [rule.Dosed("a", "awareness"), rule.Dosed("b", "awareness", ("board",))]

    assert rule.required(modules, {"awareness": 30}, "clinician") == {"a": ("awareness", 30)}
    assert rule.required(modules, {"awareness": 60}, "board") == {
        "a": ("awareness", 60),
        "b": ("awareness", 60),
    }
    assert rule.required(modules, {}, "board") == {}, "a role without the level gets none of it"


# --- the project's content -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    loaded = load_corpus(REAL)
    assert loaded.problems == ()
    modules = [rule.Dosed(m.id, m.dose, m.roles) for m in loaded.modules]
    return loaded, rule.by_role(modules, loaded.policy.roles)


# What issue 13 asks each role to get.
ASKED = {
    "executive": {"wsq-leader-presence", "lfq-establish-foundation", "wsq-quality-planning"},
    "board": {"is-run-charts", "wsq-stages"},
    "unit-leader": {
        "lfq-overview",
        "lfq-set-direction",
        "lfq-establish-foundation",
        "lfq-build-will",
        "lfq-encourage-ideas",
        "lfq-execute-scale-up",
        "wsq-leadership-principles",
    },
    "quality-staff": {"wsq-stages"},
    "patient-family-partner": {"wsq-stakeholder-roles"},
}


@pytest.mark.parametrize("role", sorted(ASKED))
def test_each_role_gets_what_its_duties_need(real, role):
    _, by_role = real
    assert ASKED[role] <= set(by_role[role])


def test_roles_stay_apart_where_a_level_is_shared(real):
    _, by_role = real
    assert not {"is-leading-a-project", "is-driver-diagrams"} & set(by_role["executive"])
    assert not {"pfp-how-care-improves", "pfp-your-voice"} & set(by_role["clinician"])
    assert {"pfp-how-care-improves", "pfp-your-voice"} <= set(by_role["patient-family-partner"])
    assert "lfq-qi-as-management" not in by_role["board"]


def test_every_module_names_only_roles_the_policy_doses_to_its_level(real):
    loaded, _ = real
    modules = [rule.Dosed(m.id, m.dose, m.roles) for m in loaded.modules]
    assert list(rule.disagreements(modules, loaded.policy.roles)) == []
    for m in loaded.modules:
        for role in m.roles:
            assert m.dose in loaded.policy.roles[role], (m.id, role)


def test_the_policy_page_counts_the_modules_each_role_gets_of_a_level(db, make, tree, library, login_as):
    hr = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)

    page = login_as(hr).get(f"/o/{tree.org.slug}/admin/dosing")

    overview = dosing_page.overview(db, Actor(hr.user, hr))
    by_role = {rp.role: rp.modules for rp in overview.roles}
    assert by_role["executive"] == {"awareness": 1, "sponsor": 1}
    assert by_role["unit-leader"] == {"awareness": 1, "sponsor": 2}
    assert page.status_code == 200
    assert '90 days <span class="hint">(1 module)</span>' in page.get_data(as_text=True)
