"""The figures in content/figures/: hand-written SVG files a module shows with `![alt](figure:NAME)`.

A figure is served as a file and shown with an <img> element (lms.web.library), so the browser draws it
as an image: nothing in it runs, and it cannot reach another site. It is still checked here, so that the
file is sound when opened on its own and accessible where it is read directly:

- the file is XML with an `<svg>` root in the SVG namespace, `role="img"`, and a `<title>` and a `<desc>`
  that are not empty (the words a screen reader says);
- no DOCTYPE or entity (nothing to expand), no `<script>`, `<foreignObject>`, `<iframe>`, `<object>`,
  `<embed>`, `<image>`, no `on...` attribute;
- every `href` points inside the file (`#id`), and no `url(...)` points elsewhere.

Colour must not carry meaning on its own: that is for the author (every shape has a text label), and no
rule can judge it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from curricula.body import KEY
from curricula.model import Problem

FOLDER = "figures"
SVG_NS = "http://www.w3.org/2000/svg"
FORBIDDEN = {"script", "foreignObject", "iframe", "object", "embed", "image", "audio", "video"}
OUTSIDE_URL = re.compile(r"url\(\s*['\"]?(?!#)", re.I)
NEEDED = ("title", "desc")


@dataclass(slots=True)
class _Svg:
    path: str
    problems: list[Problem]
    depth: int = 0
    root: bool = False
    text: dict[str, str] = field(default_factory=dict)  # title/desc directly under the root: their words
    open_text: str | None = None


def check_svg(text: str, path: str) -> list[Problem]:
    """Everything wrong with one SVG file, each at its line."""
    state = _Svg(path, [])
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def add(message: str) -> None:
        state.problems.append(Problem(path, parser.CurrentLineNumber, message))

    def doctype(*_args: object) -> None:
        add("a figure may not have a DOCTYPE or entities")
        raise _Stop

    def start(name: str, attrs: dict[str, str]) -> None:
        ns, _, local = name.rpartition(" ")
        state.depth += 1
        if state.depth == 1:
            state.root = ns == SVG_NS and local == "svg"
            if not state.root:
                add('a figure\'s root element must be <svg xmlns="http://www.w3.org/2000/svg">')
            elif attrs.get("role") != "img":
                add('the <svg> element needs role="img"')
        elif state.depth == 2 and local in NEEDED:
            state.open_text = local
            state.text.setdefault(local, "")
        if local in FORBIDDEN:
            add(f"a figure may not contain <{local}>")
        for attr, value in attrs.items():
            attr_local = attr.rpartition(" ")[2]
            if attr_local.lower().startswith("on"):
                add(f"a figure may not have event attributes ('{attr_local}')")
            elif attr_local == "href" and not value.startswith("#"):
                add(f"a figure may link only inside itself ('#id'), not to '{value}'")
            elif OUTSIDE_URL.search(value):
                add(f"a figure may not load anything from outside ('{attr_local}')")

    def end(name: str) -> None:
        if state.depth == 2:
            state.open_text = None
        state.depth -= 1

    def data(chars: str) -> None:
        if state.open_text is not None:
            state.text[state.open_text] += chars
        if OUTSIDE_URL.search(chars):
            add("a figure may not load anything from outside (url(...) in its text)")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    try:
        parser.Parse(text, True)
    except _Stop:
        return state.problems
    except expat.ExpatError as exc:
        state.problems.append(Problem(path, exc.lineno, f"the figure is not well-formed XML: {exc}"))
        return state.problems
    if state.root:
        for name in NEEDED:
            if not state.text.get(name, "").strip():
                state.problems.append(
                    Problem(path, 1, f"the <svg> element needs a <{name}> child with words in it")
                )
    return state.problems


class _Stop(Exception):
    """Parsing stops at a DOCTYPE: nothing of the file is read further."""


def load_figures(root: Path) -> tuple[dict[str, str], list[Problem]]:
    """{name: path} of every figure in root/figures, and the problems of their files."""
    figures: dict[str, str] = {}
    problems: list[Problem] = []
    folder = root / FOLDER
    if not folder.is_dir():
        return figures, problems
    for file in sorted(folder.iterdir()):
        path = file.relative_to(root).as_posix()
        if file.suffix != ".svg" or not KEY.match(file.stem):
            problems.append(
                Problem(path, 1, "a figure is an .svg file named in lowercase letters, digits and hyphens")
            )
            continue
        try:
            text = file.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(path, 1, f"the file is not UTF-8 text: {exc.reason}"))
            continue
        problems.extend(check_svg(text, path))
        figures[file.stem] = path
    return figures, problems
