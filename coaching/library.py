"""All the coaching content of a content folder at once: the gemba question sets and the prompt library.

`load_coaching(root)` is what `lms content check` and the application call: it reads content/coaching/
(QUESTIONS and PROMPTS below), checks names against the folder's curricula.yaml, and gathers every problem
with its path relative to `root`, in reading order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coaching.document import Problem
from coaching.prompts import PROMPTS, Prompt, load_prompts
from coaching.questions import QUESTIONS, QuestionSet, load_question_sets
from curricula.parse import Vocabulary
from curricula.vocabulary import load_vocabularies

COACHING = Path("coaching")  # within the content folder


@dataclass(frozen=True)
class CoachingContent:
    question_sets: dict[str, QuestionSet]
    prompts: dict[str, Prompt]
    problems: tuple[Problem, ...]

    def summary(self) -> str:
        """'2 question sets and 33 prompts', for the line `lms content check` ends with."""
        sets, prompts = len(self.question_sets), len(self.prompts)
        return (
            f"{sets} question set{'' if sets == 1 else 's'} and {prompts} prompt{'' if prompts == 1 else 's'}"
        )


def has_coaching(root: Path) -> bool:
    return (Path(root) / COACHING).is_dir()


def load_coaching(root: Path, vocab: Vocabulary | None = None) -> CoachingContent:
    """The coaching content of content folder `root` and every problem in it."""
    root = Path(root)
    vocab = vocab or load_vocabularies(root).vocab
    sets, problems = load_question_sets(root / QUESTIONS, vocab, root)
    prompts, prompt_problems = load_prompts(root / PROMPTS, vocab, root)
    ordered = sorted({*problems, *prompt_problems}, key=lambda p: (p.path, p.line, p.message))
    return CoachingContent(sets, prompts, tuple(ordered))
