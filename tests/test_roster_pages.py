"""The Roster page: upload, preview (problems by row and column, counts, coverage moves), apply; the
progress the page polls; a job is its organisation's alone."""

from __future__ import annotations

import io
import os
import re
import threading
import time
from pathlib import Path

import pytest
from conftest import csrf_token
from roster_factory import csv_bytes, publish
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from curricula.stakeholders import StakeholderRole
from lms import roster_jobs
from lms.models import Membership, User
from lms.services import roster

GOOD = [
    ("E1", "Ana Souza", "ana@alpha.example", "clinician", "4B", "2025-01-06", "active"),
    ("E2", "Zoë Ødegård", "zoe@alpha.example", "clinician", "General Hospital > Medicine > Ward 4B", "", ""),
]
BAD = [*GOOD, ("E3", "Cy", "cy@", "RN-9", "4B", "soon", "")]


@pytest.fixture
def hr(make, tree, db):
    tree.unit.code = "4B"
    db.commit()
    return make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)


def upload(c, org: str, data: bytes, name: str = "roster.csv"):
    url = f"/o/{org}/admin/roster"
    response = c.post(
        url,
        data={"csrf_token": csrf_token(c, url), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    response.close()  # as the server does once the answer is sent: the work after the response runs
    return response


def job_url(response) -> str:
    return response.headers["Location"]


def people(db) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(User.email).join(Membership).where(Membership.is_hr.is_(False))))


def test_hr_uploads_sees_every_problem_fixes_the_file_and_applies_it(db, tree, hr, login_as):
    publish(db)
    c = login_as(hr)
    refused = upload(c, "alpha", csv_bytes(BAD))
    assert refused.status_code == 302
    page = c.get(job_url(refused)).get_data(as_text=True)
    assert "Problems (3)" in page
    for column in ("email", "job code", "start date"):
        assert re.search(rf"<th scope=\"row\">4</th><td data-label=\"Column\">{column}</td>", page), column
    assert "Apply the file" not in page
    assert people(db) == set()

    fixed = upload(c, "alpha", csv_bytes(GOOD))
    url = job_url(fixed)
    page = c.get(url).get_data(as_text=True)
    assert "2 to add" in page and "How coverage would move" in page and "Ward 4B" in page
    assert c.get(url + "/progress").get_json() == {"state": "previewed", "done": 2, "total": 2}
    applied = c.post(url + "/apply", data={"csrf_token": csrf_token(c, url)})
    applied.close()
    assert applied.status_code == 302
    assert "The roster is applied" in c.get(url).get_data(as_text=True)
    assert people(db) == {"ana@alpha.example", "zoe@alpha.example"}
    again = c.post(url + "/apply", data={"csrf_token": csrf_token(c, url)})
    assert again.status_code == 400, "an import is applied once"


def test_a_file_that_is_not_a_roster_is_refused_without_a_500(db, hr, login_as):
    c = login_as(hr)
    for data in (b"", b"\xff\xfe garbage", b"PK\x03\x04broken", b"a,b\n1,2\n"):
        response = upload(c, "alpha", data)
        assert response.status_code in (302, 400)
        if response.status_code == 302:
            page = c.get(job_url(response)).get_data(as_text=True)
            assert "Nothing was imported" in page
    missing = c.post("/o/alpha/admin/roster", data={"csrf_token": csrf_token(c, "/o/alpha/admin/roster")})
    assert missing.status_code == 400 and "There is a problem" in missing.get_data(as_text=True)


def test_the_page_links_the_job_codes_and_needs_hr(db, tree, hr, make, login_as):
    page = login_as(hr).get("/o/alpha/admin/roster").get_data(as_text=True)
    assert "/o/alpha/admin/job-codes" in page and 'enctype="multipart/form-data"' in page
    assert login_as(make.person(tree)).get("/o/alpha/admin/roster").status_code == 403


def test_an_import_is_its_organisations_alone(db, tree, hr, make, other_tree, login_as):
    url = job_url(upload(login_as(hr), "alpha", csv_bytes(GOOD)))
    stranger = make.person(other_tree, hr=True)
    other_url = url.replace("/o/alpha/", "/o/beta/")
    assert login_as(stranger).get(other_url).status_code == 404
    assert login_as(stranger).get(other_url + "/progress").status_code == 404


def _age(app, url: str, seconds: float) -> None:
    """Make the job's file look untouched for `seconds`, as after a restart killed its work."""
    path = Path(app.instance_path) / "roster-imports" / f"{url.rstrip('/').rsplit('/', 1)[1]}.json"
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_job_a_restart_stopped_says_so_rather_than_working_for_ever(
    app, db, tree, hr, login_as, monkeypatch
):
    publish(db)
    c = login_as(hr)
    monkeypatch.setattr(roster_jobs, "preview_job", lambda db, *, job: None)  # the server died first
    checking = job_url(upload(c, "alpha", csv_bytes(GOOD)))
    assert "Checking the file" in c.get(checking).get_data(as_text=True), "a job just started is working"
    _age(app, checking, roster_jobs.STALLED_SECONDS + 1)
    page = c.get(checking).get_data(as_text=True)
    assert "The import stopped before it finished" in page and "Nothing was changed" in page
    assert c.get(checking + "/progress").get_json()["state"] == "interrupted"

    monkeypatch.undo()
    monkeypatch.setattr(roster_jobs, "apply_job", lambda db, *, job: None)
    applying = job_url(upload(c, "alpha", csv_bytes(GOOD)))
    c.post(applying + "/apply", data={"csrf_token": csrf_token(c, applying)}).close()
    assert "Applying the file" in c.get(applying).get_data(as_text=True)
    _age(app, applying, roster_jobs.STALLED_SECONDS + 1)
    page = c.get(applying).get_data(as_text=True)
    assert "The import stopped before it finished" in page and "all at once or not at all" in page
    assert 'href="/o/alpha/admin/roster"' in page, "a link to upload it again"
    assert c.post(applying + "/apply", data={"csrf_token": csrf_token(c, applying)}).status_code == 400


def test_a_long_job_is_not_taken_for_a_stopped_one_while_it_runs(db, tree, hr, login_as, monkeypatch):
    publish(db)
    monkeypatch.setattr(roster_jobs, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(roster_jobs, "STALLED_SECONDS", 0.5)
    started, seen = [], []
    real_start, real_preview = roster_jobs.start, roster.preview

    def start(*args, **kwargs):
        started.append(real_start(*args, **kwargs))
        return started[-1]

    def slow_preview(db, actor, data, **kwargs):
        time.sleep(1.0)  # twice as long as a stalled job is allowed to be silent, without progress
        seen.append(roster_jobs.read(actor, started[-1])["state"])
        return real_preview(db, actor, data, **kwargs)

    monkeypatch.setattr(roster_jobs, "start", start)
    monkeypatch.setattr(roster, "preview", slow_preview)
    c = login_as(hr)
    url = job_url(upload(c, "alpha", csv_bytes(GOOD)))
    assert seen == ["previewing"]
    assert c.get(url + "/progress").get_json()["state"] == "previewed"


def test_an_apply_whose_commit_fails_reads_as_failed_and_changes_nothing(db, tree, hr, login_as):
    publish(db)
    c = login_as(hr)
    url = job_url(upload(c, "alpha", csv_bytes(GOOD)))

    def the_database_goes_away(session):  # at the job's own commit, after its work has succeeded
        if threading.current_thread().name == "lms-after-response" and not session.in_nested_transaction():
            raise RuntimeError("the connection to the database was lost")

    event.listen(Session, "before_commit", the_database_goes_away)
    try:
        c.post(url + "/apply", data={"csrf_token": csrf_token(c, url)}).close()
    finally:
        event.remove(Session, "before_commit", the_database_goes_away)
    page = c.get(url).get_data(as_text=True)
    assert "The import failed" in page and "Nothing was changed" in page
    assert people(db) == set()
