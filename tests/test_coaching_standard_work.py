"""Leader standard work as a leader reads it: the target their role has, and how their walks kept to it
over a week or a month."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coaching.standard_work import DEFAULT_TARGETS, Target, TargetError, adherence, parse_targets

MONDAY = date(2026, 3, 2)


def day(n: int) -> date:
    """The date n days after Monday 2 March 2026 (so 5 is a Saturday)."""
    return MONDAY + timedelta(days=n)


def test_unit_and_departmental_leaders_walk_daily_and_executives_weekly_by_default():
    assert DEFAULT_TARGETS["unit-leader"] == Target("day", 1)
    assert DEFAULT_TARGETS["departmental-leader"] == Target("day", 1)
    assert DEFAULT_TARGETS["executive"] == Target("week", 1)
    assert "clinician" not in DEFAULT_TARGETS
    assert Target("day").describe() == "1 walk each working day (Monday to Friday)"
    assert Target("week", 2).describe() == "2 walks each week"


def test_a_daily_target_counts_working_days_and_a_weekend_is_never_missed():
    walks = [day(0), day(1), day(1), day(3), day(5)]  # Mon, Tue twice, Thu, Sat
    result = adherence(walks, Target("day"), day(0), day(6))
    assert result.periods == (
        (day(0), 1, True),
        (day(1), 2, True),
        (day(2), 0, False),
        (day(3), 1, True),
        (day(4), 0, False),
    )
    # Two walks on Tuesday do not make up for Wednesday; Saturday's walk meets no day's target.
    assert (result.expected, result.done, result.met) == (5, 3, 3)
    assert result.ratio == pytest.approx(0.6)


def test_a_weekly_target_over_a_month_with_partial_weeks_at_both_ends():
    start, end = date(2026, 4, 1), date(2026, 4, 30)  # a Wednesday to a Thursday: five weeks touched
    walks = [date(2026, 3, 30), date(2026, 4, 2), date(2026, 4, 9), date(2026, 4, 10), date(2026, 4, 29)]
    result = adherence(walks, Target("week"), start, end)
    assert [(first.isoformat(), n, met) for first, n, met in result.periods] == [
        ("2026-03-30", 1, True),  # 30 March is outside the month: only 2 April counts
        ("2026-04-06", 2, True),
        ("2026-04-13", 0, False),
        ("2026-04-20", 0, False),
        ("2026-04-27", 1, True),
    ]
    assert (result.expected, result.done) == (5, 3)


def test_a_target_of_two_a_week_counts_at_most_two_in_each_week():
    result = adherence([day(0)] * 4 + [day(7)], Target("week", 2), day(0), day(13))
    assert [(n, met) for _, n, met in result.periods] == [(4, True), (1, False)]
    assert (result.expected, result.done) == (4, 3)


def test_a_weekend_alone_expects_nothing_and_is_fully_adherent():
    result = adherence([], Target("day"), day(5), day(6))
    assert (result.expected, result.done, result.periods, result.ratio) == (0, 0, (), 1.0)


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="ends"):
        adherence([], Target("day"), day(3), day(1))


@given(
    st.lists(st.integers(-10, 60)),
    st.integers(0, 30),
    st.integers(0, 40),
    st.sampled_from(["day", "week"]),
    st.integers(1, 3),
)
def test_adherence_never_counts_more_than_expected_nor_walks_outside_the_range(
    offsets, first, length, per, count
):
    start, end = day(first), day(first + length)
    walks = [day(n) for n in offsets]
    result = adherence(walks, Target(per, count), start, end)
    assert 0 <= result.done <= result.expected == count * len(result.periods)
    assert 0.0 <= result.ratio <= 1.0
    assert sum(n for _, n, _ in result.periods) <= sum(1 for w in walks if start <= w <= end)
    assert [p[0] for p in result.periods] == sorted({p[0] for p in result.periods})
    if per == "day":
        assert sum(n for _, n, _ in result.periods) == sum(
            1 for w in walks if start <= w <= end and w.weekday() < 5
        )


# --- an organisation's own targets ------------------------------------------------------------------


def test_an_organisation_overrides_some_roles_and_keeps_the_defaults_for_the_others():
    targets = parse_targets(
        {"executive": {"per": "week", "count": 2}, "quality-staff": "3 per week", "unit-leader": "daily"}
    )
    assert targets == {
        "unit-leader": Target("day"),
        "departmental-leader": Target("day"),
        "executive": Target("week", 2),
        "quality-staff": Target("week", 3),
    }
    assert parse_targets(None) == dict(DEFAULT_TARGETS)
    assert "executive" not in parse_targets({"executive": None})


@pytest.mark.parametrize(
    ("mapping", "field", "words"),
    [
        ({"chief": "daily"}, "chief", "not a stakeholder role"),
        ({"executive": "monthly"}, "executive", "'daily', 'weekly' or 'N per day|week'"),
        ({"executive": {"per": "month"}}, "executive", "per day (Monday to Friday) or per week"),
        ({"executive": {"per": "week", "count": 0}}, "executive", "whole number from 1 to 50"),
        ({"executive": {"per": "week", "count": True}}, "executive", "whole number from 1 to 50"),
        ({"executive": {"per": "week", "every": 2}}, "executive", "only 'per' and 'count'"),
        ({"executive": 7}, "executive", "{per: day|week, count: N}"),
        (["executive"], "targets", "mapping from stakeholder role"),
    ],
)
def test_a_target_that_cannot_be_names_the_role_and_what_to_fix(mapping, field, words):
    with pytest.raises(TargetError) as raised:
        parse_targets(mapping)
    assert raised.value.field == field
    assert words in raised.value.message


def test_a_target_built_directly_is_checked_too():
    with pytest.raises(TargetError) as raised:
        Target("fortnight")  # type: ignore[arg-type]
    assert raised.value.field == "per"
    with pytest.raises(TargetError) as raised:
        Target("day", 0)
    assert raised.value.field == "count"
