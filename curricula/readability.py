"""How easy a module is to read, for modules written only for patient and family partners.

Partners come from every walk of life, and the text written for them alone aims for plain language:
short sentences and common words, about the reading level of a 13-year-old (US grade 8). This module
estimates the Flesch-Kincaid grade of everything a learner reads in a module (its text, questions,
options, explanations and prompts) and `lms content check` warns at a module that reads above `GRADE`.

The estimate counts syllables by groups of vowels, which is rough for single words but steady over a
module's hundreds of words: it flags long sentences and long words, which is what an author can fix.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from curricula.model import Module, Problem

PLAIN_ROLES = frozenset({"patient-family-partner"})
GRADE = 9.0  # warn above this: "near grade 8"
BLOCK_TAG = re.compile(r"</?(?:p|li|h[1-6]|td|th|tr|div|table|figcaption|summary|text|title|desc)\b[^>]*>")
TAG = re.compile(r"<[^>]*>")
WORD = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)*")
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n\s*\n")
VOWELS = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    word = word.lower().replace("\u2019", "'").split("'")[0]
    count = len(VOWELS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    return max(count, 1)


def grade(text: str) -> float:
    """The Flesch-Kincaid grade of a text: 0.39 x words per sentence + 11.8 x syllables per word - 15.59."""
    words = WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(len([s for s in SENTENCE_END.split(text) if WORD.search(s)]), 1)
    per_word = sum(syllables(w) for w in words) / len(words)
    return round(0.39 * len(words) / sentences + 11.8 * per_word - 15.59, 1)


def readable_text(module: Module) -> str:
    """Everything a learner reads in the module, as plain text: each block ends a sentence."""
    parts = [s.value for s in module.segments if s.kind == "html"]
    for check in module.checks:
        parts += [check.question_html, *(o.text_html for o in check.options), check.explanation_html]
    parts += [r.prompt_html for r in module.reflections]
    blocks = (html.unescape(TAG.sub("", BLOCK_TAG.sub("\n\n", part))) for part in parts)
    return "\n\n".join(blocks)


def warnings(modules: Sequence[Module]) -> list[Problem]:
    found = []
    for module in modules:
        if not module.roles or not set(module.roles) <= PLAIN_ROLES:
            continue
        level = grade(readable_text(module))
        if level > GRADE:
            found.append(
                Problem(
                    module.path,
                    1,
                    f"warning: reads at about grade {level:g}; a module only for patient and family partners "
                    "aims for grade 8 or below: shorter sentences, more common words",
                )
            )
    return found
