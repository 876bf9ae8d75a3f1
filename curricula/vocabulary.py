"""content/dosing.yaml and content/curricula.yaml: the names modules are written in, and the policy.

Each file is checked the way module front matter is: every problem at its line, all in one run. A file
that cannot be read leaves its names unknown (None in the Vocabulary), so modules are not also blamed
for names nobody could check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curricula import yamldoc
from curricula.body import KEY
from curricula.model import DosingPolicy, Problem, Term
from curricula.parse import Vocabulary
from curricula.stakeholders import StakeholderRole

DOSING = "dosing.yaml"
CURRICULA = "curricula.yaml"
TERM_KEYS = ("id", "title", "summary")


@dataclass(slots=True)
class Vocabularies:
    vocab: Vocabulary
    curricula: tuple[Term, ...] = ()
    components: tuple[Term, ...] = ()
    principles: tuple[Term, ...] = ()
    sources: tuple[str, ...] = ()
    policy: DosingPolicy = field(default_factory=lambda: DosingPolicy((), {}))
    problems: list[Problem] = field(default_factory=list)


class _File:
    """One YAML file of the content root, read with line numbers; problems gathered in `problems`."""

    def __init__(self, root: Path, name: str, keys: tuple[str, ...], problems: list[Problem]):
        self.name, self.problems = name, problems
        self.doc: yamldoc.Document | None = None
        try:
            text = (root / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            problems.append(Problem(name, 1, "file is missing"))
            return
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(name, 1, f"cannot read the file: {exc}"))
            return
        doc = yamldoc.load(text, name)
        problems.extend(doc.problems)
        if doc.node is None:
            return
        if not isinstance(doc.data, dict):
            problems.append(Problem(name, 1, "the file must be YAML keys and values"))
            return
        self.doc = doc
        lines = doc.key_lines()
        for key in doc.data:
            if key not in keys:
                self.add(lines.get(str(key), 1), f"unknown key '{key}'")
        for key in keys:
            if key not in doc.data:
                self.add(1, f"missing key '{key}'")

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.name, line, message))

    def line(self, node: yaml.Node | None, default: int = 1) -> int:
        return self.doc.line(node) if self.doc is not None and node is not None else default

    def items(self, key: str) -> list[tuple[Any, yaml.Node | None]] | None:
        """The items of the list under `key`, each with its node; None when there is no such list."""
        if self.doc is None or key not in self.doc.data:
            return None
        value, node = self.doc.data[key], self.doc.value_node(key)
        if not isinstance(value, list) or not isinstance(node, yaml.SequenceNode):
            self.add(self.line(node), f"{key} must be a list")
            return None
        return list(zip(value, node.value, strict=True))

    def terms(self, key: str, noun: str) -> tuple[Term, ...] | None:
        items = self.items(key)
        if items is None:
            return None
        terms: list[Term] = []
        seen: dict[str, int] = {}
        for value, node in items:
            line = self.line(node)
            if not isinstance(value, dict):
                self.add(line, f"each {noun} needs an id and a title")
                continue
            keys = self.doc.key_lines(node) if self.doc else {}
            for k in value:
                if k not in TERM_KEYS:
                    self.add(keys.get(str(k), line), f"unknown key '{k}'")
            ident, title = value.get("id"), value.get("title")
            if not isinstance(ident, str) or not KEY.match(ident):
                self.add(
                    keys.get("id", line), f"each {noun} needs an id of lowercase letters, digits and hyphens"
                )
                continue
            if not isinstance(title, str) or not title.strip():
                self.add(keys.get("title", line), f"{noun} '{ident}' needs a title")
            if ident in seen:
                self.add(keys["id"], f"duplicate {noun} '{ident}' (also at line {seen[ident]})")
                continue
            seen[ident] = keys["id"]
            summary = value.get("summary", "")
            terms.append(Term(ident, str(title or ""), summary if isinstance(summary, str) else ""))
        return tuple(terms)


def load_vocabularies(root: Path) -> Vocabularies:
    problems: list[Problem] = []
    dosing = _File(root, DOSING, ("levels", "roles", "policy"), problems)
    levels = dosing.terms("levels", "dose level")
    roles = _roles(dosing)
    policy = _policy(dosing, levels, roles)
    curricula = _File(root, CURRICULA, ("curricula", "components", "principles", "sources"), problems)
    found = {k: curricula.terms(k, n) for k, n in (("curricula", "curriculum"), ("components", "component"))}
    principles = curricula.terms("principles", "principle")
    sources = _sources(curricula)

    def ids(terms: tuple[Term, ...] | None) -> frozenset[str] | None:
        return None if terms is None else frozenset(t.id for t in terms)

    vocab = Vocabulary(
        curricula=ids(found["curricula"]),
        components=ids(found["components"]),
        principles=ids(principles),
        levels=ids(levels),
        roles=None if roles is None else frozenset(roles),
        sources=None if sources is None else frozenset(sources),
    )
    return Vocabularies(
        vocab,
        curricula=found["curricula"] or (),
        components=found["components"] or (),
        principles=principles or (),
        sources=tuple(sources or ()),
        policy=DosingPolicy(levels or (), policy),
        problems=problems,
    )


def _roles(dosing: _File) -> list[str] | None:
    items = dosing.items("roles")
    if items is None:
        return None
    known = {r.value for r in StakeholderRole}
    roles = []
    for value, node in items:
        if value not in known:
            dosing.add(dosing.line(node), f"unknown role '{value}'")
        elif value in roles:
            dosing.add(dosing.line(node), f"duplicate role '{value}'")
        else:
            roles.append(value)
    missing = [r.value for r in StakeholderRole if r.value not in roles]
    if missing and dosing.doc is not None:
        line = dosing.doc.key_lines().get("roles", 1)
        dosing.add(line, "roles must list every stakeholder role; missing: " + ", ".join(missing))
    return roles


def _policy(
    dosing: _File, levels: tuple[Term, ...] | None, roles: list[str] | None
) -> dict[str, dict[str, int]]:
    if dosing.doc is None or "policy" not in dosing.doc.data:
        return {}
    value, node = dosing.doc.data["policy"], dosing.doc.value_node("policy")
    if not isinstance(value, dict) or not isinstance(node, yaml.MappingNode):
        dosing.add(dosing.line(node), "policy must map each role to {level: days}")
        return {}
    level_ids = None if levels is None else {t.id for t in levels}
    policy: dict[str, dict[str, int]] = {}
    for role_node, levels_node in node.value:
        role, line = role_node.value, dosing.line(role_node)
        if roles is not None and role not in roles:
            dosing.add(line, f"unknown role '{role}'")
            continue
        if not isinstance(levels_node, yaml.MappingNode):
            dosing.add(line, f"policy for '{role}' must map levels to days, like {{awareness: 30}}")
            continue
        days: dict[str, int] = {}
        for level_node, days_node in levels_node.value:
            level = level_node.value
            if level_ids is not None and level not in level_ids:
                dosing.add(dosing.line(level_node), f"unknown dose level '{level}'")
                continue
            count = value[role][level] if isinstance(value.get(role), dict) else None
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                dosing.add(
                    dosing.line(days_node),
                    f"days for '{role}' at '{level}' must be a whole number, 1 or more",
                )
                continue
            days[level] = count
        policy[role] = days
    return policy


def _sources(curricula: _File) -> list[str] | None:
    items = curricula.items("sources")
    if items is None:
        return None
    sources = []
    for value, node in items:
        if not isinstance(value, str) or not value.strip():
            curricula.add(curricula.line(node), "each source must be the title of a document")
        else:
            sources.append(value)
    return sources
