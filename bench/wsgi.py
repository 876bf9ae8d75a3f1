"""The production app plus one bare route, served by the same gunicorn stack as the pages measured.

`/_bench/bare` does no database or template work: its req/s is the ceiling that this server, these
workers and this machine allow, against which the real pages are compared. The production entry point
(lms.wsgi) has no such route.
"""

from __future__ import annotations

from flask import Response

from lms import create_app

app = create_app()


@app.get("/_bench/bare")
def bare() -> Response:
    return Response("ok\n", mimetype="text/plain")
