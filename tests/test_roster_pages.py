"""The Roster page: upload, preview (problems by row and column, counts, coverage moves), apply; the
progress the page polls; a job is its organisation's alone."""

from __future__ import annotations

import io
import re

import pytest
from conftest import csrf_token
from roster_factory import csv_bytes, publish
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.models import Membership, User

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
