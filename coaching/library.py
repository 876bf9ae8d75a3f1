"""All the coaching content of a content folder at once: the gemba question sets and the prompt library.

`load_coaching(root)` is what `lms content check` and the application call: it reads content/coaching/
(QUESTIONS and PROMPTS below), checks names against the folder's curricula.yaml, and gathers every problem
with its path relative to `root`, in reading order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coaching.document import Problem
from coaching.questions import QUESTIONS, QuestionSet, load_question_sets
from curricula.parse import Vocabulary
from curricula.vocabulary import load_vocabularies

COACHING = Path("coaching")  # within the content folder


@dataclass(frozen=True)
class CoachingContent:
    question_sets: dict[str, QuestionSet]
    problems: tuple[Problem, ...]

    def summary(self) -> str:
        """'2 question sets', for the line `lms content check` ends with."""
        sets = len(self.question_sets)
        return f"{sets} question set{'' if sets == 1 else 's'}"


def has_coaching(root: Path) -> bool:
    return (Path(root) / COACHING).is_dir()


def load_coaching(root: Path, vocab: Vocabulary | None = None) -> CoachingContent:
    """The coaching content of content folder `root` and every problem in it."""
    root = Path(root)
    vocab = vocab or load_vocabularies(root).vocab
    sets, problems = load_question_sets(root / QUESTIONS, vocab, root)
    ordered = sorted(set(problems), key=lambda p: (p.path, p.line, p.message))
    return CoachingContent(sets, tuple(ordered))
