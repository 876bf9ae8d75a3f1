"""A platform operator creates and archives an organisation on a phone; its first administrator
uploads a units file with a mistake, then a right one."""

from __future__ import annotations

import pytest
from conftest import PASSWORD
from sqlalchemy import select

from lms.models import Organization, OrgUnit, User
from lms.security import hash_password

pytestmark = pytest.mark.browser


def test_an_operator_creates_and_archives_an_organisation_on_a_phone(
    phone_page, visit, sign_in, follow, main_nav, db
):
    operator = User(email="olu@platform.test", name="Olu Ops", password_hash=hash_password(PASSWORD))
    operator.is_operator = True
    db.add(operator)
    db.commit()
    page = phone_page
    visit(page, "/sign-in")
    sign_in(page, "olu@platform.test", PASSWORD)
    follow(page, main_nav(page, "Organisations"))
    assert page.get_by_role("heading", level=1).inner_text() == "Organisations"

    page.get_by_label("Name", exact=True).fill("St Mary's Hospital")
    page.get_by_label("Slug").fill("St Marys")
    page.get_by_label("Time zone").select_option("Europe/London")
    page.get_by_label("First administrator's email").fill("dana@stmarys.example")
    follow(page, page.get_by_role("button", name="Create the organisation"))
    assert "lowercase letters, digits and hyphens" in page.get_by_role("main").inner_text()
    assert page.get_by_label("Name", exact=True).input_value() == "St Mary's Hospital"

    page.get_by_label("Slug").fill("st-marys")
    follow(page, page.get_by_role("button", name="Create the organisation"))
    assert (
        "We emailed dana@stmarys.example a link to choose a password."
        in page.get_by_role("status").inner_text()
    )
    follow(page, page.get_by_role("button", name="Archive St Mary's Hospital"))
    assert "its members can no longer sign in to it" in page.get_by_role("status").inner_text()
    db.expire_all()
    assert db.scalar(select(Organization).where(Organization.slug == "st-marys")).archived


def test_an_administrator_uploads_a_units_file_and_is_told_each_mistake(
    phone_page, visit, sign_in, follow, main_nav, make, tree, db, tmp_path
):
    make.person(tree, email="ida@alpha.test", name="Ida Mensah", org_admin=True)
    page = phone_page
    visit(page, "/sign-in")
    sign_in(page, "ida@alpha.test", PASSWORD)
    follow(page, main_nav(page, "Units"))
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code,name,level,parent code\nN1,North Hospital,facility,\nN2,,ward,N1\n")
    page.get_by_label("Units file (CSV)").set_input_files(str(wrong))
    follow(page, page.get_by_role("button", name="Import the file"))
    problems = page.locator(".field.has-error li").all_inner_texts()
    assert problems == [
        "row 3, column name: give the unit a name.",
        "row 3, column level: 'ward' is not a level; use one of system, facility, department, unit.",
    ]
    right = tmp_path / "right.csv"
    right.write_text("code,name,level,parent code\nN1,North Hospital,facility,\nN2,Medicine,department,N1\n")
    page.get_by_label("Units file (CSV)").set_input_files(str(right))
    follow(page, page.get_by_role("button", name="Import the file"))
    assert "2 added" in page.get_by_role("status").inner_text()
    assert page.get_by_role("link", name="North Hospital").is_visible()
    assert db.scalar(select(OrgUnit.name).where(OrgUnit.code == "N2")) == "Medicine"
