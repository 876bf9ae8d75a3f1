"""The Roster page's imports, run after the response so a 50,000-row file never holds up a request.

The simplest honest design for one server (the platform's deployment: DEVELOPERS.md): the upload is kept
in a file of the instance folder (`roster-imports/<job>.upload`), its state and progress in another
(`<job>.json`, replaced atomically, read by the page's poll). The work runs in a thread of its own once
the request has ended (lms.web.after_response), with a session of its own: the preview changes nothing
(coverage.what_if's savepoint), the apply is committed once at its end by the runner, all or nothing.
Applying reads the file again and checks it again against the organisation as it is then.

A job is its organisation's: only HR and org admins of that organisation see it (anyone else: 404). While
its work runs, the job's file is touched every few seconds; one left "working" for longer than
`STALLED_SECONDS` without a touch was stopped by a restart of the server, and reads as "interrupted". An
apply whose commit fails reads as "failed". Either way uploading the file again starts afresh (an import
changes only what still differs). Jobs older than a day are removed when a new one starts.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from lms.models import Membership
from lms.services import Invalid, NotFound, roster
from lms.services.access import MANAGES_PEOPLE, Actor
from lms.services.tables import ImportProblems

WORKING = ("previewing", "applying")
KEEP_SECONDS = 24 * 3600
# A running job's file is touched this often (progress replaces it more often, but not while the apply
# commits or coverage is rebuilt); one untouched for `STALLED_SECONDS` has no work running any more.
HEARTBEAT_SECONDS = 5.0
STALLED_SECONDS = 120.0


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "roster-imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(job: str, suffix: str) -> Path:
    if not job or not all(c.isalnum() or c in "-_" for c in job):
        raise NotFound("No such import.")
    return _folder() / f"{job}.{suffix}"


def _save(job: str, state: dict[str, Any]) -> None:
    path = _path(job, "json")
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, default=str))
    os.replace(temporary, path)


def read(actor: Actor, job: str) -> dict[str, Any]:
    """The job's state, for HR or an org admin of its organisation; NotFound for anyone else."""
    actor.require(*MANAGES_PEOPLE)
    try:
        state = json.loads(_path(job, "json").read_text())
    except (OSError, ValueError):
        raise NotFound("No such import: upload the file again.") from None
    if state.get("org_id") != actor.org_id:
        raise NotFound("No such import: upload the file again.")
    if state["state"] in WORKING and _stalled(job):
        state.update(state="interrupted")
        _save(job, state)
    return state


def _stalled(job: str) -> bool:
    try:
        return time.time() - _path(job, "json").stat().st_mtime > STALLED_SECONDS
    except OSError:
        return False


def _heartbeat(job: str) -> Callable[[], None]:
    """Touch the job's file every `HEARTBEAT_SECONDS` until the returned function is called."""
    stop = threading.Event()
    path = _path(job, "json")

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                os.utime(path)
            except OSError:
                return

    threading.Thread(target=beat, name="lms-roster-heartbeat", daemon=True).start()
    return stop.set


def start(actor: Actor, filename: str, data: bytes) -> str:
    """Keep the upload and mark it waiting for its preview; the caller runs `preview_job` after it
    answers."""
    actor.require(*MANAGES_PEOPLE)
    if not data:
        raise Invalid("Choose the roster file (CSV or XLSX) to upload.", "file")
    _tidy()
    job = secrets.token_urlsafe(18)
    _path(job, "upload").write_bytes(data)
    _save(
        job,
        {
            "org_id": actor.org_id,
            "membership_id": actor.membership.id,
            "filename": filename,
            "state": "previewing",
            "done": 0,
            "total": 0,
        },
    )
    return job


def begin_apply(actor: Actor, job: str) -> dict[str, Any]:
    state = read(actor, job)
    if state["state"] != "previewed" or state.get("problem_count") or not state.get("changed"):
        raise Invalid("This import cannot be applied: upload the file again.")
    state.update(state="applying", done=0, total=0, by=actor.membership.id)
    _save(job, state)
    return state


def preview_job(db: Session, *, job: str) -> None:
    _run(db, job, apply=False)


def apply_job(db: Session, *, job: str) -> None:
    _run(db, job, apply=True)


def _run(db: Session, job: str, *, apply: bool) -> None:
    """The job's work; after_response's unit of work commits it. A refused or failed import is undone to
    its savepoint, so the commit after it has nothing of it to keep."""
    state = json.loads(_path(job, "json").read_text())
    stop_beating = _heartbeat(job)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 0.5 or done >= total:
            last[0] = time.monotonic()
            state.update(done=done, total=total)
            _save(job, state)

    try:
        with db.begin_nested():
            membership = db.get(Membership, state.get("by", state["membership_id"]))
            if membership is None or not membership.active:
                raise NotFound("The person who uploaded the file has left.")
            actor = Actor(membership.user, membership)
            data = _path(job, "upload").read_bytes()
            if apply:
                result = roster.apply(db, actor, data, progress=progress)
            else:  # changes nothing: coverage.what_if undoes its trial write to a savepoint of its own
                result = roster.preview(db, actor, data, progress=progress)
    except ImportProblems as exc:
        state.update(state="refused", file_problems=exc.problems)
    except (Invalid, NotFound) as exc:
        state.update(state="refused", file_problems=[str(exc)])
    except Exception:
        stop_beating()
        state.update(state="failed")
        _save(job, state)
        raise
    else:
        state.update(_result(result), state="previewed")
        if apply:  # "applied" once the runner's commit has kept it; "failed" if the commit fails
            event.listen(
                db, "after_commit", lambda _db: _ended(job, state, "applied", stop_beating), once=True
            )
            # Any rollback, also one on a connection already lost (no rollback reaches the database then).
            event.listen(
                db,
                "after_soft_rollback",
                lambda _db, _previous: _ended(job, state, "failed", stop_beating),
                once=True,
            )
            return
    stop_beating()
    _save(job, state)


def _ended(job: str, state: dict[str, Any], outcome: str, stop_beating: Callable[[], None]) -> None:
    stop_beating()
    if state["state"] in ("applied", "failed"):  # the other of the two hooks has spoken already
        return
    state.update(state=outcome)
    _save(job, state)
    if outcome == "applied":
        _path(job, "upload").unlink(missing_ok=True)


def _result(result: roster.Preview) -> dict[str, Any]:
    return {
        "rows": result.rows,
        "summary": result.summary(),
        "counts": dict(result.counts),
        "changed": result.changed,
        "problems": result.problems,
        "problem_count": result.problem_count,
        "notes": result.notes,
        "note_count": result.note_count,
        "coverage": [
            {
                **asdict(m),
                "role_label": m.role_label,
                "before_pct": m.percent(m.before),
                "after_pct": m.percent(m.after),
            }
            for m in result.coverage
        ],
    }


def _tidy() -> None:
    now = time.time()
    for path in _folder().iterdir():
        try:
            if now - path.stat().st_mtime > KEEP_SECONDS:
                path.unlink()
        except OSError:
            continue
