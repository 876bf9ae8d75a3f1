"""HR changes the dosing policy on a phone: a refusal next to the field first, then the change saved."""

from __future__ import annotations

import pytest
from conftest import PASSWORD
from test_content_sync import corpus, module

from curricula.stakeholders import StakeholderRole
from lms.services import content as publishing
from lms.services import dosing

pytestmark = pytest.mark.browser


def test_hr_changes_how_long_clinicians_have_for_foundational_on_a_phone(
    phone_page, visit, sign_in, follow, main_nav, db, make, tree
):
    publishing.sync(
        db,
        corpus(
            module("model-for-improvement"),
            module("pdsa", dose="foundational"),
            policy={"clinician": {"awareness": 30, "foundational": 90}, "executive": {"awareness": 30}},
        ),
    )
    make.person(tree, StakeholderRole.QUALITY_STAFF, email="hana@alpha.test", name="Hana Okafor", hr=True)
    page = phone_page
    visit(page, "/sign-in")
    sign_in(page, "hana@alpha.test", PASSWORD)

    follow(page, main_nav(page, "Dosing"))
    assert page.get_by_role("heading", level=1).inner_text() == "Dosing policy"

    days = page.get_by_label("Days to complete Foundational for Clinician (point-of-care staff)")
    days.fill("0")
    save = page.get_by_role("button", name="Save the dosing for Clinician (point-of-care staff)")
    follow(page, save)
    days = page.get_by_label("Days to complete Foundational for Clinician (point-of-care staff)")
    assert days.get_attribute("aria-invalid") == "true"
    assert "from 1 to 730" in page.locator("#clinician-days-foundational-error").inner_text()

    days.fill("45")
    follow(page, page.get_by_role("button", name="Save the dosing for Clinician (point-of-care staff)"))

    assert (
        "The dosing for Clinician (point-of-care staff) was saved." in page.get_by_role("status").inner_text()
    )
    assert dosing.effective_policy(db, tree.org.id)["clinician"] == {"awareness": 30, "foundational": 45}
    follow(page, page.get_by_role("button", name="Reset to the default for Clinician (point-of-care staff)"))
    assert dosing.effective_policy(db, tree.org.id)["clinician"] == {"awareness": 30, "foundational": 90}
