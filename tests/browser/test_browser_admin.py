"""An organisation administrator adds a unit and a person through the administration pages."""

from __future__ import annotations

import pytest
from conftest import PASSWORD
from sqlalchemy import select

from lms.models import Membership, User

pytestmark = pytest.mark.browser


def choose(select, text: str) -> None:
    """Pick the option whose visible text contains `text` (unit options are indented by depth)."""
    select.select_option(select.locator("option", has_text=text).get_attribute("value"))


@pytest.fixture
def admin_page(phone_page, visit, sign_in, make, tree):
    """A phone signed in as the organisation administrator of Alpha Health."""
    make.person(tree, email="ida@alpha.test", name="Ida Mensah", org_admin=True)
    visit(phone_page, "/sign-in")
    sign_in(phone_page, "ida@alpha.test", PASSWORD)
    assert phone_page.get_by_role("heading", level=1).inner_text() == "Welcome, Ida Mensah"
    return phone_page


def test_an_org_admin_adds_a_unit_then_a_person_in_it(main_nav, admin_page, follow, submit, db, tree):
    page = admin_page
    follow(page, main_nav(page, "Units"))
    assert page.get_by_role("heading", level=1).inner_text() == "Units of Alpha Health"

    choose(page.get_by_label("Inside"), "Medicine")
    page.get_by_label("Name").fill("Ward 5C")
    submit(page, page.get_by_label("Name"))

    assert "Ward 5C was added under Medicine." in page.get_by_role("status").inner_text()
    assert page.get_by_role("link", name="Ward 5C").is_visible()

    follow(page, main_nav(page, "People"))
    follow(page, page.get_by_role("link", name="Add a person"))
    page.get_by_label("Email").fill("grace@alpha-health.org")
    page.get_by_label("Name").fill("Grace Lindqvist")
    choose(page.get_by_label("Stakeholder role"), "Unit leader")
    choose(page.get_by_label("Unit"), "Ward 5C")
    page.get_by_label("Job code").fill("NM2")
    page.get_by_label("Coach").check()
    follow(page, page.get_by_role("button", name="Add the person"))

    assert page.get_by_role("heading", level=1).inner_text() == "Grace Lindqvist"
    assert "Grace Lindqvist was added." in page.get_by_role("status").inner_text()
    membership = db.scalar(select(Membership).join(User).where(User.email == "grace@alpha-health.org"))
    assert membership is not None
    assert (membership.org_id, membership.unit.name, membership.stakeholder_role.value) == (
        tree.org.id,
        "Ward 5C",
        "unit-leader",
    )
    assert (membership.job_code, membership.is_coach, membership.is_org_admin) == ("NM2", True, False)

    follow(page, main_nav(page, "People"))
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Grace Lindqvist"))
    assert "Ward 5C" in row.inner_text()

    follow(page, main_nav(page, "Audit trail"))
    assert "Grace Lindqvist" in page.get_by_role("main").inner_text()
    assert "Ward 5C" in page.get_by_role("main").inner_text()


def test_adding_a_person_with_a_taken_email_says_so_next_to_the_field_and_keeps_the_form(
    admin_page, visit, follow, make, tree, db
):
    make.person(tree, email="taken@alpha-health.org", name="Already Here")
    page = admin_page
    visit(page, f"/o/{tree.org.slug}/admin/people/new")
    page.get_by_label("Email").fill("taken@alpha-health.org")
    page.get_by_label("Name").fill("Someone New")
    choose(page.get_by_label("Stakeholder role"), "Clinician")
    follow(page, page.get_by_role("button", name="Add the person"))

    email = page.get_by_label("Email")
    assert email.get_attribute("aria-invalid") == "true"
    error = page.locator(f"#{email.get_attribute('aria-describedby').split()[-1]}")
    assert error.inner_text() == "Someone in this organisation already uses this email address."
    assert email.input_value() == "taken@alpha-health.org"
    assert page.get_by_label("Name").input_value() == "Someone New"
    assert db.scalars(select(User).where(User.name == "Someone New")).all() == []
