"""Gemba question sets as an author writes them in content/coaching/questions/, as a leader on a walk
gets them, and as `lms content check` names an author's mistakes (path:line, like modules)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from coaching.prompts import load_prompts
from coaching.questions import Question, load_question_sets
from lms.cli import main

REAL = Path(__file__).resolve().parent.parent / "content"
SET = """---
id: huddle
title: Huddle questions
sources: ["Whole System Quality"]
---
Three questions for a huddle.

::: question goal
What is today's goal?

Look at the board.
:::

::: question gap
Where are we against it?
:::
"""


def folder(tmp_path: Path, sets: dict[str, str]) -> Path:
    """A content folder with the real vocabularies and prompts, the given question sets, and no modules."""
    root = tmp_path / "content"
    (root / "modules").mkdir(parents=True)
    (root / "coaching" / "questions").mkdir(parents=True)
    shutil.copytree(REAL / "coaching" / "prompts", root / "coaching" / "prompts")
    for name in ("dosing.yaml", "curricula.yaml"):
        shutil.copy(REAL / name, root / name)
    for name, text in sets.items():
        (root / "coaching" / "questions" / name).write_text(text, encoding="utf-8")
    return root


def load(tmp_path: Path, text: str) -> tuple[dict, list[str]]:
    root = folder(tmp_path, {"a.md": text})
    sets, problems = load_question_sets(root / "coaching" / "questions")
    return sets, [str(p) for p in problems]


PROMPTS = len(load_prompts(REAL / "coaching" / "prompts")[0])


def lms(*args: str):
    return CliRunner().invoke(main, list(args))


# --- the real sets ----------------------------------------------------------------------------------


def test_the_real_content_has_the_four_leader_presence_and_the_five_kata_questions_citing_their_seed():
    sets, problems = load_question_sets(REAL / "coaching" / "questions")
    assert problems == []
    presence, kata = sets["leader-presence"], sets["toyota-kata"]
    assert len(presence.questions) == 4
    assert len(kata.questions) == 5
    assert [q.key for q in kata.questions] == [
        "target-condition",
        "actual-condition",
        "obstacles",
        "next-step",
        "go-and-see",
    ]
    assert presence.questions[-1].text == "What can I do to help?"
    for question_set in (presence, kata):
        assert question_set.sources == ("Whole System Quality",)
        assert question_set.summary and question_set.title
        assert all(q.text.endswith("?") and q.help for q in question_set.questions)


def test_no_sentence_of_the_seed_is_copied_into_the_question_sets():
    seed = Path("/work/shared/seeds") / "001_f41a8c0252942d30.txt"
    if not seed.exists():
        pytest.skip("the seed documents are not on this machine")
    words = " ".join(seed.read_text(encoding="utf-8").split())
    sets, _ = load_question_sets(REAL / "coaching" / "questions")
    for question_set in sets.values():
        for sentence in (question_set.summary, *(q.text for q in question_set.questions)):
            for part in sentence.split(". "):
                if len(part) > 40:
                    assert part not in words, part


# --- a sound set ------------------------------------------------------------------------------------


def test_a_sound_set_keeps_its_questions_in_order_with_text_help_and_summary(tmp_path):
    sets, problems = load(tmp_path, SET)
    assert problems == []
    (only,) = sets.values()
    assert (only.key, only.title, only.summary) == (
        "huddle",
        "Huddle questions",
        "Three questions for a huddle.",
    )
    assert only.questions == (
        Question("goal", "What is today's goal?", "Look at the board."),
        Question("gap", "Where are we against it?"),
    )
    assert only.question("gap") == only.questions[1]
    assert only.question("nope") is None


# --- mistakes at their lines ------------------------------------------------------------------------


MISTAKES = [  # (the file, "line: message")
    (SET.replace("id: huddle", "id: Huddle Set"),
     "2: id must be lowercase letters, digits and hyphens, not 'Huddle Set'"),
    (SET.replace('sources: ["Whole System Quality"]', "sources: [The Internet]"),
     "4: unknown source 'The Internet'"),
    (SET.replace('sources: ["Whole System Quality"]', "sources: []"),
     "4: sources must list at least one source document"),
    (SET.replace("title: Huddle questions\n", ""),
     "1: missing key 'title'"),
    (SET.replace("title: Huddle", "owner: me\ntitle: Huddle"),
     "3: unknown key 'owner'"),
    (SET.replace("::: question gap", "::: question goal"),
     "14: duplicate key 'goal' (also at line 8)"),
    (SET.replace("::: question gap", "::: ask gap"),
     "14: unknown block type 'ask': use '::: question KEY'"),
    (SET.replace("::: question gap", "::: question Gap!"),
     "14: a question needs one key of lowercase letters, digits and hyphens: '::: question KEY'"),
    (SET.replace("::: question gap", "::: question gap later"),
     "14: unexpected words after the key 'gap': write '::: question KEY'"),
    (SET.replace("Look at the board.", "Look at <b>the board</b>."),
     "11: raw HTML is not allowed; write Markdown instead"),
    (SET.replace("Where are we against it?\n", ""),
     "14: the question 'gap' has no text: write it on the lines after ':::'"),
    (SET.replace("Three questions for a huddle.\n", ""),
     "1: a question set needs a summary: a paragraph before its first question"),
    (SET.split("::: question goal")[0],
     "1: a question set needs at least one question: '::: question KEY'"),
    ("Just text\n",
     "1: the file starts with front matter between '---' lines"),
    (SET.replace("Look at the board.", "- a list"),
     "11: write a block's text and help as plain paragraphs"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), MISTAKES)
def test_each_mistake_is_named_at_its_line_and_the_set_is_not_offered(tmp_path, text, expected):
    sets, problems = load(tmp_path, text)
    assert problems == [f"coaching/questions/a.md:{expected}"]
    assert sets == {}


def test_front_matter_that_is_not_yaml_is_named_near_its_line(tmp_path):
    sets, problems = load(tmp_path, SET.replace("title: Huddle questions", "title: [Huddle"))
    assert len(problems) == 1
    assert problems[0].startswith(
        ("coaching/questions/a.md:3: bad YAML", "coaching/questions/a.md:4: bad YAML")
    )
    assert sets == {}


def test_an_unclosed_block_is_named(tmp_path):
    _, problems = load(tmp_path, SET.rstrip().removesuffix(":::"))
    assert problems == ["coaching/questions/a.md:14: this ::: block is not closed: end it with a ':::' line"]


def test_two_files_with_one_id_are_both_named_and_the_first_is_kept(tmp_path):
    root = folder(tmp_path, {"a.md": SET, "b.md": SET.replace("Huddle questions", "Other")})
    sets, problems = load_question_sets(root / "coaching" / "questions")
    assert [str(p) for p in problems] == [
        "coaching/questions/b.md:2: duplicate id 'huddle' (also in coaching/questions/a.md:2)"
    ]
    assert sets["huddle"].title == "Huddle questions"


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    root = folder(tmp_path, {})
    (root / "coaching" / "questions" / "a.md").write_bytes(b"---\nid: \xff\n---\n")
    _, problems = load_question_sets(root / "coaching" / "questions")
    assert [str(p) for p in problems] == [
        "coaching/questions/a.md:1: the file is not UTF-8 text: invalid start byte"
    ]


def test_a_missing_or_empty_folder_is_a_problem(tmp_path):
    root = folder(tmp_path, {})
    assert [str(p) for p in load_question_sets(root / "coaching" / "questions")[1]] == [
        "coaching/questions:1: there is no question set (*.md) here"
    ]
    shutil.rmtree(root / "coaching" / "questions")
    assert [str(p) for p in load_question_sets(root / "coaching" / "questions")[1]] == [
        "coaching/questions:1: the folder of question sets is missing"
    ]


# --- through `lms content check` --------------------------------------------------------------------


def test_content_check_counts_the_question_sets_of_a_clean_folder(tmp_path):
    root = folder(tmp_path, {"a.md": SET})
    result = lms("content", "check", str(root))
    assert result.exit_code == 0, result.output
    assert result.output == f"0 modules in 0 curricula; 1 question set and {PROMPTS} prompts; no problems\n"


def test_content_check_prints_a_broken_question_set_as_path_line_message_and_exits_1(tmp_path):
    broken = SET.replace('sources: ["Whole System Quality"]', "sources: [Hearsay]").replace(
        "::: question gap", "::: question goal"
    )
    root = folder(tmp_path, {"a.md": SET.replace("id: huddle", "id: first"), "b.md": broken})
    result = lms("content", "check", str(root))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{root.as_posix()}/coaching/questions/b.md:4: unknown source 'Hearsay'",
        f"{root.as_posix()}/coaching/questions/b.md:14: duplicate key 'goal' (also at line 8)",
        f"0 modules in 0 curricula; 1 question set and {PROMPTS} prompts; 2 problems",
    ]


def test_the_real_content_check_counts_the_question_sets():
    result = lms("content", "check", str(REAL))
    assert result.exit_code == 0, result.output
    assert f"; 2 question sets and {PROMPTS} prompts;" in result.output
