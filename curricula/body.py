"""A module's Markdown body: segments in reading order, its checks and reflections, safe HTML.

The body is parsed once (curricula.render's parser); one walk over the tokens finds raw HTML, `#`
headings and module links, and a second over the top-level blocks cuts the body into HTML segments and
interactive blocks. Lines in problems are file lines: `offset` is the file line of the body's first
line, minus one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

from markdown_it.token import Token

from curricula import render, runchart, yamldoc
from curricula.model import Check, Option, Problem, Reflection, Segment

KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
MODULE_LINK = "module:"
# Links to the content's other parts (curricula.library): a figure shown as an image, a glossary term,
# a printable template. Each is rewritten to the application's address and checked by the corpus.
FIGURE, TERM, TEMPLATE = "figure:", "term:", "template:"
FIGURE_BASE, GLOSSARY_BASE, TEMPLATE_BASE = "/figures/", "/glossary#term-", "/templates/"
LINKED = {TERM: ("term", GLOSSARY_BASE), TEMPLATE: ("template", TEMPLATE_BASE)}
RAW_HTML = "raw HTML is not allowed; write Markdown instead"
KINDS = ("check", "reflection", "runchart")
SCENARIO = "scenario"  # '::: check KEY scenario': the check sets a situation (curricula.skew)
USAGE = "'::: check KEY', '::: reflection KEY' or '::: runchart KEY'"
CHART_KEYS = {"title", "description", "values", "labels", "y_label"}
MIN_POINTS, MAX_POINTS = 10, 100


@dataclass(slots=True)
class Body:
    segments: list[Segment] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    reflections: list[Reflection] = field(default_factory=list)
    summary: str = ""
    links: list[tuple[str, int]] = field(default_factory=list)  # (module id, file line)
    references: list[tuple[str, str, int]] = field(default_factory=list)  # (figure|term|template, name, line)
    problems: list[Problem] = field(default_factory=list)
    empty: bool = False
    kinds: set[str] = field(default_factory=set)  # the kinds of block written, sound or not


class _Reader:
    def __init__(self, text: str, path: str, offset: int, link_base: str) -> None:
        self.text = text
        self.path = path
        self.offset = offset
        self.link_base = link_base
        self.body = Body()
        self.keys: dict[str, int] = {}
        self._lines: list[str] | None = None

    def problem(self, line: int, message: str) -> None:
        self.body.problems.append(Problem(self.path, line, message))

    def line(self, token: Token) -> int:
        return self.offset + 1 + (token.map[0] if token.map else 0)

    def source_line(self, index: int) -> str:
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines[index] if index < len(self._lines) else ""


def read_body(text: str, path: str, offset: int, link_base: str = "/modules/") -> Body:
    reader = _Reader(text, path, offset, link_base)
    tokens = render.parse(text)
    if not tokens:
        reader.body.empty = True
        return reader.body
    _inspect(reader, tokens)
    _cut(reader, tokens)
    return reader.body


def _inspect(reader: _Reader, tokens: list[Token]) -> None:
    """Raw HTML, `#` headings and module links, anywhere in the body; module links get their href."""
    for token in tokens:
        if token.type == "inline":
            _inspect_inline(reader, token, reader.line(token))
        elif token.type == "html_block":
            reader.problem(reader.line(token), RAW_HTML)
        elif token.type == "heading_open" and token.tag == "h1":
            reader.problem(reader.line(token), "headings start at '##': the title is the page's heading")


def _inspect_inline(reader: _Reader, inline: Token, line: int) -> None:
    html_lines = set()
    for child in inline.children or ():
        kind = child.type
        if kind == "softbreak" or kind == "hardbreak":
            line += 1
        elif kind == "html_inline" and line not in html_lines:
            html_lines.add(line)
            reader.problem(line, RAW_HTML)
        elif kind == "image":
            _image(reader, child, line)
        elif kind == "link_open":
            href = str(child.attrs.get("href", ""))
            prefix = next((p for p in LINKED if href.startswith(p)), None)
            if prefix is not None:
                what, base = LINKED[prefix]
                target = href[len(prefix) :]
                if KEY.match(target):
                    reader.body.references.append((what, target, line))
                    child.attrs["href"] = base + target
                else:
                    reader.problem(line, f"a {what} link needs a name: '{prefix}NAME', not '{href}'")
            elif href.startswith(MODULE_LINK):
                target = href[len(MODULE_LINK) :]
                if KEY.match(target):
                    reader.body.links.append((target, line))
                    child.attrs["href"] = reader.link_base + target
                else:
                    reader.problem(line, f"a module link needs a module id: 'module:ID', not '{href}'")


def _image(reader: _Reader, image: Token, line: int) -> None:
    """`![what it shows](figure:NAME)`: a figure from content/figures, with alt text; no other image."""
    src = str(image.attrs.get("src", ""))
    image.attrs["src"] = ""  # nothing but a checked figure is ever shown
    if not src.startswith(FIGURE) or not KEY.match(src[len(FIGURE) :]):
        reader.problem(line, f"an image must be a figure: '![what it shows](figure:NAME)', not '{src}'")
        return
    name = src[len(FIGURE) :]
    if not render.plain_text(image).strip():
        reader.problem(line, f"the figure '{name}' needs alt text: '![what it shows]({src})'")
    image.attrs["src"] = FIGURE_BASE + name + ".svg"
    image.attrSet("class", "figure")
    reader.body.references.append(("figure", name, line))


def _cut(reader: _Reader, tokens: list[Token]) -> None:
    """Cut the top level into HTML segments and blocks; note the summary (first paragraph)."""
    pending: list[Token] = []
    for start, end in render.blocks(tokens, 0, len(tokens)):
        first = tokens[start]
        if first.type != render.BLOCK:
            if not reader.body.summary and first.type == "paragraph_open":
                reader.body.summary = render.plain_text(tokens[start + 1])
            pending.extend(tokens[start:end])
            continue
        if pending:
            reader.body.segments.append(Segment("html", render.render(pending)))
            pending = []
        _block(reader, tokens, start, end)
    if pending:
        reader.body.segments.append(Segment("html", render.render(pending)))


def _block(reader: _Reader, tokens: list[Token], start: int, end: int) -> None:
    opening = tokens[start]
    line = reader.line(opening)
    inner = (start + 1, end - 1 if tokens[end - 1].type == render.BLOCK_CLOSE else end)
    if opening.map and not reader.source_line(opening.map[1]).strip().startswith(":::"):
        reader.problem(line, "this ::: block is not closed: end it with a ':::' line")
    for token in tokens[inner[0] : inner[1]]:
        if token.type == render.BLOCK:
            reader.problem(reader.line(token), "a ::: block cannot contain another ::: block")
    words = opening.info.split()
    if not words:
        reader.problem(line, f"a ::: block needs a type and a key: {USAGE}")
        return
    kind = words[0]
    reader.body.kinds.add(kind)
    if kind not in KINDS:
        reader.problem(line, f"unknown block type '{kind}': use {USAGE}")
        return
    if len(words) < 2 or not KEY.match(words[1]):
        reader.problem(
            line, f"a {kind} needs one key of lowercase letters, digits and hyphens: '::: {kind} KEY'"
        )
        return
    key = words[1]
    marks = words[2:]
    allowed = (SCENARIO,) if kind == "check" else ()
    if len(marks) > 1 or any(m not in allowed for m in marks):
        usage = f"'::: check KEY' or '::: check KEY {SCENARIO}'" if allowed else f"'::: {kind} KEY'"
        reader.problem(line, f"unexpected words after the key '{key}': write {usage}")
        return
    if key in reader.keys:
        reader.problem(line, f"duplicate block key '{key}' (also at line {reader.keys[key]})")
        return
    reader.keys[key] = line
    if kind == "runchart":
        figure = _run_chart(reader, opening, key, line)
        if figure is not None:
            reader.body.segments.append(Segment("html", figure))
    elif kind == "check":
        check = _check(reader, tokens, inner, key, line, scenario=bool(marks))
        if check is not None:
            reader.body.checks.append(check)
            reader.body.segments.append(Segment("check", key))
    else:
        if inner[0] == inner[1]:
            reader.problem(line, "a reflection needs a prompt")
            return
        reflection = Reflection(key, render.render(tokens[inner[0] : inner[1]]), line)
        reader.body.reflections.append(reflection)
        reader.body.segments.append(Segment("reflection", key))


def _check(
    reader: _Reader, tokens: list[Token], inner: tuple[int, int], key: str, line: int, *, scenario: bool
) -> Check | None:
    parts = render.blocks(tokens, *inner)
    if not parts or tokens[parts[0][0]].type != "paragraph_open":
        reader.problem(line, "a check needs a question: a paragraph before its options")
        return None
    question = render.render(tokens[parts[0][0] : parts[0][1]])
    lists = [i for i, (s, _) in enumerate(parts) if tokens[s].type == "bullet_list_open"]
    if not lists:
        reader.problem(line, "a check needs at least two options, in a '- [ ]' / '- [x]' list")
        return None
    if lists[0] != 1:
        reader.problem(reader.line(tokens[parts[1][0]]), "put a check's options right after its question")
    options = _options(reader, tokens, *parts[lists[0]])
    if options is None:
        return None
    if len(options) < 2:
        reader.problem(line, "a check needs at least two options, in a '- [ ]' / '- [x]' list")
        return None
    if not any(o.correct for o in options):
        reader.problem(line, "a check needs at least one correct option, marked [x]")
        return None
    rest = [t for s, e in parts[lists[0] + 1 :] for t in tokens[s:e]]
    return Check(key, question, tuple(options), render.render(rest) if rest else "", line, scenario)


def _options(reader: _Reader, tokens: list[Token], start: int, end: int) -> list[Option] | None:
    options = []
    complete = True
    for item_start, item_end in render.blocks(tokens, start + 1, end - 1):
        inline = next((t for t in tokens[item_start:item_end] if t.type == "inline"), None)
        ticked = render.take_option_mark(inline) if inline is not None else None
        if ticked is None:
            reader.problem(reader.line(tokens[item_start]), "an option must start with '[ ]' or '[x]'")
            complete = False
            continue
        options.append(Option(render.render(tokens[item_start + 1 : item_end - 1]).strip(), ticked))
    return options if complete else None


def _run_chart(reader: _Reader, opening: Token, key: str, line: int) -> str | None:
    """A '::: runchart KEY' block: YAML with title, description, values (and labels, y_label), drawn
    as an accessible SVG run chart with its data table behind a toggle (curricula.runchart)."""
    first, last = (opening.map or (0, 0))[0] + 1, (opening.map or (0, 0))[1]
    text = "\n".join(
        reader.source_line(i) for i in range(first, last) if not reader.source_line(i).startswith(":::")
    )
    doc = yamldoc.load(text, reader.path, reader.offset + 1 + first)
    reader.body.problems.extend(doc.problems)
    if doc.problems:
        return None
    data, lines = doc.data, doc.key_lines()
    if not isinstance(data, dict):
        reader.problem(line, "a run chart holds 'title:', 'description:' and 'values: [...]' lines")
        return None
    problems = len(reader.body.problems)
    for name in sorted(set(data) - CHART_KEYS):
        reader.problem(
            lines.get(str(name), line),
            f"unknown run chart field '{name}': use {', '.join(sorted(CHART_KEYS))}",
        )
    for name in ("title", "description"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            reader.problem(
                lines.get(name, line), f"a run chart needs a '{name}:' (words a screen reader says)"
            )
    values = data.get("values")
    if not isinstance(values, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        reader.problem(
            lines.get("values", line), "'values:' must be a list of numbers, e.g. values: [12, 15, 11]"
        )
        values = None
    elif not MIN_POINTS <= len(values) <= MAX_POINTS:
        reader.problem(
            lines.get("values", line),
            f"a run chart needs {MIN_POINTS} to {MAX_POINTS} values, not {len(values)}",
        )
    labels = data.get("labels")
    if labels is not None and (not isinstance(labels, list) or (values and len(labels) != len(values))):
        reader.problem(lines.get("labels", line), "'labels:' must be a list with one label per value")
    if len(reader.body.problems) > problems or values is None:
        return None
    names = [str(label) for label in labels] if labels else [str(i) for i in range(1, len(values) + 1)]
    ident = f"runchart-{key}"
    svg = runchart.draw(
        values,
        names,
        title=data["title"],
        description=data["description"],
        y_label=str(data.get("y_label") or ""),
        ident=ident,
    )
    table = runchart.table(
        values, names, caption=data["title"], value_label=str(data.get("y_label") or "Value")
    )
    return (
        f'<figure class="run-chart-figure" id="{ident}">{svg}'
        f"<figcaption>{escape(data['title'])}</figcaption>"
        f'<details class="chart-data"><summary>The data behind the chart</summary>'
        f'<div class="table-wrap">{table}</div></details></figure>'
    )
