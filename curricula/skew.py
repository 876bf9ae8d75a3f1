"""Warnings about a corpus whose checks can be passed without reading them.

A learner who notices that the right answer is usually the second option, or usually the longest, or that
"choose all that apply" always means the first two, scores well without learning. These rules look at
the checks as written (the order a learner sees before any shuffling) and warn at each check that feeds
the pattern, so the author knows where to change it. They are warnings, not problems: a corpus with a
skew still publishes, and `lms content check` prints them in the same `path:line: message` form.

The rules (thresholds are shares of the checks a rule looks at, and a rule speaks only once it has
`ENOUGH` checks to look at, so a handful of checks is never called a pattern):

- position: among single-answer checks with three or more options, no option position holds the correct
  answer in more than `SHARE` (40%) of them. A fair share is a third or less.
- first k: among "choose all that apply" checks, the correct options are not the first k options (k the
  number correct) in more than `SHARE` of them.
- same set: among "choose all that apply" checks, no one set of positions (say options 2 and 4) is the
  correct set in more than `SHARE` of them.
- longest: among single-answer checks with three or more options, the correct option is not the strictly
  longest (in characters of its text) in more than `SHARE` of them.
- scenario: every module has at least one scenario check (`::: check KEY scenario`): a situation a leader
  meets, then what to do or what it shows.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from curricula.model import Check, Module, Problem

SHARE = 0.4
ENOUGH = 8
LEAST_OPTIONS = 3
TAG = re.compile(r"<[^>]*>")


def option_length(text_html: str) -> int:
    """The length of an option as a learner reads it: its text, without markup, spaces collapsed."""
    return len(" ".join(html.unescape(TAG.sub("", text_html)).split()))


def correct_is_longest(check: Check) -> bool:
    """True when the one correct option is longer than every other option."""
    lengths = [option_length(o.text_html) for o in check.options]
    (right,) = check.correct
    return all(lengths[right] > n for i, n in enumerate(lengths) if i != right)


def correct_are_first(check: Check) -> bool:
    """True when the correct options of a multi-select check are exactly the first k."""
    return check.correct == frozenset(range(len(check.correct)))


@dataclass(frozen=True, slots=True)
class Placed:
    """A check and the module file it is written in."""

    path: str
    check: Check


def _single(placed: Iterable[Placed]) -> list[Placed]:
    return [p for p in placed if not p.check.multiple and len(p.check.options) >= LEAST_OPTIONS]


def _options(positions: frozenset[int]) -> str:
    """'options 2 and 4', 'options 1, 3 and 4' (1-based)."""
    named = [str(i + 1) for i in sorted(positions)]
    return "options " + ", ".join(named[:-1]) + " and " + named[-1]


def _pattern(at: list[Placed], total: int, kind: str, what: str, fix: str) -> list[Problem]:
    """A warning at each check of `at` when they are more than SHARE of the `total` checks of their kind."""
    if total < ENOUGH or len(at) <= SHARE * total:
        return []
    message = (
        f"warning: {what} here and in {len(at)} of {total} {kind} checks "
        f"(more than {round(SHARE * 100)}%): {fix}"
    )
    return [Problem(p.path, p.check.line, message) for p in at]


def warnings(modules: Sequence[Module]) -> list[Problem]:
    """Every skew warning of the corpus, at the lines of the checks (or files) that make it."""
    placed = [Placed(m.path, c) for m in modules for c in m.checks]
    single = _single(placed)
    multiple = [p for p in placed if p.check.multiple]
    found: list[Problem] = []
    for position in sorted({min(p.check.correct) for p in single}):
        at = [p for p in single if min(p.check.correct) == position]
        what = f"the correct answer is option {position + 1}"
        found += _pattern(at, len(single), "single-answer", what, "move it in some")
    longest = [p for p in single if correct_is_longest(p.check)]
    what = "the correct option is the longest"
    found += _pattern(longest, len(single), "single-answer", what, "even out the options' lengths")
    first = [p for p in multiple if correct_are_first(p.check)]
    found += _pattern(
        first, len(multiple), "multi-select", "the correct options are the first ones", "spread them"
    )
    for chosen in sorted({p.check.correct for p in multiple if not correct_are_first(p.check)}, key=sorted):
        at = [p for p in multiple if p.check.correct == chosen]
        what = f"the correct options are {_options(chosen)}"
        found += _pattern(at, len(multiple), "multi-select", what, "spread them")
    found.extend(
        Problem(
            m.path,
            1,
            "warning: no scenario check: mark a check that sets a situation and asks what "
            "to do as '::: check KEY scenario'",
        )
        for m in modules
        if m.checks and not any(c.scenario for c in m.checks)
    )
    return found
