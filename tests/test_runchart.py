"""The run-chart rules (Anhøj's and the IHI's) and the chart drawn as accessible SVG (curricula.runchart)."""

from __future__ import annotations

import statistics
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from curricula import runchart

SVG = "{http://www.w3.org/2000/svg}"


def test_the_published_limits_for_24_useful_observations():
    assert runchart.longest_run_limit(24) == 8
    assert runchart.fewest_crossings(24) == 8


def test_limits_for_other_sizes_follow_the_published_formulas():
    # round(log2(n) + 3) and the 5th percentile of binomial(n - 1, 1/2), as in Anhøj & Olesen (2014)
    assert [runchart.longest_run_limit(n) for n in (10, 12, 20, 30, 50, 100)] == [6, 7, 7, 8, 9, 10]
    assert [runchart.fewest_crossings(n) for n in (10, 12, 20, 30, 50, 100)] == [2, 3, 6, 10, 19, 41]


def test_random_looking_data_shows_no_signal():
    values = [12, 15, 11, 16, 14, 10, 17, 13, 15, 12, 16, 11, 14, 17, 10, 15, 13, 16, 12, 14, 11, 17, 13, 15]
    found = runchart.analyse(values)
    assert found.useful == 24 - values.count(found.median)
    assert found.signals == ()


def test_a_shift_after_a_change_is_found_by_both_rule_sets():
    before = [20, 22, 19, 23, 21, 20, 22, 19, 21, 23, 20, 22]
    after = [26, 28, 27, 29, 26, 28, 27, 29, 28, 26, 27, 29]  # a change that worked: 12 points above
    found = runchart.analyse(before + after)
    assert found.shift and found.long_run and found.few_crossings
    assert found.longest_run == 12 and found.crossings == 1
    assert any(s.startswith("A shift: 12 points") for s in found.signals)


def test_a_trend_counts_points_going_one_way_and_skips_ties():
    assert runchart.analyse([5, 6, 6, 7, 8, 9, 3, 9, 4]).longest_trend == 5  # 5,6,(6),7,8,9
    assert runchart.analyse([5, 6, 7, 8, 3, 9, 2, 8]).trend is False


def test_points_on_the_median_neither_make_nor_break_a_run():
    found = runchart.analyse([1, 1, 5, 9, 9, 5, 1])  # median 5
    assert found.useful == 5 and found.longest_run == 2 and found.crossings == 2


@given(st.lists(st.integers(min_value=-50, max_value=50), min_size=1, max_size=60))
def test_runs_and_crossings_agree_on_any_data(values):
    found = runchart.analyse(values)
    assert found.median == statistics.median(values)
    assert 0 <= found.crossings <= max(0, found.useful - 1)
    assert found.longest_run <= found.useful
    assert found.runs == (found.crossings + 1 if found.useful else 0)


def test_the_chart_is_svg_with_a_title_a_description_and_the_median_named():
    values = [20, 22, 19, 23, 21, 20, 22, 19, 21, 23, 20, 22, 26, 28, 27, 29, 26, 28, 27, 29, 28, 26, 27, 29]
    labels = [f"W{i}" for i in range(1, 25)]
    svg = runchart.draw(
        values, labels, title="Falls <per 1,000 bed days>", description="Weekly falls.", ident="falls"
    )
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.get("role") == "img" and root.get("aria-labelledby") == "falls-title falls-desc"
    assert root.find(f"{SVG}title").text == "Falls <per 1,000 bed days>"  # escaped in, read back whole
    desc = root.find(f"{SVG}desc").text
    assert desc.startswith("Weekly falls. Median 24.5.") and "A shift: 12 points" in desc
    assert len(root.findall(f"{SVG}circle")) == 24
    assert any(t.text == "Median 24.5" for t in root.iter(f"{SVG}text"))


def test_the_data_table_lists_every_point():
    html = runchart.table([3, 4.5], ["Jan", "Feb <b>"], caption="Falls")
    assert '<th scope="row">Feb &lt;b&gt;</th><td data-label="Value">4.5</td>' in html
    assert html.count("<tr>") == 3
