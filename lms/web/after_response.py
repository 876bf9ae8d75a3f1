"""Run a piece of work once the request has ended, in a thread, an app context and a session of its own.

For work whose duration must not show in the answer (a password-reset request takes longer when the
email has an account) or must not hold anyone up (a 50,000-row roster import). The view calls
`run_after_response`; when the request ends without an error (its transaction already committed by
lms.db.finish_request), the work starts in a thread of its own while the server sends the answer. The
work gets a fresh session and is committed when it returns, rolled back when it fails (lms.db.unit_of_work:
this runner is the work's boundary, as a request is). A failure is logged, never raised: the answer has
gone.

Why a thread and not the WSGI `close()` of the response (the first design): gunicorn's sync workers run
`close()` in the worker, which stops answering its arbiter, so work longer than gunicorn's `timeout` (30 s)
was killed with the worker; and Werkzeug's server drops `close()` when the client resets the connection
(a browser moving on), so the work silently never ran. The threads are not daemons: a graceful stop of
the server lets running work finish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from flask import Flask, Response, current_app, g
from flask.typing import ResponseReturnValue

from lms.db import unit_of_work

log = logging.getLogger(__name__)

_running: set[threading.Thread] = set()
_lock = threading.Lock()


def run_after_response(answer: ResponseReturnValue, work: Callable[..., Any], /, **kwargs: Any) -> Response:
    """The response for `answer` (anything a view may return); `work(db, **kwargs)` starts once the
    request has ended without an error.

    The work is a use case like a view's: it gets a fresh session (lms.db.get_db in a new app context,
    nothing shared with the request) and this runner owns the transaction, as a request does.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    g.setdefault("lms_after_response", []).append(partial(_run, app, work, kwargs))
    return app.make_response(answer)


def _run(app: Flask, work: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    name = f"{getattr(work, '__module__', '')}.{getattr(work, '__qualname__', repr(work))}".lstrip(".")
    try:
        with app.app_context():
            try:
                with unit_of_work() as db:
                    work(db, **kwargs)
            except Exception:
                log.exception("%s failed after the response was sent; its transaction was rolled back", name)
    finally:
        with _lock:
            _running.discard(threading.current_thread())


def _start(exc: BaseException | None) -> None:
    works = g.pop("lms_after_response", [])
    if exc is not None:  # the request failed (and rolled back): what it asked for does not run
        return
    for work in works:
        thread = threading.Thread(target=work, name="lms-after-response")
        with _lock:
            _running.add(thread)
        thread.start()


def wait(timeout: float | None = None) -> bool:
    """Wait for the work running now to finish (a test's next step, a command's exit); False if some
    is still running after `timeout` seconds."""
    with _lock:
        threads = list(_running)
    for thread in threads:
        thread.join(timeout)
    return not any(thread.is_alive() for thread in threads)


def init_app(app: Flask) -> None:
    app.teardown_request(_start)
