"""The Markdown dialect of a module body, and how its tokens become safe HTML.

CommonMark (markdown-it-py's "commonmark" preset) plus tables, and one container rule for the
interactive blocks (`::: check KEY`, `::: reflection KEY`; any other `:::` block is parsed too, so the
checker can name it). One parser is built per process and reused: building one costs more than parsing
a module.

Raw HTML policy: refused, not sanitised. The parser keeps HTML recognition on, only so that every
`html_block` and `html_inline` token can be reported as a problem at its line; the renderer then prints
those tokens as escaped text. Nothing an author types is ever passed through as markup, even if a
caller ignored the problems. Link targets are checked by markdown-it's own validateLink (no
`javascript:`, `vbscript:`, `file:` or non-image `data:` URLs); `module:ID` targets are rewritten by the
parser (curricula.parse) to the module page. No link gets a `target`, so none needs `rel="noopener"`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from mdit_py_plugins.container import container_plugin

BLOCK = "container_block_open"
BLOCK_CLOSE = "container_block_close"
OPTION_MARK = re.compile(r"\[([ xX])\](?:[ \t]+|$)")


def _any_block(params: str, *args: Any) -> bool:
    return True


def _escaped_html(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return escapeHtml(tokens[idx].content)


def _label_table_cells(state: Any) -> None:
    """Give each body cell of a table its column's header as `data-label`, so that on a phone, where the
    cells of a row stack, each is shown with the name of its column (lms/static/css/app.css, "Tables")."""
    headers: list[str] = []
    column = 0
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type == "thead_open":
            headers = []
        elif token.type == "th_open" and i + 1 < len(tokens) and tokens[i + 1].type == "inline":
            headers.append(plain_text(tokens[i + 1]))
        elif token.type == "tr_open":
            column = 0
        elif token.type == "td_open":
            if column < len(headers) and headers[column]:
                token.attrSet("data-label", headers[column])
            column += 1


@lru_cache(maxsize=1)
def markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.core.ruler.push("table_labels", _label_table_cells)
    md.use(container_plugin, name="block", validate=_any_block)
    md.add_render_rule("html_block", _escaped_html)
    md.add_render_rule("html_inline", _escaped_html)
    return md


def parse(body: str) -> list[Token]:
    return markdown().parse(body, {})


def render(tokens: Sequence[Token]) -> str:
    md = markdown()
    return md.renderer.render(tokens, md.options, {})


def plain_text(inline: Token) -> str:
    """The words of an inline token (emphasis, links and code kept as their text), one line."""
    parts = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline", "text_special"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def take_option_mark(inline: Token) -> bool | None:
    """Remove a leading `[ ]` or `[x]` from an option's text: True if ticked, None if there is none."""
    match = OPTION_MARK.match(inline.content)
    children = inline.children or []
    if match is None or not children or children[0].type != "text":
        return None
    first = children[0]
    if not first.content.startswith(match.group(0).rstrip()):
        return None
    first.content = first.content[match.end() :] if len(first.content) >= match.end() else ""
    if not first.content:
        del children[0]
    inline.content = inline.content[match.end() :]
    return match.group(1) in "xX"


def blocks(tokens: Sequence[Token], start: int, end: int) -> list[tuple[int, int]]:
    """The [start, end) token ranges of the blocks at the top level of tokens[start:end]."""
    ranges = []
    i = start
    while i < end:
        token = tokens[i]
        j = i + 1
        if token.nesting == 1:
            while j < end and not (tokens[j].nesting == -1 and tokens[j].level == token.level):
                j += 1
            j += 1
        ranges.append((i, min(j, end)))
        i = j
    return ranges
