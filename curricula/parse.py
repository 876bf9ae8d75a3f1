"""One module file: YAML front matter between `---` lines, then a CommonMark body (content/README.md).

`parse_module(text, path, vocab)` returns what the file holds and everything wrong with it; the corpus
(curricula.corpus) adds what needs the other files: duplicate ids, prerequisites, links.

The content hash is the SHA-256 of the file's text, UTF-8 encoded, with line endings normalised to
"\\n" (and a leading byte-order mark dropped): any edit to the words, options, keys or front matter
changes it, while a checkout that turns "\\n" into "\\r\\n" does not.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from curricula import yamldoc
from curricula.body import KEY, read_body
from curricula.model import Module, Problem

FRONT_MATTER = re.compile(r"---[ \t]*\n(.*?)^---[ \t]*(?:\n|\Z)", re.S | re.M)
REQUIRED = ("id", "title", "curriculum", "dose", "roles", "minutes", "objectives", "sources")
OPTIONAL = ("component", "principles", "requires")
MINUTES = range(5, 31)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The names a module may use, from dosing.yaml and curricula.yaml; None: not known, not checked."""

    curricula: frozenset[str] | None = None
    components: frozenset[str] | None = None
    principles: frozenset[str] | None = None
    levels: frozenset[str] | None = None
    roles: frozenset[str] | None = None
    sources: frozenset[str] | None = None


@dataclass(slots=True)
class ParsedModule:
    """A module file read: the Module when its front matter is sound, and every problem found."""

    path: str
    id: str | None = None
    module: Module | None = None
    problems: list[Problem] = field(default_factory=list)
    links: list[tuple[str, int]] = field(default_factory=list)  # (module id, line)
    references: list[tuple[str, str, int]] = field(default_factory=list)  # (figure|term|template, name, line)
    requires: list[tuple[str, int]] = field(default_factory=list)  # (module id, line)
    role_lines: dict[str, int] = field(default_factory=dict)  # role named in `roles` -> its line
    id_line: int = 1


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise(text: str) -> str:
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def parse_module(text: str, path: str, vocab: Vocabulary, *, link_base: str = "/modules/") -> ParsedModule:
    text = normalise(text)
    parsed = ParsedModule(path)
    match = FRONT_MATTER.match(text)
    if match is None:
        message = (
            "front matter has no closing '---' line"
            if text.startswith("---")
            else "a module starts with front matter between '---' lines"
        )
        parsed.problems.append(Problem(path, 1, message))
        return parsed
    closing_line = 2 + match.group(1).count("\n")
    doc = yamldoc.load(match.group(1), path, first_line=2)
    parsed.problems.extend(doc.problems)
    fields = _front_matter(doc, path, vocab, parsed)
    body = read_body(text[match.end() :], path, closing_line, link_base)
    parsed.problems.extend(body.problems)
    parsed.links = body.links
    parsed.references = body.references
    if body.empty:
        parsed.problems.append(Problem(path, 1, "the module has no body"))
    else:
        if "check" not in body.kinds:
            parsed.problems.append(Problem(path, 1, "a module needs at least one check: '::: check KEY'"))
        if "reflection" not in body.kinds:
            parsed.problems.append(
                Problem(path, 1, "a module needs at least one reflection: '::: reflection KEY'")
            )
    if fields is not None:
        parsed.module = Module(
            **fields,
            segments=tuple(body.segments),
            checks=tuple(body.checks),
            reflections=tuple(body.reflections),
            path=path,
            content_hash=content_hash(text),
            summary=body.summary,
        )
    return parsed


def _front_matter(doc: yamldoc.Document, path: str, vocab: Vocabulary, parsed: ParsedModule) -> dict | None:
    """The Module's front matter fields, or None when any of them is missing or wrong."""
    if doc.problems and doc.node is None:
        return None
    data = doc.data
    if not isinstance(data, dict):
        parsed.problems.append(Problem(path, 1, "front matter must be YAML keys and values"))
        return None
    start = len(parsed.problems)
    lines = doc.key_lines()
    for key in data:
        if key not in REQUIRED and key not in OPTIONAL:
            parsed.problems.append(Problem(path, lines.get(str(key), 1), f"unknown key '{key}'"))
    for key in REQUIRED:
        if key not in data:
            parsed.problems.append(Problem(path, 1, f"missing key '{key}'"))
    check = _Checker(doc, path, parsed.problems, lines)
    fields: dict[str, Any] = {
        "id": check.ident(data.get("id")),
        "title": check.text("title", data.get("title")),
        "curriculum": check.term("curriculum", data.get("curriculum"), vocab.curricula, "curriculum"),
        "dose": check.term("dose", data.get("dose"), vocab.levels, "dose level"),
        "roles": check.terms("roles", data.get("roles"), vocab.roles, "role", least=1),
        "minutes": check.minutes(data.get("minutes")),
        "objectives": check.terms("objectives", data.get("objectives"), None, "", least=1),
        "sources": check.terms("sources", data.get("sources"), vocab.sources, "source", least=1),
        "component": check.term("component", data.get("component"), vocab.components, "component"),
        "principles": check.terms("principles", data.get("principles"), vocab.principles, "principle"),
        "requires": check.terms("requires", data.get("requires"), None, ""),
    }
    if isinstance(data.get("id"), str) and KEY.match(data["id"]):
        parsed.id, parsed.id_line = data["id"], lines["id"]
    roles = data.get("roles")
    if isinstance(roles, list):
        item_lines = doc.item_lines(doc.value_node("roles"))
        parsed.role_lines = {r: ln for r, ln in zip(roles, item_lines, strict=False) if isinstance(r, str)}
    requires = data.get("requires")
    if isinstance(requires, list):
        item_lines = doc.item_lines(doc.value_node("requires"))
        parsed.requires = [(r, ln) for r, ln in zip(requires, item_lines, strict=False) if isinstance(r, str)]
    return fields if len(parsed.problems) == start else None


LEAST = {
    "roles": "roles must name at least one role",
    "objectives": "objectives must list at least one learning objective",
    "sources": "sources must name at least one source document",
}


class _Checker:
    """Checks one front matter value at a time, adding a problem at the key's (or item's) line."""

    def __init__(self, doc: yamldoc.Document, path: str, problems: list[Problem], lines: dict[str, int]):
        self.doc, self.path, self.problems, self.lines = doc, path, problems, lines

    def add(self, key: str, message: str, line: int | None = None) -> None:
        self.problems.append(Problem(self.path, line or self.lines.get(key, 1), message))

    def ident(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not KEY.match(value):
            self.add("id", f"id must be lowercase letters, digits and hyphens, not '{value}'")
        return value

    def text(self, key: str, value: Any) -> str | None:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            self.add(key, f"{key} must be text")
        return value

    def term(self, key: str, value: Any, known: frozenset[str] | None, noun: str) -> str | None:
        if value is None or self.text(key, value) is None:
            return None
        if isinstance(value, str) and known is not None and value not in known:
            self.add(key, f"unknown {noun} '{value}'")
        return value

    def terms(
        self, key: str, value: Any, known: frozenset[str] | None, noun: str, least: int = 0
    ) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.add(key, f"{key} must be a list")
            return ()
        if len(value) < least:
            self.add(key, LEAST[key])
        item_lines = self.doc.item_lines(self.doc.value_node(key))
        for i, item in enumerate(value):
            line = item_lines[i] if i < len(item_lines) else None
            if not isinstance(item, str) or not item.strip():
                self.add(key, f"each item of {key} must be text", line)
            elif known is not None and item not in known:
                self.add(key, f"unknown {noun} '{item}'", line)
        return tuple(value)

    def minutes(self, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value not in MINUTES:
            self.add("minutes", "minutes must be a whole number from 5 to 30")
        return value
