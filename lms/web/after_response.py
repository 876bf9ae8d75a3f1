"""Run a piece of work after the response has been sent, in an app context of its own.

For work whose duration must not show in the answer (a password-reset request takes longer when the
email has an account) or need not hold the person up. The server calls it once it has sent the
response (WSGI `close()`); the work gets a database session of its own, is committed when it returns
and rolled back when it fails (lms.db.unit_of_work: this runner is the work's boundary, as a request
is). A failure is logged, never raised: the answer has already gone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app
from flask.typing import ResponseReturnValue

from lms.db import unit_of_work

log = logging.getLogger(__name__)


def run_after_response(answer: ResponseReturnValue, work: Callable[..., Any], /, **kwargs: Any) -> Response:
    """The response for `answer` (anything a view may return), set to call `work(db, **kwargs)` once it
    has been sent.

    The work is a use case like a view's: it gets a fresh session (lms.db.get_db in a new app context,
    nothing shared with the request) and this runner owns the transaction, as a request does.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    response = app.make_response(answer)
    name = f"{getattr(work, '__module__', '')}.{getattr(work, '__qualname__', repr(work))}".lstrip(".")

    def _run() -> None:
        with app.app_context():
            try:
                with unit_of_work() as db:
                    work(db, **kwargs)
            except Exception:
                log.exception("%s failed after the response was sent; its transaction was rolled back", name)

    response.call_on_close(_run)
    return response
