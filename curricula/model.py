"""The plain data a corpus of curricula is built into. No I/O, no framework: the application copies
these into its database, the CLI prints their problems, tests build them in memory."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from random import Random
from typing import Literal


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in the content, at a line of a file (1-based, front matter included)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Option:
    text_html: str
    correct: bool


@dataclass(frozen=True, slots=True)
class Check:
    """A knowledge check: one question, options with one or more correct, an explanation."""

    key: str
    question_html: str
    options: tuple[Option, ...]
    explanation_html: str
    line: int
    scenario: bool = False  # '::: check KEY scenario': a situation, then what to do or what it shows

    def order_for(self, seed: str) -> tuple[int, ...]:
        """The options' indexes in the order one reader sees them: shuffled by `seed` (the reader and
        the check), so readers do not learn a position instead of an answer, and the same every time
        that reader comes back."""
        order = list(range(len(self.options)))
        Random(hashlib.sha256(f"{seed}/{self.key}".encode()).digest()).shuffle(order)
        return tuple(order)

    @property
    def correct(self) -> frozenset[int]:
        """Indexes of the correct options."""
        return frozenset(i for i, o in enumerate(self.options) if o.correct)

    @property
    def multiple(self) -> bool:
        return len(self.correct) > 1

    def is_right(self, chosen: frozenset[int] | set[int]) -> bool:
        """An answer is right when it picks exactly the correct options."""
        return frozenset(chosen) == self.correct


@dataclass(frozen=True, slots=True)
class Reflection:
    key: str
    prompt_html: str
    line: int


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a module's body in reading order: rendered HTML, or a place for a check/reflection."""

    kind: Literal["html", "check", "reflection"]
    value: str  # the HTML, or the key of the check or reflection


@dataclass(frozen=True, slots=True)
class Module:
    id: str
    title: str
    curriculum: str
    dose: str
    roles: tuple[str, ...]
    minutes: int
    objectives: tuple[str, ...]
    sources: tuple[str, ...]
    segments: tuple[Segment, ...]
    checks: tuple[Check, ...]
    reflections: tuple[Reflection, ...]
    path: str
    content_hash: str
    component: str | None = None
    principles: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    summary: str = ""  # the first paragraph as plain text, for the catalogue

    def check(self, key: str) -> Check | None:
        return next((c for c in self.checks if c.key == key), None)

    def reflection(self, key: str) -> Reflection | None:
        return next((r for r in self.reflections if r.key == key), None)


@dataclass(frozen=True, slots=True)
class Term:
    """An entry of a vocabulary: a curriculum, a dose level, a component, a principle."""

    id: str
    title: str
    summary: str = ""


@dataclass(frozen=True, slots=True)
class DosingPolicy:
    """Which dose levels each stakeholder role needs, and in how many days each is due."""

    levels: tuple[Term, ...]
    roles: dict[str, dict[str, int]]  # role -> {level: days}

    def levels_for(self, role: str) -> dict[str, int]:
        return dict(self.roles.get(role, {}))

    def level_order(self) -> dict[str, int]:
        return {t.id: i for i, t in enumerate(self.levels)}


@dataclass(frozen=True, slots=True)
class Corpus:
    """Everything in content/: modules in prerequisite order, the vocabularies, the default policy."""

    modules: tuple[Module, ...]
    curricula: tuple[Term, ...]
    components: tuple[Term, ...]
    principles: tuple[Term, ...]
    sources: tuple[str, ...]
    policy: DosingPolicy
    problems: tuple[Problem, ...] = field(default=())
    warnings: tuple[Problem, ...] = field(default=())  # curricula.skew: publishable, but worth fixing

    def module(self, module_id: str) -> Module | None:
        return next((m for m in self.modules if m.id == module_id), None)
