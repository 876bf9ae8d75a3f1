"""The dosing policy page: HR and org admins see and change which levels each role needs, by when."""

from __future__ import annotations

import re

import pytest
from conftest import csrf_token
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_content_sync import corpus, module

from curricula.stakeholders import StakeholderRole
from lms.models import Assignment, AuditEvent, DosePolicyOverride
from lms.services import content as publishing
from lms.services import dosing

PAGE = "/o/alpha/admin/dosing"
POLICY = {
    "clinician": {"awareness": 30, "foundational": 90},
    "executive": {"awareness": 30, "sponsor": 90},
}


@pytest.fixture
def published(db: Session) -> None:
    publishing.sync(
        db,
        corpus(
            module("model-for-improvement"),
            module("pdsa", dose="foundational"),
            module("sponsoring-a-portfolio", dose="sponsor"),
            policy=POLICY,
        ),
    )


@pytest.fixture
def hr(make, tree, published):
    return make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)


def form_for(role: str, levels: dict[str, str], token: str) -> dict[str, str]:
    data = {"csrf_token": token}
    for level, days in levels.items():
        data[f"require_{level}"] = "y"
        data[f"days_{level}"] = days
    return data


def open_assignments(db: Session, membership) -> set[str]:
    db.expire_all()
    return {
        a.module.slug
        for a in db.scalars(
            select(Assignment).where(
                Assignment.membership_id == membership.id, Assignment.cancelled_at.is_(None)
            )
        )
    }


def test_hr_sees_every_role_against_every_level_with_the_default_marked(login_as, hr):
    client = login_as(hr)

    page = client.get(PAGE)

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'class="table-wrap"' in html and "<caption>Days to complete each level, by role</caption>" in html
    assert html.count('<th scope="row">') == 7
    for label in ("Clinician (point-of-care staff)", "Executive", "Board", "Patient and family partner"):
        assert label in html
    assert "Overridden" not in html
    assert "<legend>Levels Executive needs</legend>" in html
    assert re.search(
        r'<label for="clinician-days-foundational">Days to complete<span class="visually-hidden"> '
        r"Foundational for Clinician \(point-of-care staff\)</span></label>",
        html,
    )
    ticked = re.search(r'<input[^>]*id="clinician-require-foundational"[^>]*>', html).group(0)
    unticked = re.search(r'<input[^>]*id="clinician-require-sponsor"[^>]*>', html).group(0)
    assert "checked" in ticked and "checked" not in unticked
    assert 'href="/o/alpha/admin/dosing" aria-current="page">Dosing</a>' in html


def test_changing_a_role_saves_the_override_replans_and_is_audited(db, login_as, make, tree, hr):
    nurse = make.person(tree, StakeholderRole.CLINICIAN)
    dosing.reconcile(db, tree.org.id)
    assert open_assignments(db, nurse) == {"model-for-improvement", "pdsa"}
    client = login_as(hr)

    sent = {"role": "clinician", **form_for("clinician", {"awareness": "14"}, csrf_token(client, PAGE))}
    done = client.post(PAGE, data=sent)

    # Back to the top of the page, where the message is (and takes the focus), not to the form's anchor.
    assert done.status_code == 302 and done.headers["Location"].endswith("/o/alpha/admin/dosing")
    page = client.get(PAGE).get_data(as_text=True)
    assert "The dosing for Clinician (point-of-care staff) was saved." in page
    assert "1 cancelled" in page
    assert "Overridden" in page and "(default 90 days)" in page
    assert dosing.effective_policy(db, tree.org.id)["clinician"] == {"awareness": 14}
    assert open_assignments(db, nurse) == {"model-for-improvement"}
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "dosing.policy_changed"))
    assert event.actor_id == hr.user_id and event.changes["levels"][1] == {"awareness": 14}
    trail = client.get("/o/alpha/admin/audit").get_data(as_text=True)
    assert 'changed the <a href="/o/alpha/admin/dosing">dosing policy</a> for Clinician' in trail
    assert (
        "Dose levels (days to complete): Awareness 30 days, Foundational 90 days → Awareness 14 days" in trail
    )


@pytest.mark.parametrize(
    ("typed", "message"),
    [("0", "from 1 to 730"), ("999", "from 1 to 730"), ("ninety", "Enter a whole number of days")],
)
def test_bad_days_are_refused_next_to_the_field_with_what_was_typed_kept(
    db, login_as, tree, hr, typed, message
):
    client = login_as(hr)

    refused = client.post(
        f"{PAGE}/clinician",
        data=form_for("clinician", {"awareness": "21", "foundational": typed}, csrf_token(client, PAGE)),
    )

    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    field = re.search(r'<input[^>]*id="clinician-days-foundational"[^>]*>', html).group(0)
    assert f'value="{typed}"' in field and 'aria-invalid="true"' in field
    assert 'aria-describedby="clinician-days-foundational-error"' in field
    error = re.search(r'<p class="error" id="clinician-days-foundational-error">([^<]*)</p>', html)
    assert error and message in error.group(1)
    kept = re.search(r'<input[^>]*id="clinician-days-awareness"[^>]*>', html).group(0)
    assert 'value="21"' in kept
    assert db.scalar(select(DosePolicyOverride)) is None
    assert db.scalar(select(AuditEvent)) is None


def test_reset_to_the_default_removes_the_override(db, login_as, tree, hr):
    client = login_as(hr)
    token = csrf_token(client, PAGE)
    client.post(f"{PAGE}/executive", data=form_for("executive", {"awareness": "7"}, token))
    assert "Reset to the default" in client.get(PAGE).get_data(as_text=True)

    done = client.post(f"{PAGE}/executive/reset", data={"csrf_token": token})

    assert done.status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert "The dosing for Executive is the default again." in page
    assert "Reset to the default" not in page
    assert dosing.effective_policy(db, tree.org.id)["executive"] == POLICY["executive"]


def test_an_org_admin_may_change_the_policy_too(db, login_as, make, tree, published):
    admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True)
    client = login_as(admin)

    done = client.post(f"{PAGE}/board", data=form_for("board", {}, csrf_token(client, PAGE)))

    assert done.status_code == 302
    assert dosing.effective_policy(db, tree.org.id)["board"] == {}


def test_a_learner_is_refused_and_sees_no_dosing_link(login_as, make, tree, published):
    learner = make.person(tree, StakeholderRole.CLINICIAN)
    client = login_as(learner)

    assert client.get(PAGE).status_code == 403
    token = csrf_token(client, "/")
    assert (
        client.post(f"{PAGE}/clinician", data=form_for("clinician", {"awareness": "1"}, token)).status_code
        == 403
    )
    assert "/admin/dosing" not in client.get("/").get_data(as_text=True)


def test_another_organisations_admin_gets_404(login_as, make, tree, other_tree, published):
    stranger = make.person(other_tree, StakeholderRole.QUALITY_STAFF, hr=True, org_admin=True)
    client = login_as(stranger)
    token = csrf_token(client, "/o/beta/admin/dosing")

    assert client.get(PAGE).status_code == 404
    assert (
        client.post(f"{PAGE}/clinician", data=form_for("clinician", {"awareness": "1"}, token)).status_code
        == 404
    )
    assert client.post(f"{PAGE}/clinician/reset", data={"csrf_token": token}).status_code == 404


def test_an_unknown_role_is_404(login_as, hr):
    client = login_as(hr)
    token = csrf_token(client, PAGE)

    assert client.post(f"{PAGE}/surgeon", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{PAGE}/surgeon/reset", data={"csrf_token": token}).status_code == 404


def test_before_any_content_is_published_the_page_says_so(login_as, make, tree):
    client = login_as(make.person(tree, hr=True))

    page = client.get(PAGE)

    assert page.status_code == 200 and "lms content sync" in page.get_data(as_text=True)
