"""URLs built once per process: the application's Flask class keeps what `url_for` built for a path.

Every page builds the same dozen navigation links (home, My learning, the organisation's admin pages...),
and werkzeug's builder matches rules and converts values each time. Inside a request, a relative URL
depends only on the endpoint, its values and the script root the app is mounted at, so the answer is
kept, keyed by exactly those, for the plain case (no anchor, method, scheme or external URL, values
that are strings or numbers); anything else is built as Flask builds it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.globals import _cv_request

KEPT_URLS = 4096  # distinct (endpoint, values) pairs kept per process; then no more are added


class App(Flask):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._built_urls: dict[tuple[Any, ...], str] = {}

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        ctx = _cv_request.get(None)
        plain = (
            ctx is not None
            and _anchor is None
            and _method is None
            and _scheme is None
            and not _external
            and endpoint[:1] != "."
            and all(type(v) in (str, int) for v in values.values())
        )
        if not plain:
            return super().url_for(
                endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external, **values
            )
        key = (ctx.url_adapter.script_name, endpoint, *((k, type(v), v) for k, v in sorted(values.items())))
        url = self._built_urls.get(key)
        if url is None:
            url = super().url_for(endpoint, _external=_external, **values)
            if len(self._built_urls) < KEPT_URLS:
                self._built_urls[key] = url
        return url
