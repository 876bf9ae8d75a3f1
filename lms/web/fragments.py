"""Rendered parts of pages kept in memory, by a key that changes whenever the part would.

A part is rendered once per key and served from memory until the key changes; the least recently used
parts make room for new ones. Each process keeps its own: correctness never depends on another
process, only on the key, which the services derive from what the part shows (for My learning,
`learning.my_learning_version`). Nothing per request (a CSRF token, the flashed messages, the
navigation) belongs in a part: those are rendered around it on every request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from threading import Lock
from typing import Any

from flask import current_app, render_template, request
from markupsafe import Markup


class Fragments:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._parts: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = Lock()  # waitress serves with threads

    def get(
        self, key: tuple[Hashable, ...], template: str, context: Callable[[], Mapping[str, Any]]
    ) -> Markup:
        """The part kept under key; when there is none, the template rendered (outside the lock) with
        the context the callable gives, and kept. Parts hold links, so the key is the template's, the
        given one and the application's root URL (a mount point of its own)."""
        if self.capacity <= 0:
            return render_part(template, context())
        key = (template, request.script_root, *key)
        with self._lock:
            part = self._parts.get(key)
            if part is not None:
                self._parts.move_to_end(key)
                return part
        part = render_part(template, context())
        with self._lock:
            self._parts[key] = part
            self._parts.move_to_end(key)
            while len(self._parts) > self.capacity:
                self._parts.popitem(last=False)
        return part

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()

    def __len__(self) -> int:
        return len(self._parts)


def render_part(template: str, context: Mapping[str, Any]) -> Markup:
    """A part of a page, to put in another template as it is."""
    # A template's output is HTML whose values Jinja has escaped already: safe to insert as it is.
    return Markup(render_template(template, **context))  # noqa: S704


def kept() -> Fragments:
    """The application's store (sized by LMS_PAGE_CACHE_ENTRIES)."""
    return current_app.extensions["lms.fragments"]
