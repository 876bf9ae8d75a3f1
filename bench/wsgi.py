"""The production app plus six routes, served by the same gunicorn stack as the pages measured.

`/_bench/bare` does no database or template work: its req/s is the ceiling that this server, these
workers and this machine allow, against which the real pages are compared. `/_bench/my-learning-rendered`,
`/_bench/module-rendered/SLUG`, `/_bench/journal-rendered` and `/_bench/follow-ups-rendered` are My
learning, the module page, the journal and the follow-up board with nothing kept from earlier requests
(lms.kept's store emptied first). `/_bench/reset-inline` is the password-reset request as
it was served before its work moved after the response (the `reset` benchmark's comparison). The
production entry point (lms.wsgi) has none of them.
"""

from __future__ import annotations

from flask import Response, render_template

from lms import create_app, kept
from lms.db import get_db
from lms.services import accounts
from lms.web import auth, follow_ups, journal, learning

app = create_app()


@app.get("/_bench/bare")
def bare() -> Response:
    return Response("ok\n", mimetype="text/plain")


@app.get("/_bench/my-learning-rendered")
def my_learning_rendered():
    """My learning as it is served after every change: its kept list dropped first, so the list is
    read and rendered on each request (the cold path the `my_learning` endpoint mostly skips)."""
    kept.store(app).clear()
    return learning.my_learning()


@app.get("/_bench/module-rendered/<slug>")
def module_rendered(slug: str):
    """A module page as it is served after every answer: nothing kept, read and rendered each time."""
    kept.store(app).clear()
    return learning.module(slug)


@app.get("/_bench/journal-rendered")
def journal_rendered():
    """The journal's first page as it is served after every change to the journal: nothing kept."""
    kept.store(app).clear()
    return journal.index()


@app.get("/_bench/follow-ups-rendered")
def follow_ups_rendered():
    """The follow-up board as it is served after every change to a follow-up: nothing kept."""
    kept.store(app).clear()
    return follow_ups.board()


@app.post("/_bench/reset-inline")
def reset_inline():
    """A reset request that does its work before answering (as /reset did): known emails take longer."""
    form = auth.ResetRequestForm()
    if not form.validate_on_submit():
        return Response("invalid\n", status=400, mimetype="text/plain")
    accounts.request_password_reset(get_db(), email=form.email.data)
    get_db().commit()
    return render_template("auth/reset_sent.html")
