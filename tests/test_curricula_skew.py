"""The warnings an author gets when a corpus's checks can be passed without reading them: the right answer
always in one place, always the longest, "choose all" always the same options, no scenario to think
through (curricula.skew)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from curricula.corpus import load_corpus
from curricula.model import Check, Module, Option
from curricula.parse import Vocabulary, parse_module
from curricula.skew import ENOUGH, SHARE, correct_is_longest, option_length, warnings

REAL = Path(__file__).resolve().parent.parent / "content"


def check(key: str, correct: set[int], texts: list[str], *, scenario: bool = False, line: int = 12) -> Check:
    options = tuple(Option(f"<p>{t}</p>", i in correct) for i, t in enumerate(texts))
    return Check(key, "<p>Which?</p>", options, "", line, scenario)


def module(path: str, *checks: Check) -> Module:
    return Module(
        id=path.removesuffix(".md"),
        title="T",
        curriculum="c",
        dose="awareness",
        roles=("clinician",),
        minutes=10,
        objectives=("o",),
        sources=("s",),
        segments=(),
        checks=checks,
        reflections=(),
        path=path,
        content_hash="h",
    )


SAME = ["Plan a test", "Do it now", "Study it"]  # lengths 11, 9, 8


def single(position: int, n: int = 10, texts: list[str] = SAME) -> list[Module]:
    """n modules, each with one scenario check whose answer is at `position`."""
    return [module(f"m{i}.md", check("q", {position}, texts, scenario=True)) for i in range(n)]


def messages(modules: list[Module]) -> list[str]:
    return [str(w) for w in warnings(modules)]


def test_a_corpus_with_every_answer_in_the_same_place_is_warned_at_each_check():
    found = messages(single(position=2))
    assert len(found) == 10
    assert found[0] == (
        "m0.md:12: warning: the correct answer is option 3 here and in 10 of 10 single-answer checks "
        "(more than 40%): move it in some"
    )


def test_answers_spread_over_the_positions_give_no_warning():
    modules = [module(f"m{i}.md", check("q", {i % 3}, SAME, scenario=True)) for i in range(12)]
    assert messages(modules) == []


def test_a_few_checks_are_never_called_a_pattern():
    assert messages(single(position=1, n=ENOUGH - 1)) == []


def test_the_correct_option_as_the_longest_is_warned_when_it_is_so_more_than_a_fair_share():
    # each position holds the answer in a third of the checks, but the answer is always the longest
    modules = [module(f"m{i}.md", check("q", {i % 3}, _longest_at(i % 3), scenario=True)) for i in range(9)]
    found = messages(modules)
    assert len(found) == 9 and all("the correct option is the longest here and in 9 of 9" in f for f in found)


def _longest_at(position: int) -> list[str]:
    texts = ["Short", "Brief", "Terse"]
    texts[position] = "The longest option of them all"
    return texts


def test_multi_select_answers_always_first_are_warned():
    modules = [module(f"m{i}.md", check("q", {0, 1}, ["A", "B", "C", "D"], scenario=True)) for i in range(8)]
    found = messages(modules)
    assert len(found) == 8
    assert (
        "warning: the correct options are the first ones here and in 8 of 8 multi-select checks" in found[0]
    )


def test_multi_select_answers_always_in_the_same_places_are_warned():
    modules = [module(f"m{i}.md", check("q", {1, 3}, ["A", "B", "C", "D"], scenario=True)) for i in range(8)]
    assert (
        "the correct options are options 2 and 4 here and in 8 of 8 multi-select checks"
        in messages(modules)[0]
    )


def test_a_module_without_a_scenario_check_is_named_at_its_first_line():
    modules = [module("a.md", check("q", {0}, SAME)), module("b.md", check("q", {1}, SAME, scenario=True))]
    assert messages(modules) == [
        "a.md:1: warning: no scenario check: mark a check that sets a situation and asks what to do as "
        "'::: check KEY scenario'"
    ]


def test_a_check_is_marked_as_a_scenario_in_its_block_line():
    text = """---
id: a
title: T
curriculum: c
dose: awareness
roles: [clinician]
minutes: 10
objectives: [o]
sources: [s]
---
Intro.

::: reflection r
Why?
:::

::: check ward scenario
A ward's falls rise one week. What now?

- [ ] Blame
- [x] Watch the chart
:::

::: check plain
Which?

- [x] A
- [ ] B
:::

::: check odd surprise
Which?

- [x] A
- [ ] B
:::
"""
    parsed = parse_module(text, "a.md", Vocabulary())
    assert [str(p) for p in parsed.problems] == [
        "a.md:31: unexpected words after the key 'odd': write '::: check KEY' or '::: check KEY scenario'"
    ]
    assert parsed.module is not None
    assert [(c.key, c.scenario) for c in parsed.module.checks] == [("ward", True), ("plain", False)]


def test_option_length_counts_what_a_learner_reads():
    assert option_length("<p>Use <em>a</em> &amp; b</p>") == len("Use a & b")


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.permutations([1, 2, 3, 4]), st.booleans()),
        min_size=ENOUGH,
        max_size=30,
    )
)
def test_each_rule_speaks_exactly_when_its_share_is_over_the_threshold(rows):
    modules = [
        module(f"m{i}.md", check("q", {pos}, ["x" * (10 * n) for n in lengths], scenario=scenario))
        for i, (pos, lengths, scenario) in enumerate(rows)
    ]
    found = messages(modules)
    total = len(rows)
    for position in range(4):
        held = sum(pos == position for pos, _, _ in rows)
        said = sum(f"the correct answer is option {position + 1} here" in f for f in found)
        assert said == (held if held > SHARE * total else 0)
    longest = sum(correct_is_longest(m.checks[0]) for m in modules)
    assert sum("is the longest here" in f for f in found) == (longest if longest > SHARE * total else 0)
    assert sum("no scenario check" in f for f in found) == sum(not s for _, _, s in rows)


@given(st.permutations(range(40)))
def test_the_warnings_do_not_depend_on_the_order_of_the_modules(order):
    modules = single(position=0, n=20) + [
        module(f"n{i}.md", check("q", {1}, ["Short", "A longer one", "Mid"], scenario=i % 2 == 0))
        for i in range(20)
    ]
    shuffled = [modules[i] for i in order]
    assert sorted(messages(shuffled)) == sorted(messages(modules))


def test_the_real_content_has_no_skew_and_a_scenario_in_every_module():
    corpus = load_corpus(REAL)
    assert corpus.problems == ()
    assert [str(w) for w in corpus.warnings] == []
    assert all(any(c.scenario for c in m.checks) for m in corpus.modules)
