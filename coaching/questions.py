"""Gemba question sets: the few fixed questions a leader asks a team where the work is done.

Each set is one file under content/coaching/questions/, written like a module (content/README.md):

    ---
    id: leader-presence
    title: Leader presence at the point of care
    sources: ["Whole System Quality"]
    ---
    What the set is for, in a paragraph: the set's summary.

    ::: question targets
    The question, as the leader asks it.

    Optional help: what to listen for.
    :::

The questions keep the order they are written in. `load_question_sets(directory)` returns every sound
set by id and every problem, each at its file line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coaching import document
from coaching.document import Problem
from curricula.body import KEY
from curricula.parse import Vocabulary

__all__ = ["QUESTIONS", "Problem", "Question", "QuestionSet", "load_question_sets"]

QUESTIONS = Path("coaching") / "questions"  # within the content folder
REQUIRED = ("id", "title", "sources")


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    help: str = ""


@dataclass(frozen=True)
class QuestionSet:
    key: str
    title: str
    summary: str
    questions: tuple[Question, ...]
    sources: tuple[str, ...]

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)


def load_question_sets(
    directory: Path, vocab: Vocabulary | None = None, base: Path | None = None
) -> tuple[dict[str, QuestionSet], list[Problem]]:
    """Every question set in `directory` (its *.md files, in name order) and every problem found.

    Sources are checked against curricula.yaml of the content folder `directory` lies in (or `vocab`);
    problems' paths are relative to that folder (or `base`), as modules' are.
    """
    directory = Path(directory)
    if vocab is None or base is None:
        found_vocab, found_base = document.vocabulary_for(directory)
        vocab, base = vocab or found_vocab, base or found_base
    sets: dict[str, QuestionSet] = {}
    problems: list[Problem] = []
    if not directory.is_dir():
        return sets, [
            Problem(document.relative(directory, base), 1, "the folder of question sets is missing")
        ]
    where: dict[str, tuple[str, int]] = {}
    for file in sorted(directory.glob("*.md")):
        doc = document.read(file, base, required=REQUIRED, kinds=("question",))
        question_set = _question_set(doc, vocab)
        problems.extend(doc.problems)
        if question_set is None:
            continue
        line = doc.line_of("id")
        if question_set.key in where:
            path, other = where[question_set.key]
            problems.append(
                Problem(doc.path, line, f"duplicate id '{question_set.key}' (also in {path}:{other})")
            )
            continue
        where[question_set.key] = (doc.path, line)
        sets[question_set.key] = question_set
    if not sets and not problems:
        problems.append(
            Problem(document.relative(directory, base), 1, "there is no question set (*.md) here")
        )
    return sets, problems


def _question_set(doc: document.Document, vocab: Vocabulary) -> QuestionSet | None:
    if doc.front is None:
        return None
    key = doc.front.get("id")
    if key is not None and (not isinstance(key, str) or not KEY.match(key)):
        doc.problem(doc.line_of("id"), f"id must be lowercase letters, digits and hyphens, not '{key}'")
    title = document.check_text(doc, "title")
    sources = document.check_sources(doc, vocab)
    if not doc.summary:
        doc.problem(1, "a question set needs a summary: a paragraph before its first question")
    questions = []
    for block in doc.blocks:
        if block.words:
            doc.problem(block.line, f"unexpected words after the key '{block.key}': write '::: question KEY'")
            continue
        questions.append(Question(block.key, block.text, block.help))
    if not doc.blocks:
        doc.problem(1, "a question set needs at least one question: '::: question KEY'")
    if doc.problems or not isinstance(key, str) or title is None:
        return None
    return QuestionSet(key, title, doc.summary, tuple(questions), sources)
