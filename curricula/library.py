"""What content/ holds besides modules: figures, the glossary and the printable templates.

- `figures/NAME.svg`: shown in a module with `![what it shows](figure:NAME)` (curricula.figures).
- `glossary.yaml`: terms in plain words; a module links one with `[gemba](term:gemba)`.
- `templates/NAME.md`: a printable page (a PDSA worksheet, a huddle board...) written in Markdown, with
  `::: lines N` for N ruled lines to write on and `::: box N` for a box as tall as N lines; a module
  links one with `[the worksheet](template:NAME)`.

`load_library(root)` reads all three and their problems; `references(library, modules)` adds what needs
the modules too: a figure, term or template a module names that does not exist, and a figure no module
shows or a template no module links.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from curricula import render, yamldoc
from curricula.body import KEY, RAW_HTML
from curricula.figures import load_figures
from curricula.model import Problem
from curricula.parse import FRONT_MATTER, normalise

GLOSSARY = "glossary.yaml"
TEMPLATES = "templates"
TERM_KEYS = ("id", "term", "definition")
TEMPLATE_KEYS = ("title", "summary")
FILLS = ("lines", "box")
MOST_LINES = 20


@dataclass(frozen=True, slots=True)
class GlossaryTerm:
    id: str
    term: str
    definition: str


@dataclass(frozen=True, slots=True)
class Template:
    slug: str
    title: str
    summary: str
    html: str
    path: str


@dataclass(slots=True)
class Library:
    figures: dict[str, str] = field(default_factory=dict)  # name -> path
    glossary: tuple[GlossaryTerm, ...] = ()
    templates: dict[str, Template] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def term(self, term_id: str) -> GlossaryTerm | None:
        return next((t for t in self.glossary if t.id == term_id), None)


def load_library(root: Path) -> Library:
    root = Path(root)
    library = Library()
    library.figures, problems = load_figures(root)
    library.problems.extend(problems)
    library.glossary = _glossary(root, library.problems)
    library.templates = _templates(root, library.problems)
    return library


def references(library: Library, modules: Iterable[tuple[str, list[tuple[str, str, int]]]]) -> list[Problem]:
    """Problems of the modules' references (path, [(kind, name, line)]); figures and templates unused."""
    known = {
        "figure": set(library.figures),
        "term": {t.id for t in library.glossary},
        "template": set(library.templates),
    }
    where = {
        "figure": "no such file in content/figures",
        "term": "no such term in content/glossary.yaml",
        "template": "no such file in content/templates",
    }
    problems, used = [], set()
    for path, refs in modules:
        for kind, name, line in refs:
            used.add((kind, name))
            if name not in known[kind]:
                problems.append(Problem(path, line, f"unknown {kind} '{name}': {where[kind]}"))
    problems.extend(
        Problem(path, 1, f"the figure '{name}' is shown by no module: use it or remove it")
        for name, path in library.figures.items()
        if ("figure", name) not in used
    )
    problems.extend(
        Problem(t.path, 1, f"the template '{name}' is linked from no module: link it where it is taught")
        for name, t in library.templates.items()
        if ("template", name) not in used
    )
    return problems


def _glossary(root: Path, problems: list[Problem]) -> tuple[GlossaryTerm, ...]:
    file = root / GLOSSARY
    if not file.is_file():
        return ()
    doc = yamldoc.load(file.read_text(encoding="utf-8"), GLOSSARY)
    problems.extend(doc.problems)
    node = doc.value_node("terms")
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("terms"), list):
        problems.append(Problem(GLOSSARY, 1, "the glossary is a list under 'terms:'"))
        return ()
    terms, seen = [], {}
    for item, line in zip(doc.data["terms"], doc.item_lines(node), strict=False):
        if not isinstance(item, dict) or set(item) != set(TERM_KEYS):
            problems.append(Problem(GLOSSARY, line, "each term has exactly 'id', 'term' and 'definition'"))
            continue
        if not all(isinstance(item[k], str) and item[k].strip() for k in TERM_KEYS):
            problems.append(Problem(GLOSSARY, line, "a term's id, term and definition must be text"))
            continue
        if not KEY.match(item["id"]):
            problems.append(
                Problem(
                    GLOSSARY, line, f"a term id is lowercase letters, digits and hyphens, not '{item['id']}'"
                )
            )
            continue
        if item["id"] in seen:
            problems.append(
                Problem(GLOSSARY, line, f"duplicate term '{item['id']}' (also at line {seen[item['id']]})")
            )
            continue
        seen[item["id"]] = line
        terms.append(GlossaryTerm(item["id"], item["term"].strip(), " ".join(item["definition"].split())))
    return tuple(sorted(terms, key=lambda t: t.term.casefold()))


def _templates(root: Path, problems: list[Problem]) -> dict[str, Template]:
    folder = root / TEMPLATES
    if not folder.is_dir():
        return {}
    templates = {}
    for file in sorted(folder.glob("*.md")):
        path = file.relative_to(root).as_posix()
        if not KEY.match(file.stem):
            problems.append(
                Problem(path, 1, "a template's file name is lowercase letters, digits and hyphens")
            )
            continue
        template = _template(file.read_text(encoding="utf-8"), file.stem, path, problems)
        if template is not None:
            templates[file.stem] = template
    return templates


def _template(text: str, slug: str, path: str, problems: list[Problem]) -> Template | None:
    text = normalise(text)
    match = FRONT_MATTER.match(text)
    if match is None:
        problems.append(Problem(path, 1, "a template starts with front matter: 'title:' and 'summary:'"))
        return None
    doc = yamldoc.load(match.group(1), path, first_line=2)
    problems.extend(doc.problems)
    data = doc.data if isinstance(doc.data, dict) else {}
    start = len(problems)
    for key in TEMPLATE_KEYS:
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.append(Problem(path, doc.key_lines().get(key, 1), f"a template needs '{key}:' text"))
    for key in set(data) - set(TEMPLATE_KEYS):
        problems.append(Problem(path, doc.key_lines().get(str(key), 1), f"unknown key '{key}'"))
    offset = match.group(0).count("\n")  # the closing line: the body starts on the next
    html = _template_body(text[match.end() :], path, offset, problems)
    if len(problems) > start or doc.problems:
        return None
    return Template(slug, data["title"].strip(), data["summary"].strip(), html, path)


def _template_body(body: str, path: str, offset: int, problems: list[Problem]) -> str:
    tokens = render.parse(body)
    for token in tokens:
        line = offset + 1 + (token.map[0] if token.map else 0)
        raw = token.type == "html_block" or (
            token.type == "inline" and any(c.type == "html_inline" for c in token.children or ())
        )
        if raw:
            problems.append(Problem(path, line, RAW_HTML))
        elif token.type == "heading_open" and token.tag == "h1":
            problems.append(Problem(path, line, "headings start at '##': the title is the page's heading"))
    parts, pending = [], []
    for start, end in render.blocks(tokens, 0, len(tokens)):
        first = tokens[start]
        if first.type != render.BLOCK:
            pending.extend(tokens[start:end])
            continue
        if pending:
            parts.append(render.render(pending))
            pending = []
        parts.append(_fill(first.info.split(), path, offset + 1 + (first.map or (0,))[0], problems))
    if pending:
        parts.append(render.render(pending))
    return "".join(parts)


def _fill(words: list[str], path: str, line: int, problems: list[Problem]) -> str:
    """`::: lines N` or `::: box N`: room to write by hand, N lines tall."""
    usage = f"write '::: lines N' or '::: box N' (N from 1 to {MOST_LINES})"
    if len(words) != 2 or words[0] not in FILLS or not words[1].isdigit():
        problems.append(Problem(path, line, f"unknown block in a template: {usage}"))
        return ""
    count = int(words[1])
    if not 1 <= count <= MOST_LINES:
        problems.append(Problem(path, line, f"too many or too few lines: {usage}"))
        return ""
    lines = '<span class="fill-line"></span>' * count
    return f'<div class="fill fill-{words[0]}" role="presentation">{lines}</div>\n'
