"""Follow-up escalation as the people in a unit tree would see it: when an overdue follow-up climbs a
tier, and whose board it lands on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coaching.escalation import EscalationError, EscalationPolicy, Tier, UnitNode, holder, leader_for

DUE = date(2026, 3, 2)

# 4 West (unit) < Nursing (department) < Riverbend General (facility) < Riverbend Health (system)
WARD = UnitNode(40, "unit", (401, 400))
DEPARTMENT = UnitNode(30, "department", (300,))
FACILITY = UnitNode(20, "facility", (200, 201))
SYSTEM = UnitNode(10, "system", (100,))
CHAIN = [WARD, DEPARTMENT, FACILITY, SYSTEM]


def empty(node: UnitNode) -> UnitNode:
    return UnitNode(node.id, node.kind, ())


@pytest.mark.parametrize(
    ("days_overdue", "tier"),
    [(-5, Tier.UNIT), (0, Tier.UNIT), (2, Tier.UNIT), (3, Tier.DEPARTMENT), (6, Tier.DEPARTMENT),
     (7, Tier.FACILITY), (13, Tier.FACILITY), (14, Tier.EXECUTIVE), (400, Tier.EXECUTIVE)],
)  # fmt: skip
def test_the_default_policy_climbs_at_3_7_and_14_days_overdue(days_overdue, tier):
    assert EscalationPolicy().tier_for(DUE, DUE + timedelta(days=days_overdue)) is tier


def test_an_organisation_sets_its_own_days():
    policy = EscalationPolicy((1, 2, 5))
    assert [policy.tier_for(DUE, DUE + timedelta(days=n)) for n in range(6)] == [
        Tier.UNIT,
        Tier.DEPARTMENT,
        Tier.FACILITY,
        Tier.FACILITY,
        Tier.FACILITY,
        Tier.EXECUTIVE,
    ]
    assert policy.reaches(Tier.FACILITY, DUE) == date(2026, 3, 4)
    assert policy.reaches(Tier.UNIT, DUE) == DUE
    assert EscalationPolicy([2, 4, 8]).days == (2, 4, 8)  # a list from a form or a JSON column
    assert "the facility after 2 days" in policy.describe()


@pytest.mark.parametrize(
    ("days", "words"),
    [((0, 7, 14), "1 day overdue at the earliest"), ((3, 3, 14), "do not rise"),
     ((7, 3, 14), "do not rise"), ((3, 7), "three whole numbers"), ((3, 7, "x"), "three whole numbers"),
     ((3.5, 7, 14), "three whole numbers"), ("3,7,14", "three numbers")],
)  # fmt: skip
def test_a_policy_that_cannot_be_says_what_to_fix(days, words):
    with pytest.raises(EscalationError) as raised:
        EscalationPolicy(days)
    assert raised.value.field == "days"
    assert words in raised.value.message


@given(st.integers(1, 60), st.integers(1, 60), st.integers(1, 60), st.integers(-30, 200), st.integers(0, 5))
def test_a_follow_up_only_climbs_as_days_pass_one_tier_at_a_time_at_most(a, b, c, overdue, later):
    first, second, third = sorted({a, a + b, a + b + c})
    policy = EscalationPolicy((first, second, third))
    today = DUE + timedelta(days=overdue)
    now, then = policy.tier_for(DUE, today), policy.tier_for(DUE, today + timedelta(days=later))
    assert now <= then
    assert policy.tier_for(DUE, today + timedelta(days=1)) - now in (0, 1)


# --- who holds it ------------------------------------------------------------------------------------


def test_each_tier_lands_with_the_lowest_id_leader_of_its_level():
    assert leader_for(Tier.UNIT, CHAIN) == 400
    assert leader_for(Tier.DEPARTMENT, CHAIN) == 300
    assert leader_for(Tier.FACILITY, CHAIN) == 200
    assert leader_for(Tier.EXECUTIVE, CHAIN) == 100


def test_a_level_with_nobody_passes_the_follow_up_up_never_down():
    chain = [WARD, empty(DEPARTMENT), empty(FACILITY), SYSTEM]
    assert leader_for(Tier.DEPARTMENT, chain) == 100
    assert leader_for(Tier.FACILITY, chain) == 100
    # The ward's own leaders are below the department: the follow-up never falls back to them.
    assert leader_for(Tier.DEPARTMENT, [WARD, empty(DEPARTMENT), empty(FACILITY), empty(SYSTEM)]) is None


def test_a_unit_without_leaders_goes_to_its_department():
    assert leader_for(Tier.UNIT, [empty(WARD), DEPARTMENT, FACILITY, SYSTEM]) == 300


def test_a_unit_directly_under_a_facility_escalates_to_the_facility_for_the_department_tier():
    assert leader_for(Tier.DEPARTMENT, [WARD, FACILITY, SYSTEM]) == 200


def test_a_follow_up_raised_on_a_department_itself():
    chain = [DEPARTMENT, FACILITY, SYSTEM]
    assert leader_for(Tier.UNIT, chain) == 300
    assert leader_for(Tier.DEPARTMENT, chain) == 300
    assert leader_for(Tier.FACILITY, chain) == 200


def test_nobody_anywhere_or_no_chain_is_none():
    assert leader_for(Tier.EXECUTIVE, [empty(n) for n in CHAIN]) is None
    assert leader_for(Tier.UNIT, []) is None


def test_holder_gives_the_tier_reached_today_and_its_leader():
    assert holder(EscalationPolicy(), DUE, DUE + timedelta(days=8), CHAIN) == (Tier.FACILITY, 200)
    assert holder(EscalationPolicy(), DUE, DUE, CHAIN) == (Tier.UNIT, 400)


def test_a_unit_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="expected one of unit, department, facility, system"):
        UnitNode(1, "ward", (2,))
