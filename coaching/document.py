"""The coaching content files (content/coaching/): YAML front matter, then a Markdown body of `:::` blocks.

They are written like modules (content/README.md) and read with the curriculum engine's own parts: the
front matter with line numbers (curricula.yamldoc), the body with the same Markdown dialect
(curricula.render), raw HTML refused the same way. Every mistake is a Problem at its file line, all of a
file's mistakes in one run, so `lms content check` prints them as it prints a module's.

A block is `::: TYPE KEY [WORD ...]`, then paragraphs, then `:::`. The first paragraph is the block's
text; any further paragraphs its help. Both are kept as plain text (one line each, paragraphs joined by
blank lines), which a page shows escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it.token import Token

from curricula import render, yamldoc
from curricula.body import KEY, RAW_HTML
from curricula.model import Problem
from curricula.parse import FRONT_MATTER, Vocabulary, normalise
from curricula.vocabulary import CURRICULA, load_vocabularies

__all__ = [
    "Block",
    "Document",
    "Problem",
    "check_sources",
    "check_text",
    "content_root",
    "read",
    "vocabulary_for",
]


@dataclass(frozen=True, slots=True)
class Block:
    kind: str
    key: str
    words: tuple[str, ...]  # what follows the key on the ':::' line
    text: str
    help: str
    line: int


@dataclass(slots=True)
class Document:
    """One file read: its front matter (None when unreadable), summary, blocks and problems."""

    path: str
    front: dict[str, Any] | None = None
    key_lines: dict[str, int] = field(default_factory=dict)
    yaml: yamldoc.Document | None = None
    summary: str = ""
    blocks: list[Block] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)

    def item_lines(self, key: str) -> list[int]:
        """The file line of each item of the front matter's list under `key`."""
        return [] if self.yaml is None else self.yaml.item_lines(self.yaml.value_node(key))


def content_root(path: Path) -> Path | None:
    """The content folder (the one holding curricula.yaml) that `path` lies in, if any."""
    for folder in (path, *path.parents):
        if (folder / CURRICULA).is_file():
            return folder
    return None


def vocabulary_for(path: Path) -> tuple[Vocabulary, Path]:
    """The names (sources, components, principles) checked in the files under `path`, and the folder its
    problems' paths are relative to: the content root when there is one (unchecked names otherwise)."""
    root = content_root(path.resolve())
    if root is None:
        return Vocabulary(), (path if path.is_dir() else path.parent)
    return load_vocabularies(root).vocab, root


def relative(file: Path, base: Path) -> str:
    try:
        return file.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return file.as_posix()


def read(
    file: Path,
    base: Path,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    kinds: Sequence[str],
) -> Document:
    """Read `file`: front matter with exactly the `required` keys and perhaps the `optional` ones; a body
    of blocks whose type is one of `kinds`, keys unique within the file."""
    doc = Document(relative(file, base))
    try:
        text = normalise(file.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        doc.problem(1, f"the file is not UTF-8 text: {exc.reason}")
        return doc
    except OSError as exc:
        doc.problem(1, f"cannot read the file: {exc.strerror or exc}")
        return doc
    match = FRONT_MATTER.match(text)
    if match is None:
        closing = "front matter has no closing '---' line"
        doc.problem(
            1, closing if text.startswith("---") else "the file starts with front matter between '---' lines"
        )
        return doc
    _front_matter(doc, yamldoc.load(match.group(1), doc.path, first_line=2), required, optional)
    closing_line = 2 + match.group(1).count("\n")
    _body(doc, text[match.end() :], closing_line, kinds)
    return doc


def _front_matter(
    doc: Document, yaml_doc: yamldoc.Document, required: Sequence[str], optional: Sequence[str]
) -> None:
    doc.problems.extend(yaml_doc.problems)
    if yaml_doc.node is None and yaml_doc.problems:
        return
    if not isinstance(yaml_doc.data, dict):
        doc.problem(1, "front matter must be YAML keys and values")
        return
    doc.key_lines = yaml_doc.key_lines()
    doc.yaml = yaml_doc
    for key in yaml_doc.data:
        if key not in required and key not in optional:
            doc.problem(doc.line_of(str(key)), f"unknown key '{key}'")
    for key in required:
        if key not in yaml_doc.data:
            doc.problem(1, f"missing key '{key}'")
    doc.front = yaml_doc.data


def _body(doc: Document, body: str, offset: int, kinds: Sequence[str]) -> None:
    tokens = render.parse(body)
    lines = body.split("\n")

    def line(token: Token) -> int:
        return offset + 1 + (token.map[0] if token.map else 0)

    for token in tokens:
        if token.type == "html_block" or (
            token.type == "inline" and any(c.type == "html_inline" for c in token.children or ())
        ):
            doc.problem(line(token), RAW_HTML)
    keys: dict[str, int] = {}
    usage = " or ".join(f"'::: {k} KEY'" for k in kinds)
    for start, end in render.blocks(tokens, 0, len(tokens)):
        first = tokens[start]
        if first.type != render.BLOCK:
            if first.type == "paragraph_open" and not doc.summary and not doc.blocks:
                doc.summary = render.plain_text(tokens[start + 1])
            continue
        at = line(first)
        if first.map and not (first.map[1] < len(lines) and lines[first.map[1]].strip().startswith(":::")):
            doc.problem(at, "this ::: block is not closed: end it with a ':::' line")
        words = first.info.split()
        if not words or words[0] not in kinds:
            named = f"unknown block type '{words[0]}'" if words else "a ::: block needs a type and a key"
            doc.problem(at, f"{named}: use {usage}")
            continue
        kind = words[0]
        if len(words) < 2 or not KEY.match(words[1]):
            doc.problem(
                at, f"a {kind} needs one key of lowercase letters, digits and hyphens: '::: {kind} KEY'"
            )
            continue
        key = words[1]
        if key in keys:
            doc.problem(at, f"duplicate key '{key}' (also at line {keys[key]})")
            continue
        keys[key] = at
        inner_end = end - 1 if tokens[end - 1].type == render.BLOCK_CLOSE else end
        paragraphs = _paragraphs(doc, tokens, start + 1, inner_end, line)
        if not paragraphs:
            doc.problem(at, f"the {kind} '{key}' has no text: write it on the lines after ':::'")
            continue
        doc.blocks.append(Block(kind, key, tuple(words[2:]), paragraphs[0], "\n\n".join(paragraphs[1:]), at))


def _paragraphs(doc: Document, tokens: list[Token], start: int, end: int, line: Any) -> list[str]:
    """The plain text of each paragraph inside a block; anything else there (a list, a heading, a nested
    block) is named, since it would be lost."""
    paragraphs = []
    for first, _ in render.blocks(tokens, start, end):
        token = tokens[first]
        if token.type == "paragraph_open":
            paragraphs.append(render.plain_text(tokens[first + 1]))
        elif token.type != "html_block":
            doc.problem(line(token), "write a block's text and help as plain paragraphs")
    return paragraphs


def check_text(doc: Document, key: str, least: int = 1) -> str | None:
    """The front matter's `key` as text, or a problem at its line."""
    value = (doc.front or {}).get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) < least:
        doc.problem(doc.line_of(key), f"{key} must be text")
        return None
    return value.strip()


def check_sources(doc: Document, vocab: Vocabulary) -> tuple[str, ...]:
    """The front matter's `sources`: a list of at least one source document title, each known."""
    value = (doc.front or {}).get("sources")
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        doc.problem(doc.line_of("sources"), "sources must list at least one source document")
        return ()
    lines = doc.item_lines("sources")
    found = []
    for i, item in enumerate(value):
        at = lines[i] if i < len(lines) else doc.line_of("sources")
        if not isinstance(item, str) or not item.strip():
            doc.problem(at, "each item of sources must be the title of a document")
        elif vocab.sources is not None and item not in vocab.sources:
            doc.problem(at, f"unknown source '{item}'")
        else:
            found.append(item)
    return tuple(found)
