"""'::: runchart KEY': a run chart written as data in a module, drawn as SVG with its data table; every
mistake named at its line."""

from __future__ import annotations

from test_curricula_parse import CHECK, PATH, REFLECTION, VOCAB, body_problems, module

from curricula.parse import parse_module

VALUES = "[71, 69, 73, 70, 72, 68, 74, 71, 70, 73, 69, 72, 76, 79, 77, 80, 78, 81, 79, 82, 78, 80, 81, 79]"


def chart(*lines: str) -> str:
    return (
        "::: runchart hygiene\n"
        + "".join(f"{line}\n" for line in lines)
        + ":::\n\n"
        + REFLECTION
        + "\n"
        + CHECK
    )


SOUND = chart(
    "title: Hand hygiene, 4 West",
    "description: Weekly audits; new dispensers from week 13.",
    "y_label: Compliance (%)",
    f"values: {VALUES}",
)


def test_a_run_chart_is_drawn_with_what_the_rules_find_and_its_data():
    parsed = parse_module(module(SOUND), PATH, VOCAB)
    assert parsed.problems == []
    html = parsed.module.segments[0].value
    assert html.startswith('<figure class="run-chart-figure" id="runchart-hygiene"><svg ')
    assert "Weekly audits; new dispensers from week 13. Median 75. A shift: 12 points" in html
    assert "<figcaption>Hand hygiene, 4 West</figcaption>" in html
    assert "<summary>The data behind the chart</summary>" in html
    assert html.count('<th scope="row">') == 24  # labelled 1 to 24 when no labels are given


def test_each_mistake_in_a_run_chart_is_named_at_its_line():
    # The body starts at line 11: the block opens there, its fields follow.
    assert body_problems(chart("title: Falls", f"values: {VALUES}", "colour: red")) == [
        f"{PATH}:14: unknown run chart field 'colour': use description, labels, title, values, y_label",
        f"{PATH}:11: a run chart needs a 'description:' (words a screen reader says)",
    ]
    assert body_problems(chart("title: T", "description: D", "values: [1, two, 3]")) == [
        f"{PATH}:14: 'values:' must be a list of numbers, e.g. values: [12, 15, 11]"
    ]
    assert body_problems(chart("title: T", "description: D", "values: [1, 2, 3]")) == [
        f"{PATH}:14: a run chart needs 10 to 100 values, not 3"
    ]
    assert body_problems(chart("title: T", "description: D", f"values: {VALUES}", "labels: [a, b]")) == [
        f"{PATH}:15: 'labels:' must be a list with one label per value"
    ]
    assert body_problems(chart("title: [unclosed", "description: D")) != []
