"""Forms' CSRF tokens, signed at most once a minute per browser session in each worker.

Every page carries a form (sign out, at least), and Flask-WTF signs a fresh timestamped token for it on
every request. A token is valid for WTF_CSRF_TIME_LIMIT (hours) and is bound to the session's secret, so
handing the same browser session the token signed for it less than REUSE_S seconds ago changes nothing
a person or an attacker could notice, and saves the signing on almost every page. A new session secret
(signing in or out) gets a new token at once.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request, session

REUSE_S = 60.0
KEPT_SESSIONS = 10_000  # per worker; when full, the oldest half is dropped
FIELD = "csrf_token"  # Flask-WTF's default WTF_CSRF_FIELD_NAME: its session key and its g attribute


def init_app(app: Flask) -> None:
    signed: dict[str, tuple[float, str]] = {}  # the session's raw secret -> (signed at, token)

    @app.before_request
    def _reuse_a_recent_token() -> None:
        # `in` does not mark the session read (so a page without forms does not start to vary by cookie).
        if request.endpoint == "static" or FIELD not in session:
            return
        kept = signed.get(session[FIELD])
        if kept is not None and time.monotonic() - kept[0] < REUSE_S:
            setattr(g, FIELD, kept[1])  # Flask-WTF's generate_csrf returns what g holds

    @app.after_request
    def _keep_a_new_token(response: Response) -> Response:
        token = g.get(FIELD)  # set only when this request signed or reused a token
        raw = session.get(FIELD) if token is not None else None
        if token is None or raw is None:
            return response
        kept = signed.get(raw)
        if kept is None or kept[1] != token:
            if len(signed) >= KEPT_SESSIONS:
                for old in list(signed)[: KEPT_SESSIONS // 2]:
                    del signed[old]
            signed[raw] = (time.monotonic(), token)
        return response
