"""The reflection prompt library as an author writes it and a leader receives it: the rotation never
repeats a prompt before the set is used up, a schedule can be limited to tags, a Kata prompt carries the
leader's own last walk, and `lms content check` names an author's mistakes at their lines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from coaching.prompts import KATA_FIELDS, Prompt, load_prompts, next_prompt
from lms.cli import main

REAL = Path(__file__).resolve().parent.parent / "content"
FILE = """---
title: Test prompts
sources: ["Whole System Quality"]
---
Prompts for a test.

::: prompt purpose shared-purpose set-direction
What is the purpose of your work?
:::

::: kata last-step personal-inquiry
{when}, on {unit}, you expected {expected}. What happened?
:::
"""


def folder(tmp_path: Path, files: dict[str, str]) -> Path:
    """A content folder with the real vocabularies and question sets and the given prompt files."""
    root = tmp_path / "content"
    (root / "modules").mkdir(parents=True)
    (root / "coaching" / "prompts").mkdir(parents=True)
    shutil.copytree(REAL / "coaching" / "questions", root / "coaching" / "questions")
    for name in ("dosing.yaml", "curricula.yaml"):
        shutil.copy(REAL / name, root / name)
    for name, text in files.items():
        (root / "coaching" / "prompts" / name).write_text(text, encoding="utf-8")
    return root


def load(tmp_path: Path, text: str) -> tuple[dict[str, Prompt], list[str]]:
    root = folder(tmp_path, {"a.md": text})
    library, problems = load_prompts(root / "coaching" / "prompts")
    return library, [str(p) for p in problems]


def library_of(*tagged: tuple[str, set[str]]) -> dict[str, Prompt]:
    return {key: Prompt(key, f"Prompt {key}?", frozenset(tags)) for key, tags in tagged}


# --- the real library ---------------------------------------------------------------------------------


def test_the_real_library_has_about_thirty_tagged_prompts_each_citing_a_seed():
    library, problems = load_prompts(REAL / "coaching" / "prompts")
    assert problems == []
    assert len(library) >= 30
    assert all(p.sources and p.tags for p in library.values())
    tags = set().union(*(p.tags for p in library.values()))
    # Every framework component and every WSQ principle can be chosen for a schedule.
    assert {
        "set-direction",
        "establish-foundation",
        "build-will",
        "encourage-ideas",
        "execute-scale-up",
    } <= tags
    assert {"shared-purpose", "systems-thinking", "collective-learning", "personal-inquiry"} <= tags
    sources = {s for p in library.values() for s in p.sources}
    assert len(sources) >= 3
    kata = [p for p in library.values() if p.kind == "kata"]
    assert kata and all(p.fields and p.fields <= set(KATA_FIELDS) for p in kata)


def test_a_real_kata_prompt_carries_the_leaders_last_walk():
    library, _ = load_prompts(REAL / "coaching" / "prompts")
    text = library["kata-last-step"].fill(
        {"when": "Last week", "unit": "4 West", "expected": "fewer call-light delays after the huddle"}
    )
    assert text.startswith("Last week, on 4 West, you expected this from the next step: fewer call-light")
    assert "{" not in text


# --- a sound file -----------------------------------------------------------------------------------


def test_a_sound_file_gives_its_prompts_in_order_with_tags_kind_and_sources(tmp_path):
    library, problems = load(tmp_path, FILE)
    assert problems == []
    assert list(library) == ["purpose", "last-step"]
    purpose, kata = library["purpose"], library["last-step"]
    assert purpose == Prompt(
        "purpose",
        "What is the purpose of your work?",
        frozenset({"shared-purpose", "set-direction"}),
        "reflection",
        sources=("Whole System Quality",),
    )
    assert kata.kind == "kata"
    assert kata.fields == {"when", "unit", "expected"}


def test_filling_a_kata_prompt_needs_every_placeholder_and_never_formats_what_is_filled_in():
    kata = Prompt("k", "On {unit} you expected {expected}.", frozenset({"personal-inquiry"}), "kata")
    assert kata.fill({"unit": "4 West", "expected": "{when} {0} {unit.__class__}"}) == (
        "On 4 West you expected {when} {0} {unit.__class__}."
    )
    with pytest.raises(ValueError, match="needs a value for expected"):
        kata.fill({"unit": "4 West"})


# --- mistakes at their lines ------------------------------------------------------------------------

PLACEHOLDERS = "{unit}, {when}, {observation}, {expected}"
MISTAKES = [  # (the file, "line: message")
    (FILE.replace("shared-purpose set-direction", "shared-purpose wellbeing"),
     "7: unknown tag 'wellbeing': use a component or principle id from curricula.yaml"),
    (FILE.replace("::: prompt purpose shared-purpose set-direction", "::: prompt purpose"),
     "7: prompt 'purpose' needs at least one tag: a framework component or WSQ principle id"),
    (FILE.replace("What is the purpose of your work?", "What is {purpose}?"),
     "7: prompt 'purpose' has placeholders: only a '::: kata' prompt is filled in"),
    (FILE.replace("{when}, on {unit}", "{when}, on {ward}"),
     "11: kata prompt 'last-step' has unknown placeholder {ward}: use " + PLACEHOLDERS),
    (FILE.replace("{when}, on {unit}, you expected {expected}.", "You expected something."),
     "11: kata prompt 'last-step' has no placeholder: use " + PLACEHOLDERS),
    (FILE.replace("What happened?", "What happened}?"),
     "11: prompt 'last-step' has a stray '{' or '}': placeholders look like {unit}"),
    (FILE.replace("::: kata last-step", "::: kata purpose"),
     "11: duplicate key 'purpose' (also at line 7)"),
    (FILE.replace("::: kata last-step", "::: question last-step"),
     "11: unknown block type 'question': use '::: prompt KEY' or '::: kata KEY'"),
    (FILE.replace('sources: ["Whole System Quality"]', "sources: [A blog]"),
     "3: unknown source 'A blog'"),
    (FILE.replace("title: Test prompts\n", ""),
     "1: missing key 'title'"),
    (FILE.replace("Prompts for a test.\n", ""),
     "1: say what the prompts are for in a paragraph before the first one"),
    (FILE.split("::: prompt")[0],
     "1: the file has no prompt: '::: prompt KEY TAG' or '::: kata KEY TAG'"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), MISTAKES)
def test_each_mistake_is_named_at_its_line_and_the_file_offers_no_prompt(tmp_path, text, expected):
    library, problems = load(tmp_path, text)
    assert problems == [f"coaching/prompts/a.md:{expected}"]
    assert library == {}


def test_a_key_used_in_two_files_is_named_and_the_first_kept(tmp_path):
    root = folder(tmp_path, {"a.md": FILE, "b.md": FILE.replace("::: kata last-step", "::: kata other")})
    library, problems = load_prompts(root / "coaching" / "prompts")
    assert [str(p) for p in problems] == [
        "coaching/prompts/b.md:7: duplicate prompt 'purpose' (also in coaching/prompts/a.md:7)"
    ]
    assert set(library) == {"purpose", "last-step", "other"}


def test_a_single_file_can_be_loaded_and_a_missing_library_is_a_problem(tmp_path):
    root = folder(tmp_path, {"a.md": FILE})
    library, problems = load_prompts(root / "coaching" / "prompts" / "a.md")
    assert (list(library), problems) == (["purpose", "last-step"], [])
    assert [str(p) for p in load_prompts(root / "coaching" / "nothing")[1]] == [
        "coaching/nothing:1: the prompt library is missing"
    ]


def test_content_check_prints_a_broken_prompt_file_as_path_line_message_and_exits_1(tmp_path):
    root = folder(tmp_path, {"a.md": FILE.replace("set-direction", "direction")})
    result = CliRunner().invoke(main, ["content", "check", str(root)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{root.as_posix()}/coaching/prompts/a.md:7: unknown tag 'direction': use a component or "
        "principle id from curricula.yaml",
        "0 modules in 0 curricula; 2 question sets and 0 prompts; 1 problem",
    ]


# --- rotation ---------------------------------------------------------------------------------------

LIBRARY = library_of(
    ("a", {"set-direction"}),
    ("b", {"build-will", "personal-inquiry"}),
    ("c", {"set-direction", "shared-purpose"}),
    ("d", {"personal-inquiry"}),
)


def rotate(library, times: int, tags: frozenset[str] = frozenset(), used: tuple[str, ...] = ()) -> list[str]:
    used_list = list(used)
    for _ in range(times):
        used_list.append(next_prompt(library, used_list, tags).key)
    return used_list[len(used) :]


def test_a_new_person_gets_the_whole_library_once_in_order_before_any_repeats():
    assert rotate(LIBRARY, 8) == ["a", "b", "c", "d", "a", "b", "c", "d"]


def test_a_schedule_limited_to_tags_gets_only_prompts_with_any_of_them():
    assert rotate(LIBRARY, 4, frozenset({"personal-inquiry"})) == ["b", "d", "b", "d"]
    assert rotate(LIBRARY, 3, frozenset({"shared-purpose", "build-will"})) == ["b", "c", "b"]


def test_prompts_used_under_other_tags_count_towards_the_round():
    # c was given under an earlier, broader schedule: the set-direction round still owes only a.
    assert next_prompt(LIBRARY, ["c"], frozenset({"set-direction"})).key == "a"


def test_a_new_round_does_not_start_with_the_prompt_that_ended_the_last():
    assert next_prompt(LIBRARY, ["b", "c", "d", "a"]).key == "b"
    assert next_prompt(LIBRARY, ["a", "b", "c", "d"]).key == "a"


def test_a_prompt_removed_from_the_library_is_skipped_in_the_history():
    assert next_prompt(LIBRARY, ["gone", "a", "b"]).key == "c"


def test_kinds_limit_the_rotation_to_prompts_a_leader_can_be_given():
    library = {
        **LIBRARY,
        "k": Prompt("k", "On {unit}?", frozenset({"set-direction"}), "kata"),
    }
    assert next_prompt(library, ["a"], frozenset({"set-direction"}), kinds=frozenset({"kata"})).key == "k"
    assert (
        next_prompt(library, ["a", "c"], frozenset({"set-direction"}), kinds=frozenset({"reflection"})).key
        == "a"
    )


def test_tags_no_prompt_has_are_refused_with_a_message():
    with pytest.raises(ValueError, match="no prompt in the library is tagged execute-scale-up"):
        next_prompt(LIBRARY, [], frozenset({"execute-scale-up"}))


@given(
    st.lists(st.sampled_from("abcdefg"), max_size=30),
    st.frozensets(st.sampled_from(["set-direction", "build-will", "personal-inquiry", "shared-purpose"])),
)
def test_no_prompt_repeats_before_every_matching_prompt_has_been_used(history, tags):
    library = library_of(
        ("a", {"set-direction"}),
        ("b", {"build-will"}),
        ("c", {"personal-inquiry", "set-direction"}),
        ("d", {"shared-purpose"}),
        ("e", {"build-will", "shared-purpose"}),
    )
    matching = {k for k, p in library.items() if not tags or p.tags & tags}
    n = len(matching)
    fresh = rotate(library, 3 * n, tags, tuple(history))
    assert set(fresh) == matching
    # The rest of the current round (r distinct prompts), then whole rounds: each a permutation.
    assert any(
        len(set(fresh[:r])) == r
        and set(fresh[r : r + n]) == matching
        and set(fresh[r + n : r + 2 * n]) == matching
        for r in range(1, n + 1)
    ), fresh
    # From an empty history, rounds start at once.
    assert set(rotate(library, n, tags)) == matching
    # Deterministic: the same history gives the same prompt.
    assert next_prompt(library, history, tags) == next_prompt(library, tuple(history), tags)
