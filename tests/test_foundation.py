"""The shell every feature stands on: health, security headers, the home page, org scoping."""

from __future__ import annotations

from curricula.stakeholders import StakeholderRole


def test_healthz_reports_database_ok(client, is_postgres):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json["database"] == "ok"
    assert resp.json["dialect"] == ("postgresql" if is_postgres else "sqlite")


def test_every_page_carries_a_csp_without_inline_script(client):
    resp = client.get("/sign-in")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_home_requires_sign_in(client):
    resp = client.get("/")
    assert resp.status_code == 302
    assert "/sign-in" in resp.headers["Location"]


def test_learner_home_shows_role_and_unit_without_admin_links(make, tree, login_as):
    learner = make.person(tree, StakeholderRole.CLINICIAN, name="Lee Learner")
    html = login_as(learner).get("/").get_data(as_text=True)
    assert "Welcome, Lee Learner" in html
    assert "Clinician (point-of-care staff)" in html
    assert "Ward 4B" in html
    assert "/admin/people" not in html


def test_admin_home_links_to_administration(make, tree, login_as):
    admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True)
    html = login_as(admin).get("/").get_data(as_text=True)
    assert f"/o/{tree.org.slug}/admin/units" in html
    assert f"/o/{tree.org.slug}/admin/people" in html


def test_home_of_another_organisation_is_404(make, tree, other_tree, login_as):
    member = make.person(tree)
    assert login_as(member).get(f"/o/{other_tree.org.slug}/").status_code == 404
    assert login_as(member).get(f"/o/{tree.org.slug}/").status_code == 200


def test_deactivated_membership_signs_the_person_out(make, tree, login_as):
    gone = make.person(tree, active=False)
    resp = login_as(gone).get("/")
    assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"]
