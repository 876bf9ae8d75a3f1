"""One module file read by the curriculum engine: what an author gets back, and every mistake named at its
line (`path:line: message`, front matter included)."""

from __future__ import annotations

import pytest

from curricula.parse import Vocabulary, parse_module

PATH = "modules/a.md"
VOCAB = Vocabulary(
    curricula=frozenset({"improvement-science", "whole-system-quality"}),
    components=frozenset({"set-direction"}),
    principles=frozenset({"shared-purpose"}),
    levels=frozenset({"awareness", "foundational"}),
    roles=frozenset({"clinician", "board"}),
    sources=frozenset({"Leadership for Improvement"}),
)
# Front matter lines: `---` is line 1, id 2, title 3, curriculum 4, dose 5, roles 6, minutes 7,
# objectives 8, sources 9; extra keys follow from line 10, then the closing `---`.
FRONT = {
    "id": "a",
    "title": "Testing changes",
    "curriculum": "improvement-science",
    "dose": "awareness",
    "roles": "[clinician]",
    "minutes": "10",
    "objectives": "[Run a small test of change.]",
    "sources": '["Leadership for Improvement"]',
}
INTRO = "Small tests teach fast.\nThey cost little.\n"
REFLECTION = "::: reflection what-matters\nWhat matters most to the people you serve?\n:::\n"
CHECK = (
    "::: check pdsa\nWhat does the S in PDSA stand for?\n\n- [ ] Start\n- [x] Study\n\n"
    "You study the data.\n:::\n"
)
BODY = f"{INTRO}\n{REFLECTION}\n{CHECK}"


def module(body: str = BODY, drop: tuple[str, ...] = (), **keys: str) -> str:
    fields = {**FRONT, **keys}
    lines = ["---", *(f"{k}: {v}" for k, v in fields.items() if k not in drop), "---"]
    return "\n".join(lines) + "\n" + body


def problems(text: str) -> list[str]:
    return [str(p) for p in parse_module(text, PATH, VOCAB).problems]


def body_problems(body: str) -> list[str]:
    """Problems of a module with sound front matter; its body starts at line 11."""
    return problems(module(body))


# --- a sound module ---------------------------------------------------------------------------------


def test_a_sound_module_has_no_problems_and_its_front_matter_as_data():
    parsed = parse_module(module(component="set-direction", requires="[b]"), PATH, VOCAB)
    assert parsed.problems == []
    m = parsed.module
    assert (m.id, m.title, m.curriculum, m.dose, m.minutes, m.path) == (
        "a", "Testing changes", "improvement-science", "awareness", 10, PATH,
    )  # fmt: skip
    assert m.roles == ("clinician",)
    assert m.objectives == ("Run a small test of change.",)
    assert m.sources == ("Leadership for Improvement",)
    assert (m.component, m.principles, m.requires) == ("set-direction", (), ("b",))


def test_segments_keep_the_reading_order_of_text_reflections_and_checks():
    body = f"{INTRO}\n{REFLECTION}\nBetween the blocks.\n\n{CHECK}\n## After\n\nThe end.\n"
    m = parse_module(module(body), PATH, VOCAB).module
    assert [(s.kind, s.value if s.kind != "html" else None) for s in m.segments] == [
        ("html", None),
        ("reflection", "what-matters"),
        ("html", None),
        ("check", "pdsa"),
        ("html", None),
    ]
    assert m.segments[0].value == "<p>Small tests teach fast.\nThey cost little.</p>\n"
    assert m.segments[2].value == "<p>Between the blocks.</p>\n"
    assert m.segments[4].value == "<h2>After</h2>\n<p>The end.</p>\n"


def test_a_check_has_its_question_options_explanation_and_line():
    check = parse_module(module(), PATH, VOCAB).module.check("pdsa")
    assert check.question_html == "<p>What does the S in PDSA stand for?</p>\n"
    assert [(o.text_html, o.correct) for o in check.options] == [("Start", False), ("Study", True)]
    assert check.explanation_html == "<p>You study the data.</p>\n"
    assert check.line == 18
    assert not check.multiple
    assert check.is_right({1}) and not check.is_right({0, 1})


def test_a_check_with_two_correct_options_is_choose_all_that_apply():
    options = "- [x] Run chart\n- [X] *Driver* diagram\n- [ ] Hunch\n"
    body = f"{REFLECTION}\n::: check which\nWhich are tools?\n{options}:::\n"
    check = parse_module(module(body), PATH, VOCAB).module.check("which")
    assert check.multiple
    assert check.correct == frozenset({0, 1})
    assert check.options[1].text_html == "<em>Driver</em> diagram"
    assert check.explanation_html == ""


def test_a_reflection_has_its_prompt_as_html():
    reflection = parse_module(module(), PATH, VOCAB).module.reflection("what-matters")
    assert reflection.prompt_html == "<p>What matters most to the people you serve?</p>\n"
    assert reflection.line == 14


def test_module_links_go_to_the_module_page_and_are_listed_with_their_line():
    body = f"Read [the overview](module:b) first,\nthen [the tools](module:c).\n\n{REFLECTION}\n{CHECK}"
    parsed = parse_module(module(body), PATH, VOCAB)
    assert parsed.links == [("b", 11), ("c", 12)]
    html = parsed.module.segments[0].value
    assert '<a href="/modules/b">the overview</a>' in html
    assert '<a href="/modules/c">the tools</a>' in html


def test_the_link_base_is_configurable():
    body = f"See [b](module:b).\n\n{REFLECTION}\n{CHECK}"
    html = parse_module(module(body), PATH, VOCAB, link_base="/learn/").module.segments[0].value
    assert '<a href="/learn/b">b</a>' in html


def test_a_javascript_link_is_never_a_link():
    body = f"[click](javascript:alert(1))\n\n{REFLECTION}\n{CHECK}"
    html = parse_module(module(body), PATH, VOCAB).module.segments[0].value
    assert "href" not in html and "<a" not in html


def test_the_summary_is_the_first_paragraph_as_plain_text():
    body = (
        f"## Why\n\nSmall *tests* teach `fast`,\nand [cheaply](module:b).\n\nMore.\n\n{REFLECTION}\n{CHECK}"
    )
    assert parse_module(module(body), PATH, VOCAB).module.summary == "Small tests teach fast, and cheaply."


def test_tables_are_rendered_with_each_cell_labelled_by_its_column():
    body = f"| Step | *Means* |\n| --- | --- |\n| S | Study |\n\n{REFLECTION}\n{CHECK}"
    html = parse_module(module(body), PATH, VOCAB).module.segments[0].value
    assert "<table>" in html and '<td data-label="Means">Study</td>' in html
    assert '<td data-label="Step">S</td>' in html


def test_the_content_hash_changes_when_a_check_option_changes():
    before = parse_module(module(), PATH, VOCAB).module.content_hash
    after = parse_module(module(BODY.replace("- [ ] Start", "- [ ] Stop")), PATH, VOCAB).module.content_hash
    ticked = parse_module(module(BODY.replace("- [ ] Start", "- [x] Start")), PATH, VOCAB).module.content_hash
    assert len({before, after, ticked}) == 3


def test_the_content_hash_ignores_windows_line_endings():
    text = module()
    assert (
        parse_module(text, PATH, VOCAB).module.content_hash
        == parse_module(text.replace("\n", "\r\n"), PATH, VOCAB).module.content_hash
    )


# --- front matter mistakes --------------------------------------------------------------------------


def test_bad_yaml_is_reported_at_the_line_yaml_names():
    assert problems(module(title="Testing: changes: twice")) == [
        f"{PATH}:3: bad YAML: mapping values are not allowed in this context"
    ]


def test_no_front_matter_or_an_unclosed_one():
    assert problems(BODY) == [f"{PATH}:1: a module starts with front matter between '---' lines"]
    assert problems("---\nid: a\n" + BODY) == [f"{PATH}:1: front matter has no closing '---' line"]


def test_an_unknown_key_is_reported_at_its_line():
    assert problems(module(tags="[x]")) == [f"{PATH}:10: unknown key 'tags'"]


def test_a_missing_key_is_reported_at_the_opening_line():
    assert problems(module(drop=("title", "sources"))) == [
        f"{PATH}:1: missing key 'title'",
        f"{PATH}:1: missing key 'sources'",
    ]


def test_a_key_given_twice_is_reported():
    assert problems(module(minutes="10\nminutes: 12")) == [
        f"{PATH}:8: duplicate key 'minutes' (also at line 7)"
    ]


@pytest.mark.parametrize("minutes", ["3", "31", "ten", "12.5", "true"])
def test_minutes_must_be_a_whole_number_from_5_to_30(minutes):
    assert problems(module(minutes=minutes)) == [f"{PATH}:7: minutes must be a whole number from 5 to 30"]


def test_lists_must_be_lists():
    assert problems(module(roles="clinician", objectives="Run a test.")) == [
        f"{PATH}:6: roles must be a list",
        f"{PATH}:8: objectives must be a list",
    ]


def test_missing_objectives_and_sources():
    assert problems(module(objectives="[]", sources="[]")) == [
        f"{PATH}:8: objectives must list at least one learning objective",
        f"{PATH}:9: sources must name at least one source document",
    ]


def test_a_bad_id():
    assert problems(module(id="Bad_Id")) == [
        f"{PATH}:2: id must be lowercase letters, digits and hyphens, not 'Bad_Id'"
    ]


def test_unknown_names_are_reported_at_their_line_or_item():
    text = module(
        curriculum="lean",
        dose="expert",
        roles="\n  - clinician\n  - nurse",
        sources='["Some Book"]',
        component="plan",
        principles="[shared-purpose, kindness]",
    )
    assert problems(text) == [
        f"{PATH}:4: unknown curriculum 'lean'",
        f"{PATH}:5: unknown dose level 'expert'",
        f"{PATH}:8: unknown role 'nurse'",
        f"{PATH}:11: unknown source 'Some Book'",
        f"{PATH}:12: unknown component 'plan'",
        f"{PATH}:13: unknown principle 'kindness'",
    ]


def test_a_module_with_front_matter_problems_is_not_built_but_its_body_is_still_checked():
    parsed = parse_module(module(body=INTRO, dose="expert"), PATH, VOCAB)
    assert parsed.module is None
    assert [str(p) for p in parsed.problems] == [
        f"{PATH}:5: unknown dose level 'expert'",
        f"{PATH}:1: a module needs at least one check: '::: check KEY'",
        f"{PATH}:1: a module needs at least one reflection: '::: reflection KEY'",
    ]


# --- body mistakes (the body starts at line 11) -----------------------------------------------------


def test_an_empty_body():
    assert body_problems("\n  \n") == [f"{PATH}:1: the module has no body"]


def test_a_module_without_a_check_or_a_reflection():
    assert body_problems(INTRO) == [
        f"{PATH}:1: a module needs at least one check: '::: check KEY'",
        f"{PATH}:1: a module needs at least one reflection: '::: reflection KEY'",
    ]


def test_raw_html_is_refused_at_its_line_and_never_passed_through():
    body = f"Plain text.\nA <b>bold</b> claim.\n\n<div>\nblock\n</div>\n\n{REFLECTION}\n{CHECK}"
    parsed = parse_module(module(body), PATH, VOCAB)
    assert [str(p) for p in parsed.problems] == [
        f"{PATH}:12: raw HTML is not allowed; write Markdown instead",
        f"{PATH}:14: raw HTML is not allowed; write Markdown instead",
    ]
    html = parsed.module.segments[0].value
    assert "<b>" not in html and "<div>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_raw_html_inside_a_check_is_refused_too():
    body = f"{REFLECTION}\n::: check x\nPick <i>one</i>\n- [ ] a\n- [x] b\n:::\n"
    assert body_problems(body) == [f"{PATH}:16: raw HTML is not allowed; write Markdown instead"]


def test_a_level_one_heading_is_refused():
    assert body_problems(f"# Title again\n\n{REFLECTION}\n{CHECK}") == [
        f"{PATH}:11: headings start at '##': the title is the page's heading"
    ]


def test_a_module_link_without_an_id():
    assert body_problems(f"[x](module:)\n\n{REFLECTION}\n{CHECK}") == [
        f"{PATH}:11: a module link needs a module id: 'module:ID', not 'module:'"
    ]


def test_a_check_with_no_correct_option():
    body = f"{REFLECTION}\n::: check none\nWhich?\n- [ ] a\n- [ ] b\n:::\n"
    assert body_problems(body) == [f"{PATH}:15: a check needs at least one correct option, marked [x]"]


def test_a_check_with_fewer_than_two_options():
    body = f"{REFLECTION}\n::: check one\nWhich?\n- [x] a\n:::\n"
    assert body_problems(body) == [
        f"{PATH}:15: a check needs at least two options, in a '- [ ]' / '- [x]' list"
    ]


def test_a_check_with_no_list_of_options():
    body = f"{REFLECTION}\n::: check none\nWhich?\n:::\n"
    assert body_problems(body) == [
        f"{PATH}:15: a check needs at least two options, in a '- [ ]' / '- [x]' list"
    ]


def test_a_check_with_no_question():
    body = f"{REFLECTION}\n::: check silent\n- [ ] a\n- [x] b\n:::\n"
    assert body_problems(body) == [f"{PATH}:15: a check needs a question: a paragraph before its options"]


def test_an_option_without_a_box():
    body = f"{REFLECTION}\n::: check q\nWhich?\n- [ ] a\n- b\n- [x] c\n:::\n"
    assert body_problems(body) == [f"{PATH}:18: an option must start with '[ ]' or '[x]'"]


def test_duplicate_block_keys_in_a_module():
    body = f"{REFLECTION}\n{CHECK}\n::: reflection pdsa\nAgain?\n:::\n"
    assert body_problems(body) == [f"{PATH}:24: duplicate block key 'pdsa' (also at line 15)"]


def test_an_unknown_block_type():
    body = f"::: note careful\nMind the gap.\n:::\n\n{REFLECTION}\n{CHECK}"
    assert body_problems(body) == [
        f"{PATH}:11: unknown block type 'note': use '::: check KEY', '::: reflection KEY' "
        "or '::: runchart KEY'"
    ]


def test_a_block_without_a_key():
    body = f"::: reflection\nWhy?\n:::\n\n{REFLECTION}\n{CHECK}"
    assert body_problems(body) == [
        f"{PATH}:11: a reflection needs one key of lowercase letters, digits and hyphens: "
        "'::: reflection KEY'"
    ]


def test_a_block_that_is_not_closed():
    assert body_problems(f"{CHECK}\n::: reflection open\nWhy?\n") == [
        f"{PATH}:20: this ::: block is not closed: end it with a ':::' line"
    ]


def test_an_empty_reflection():
    assert body_problems(f"{CHECK}\n::: reflection empty\n:::\n") == [
        f"{PATH}:20: a reflection needs a prompt"
    ]


def test_a_stakeholder_role_is_one_of_the_seven_by_its_value():
    from curricula.stakeholders import StakeholderRole, role_named

    assert role_named("unit-leader") is StakeholderRole.UNIT_LEADER
    assert [role_named(v) for v in ("Unit-Leader", "", None, 3, "surgeon")] == [None] * 5
