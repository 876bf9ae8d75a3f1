"""The coverage pages: HR and org admins see a subtree by role and level, the pyramid, the heat map, the
people behind each number and each person's record, and download them with formulas neutralised."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from test_content_sync import corpus, module

from curricula.stakeholders import StakeholderRole
from lms.models import Assignment, Module, UnitKind
from lms.services import content as publishing
from lms.services import modules, people
from lms.services.access import Actor
from lms.services.coverage_upkeep import org_today
from lms.web.spreadsheet import neutralise

POLICY = {"clinician": {"awareness": 30, "foundational": 90}, "executive": {"awareness": 30, "sponsor": 90}}


@pytest.fixture
def ward(db, make, tree):
    """Three clinicians on Ward 4B (one has completed awareness, one is overdue) and one in Surgery."""
    publishing.sync(
        db,
        corpus(
            module("mfi"),
            module("pdsa", dose="foundational"),
            module("sponsoring", dose="sponsor"),
            policy=POLICY,
        ),
    )
    db.commit()
    admin = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True, name="Hana HR")
    hr = Actor(admin.user, admin)
    surgery = make.unit(tree.org, "Surgery", UnitKind.DEPARTMENT, tree.facility)

    def add(name, email, unit):
        return people.add_person(
            db,
            hr,
            people.PersonInput(email=email, name=name, stakeholder_role="clinician", unit_id=unit.id),
            welcome=False,
        )

    done = add("Ada Done", "ada@alpha.example", tree.unit)
    late = add('=HYPERLINK("http://x")', "late@alpha.example", tree.unit)
    add("Cy Fresh", "cy@alpha.example", tree.unit)
    add("Sam Surgeon", "sam@alpha.example", surgery)
    modules.answer_check(db, done.user, "mfi", "q1", [0])
    overdue = db.scalar(
        select(Assignment).join(Module).where(Assignment.membership_id == late.id, Module.slug == "mfi")
    )
    overdue.due_on = org_today(db, tree.org.id) - timedelta(days=3)
    db.commit()
    return {"hr": admin, "done": done, "late": late, "surgery": surgery}


def test_hr_sees_needed_completed_percentage_and_overdue_by_role_and_level(login_as, tree, ward):
    page = login_as(ward["hr"]).get(f"/o/{tree.org.slug}/coverage/?unit={tree.department.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Clinician (point-of-care staff)" in html and "Awareness" in html
    # 3 on the ward need awareness, 1 completed (33%, below target), 1 overdue
    assert 'data-label="Need it"><a href="/o/alpha/coverage/people?unit=' in html
    assert ">3<span" in html and ">1<span" in html and "33%" in html
    assert "below the 80% target" in html


def test_the_whole_organisation_counts_everyone_and_the_heat_map_reads_without_colour(login_as, tree, ward):
    html = login_as(ward["hr"]).get(f"/o/{tree.org.slug}/coverage/").get_data(as_text=True)
    assert "5 active people" in html  # four clinicians and HR
    assert "Capability pyramid" in html and "Per 1,000 staff" in html
    assert "200" in html  # 1 of 5 staff completed awareness: 200 per 1,000


def test_the_heat_map_lists_the_units_below_with_numbers_and_words_below_target(login_as, tree, ward):
    html = (
        login_as(ward["hr"])
        .get(f"/o/{tree.org.slug}/coverage/?unit={tree.facility.id}")
        .get_data(as_text=True)
    )
    assert "Units below" in html and "Medicine" in html and "Surgery" in html
    assert "1 of 6" in html  # Medicine: 3 clinicians x 2 levels, 1 done
    assert "below target" in html and "heat-below" in html


def test_a_number_drills_down_to_the_people_and_a_person_to_their_record(login_as, tree, ward):
    client = login_as(ward["hr"])
    listing = client.get(
        f"/o/{tree.org.slug}/coverage/people?unit={tree.unit.id}&level=awareness&status=overdue"
    )
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert (
        "late@alpha.example" in html and "ada@alpha.example" not in html and "sam@alpha.example" not in html
    )
    assert "=HYPERLINK(&#34;http://x&#34;)" in html or "=HYPERLINK(&quot;http://x&quot;)" in html  # escaped
    person = client.get(f"/o/{tree.org.slug}/admin/people/{ward['late'].id}").get_data(as_text=True)
    assert "Learning record" in person and "Overdue" in person and "1 overdue" in person
    completed = client.get(f"/o/{tree.org.slug}/coverage/people?status=completed").get_data(as_text=True)
    assert "ada@alpha.example" in completed and "late@alpha.example" not in completed


def test_exports_neutralise_cells_that_a_spreadsheet_would_run_as_formulas(login_as, tree, ward):
    client = login_as(ward["hr"])
    csv_text = client.get(f"/o/{tree.org.slug}/coverage/people.csv?status=needed").get_data(as_text=True)
    assert "'=HYPERLINK" in csv_text and "\n=HYPERLINK" not in csv_text and ",=HYPERLINK" not in csv_text
    xlsx = client.get(f"/o/{tree.org.slug}/coverage/people.xlsx?status=needed")
    assert xlsx.mimetype.endswith("spreadsheetml.sheet")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.data)).get_sheet_by_index(0).to_python()
    names = [row[0] for row in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in names and "Ada Done" in names
    table = client.get(f"/o/{tree.org.slug}/coverage/export.csv").get_data(as_text=True)
    assert table.lstrip("\ufeff").startswith("Stakeholder role,Dose level,Need it,Completed")
    assert "Clinician (point-of-care staff),Awareness,4,1,25,1" in table


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_every_risky_first_character_is_neutralised(text):
    assert neutralise(text) == "'" + text
    assert neutralise("Ada") == "Ada" and neutralise(-1) == -1


def test_a_wrong_filter_is_shown_next_to_its_field_not_a_crash(login_as, tree, ward):
    page = login_as(ward["hr"]).get(f"/o/{tree.org.slug}/coverage/?level=black-belt&role=nobody")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "Choose one of the dose levels." in html and "Choose one of the stakeholder roles." in html


def test_learners_may_not_read_coverage_and_other_organisations_do_not_see_it(
    login_as, make, tree, other_tree, ward
):
    learner = ward["done"]
    assert login_as(learner).get(f"/o/{tree.org.slug}/coverage/").status_code == 403
    stranger = make.person(other_tree, StakeholderRole.QUALITY_STAFF, hr=True)
    assert login_as(stranger).get(f"/o/{tree.org.slug}/coverage/").status_code == 404
    other_unit = other_tree.unit.id
    page = login_as(ward["hr"]).get(f"/o/{tree.org.slug}/coverage/people?unit={other_unit}")
    assert page.status_code in (400, 404) and "Sam Surgeon" not in page.get_data(as_text=True)


def test_a_heat_map_of_many_units_comes_a_page_at_a_time(login_as, make, tree, ward):
    for n in range(26):
        make.unit(tree.org, f"Clinic {n:02d}", UnitKind.DEPARTMENT, tree.facility)
    client = login_as(ward["hr"])
    first = client.get(f"/o/{tree.org.slug}/coverage/?unit={tree.facility.id}").get_data(as_text=True)
    assert "Units page 1 of 2" in first and "Clinic 00" in first and "Surgery" not in first
    second = client.get(f"/o/{tree.org.slug}/coverage/?unit={tree.facility.id}&heat=2").get_data(as_text=True)
    assert "Units page 2 of 2" in second and "Surgery" in second and "Medicine" in second
