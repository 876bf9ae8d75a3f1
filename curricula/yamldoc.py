"""YAML with line numbers: the data a YAML text holds, and where each key and list item is.

The text is composed once into nodes (which carry their position) and the nodes are constructed into
plain data, so a problem can name the line of the key or item at fault at no extra parsing cost.
libyaml's loader is used when PyYAML was built with it; the pure-Python one otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from curricula.model import Problem

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(slots=True)
class Document:
    """A parsed YAML text: its data, and the file line of each top-level key and list item."""

    data: Any
    node: yaml.Node | None
    first_line: int  # the file line of the text's first line
    problems: list[Problem] = field(default_factory=list)

    def line(self, node: yaml.Node) -> int:
        return self.first_line + node.start_mark.line

    def key_lines(self, node: yaml.Node | None = None) -> dict[str, int]:
        """Line of each key of a mapping node (the top-level one by default)."""
        node = self.node if node is None else node
        if not isinstance(node, yaml.MappingNode):
            return {}
        return {str(k.value): self.line(k) for k, _ in node.value if isinstance(k, yaml.ScalarNode)}

    def value_node(self, key: str, node: yaml.Node | None = None) -> yaml.Node | None:
        node = self.node if node is None else node
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    return v
        return None

    def item_lines(self, node: yaml.Node | None) -> list[int]:
        """Line of each item of a sequence node; [] for anything else."""
        if not isinstance(node, yaml.SequenceNode):
            return []
        return [self.line(item) for item in node.value]


def load(text: str, path: str, first_line: int = 1) -> Document:
    """Parse `text` (which starts at `first_line` of file `path`); problems instead of exceptions."""
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark is not None else 0)
        reason = exc.problem or exc.context or "cannot be read"
        return Document(None, None, first_line, [Problem(path, line, f"bad YAML: {reason}")])
    except yaml.YAMLError as exc:
        return Document(None, None, first_line, [Problem(path, first_line, f"bad YAML: {exc}")])
    finally:
        loader.dispose()
    doc = Document(data, node, first_line)
    _duplicate_keys(doc, node, path)
    return doc


def _duplicate_keys(doc: Document, node: yaml.Node | None, path: str) -> None:
    """YAML quietly keeps the last of two equal keys; an author almost always meant something else."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = doc.line(key)
                if key.value in seen:
                    doc.problems.append(
                        Problem(path, line, f"duplicate key '{key.value}' (also at line {seen[key.value]})")
                    )
                else:
                    seen[key.value] = line
            _duplicate_keys(doc, value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _duplicate_keys(doc, item, path)
