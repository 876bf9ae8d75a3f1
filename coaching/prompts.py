"""Reflection prompts: a tagged library, and the rotation that picks the next one for a person.

The library is content/coaching/prompts/*.md, written like a module (content/README.md): front matter
with a `title` and the `sources` its prompts draw on, a paragraph saying what the file is for, then one
block per prompt:

    ::: prompt KEY TAG [TAG ...]
    The prompt, as the person reads it.
    :::

    ::: kata KEY TAG [TAG ...]
    {when}, on {unit}, you expected this from the next step: {expected}. What actually happened?
    :::

TAGs are the ids of Leadership Framework for Quality components and Whole System Quality principles
(content/curricula.yaml); each prompt needs at least one. A `kata` prompt carries the person's own last
gemba observation: its text uses placeholders from KATA_FIELDS, filled with `Prompt.fill`. A plain
prompt has no placeholders. Keys are unique across the library; a prompt cites its file's sources.

Rotation (`next_prompt`): a schedule may be limited to tags; a prompt matches when it has any of them (no
tags: every prompt matches). No prompt comes round again until every matching prompt has been used since
the last full round; within a round the library's order decides, so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from string import Formatter

from coaching import document
from coaching.document import Problem
from curricula.parse import Vocabulary

__all__ = [
    "KATA_FIELDS",
    "KATA_TAG",
    "PROMPTS",
    "Problem",
    "Prompt",
    "kata_values",
    "kata_when",
    "load_prompts",
    "next_prompt",
]

PROMPTS = Path("coaching") / "prompts"  # within the content folder
REQUIRED = ("title", "sources")
KINDS = {"prompt": "reflection", "kata": "kata"}
# A schedule limited to this tag delivers Kata prompts, each filled from its owner's own last walk.
KATA_TAG = "kata"
OBSERVATION_SHOWN = 300  # characters of the walk's observation a Kata prompt quotes
KATA_FIELDS = {
    "unit": "the unit the leader last walked, e.g. 4 West",
    "when": "when that walk was, e.g. Last week",
    "observation": "what the leader noted on that walk",
    "expected": "the next step the leader expected to see, in their own words",
}


@dataclass(frozen=True)
class Prompt:
    key: str
    text: str
    tags: frozenset[str]
    kind: str = "reflection"  # "kata": the text has {placeholders} from KATA_FIELDS
    help: str = ""
    sources: tuple[str, ...] = ()

    @property
    def fields(self) -> frozenset[str]:
        """The placeholders the text uses."""
        return frozenset(name for _, name, _, _ in Formatter().parse(self.text) if name)

    def fill(self, values: Mapping[str, str]) -> str:
        """The text with its placeholders filled from `values`; ValueError naming any left without one."""
        missing = sorted(self.fields - set(values))
        if missing:
            raise ValueError(f"prompt '{self.key}' needs a value for {', '.join(missing)}")
        return self.text.format_map({name: str(values[name]) for name in self.fields})


def load_prompts(
    path: Path, vocab: Vocabulary | None = None, base: Path | None = None
) -> tuple[dict[str, Prompt], list[Problem]]:
    """Every prompt in `path` (a folder of *.md files, in name order, or one file), in the order written,
    and every problem found. Tags and sources are checked against the content folder's curricula.yaml
    (or `vocab`); problems' paths are relative to that folder (or `base`)."""
    path = Path(path)
    if vocab is None or base is None:
        found_vocab, found_base = document.vocabulary_for(path)
        vocab, base = vocab or found_vocab, base or found_base
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(path.glob("*.md"))
    else:
        return {}, [Problem(document.relative(path, base), 1, "the prompt library is missing")]
    tags = None
    if vocab.components is not None and vocab.principles is not None:
        tags = vocab.components | vocab.principles
    library: dict[str, Prompt] = {}
    where: dict[str, tuple[str, int]] = {}
    problems: list[Problem] = []
    for file in files:
        doc = document.read(file, base, required=REQUIRED, kinds=tuple(KINDS))
        prompts = _prompts(doc, vocab, tags)
        problems.extend(doc.problems)
        for prompt, line in prompts:
            if prompt.key in where:
                other = where[prompt.key]
                problems.append(
                    Problem(
                        doc.path, line, f"duplicate prompt '{prompt.key}' (also in {other[0]}:{other[1]})"
                    )
                )
                continue
            where[prompt.key] = (doc.path, line)
            library[prompt.key] = prompt
    if not library and not problems:
        problems.append(Problem(document.relative(path, base), 1, "there is no prompt here"))
    return library, problems


def _prompts(
    doc: document.Document, vocab: Vocabulary, tags: frozenset[str] | None
) -> list[tuple[Prompt, int]]:
    if doc.front is None:
        return []
    document.check_text(doc, "title")
    sources = document.check_sources(doc, vocab)
    if not doc.summary:
        doc.problem(1, "say what the prompts are for in a paragraph before the first one")
    found = []
    for block in doc.blocks:
        kind = KINDS[block.kind]
        if not block.words:
            doc.problem(
                block.line,
                f"prompt '{block.key}' needs at least one tag: a framework component or WSQ principle id",
            )
            continue
        unknown = [t for t in block.words if tags is not None and t not in tags]
        if unknown:
            doc.problem(
                block.line,
                f"unknown tag '{unknown[0]}': use a component or principle id from curricula.yaml",
            )
            continue
        prompt = Prompt(block.key, block.text, frozenset(block.words), kind, block.help, sources)
        if _fields_sound(doc, prompt, block.line):
            found.append((prompt, block.line))
    if not doc.blocks:
        doc.problem(1, "the file has no prompt: '::: prompt KEY TAG' or '::: kata KEY TAG'")
    return [] if doc.problems else found


def _fields_sound(doc: document.Document, prompt: Prompt, line: int) -> bool:
    try:
        fields = prompt.fields
    except ValueError:
        doc.problem(line, f"prompt '{prompt.key}' has a stray '{{' or '}}': placeholders look like {{unit}}")
        return False
    if prompt.kind == "reflection" and fields:
        doc.problem(line, f"prompt '{prompt.key}' has placeholders: only a '::: kata' prompt is filled in")
        return False
    if prompt.kind == "kata":
        unknown = sorted(fields - set(KATA_FIELDS))
        if unknown or not fields:
            known = ", ".join("{" + f + "}" for f in KATA_FIELDS)
            named = f"unknown placeholder {{{unknown[0]}}}" if unknown else "no placeholder"
            doc.problem(line, f"kata prompt '{prompt.key}' has {named}: use {known}")
            return False
    return True


def next_prompt(
    library: Mapping[str, Prompt],
    used: Sequence[str],
    tags: frozenset[str] = frozenset(),
    *,
    kinds: frozenset[str] | None = None,
) -> Prompt:
    """The prompt to give next, after the prompts `used` (keys, oldest first).

    Only prompts with any of `tags` (all, when no tags) and of one of `kinds` (all, when None) are
    considered. Replaying `used`, a round ends once every such prompt has been used; the next prompt is
    the first, in library order, not yet used in the current round, and not the one used last if a new
    round has just begun and there is any other. A key no longer in the library is ignored.
    """
    matching = [
        p for p in library.values() if (not tags or p.tags & tags) and (kinds is None or p.kind in kinds)
    ]
    if not matching:
        wanted = ", ".join(sorted(tags)) or "any tag"
        kind_words = f" of kind {', '.join(sorted(kinds))}" if kinds is not None else ""
        raise ValueError(f"no prompt in the library{kind_words} is tagged {wanted}")
    keys = {p.key for p in matching}
    this_round: set[str] = set()
    last = None
    for key in used:
        if key not in keys:
            continue
        last = key
        this_round.add(key)
        if len(this_round) == len(keys):
            this_round = set()
    waiting = [p for p in matching if p.key not in this_round]
    if not this_round and len(waiting) > 1:
        waiting = [p for p in waiting if p.key != last]
    return waiting[0]


def kata_when(walked: date, today: date) -> str:
    """When a walk was, as a Kata prompt's sentence opens: "Today", "Yesterday", "On Monday" (this past
    week), "Last week" (7 to 13 days ago), else "On 3 November" (with the year when it is not this one)."""
    days = (today - walked).days
    if days <= 0:
        return "Today"
    if days == 1:
        return "Yesterday"
    if days < 7:
        return f"On {walked:%A}"
    if days < 14:
        return "Last week"
    year = f" {walked.year}" if walked.year != today.year else ""
    return f"On {walked.day} {walked:%B}{year}"


def kata_values(unit: str, walked: date, today: date, observation: str, expected: str) -> dict[str, str]:
    """The placeholders one leader's last walk fills (KATA_FIELDS); a blank observation or expected step
    is left out, so only prompts that need what was noted are chosen. A long observation is shortened."""
    values = {"unit": unit, "when": kata_when(walked, today)}
    observation = " ".join(observation.split())
    if len(observation) > OBSERVATION_SHOWN:
        observation = observation[: OBSERVATION_SHOWN - 1].rstrip() + "\u2026"
    if observation:
        values["observation"] = observation if observation[-1] in ".!?\u2026" else observation + "."
    expected = " ".join(expected.split()).rstrip(".")
    if expected:
        values["expected"] = expected
    return values
