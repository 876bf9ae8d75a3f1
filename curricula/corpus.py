"""A whole content folder: content/modules/**/*.md, content/dosing.yaml, content/curricula.yaml, and
the figures, glossary and templates modules refer to (curricula.library).

`load_corpus(root)` reads and checks everything, collecting every problem of every file in one run, and
orders the modules so that each comes after the modules it requires, otherwise by curriculum (in
curricula.yaml's order), dose level (dosing.yaml's order) and id. When there are problems the corpus
holds the modules that could be built; `check(root)` returns only the problems. `Corpus.warnings` holds
what curricula.skew finds: checks that can be guessed, modules with no scenario check.
"""

from __future__ import annotations

import heapq
from pathlib import Path

from curricula import dosing, readability
from curricula.library import load_library, references
from curricula.model import Corpus, Module, Problem
from curricula.parse import ParsedModule, parse_module
from curricula.skew import warnings
from curricula.vocabulary import load_vocabularies

MODULES = "modules"


def module_files(root: Path) -> list[Path]:
    return sorted((root / MODULES).rglob("*.md"))


def load_corpus(root: Path, *, link_base: str = "/modules/") -> Corpus:
    root = Path(root)
    vocabularies = load_vocabularies(root)
    problems = list(vocabularies.problems)
    parsed: list[ParsedModule] = []
    if not (root / MODULES).is_dir():
        problems.append(Problem(MODULES, 1, "the folder of modules is missing"))
    for file in module_files(root):
        path = file.relative_to(root).as_posix()
        try:
            text = file.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(path, 1, f"the file is not UTF-8 text: {exc.reason}"))
            continue
        result = parse_module(text, path, vocabularies.vocab, link_base=link_base)
        problems.extend(result.problems)
        parsed.append(result)
    unique = _unique(parsed, problems)
    known = {p.id for p in parsed if p.id is not None}
    for p in parsed:
        problems.extend(
            Problem(p.path, line, f"requires unknown module '{m}'")
            for m, line in p.requires
            if m not in known
        )
        problems.extend(
            Problem(p.path, line, f"link to unknown module '{m}'") for m, line in p.links if m not in known
        )
    library = load_library(root)
    problems.extend(library.problems)
    problems.extend(references(library, ((p.path, p.references) for p in parsed)))
    problems.extend(_cycles(unique))
    problems.extend(_dosing(unique, vocabularies.policy.roles))
    curriculum_order = {t.id: i for i, t in enumerate(vocabularies.curricula)}
    level_order = vocabularies.policy.level_order()
    modules = _ordered(
        [p.module for p in unique.values() if p.module is not None], curriculum_order, level_order
    )
    return Corpus(
        modules=tuple(modules),
        curricula=vocabularies.curricula,
        components=vocabularies.components,
        principles=vocabularies.principles,
        sources=vocabularies.sources,
        policy=vocabularies.policy,
        problems=tuple(sorted(set(problems), key=_reading_order)),
        warnings=tuple(sorted(warnings(modules) + readability.warnings(modules), key=_reading_order)),
    )


def _dosing(unique: dict[str, ParsedModule], policy: dict[str, dict[str, int]]) -> list[Problem]:
    """A module naming a role the policy never doses to its level (curricula.dosing), at that role's
    line of `roles`."""
    built = {p.module.id: p for p in unique.values() if p.module is not None}
    return [
        Problem(built[d.module].path, built[d.module].role_lines.get(d.role, 1), d.message)
        for d in dosing.disagreements(
            (dosing.Dosed(p.module.id, p.module.dose, p.module.roles) for p in built.values() if p.module),
            policy,
        )
    ]


def check(root: Path) -> list[Problem]:
    return list(load_corpus(root).problems)


def _reading_order(problem: Problem) -> tuple[str, int, str]:
    return (problem.path, problem.line, problem.message)


def _unique(parsed: list[ParsedModule], problems: list[Problem]) -> dict[str, ParsedModule]:
    """The first file (by path) for each id; both files of a duplicate are told about the other."""
    first: dict[str, ParsedModule] = {}
    for p in parsed:
        if p.id is None:
            continue
        other = first.get(p.id)
        if other is None:
            first[p.id] = p
            continue
        problems.append(
            Problem(p.path, p.id_line, f"duplicate id '{p.id}' (also in {other.path}:{other.id_line})")
        )
        problems.append(
            Problem(other.path, other.id_line, f"duplicate id '{p.id}' (also in {p.path}:{p.id_line})")
        )
    return first


def _cycles(modules: dict[str, ParsedModule]) -> list[Problem]:
    """Each cycle of `requires`, once, at the `requires` line of the cycle's first module by id."""
    requires = {i: [m for m, _ in p.requires if m in modules] for i, p in modules.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    problems = []
    for start in sorted(requires):
        if state.get(start):
            continue
        stack = [(start, iter(requires[start]))]
        path = [start]
        state[start] = 1
        while stack:
            node, edges = stack[-1]
            nxt = next(edges, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                head = min(cycle)
                turned = cycle[cycle.index(head) :] + cycle[: cycle.index(head)]
                p = modules[head]
                target = turned[1] if len(turned) > 1 else head
                line = next(ln for m, ln in p.requires if m == target)
                problems.append(
                    Problem(p.path, line, "requires forms a cycle: " + " -> ".join([*turned, head]))
                )
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(requires[nxt])))
    return problems


def _ordered(modules: list[Module], curricula: dict[str, int], levels: dict[str, int]) -> list[Module]:
    """Prerequisites first (Kahn's algorithm), ties broken by curriculum, dose level and id.

    Modules caught in a cycle (already a problem) follow in the same tie-break order.
    """
    by_id = {m.id: m for m in modules}
    last = len(curricula) + len(levels)

    def key(m: Module) -> tuple[int, int, str]:
        return (curricula.get(m.curriculum, last), levels.get(m.dose, last), m.id)

    waiting = {m.id: {r for r in m.requires if r in by_id and r != m.id} for m in modules}
    needed_by: dict[str, list[str]] = {}
    for mid, reqs in waiting.items():
        for r in reqs:
            needed_by.setdefault(r, []).append(mid)
    ready = [(key(m), m.id) for m in modules if not waiting[m.id]]
    heapq.heapify(ready)
    ordered: list[Module] = []
    while ready:
        _, mid = heapq.heappop(ready)
        ordered.append(by_id[mid])
        for after in needed_by.get(mid, ()):
            waiting[after].discard(mid)
            if not waiting[after]:
                heapq.heappush(ready, (key(by_id[after]), after))
    placed = {m.id for m in ordered}
    ordered.extend(sorted((m for m in modules if m.id not in placed), key=key))
    return ordered
