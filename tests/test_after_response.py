"""Work run once the request has ended: in a thread, an app context and a database session of its own,
committed when it succeeds, rolled back and logged (never raised) when it fails; never when the request
failed."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
import urllib.request

import pytest
import waitress
from flask import Response, g, has_request_context
from sqlalchemy import func, select
from werkzeug.serving import make_server

from lms import create_app
from lms.db import get_db
from lms.models import OutboxMessage
from lms.services import outbox
from lms.web import after_response
from lms.web.after_response import run_after_response


def queued(db) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(OutboxMessage.to_addr).order_by(OutboxMessage.id)))


def test_the_work_runs_only_when_the_request_has_ended_and_is_committed(app, db):
    with app.test_request_context("/"):
        run_after_response(Response("sent"), outbox.enqueue, to="a@alpha.test", subject="Hello", body="Hi")
        assert after_response.wait(10)
        assert queued(db) == [], "nothing runs before the request has ended"

    assert after_response.wait(10)
    assert queued(db) == ["a@alpha.test"], "what the work added is committed by the runner"


def test_the_work_of_a_failed_request_never_runs(app, db):
    with pytest.raises(RuntimeError), app.test_request_context("/"):
        run_after_response(Response("sent"), outbox.enqueue, to="a@alpha.test", subject="Hello", body="Hi")
        raise RuntimeError("the view failed after asking for the work")

    assert after_response.wait(10)
    assert queued(db) == []


def test_the_work_has_its_own_app_context_and_database_session(app, db):
    seen = {}

    def work(session, *, marker):
        seen.update(
            marker=marker,
            request=has_request_context(),
            leaked=g.get("from_the_request"),
            own_session=session is get_db() and session is not seen["request_session"],
        )

    with app.test_request_context("/"):
        g.from_the_request = "the request's g"
        seen["request_session"] = get_db()
        run_after_response(Response("sent"), work, marker=42)
    assert after_response.wait(10)

    assert seen["marker"] == 42
    assert seen["request"] is False
    assert seen["leaked"] is None
    assert seen["own_session"] is True


def test_a_failing_work_is_rolled_back_and_logged_not_raised(app, db, caplog):
    def half_done(session):
        outbox.enqueue(session, to="b@alpha.test", subject="Half", body="done")
        session.flush()
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="lms.web.after_response"):
        with app.test_request_context("/"):
            run_after_response(Response("sent"), half_done)  # ending the request does not raise
        assert after_response.wait(10)

    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    [record] = caplog.records
    assert "half_done" in record.getMessage()
    assert isinstance(record.exc_info[1], RuntimeError)


def served_app(tmp_path):
    """An app of its own for a test that serves it for real (its database is never used)."""
    return create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
            "SECRET_KEY": "test-secret",
            "LOG_LEVEL": "WARNING",
        }
    )


def test_a_real_server_sends_the_answer_before_the_work_runs(tmp_path):
    """Under waitress (`lms run`), the answer reaches the client while slow work is still running."""
    app = served_app(tmp_path)
    finished = threading.Event()

    def slow(_session):
        time.sleep(2)
        finished.set()

    @app.get("/answer-then-work")
    def _answer_then_work():
        return run_after_response("answered", slow)

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        url = f"http://127.0.0.1:{server.effective_port}/answer-then-work"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
        took = time.monotonic() - started
        assert body == b"answered"
        assert took < 1, f"the answer waited {took:.2f} s for the work"
        assert not finished.is_set()
        assert finished.wait(10), "the work ran after the answer"
    finally:
        server.close()
        thread.join(5)
        server.task_dispatcher.shutdown()
        app.extensions["lms.engine"].dispose()


def test_the_work_runs_when_the_client_resets_the_connection(tmp_path):
    """A browser may reset its connection once it has the answer. Werkzeug's server then never calls the
    response's close(); work hung on close() (the first design) silently never ran."""
    app = served_app(tmp_path)
    ran = threading.Event()

    @app.get("/answer-then-work")
    def _answer_then_work():
        return run_after_response("answered", lambda _session: ran.set())

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as client:
            client.sendall(b"GET /answer-then-work HTTP/1.1\r\nHost: localhost\r\n\r\n")
            answer = b""
            while b"answered" not in answer:
                answer += client.recv(65536)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
        assert ran.wait(10), "the work ran although the client reset the connection"
    finally:
        server.shutdown()
        thread.join(5)
        app.extensions["lms.engine"].dispose()
