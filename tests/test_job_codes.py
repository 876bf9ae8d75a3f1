"""The job-code mapping HR edits: which stakeholder role each HR-system job code means, for the roster
import and SCIM; mapping a code re-roles the people who hold it, never deleting completed learning."""

from __future__ import annotations

import pytest
from conftest import csrf_token
from roster_factory import held, publish
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.db import utcnow
from lms.models import AuditEvent, JobCodeRole, Membership, Progress, ProgressStatus
from lms.services import Invalid, NotFound, dosing, job_codes
from lms.services.access import Actor
from lms.services.scim.meaning import role_for_job_code


def actor(m: Membership) -> Actor:
    return Actor(m.user, m)


@pytest.fixture
def library(db):
    return publish(db)


@pytest.fixture
def hr(make, tree) -> Actor:
    return actor(make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True))


def test_a_mapping_is_read_before_a_roles_own_name_and_compared_without_case(db, hr, tree):
    assert job_codes.role_for(db, tree.org.id, "RN-ICU") is None
    assert job_codes.role_for(db, tree.org.id, "Executive") is StakeholderRole.EXECUTIVE
    job_codes.add(db, hr, "  RN-ICU ", "clinician")
    job_codes.add(db, hr, "executive", "board")
    db.commit()
    assert role_for_job_code(db, tree.org.id, "rn-icu") is StakeholderRole.CLINICIAN
    assert role_for_job_code(db, tree.org.id, "EXECUTIVE") is StakeholderRole.BOARD
    assert role_for_job_code(db, tree.org.id, "CNA") is None


def test_a_mapping_is_for_one_organisation(db, hr, tree, make, other_tree):
    job_codes.add(db, hr, "RN-ICU", "clinician")
    db.commit()
    assert job_codes.role_for(db, other_tree.org.id, "RN-ICU") is None
    stranger = actor(make.person(other_tree, hr=True))
    mapping = db.scalar(select(JobCodeRole))
    with pytest.raises(NotFound):
        job_codes.change(db, stranger, mapping.id, "board")
    with pytest.raises(NotFound):
        job_codes.remove(db, stranger, mapping.id)


def test_every_problem_is_refused_at_once(db, hr):
    job_codes.add(db, hr, "RN-ICU", "clinician")
    with pytest.raises(Invalid) as refused:
        job_codes.add(db, hr, "rn-icu", "nurse")
    assert set(refused.value.errors) == {"job_code", "stakeholder_role"}
    with pytest.raises(Invalid) as refused:
        job_codes.add(db, hr, "X" * 33, "clinician")
    assert "32 characters" in refused.value.errors["job_code"][0]


def test_mapping_a_code_re_roles_its_holders_audited_and_keeps_completed_learning(
    db, make, tree, hr, library
):
    person = make.person(tree, StakeholderRole.CLINICIAN)
    person.job_code = "EXEC-1"
    db.commit()
    dosing.plan_for(db, person)
    pdsa = library["pdsa"]
    db.add(
        Progress(
            user_id=person.user_id,
            module_id=pdsa.id,
            status=ProgressStatus.COMPLETED,
            completed_at=utcnow(),
            completed_hash=pdsa.content_hash,
        )
    )
    db.commit()

    job_codes.add(db, hr, "exec-1", "executive")
    db.commit()

    db.refresh(person)
    assert person.stakeholder_role is StakeholderRole.EXECUTIVE
    now_held = held(db, person)
    assert "pdsa" in now_held, "a role change never deletes completed learning"
    assert "sponsoring-a-portfolio" in now_held and "run-charts" not in now_held
    assert (
        db.scalar(select(Progress).where(Progress.user_id == person.user_id)).status
        is ProgressStatus.COMPLETED
    )
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"job_code.mapped", "person.role_changed"} <= actions


def test_removing_a_mapping_changes_nobodys_role(db, make, tree, hr):
    person = make.person(tree, StakeholderRole.CLINICIAN)
    person.job_code = "EXEC-1"
    db.commit()
    mapping = job_codes.add(db, hr, "EXEC-1", "executive")
    job_codes.remove(db, hr, mapping.id)
    db.commit()
    db.refresh(person)
    assert person.stakeholder_role is StakeholderRole.EXECUTIVE
    assert job_codes.role_for(db, tree.org.id, "EXEC-1") is None
    assert (
        db.scalar(select(AuditEvent).where(AuditEvent.action == "job_code.removed")).changes["job_code"]
        == "EXEC-1"
    )


def test_hr_lists_adds_changes_and_removes_on_the_page(db, make, tree, login_as):
    hr = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)
    c = login_as(hr)
    url = f"/o/{tree.org.slug}/admin/job-codes"
    assert "No job code is mapped yet" in c.get(url).get_data(as_text=True)

    refused = c.post(
        url, data={"csrf_token": csrf_token(c, url), "job_code": "RN ICU", "stakeholder_role": "nobody"}
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'value="RN ICU"' in page, "the form keeps what was typed"
    assert "Choose one of the seven stakeholder roles" in page

    done = c.post(
        url, data={"csrf_token": csrf_token(c, url), "job_code": "RN ICU", "stakeholder_role": "clinician"}
    )
    assert done.status_code == 302
    mapping = db.scalar(select(JobCodeRole))
    assert c.get(url).get_data(as_text=True).count("RN ICU") >= 1

    changed = c.post(
        f"{url}/{mapping.id}",
        data={"csrf_token": csrf_token(c, url), f"m{mapping.id}-stakeholder_role": "unit-leader"},
    )
    assert changed.status_code == 302
    db.refresh(mapping)
    assert mapping.stakeholder_role is StakeholderRole.UNIT_LEADER

    bad = c.post(
        f"{url}/{mapping.id}", data={"csrf_token": csrf_token(c, url), f"m{mapping.id}-stakeholder_role": "x"}
    )
    assert bad.status_code == 400 and "Choose one of the seven stakeholder roles" in bad.get_data(
        as_text=True
    )

    removed = c.post(f"{url}/{mapping.id}/remove", data={"csrf_token": csrf_token(c, url)})
    assert removed.status_code == 302
    assert db.scalar(select(JobCodeRole)) is None
    assert c.post(f"{url}/{mapping.id}/remove", data={"csrf_token": csrf_token(c, url)}).status_code == 404


def test_learners_cannot_open_the_page(make, tree, login_as):
    c = login_as(make.person(tree))
    assert c.get(f"/o/{tree.org.slug}/admin/job-codes").status_code == 403
