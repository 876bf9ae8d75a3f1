"""Organisation administration pages, used the way an administrator or HR lead uses them in a browser:
the unit tree, people, the audit trail; refusals shown next to the field with what was typed kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from conftest import csrf_token
from flask.testing import FlaskClient

from curricula.stakeholders import StakeholderRole
from lms.models import AuditEvent, Membership, OrgUnit, UnitKind, User
from lms.services import audit


@pytest.fixture
def admin(make, tree) -> Membership:
    return make.person(tree, StakeholderRole.EXECUTIVE, name="Ada Admin", org_admin=True)


@pytest.fixture
def hr(make, tree) -> Membership:
    return make.person(tree, StakeholderRole.QUALITY_STAFF, name="Hal HR", hr=True)


# --- reading pages like a person does ------------------------------------------------------------------


def error_for(html: str, field_id: str) -> str:
    """The error message shown next to a field ("" when none)."""
    match = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', html, re.S)
    return unescape(match.group(1)).strip() if match else ""


def form_errors(html: str) -> str:
    match = re.search(r'<div class="form-errors">(.*?)</div>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else ""


def value_of(html: str, field_id: str) -> str:
    """What a text box shows, or the chosen option of a select."""
    tag = re.search(rf'<(input|select)[^>]*\bid="{field_id}"[^>]*>', html)
    assert tag, f"no field {field_id}"
    if tag.group(1) == "input":
        value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
        return unescape(value.group(1)) if value else ""
    select = html[tag.end() : html.index("</select>", tag.end())]
    chosen = re.search(
        r'<option[^>]*\bselected[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*selected', select
    )
    return (chosen.group(1) or chosen.group(2)) if chosen else ""


def flashes(html: str) -> str:
    match = re.search(r'<div class="flashes" role="status">(.*?)</div>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else ""


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def tree_text(html: str) -> str:
    start = html.index('<ul class="tree">')
    return text(html[start : html.index("</section>", start)])


def people_rows(html: str) -> list[str]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [text(row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def post(client: FlaskClient, path: str, data: dict, *, token_from: str | None = None, follow: bool = True):
    token = csrf_token(client, token_from or path)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=follow)


def units_url(tree) -> str:
    return f"/o/{tree.org.slug}/admin/units"


def people_url(tree) -> str:
    return f"/o/{tree.org.slug}/admin/people"


# --- the unit tree ----------------------------------------------------------------------------------------


def test_admin_adds_a_unit_and_sees_it_in_the_tree(tree, admin, login_as, db):
    client = login_as(admin)
    resp = post(client, units_url(tree), {"parent_id": tree.department.id, "name": "  Ward   5C "})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Ward 5C was added under Medicine." in flashes(html)
    assert "Ward 5C unit · 0 people" in tree_text(html)
    added = db.query(OrgUnit).filter_by(name="Ward 5C").one()
    assert added.parent_id == tree.department.id and added.kind is UnitKind.UNIT


def test_moving_a_unit_under_its_own_child_is_refused_next_to_the_field(tree, admin, login_as, db):
    client = login_as(admin)
    path = f"{units_url(tree)}/{tree.facility.id}/move"
    resp = post(
        client, path, {"parent_id": tree.department.id}, token_from=f"{units_url(tree)}/{tree.facility.id}"
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert (
        error_for(html, "parent_id") == "General Hospital cannot move under itself or one of its own units."
    )
    db.expire_all()
    assert db.get(OrgUnit, tree.facility.id).parent_id == tree.system.id
    assert (
        db.get(OrgUnit, tree.department.id).path
        == f"/{tree.system.id}/{tree.facility.id}/{tree.department.id}/"
    )


def test_a_department_moves_to_another_facility_with_its_units(tree, admin, login_as, make, db):
    clinic = make.unit(tree.org, "Community Clinic", UnitKind.FACILITY, tree.system)
    client = login_as(admin)
    unit_page = f"{units_url(tree)}/{tree.department.id}"
    offered = login_as(admin).get(unit_page).get_data(as_text=True)
    assert f'<option value="{clinic.id}">{tree.system.name} &gt; Community Clinic</option>' in offered
    resp = post(client, f"{unit_page}/move", {"parent_id": clinic.id}, token_from=unit_page)
    assert "Medicine now sits under Community Clinic." in flashes(resp.get_data(as_text=True))
    db.expire_all()
    assert db.get(OrgUnit, tree.unit.id).path.startswith(f"/{tree.system.id}/{clinic.id}/")


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "Give the unit a name."), ("W" * 121, "Keep the name to 120 characters or fewer (it has 121).")],
)
def test_a_bad_unit_name_is_shown_with_what_was_typed(tree, admin, login_as, db, typed, message):
    client = login_as(admin)
    resp = post(client, units_url(tree), {"parent_id": tree.department.id, "name": typed})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert error_for(html, "name") == message
    assert value_of(html, "name") == typed
    assert value_of(html, "parent_id") == str(tree.department.id)
    assert db.query(OrgUnit).filter_by(parent_id=tree.department.id).count() == 1


def test_renaming_keeps_the_typed_name_when_refused_and_saves_a_good_one(tree, admin, login_as, make, db):
    make.unit(tree.org, "Ward 4C", UnitKind.UNIT, tree.department)
    client = login_as(admin)
    page = f"{units_url(tree)}/{tree.unit.id}"
    resp = post(client, f"{page}/rename", {"name": "ward 4c"}, token_from=page)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert error_for(html, "name") == "Medicine already has a unit named 'ward 4c'."
    assert value_of(html, "name") == "ward 4c"
    resp = post(client, f"{page}/rename", {"name": "Ward 4B East"}, token_from=page)
    assert "The unit is now called Ward 4B East." in flashes(resp.get_data(as_text=True))
    db.expire_all()
    assert db.get(OrgUnit, tree.unit.id).name == "Ward 4B East"


def test_archive_is_refused_while_people_belong_then_archive_and_restore(tree, admin, login_as, make, db):
    nurse = make.person(tree, unit=tree.unit)
    client = login_as(admin)
    page = f"{units_url(tree)}/{tree.unit.id}"
    html = client.get(page).get_data(as_text=True)
    assert 'Archive<span class="visually-hidden"> Ward 4B</span>' in html
    resp = post(client, f"{page}/archive", {}, token_from=page)
    assert resp.status_code == 400
    assert form_errors(resp.get_data(as_text=True)) == (
        "2 active person(s) belong to Ward 4B: move them to another unit first."
    )

    for person in (nurse, admin):  # the factory puts everyone in Ward 4B
        person.unit_id = tree.department.id
    db.commit()
    html = post(client, f"{page}/archive", {}, token_from=page).get_data(as_text=True)
    assert "Ward 4B is archived." in flashes(html)
    assert "Ward 4B unit · 0 people Archived" in tree_text(client.get(units_url(tree)).get_data(as_text=True))
    html = post(client, f"{page}/restore", {}, token_from=page).get_data(as_text=True)
    assert "Ward 4B is restored." in flashes(html)
    db.expire_all()
    assert db.get(OrgUnit, tree.unit.id).active


def test_hr_sees_the_tree_without_forms_to_change_it(tree, hr, login_as):
    client = login_as(hr)
    html = client.get(units_url(tree)).get_data(as_text=True)
    assert "Ward 4B unit" in tree_text(html)
    assert "Add a unit" not in html
    unit_page = client.get(f"{units_url(tree)}/{tree.unit.id}").get_data(as_text=True)
    assert "Rename" not in unit_page and "Only an organisation administrator" in unit_page


# --- people ---------------------------------------------------------------------------------------------


def new_person(tree, **overrides) -> dict:
    return {
        "email": "Nia.Nurse@Alpha.Example",
        "name": "Nia Nurse",
        "stakeholder_role": "unit-leader",
        "unit_id": tree.unit.id,
        "job_code": "RN2",
        "employee_id": "A-100",
        **overrides,
    }


def test_hr_adds_a_person_and_finds_them_in_the_list_with_their_role(tree, hr, login_as, db):
    client = login_as(hr)
    resp = post(client, f"{people_url(tree)}/new", new_person(tree))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Nia Nurse was added." in flashes(html)
    assert "<h1>Nia Nurse</h1>" in html

    rows = people_rows(client.get(people_url(tree)).get_data(as_text=True))
    nia = next(row for row in rows if row.startswith("Nia Nurse"))
    assert nia == "Nia Nurse nia.nurse@alpha.example Unit leader Ward 4B RN2 A-100 Learner Active"
    assert not any("None" in row.split() for row in rows)  # no unit, no permission: said in words


def test_a_duplicate_email_is_refused_next_to_the_field_with_everything_kept(tree, hr, login_as, make, db):
    make.person(tree, email="nia.nurse@alpha.example")
    client = login_as(hr)
    typed = new_person(tree, name="Nia Second", employee_id="A-200")
    resp = post(client, f"{people_url(tree)}/new", typed)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert error_for(html, "email") == "Someone in this organisation already uses this email address."
    assert value_of(html, "email") == "Nia.Nurse@Alpha.Example"
    assert value_of(html, "name") == "Nia Second"
    assert value_of(html, "stakeholder_role") == "unit-leader"
    assert value_of(html, "unit_id") == str(tree.unit.id)
    assert value_of(html, "job_code") == "RN2" and value_of(html, "employee_id") == "A-200"
    assert db.query(User).filter_by(name="Nia Second").count() == 0


def test_every_problem_with_a_new_person_is_shown_at_once(tree, hr, login_as, db):
    client = login_as(hr)
    resp = post(
        client, f"{people_url(tree)}/new", new_person(tree, email="nope", name="", stakeholder_role="")
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert error_for(html, "email").startswith("Enter a valid email address")
    assert error_for(html, "name") == "Enter the person's name."
    assert error_for(html, "stakeholder_role") == "Choose one of the seven stakeholder roles."
    assert db.query(Membership).count() == 1  # only HR


def test_hr_cannot_see_or_grant_permissions(tree, hr, login_as, make, db):
    nurse = make.person(tree)
    client = login_as(hr)
    new_page = client.get(f"{people_url(tree)}/new").get_data(as_text=True)
    person_page = client.get(f"{people_url(tree)}/{nurse.id}").get_data(as_text=True)
    for html in (new_page, person_page):
        assert 'name="org_admin"' not in html and 'name="hr"' not in html

    forged = post(client, f"{people_url(tree)}/new", new_person(tree, org_admin="y"), follow=False)
    assert forged.status_code == 403
    assert db.query(User).filter_by(name="Nia Nurse").count() == 0
    path = f"{people_url(tree)}/{nurse.id}/permissions"
    forged = post(client, path, {"org_admin": "y"}, token_from=people_url(tree), follow=False)
    assert forged.status_code == 403
    db.expire_all()
    assert db.get(Membership, nurse.id).permissions == frozenset()


def test_admin_changes_role_and_permissions_and_the_audit_trail_shows_both(tree, admin, login_as, make):
    nurse = make.person(tree, name="Nia Nurse", email="nia@alpha.example")
    client = login_as(admin)
    page = f"{people_url(tree)}/{nurse.id}"
    details = {
        "email": "nia@alpha.example",
        "name": "Nia Nurse",
        "stakeholder_role": "unit-leader",
        "unit_id": tree.unit.id,
        "job_code": "RN1",
        "employee_id": nurse.employee_id,
    }
    html = post(client, f"{page}/edit", details, token_from=page).get_data(as_text=True)
    assert "Nia Nurse's details are saved." in flashes(html)
    html = post(client, f"{page}/permissions", {"coach": "y", "hr": "y"}, token_from=page).get_data(
        as_text=True
    )
    assert "Nia Nurse's permissions are saved." in flashes(html)
    assert "Permissions HR, Coach" in text(html)

    trail = text(client.get(f"/o/{tree.org.slug}/admin/audit").get_data(as_text=True))
    assert "When (New York time)" in trail
    assert "Ada Admin changed Nia Nurse's permissions: added HR, Coach." in trail
    assert "Ada Admin changed Nia Nurse's stakeholder role and details." in trail
    assert "Stakeholder role: Clinician (point-of-care staff) → Unit leader" in trail
    assert trail.index("permissions: added") < trail.index("stakeholder role and details")  # newest first
    history = text(client.get(page).get_data(as_text=True))
    assert "Stakeholder role: Clinician (point-of-care staff) → Unit leader" in history


def test_deactivate_then_reactivate_a_person(tree, hr, login_as, make):
    nurse = make.person(tree, name="Nia Nurse")
    client = login_as(hr)
    page = f"{people_url(tree)}/{nurse.id}"
    html = post(client, f"{page}/deactivate", {}, token_from=page).get_data(as_text=True)
    assert "Nia Nurse is deactivated." in flashes(html)
    assert 'Reactivate<span class="visually-hidden"> Nia Nurse</span>' in html
    assert not any(
        r.startswith("Nia Nurse") for r in people_rows(client.get(people_url(tree)).get_data(as_text=True))
    )
    rows = people_rows(client.get(f"{people_url(tree)}?inactive=y").get_data(as_text=True))
    assert any(r.startswith("Nia Nurse") and r.endswith("Deactivated") for r in rows)

    html = post(client, f"{page}/reactivate", {}, token_from=page).get_data(as_text=True)
    assert "Nia Nurse is active again." in flashes(html)
    rows = people_rows(client.get(people_url(tree)).get_data(as_text=True))
    assert any(r.startswith("Nia Nurse") and r.endswith("Active") for r in rows)


def test_nobody_deactivates_themself_and_the_page_does_not_offer_it(tree, hr, login_as):
    client = login_as(hr)
    page = f"{people_url(tree)}/{hr.id}"
    assert "Deactivate" not in client.get(page).get_data(as_text=True)
    resp = post(client, f"{page}/deactivate", {}, token_from=page)
    assert resp.status_code == 400
    assert (
        form_errors(resp.get_data(as_text=True))
        == "You cannot deactivate yourself; ask another administrator."
    )


def test_filters_by_text_role_unit_subtree_and_status(tree, hr, login_as, make):
    surgery = make.unit(tree.org, "Surgery", UnitKind.DEPARTMENT, tree.facility)
    theatre = make.unit(tree.org, "Theatre 1", UnitKind.UNIT, surgery)
    make.person(tree, StakeholderRole.CLINICIAN, name="Cara Clinician", unit=tree.unit)
    make.person(tree, StakeholderRole.UNIT_LEADER, name="Lee Leader", unit=theatre)
    make.person(tree, StakeholderRole.CLINICIAN, name="Gus Gone", unit=theatre, active=False)
    client = login_as(hr)

    def names(query: str) -> list[str]:
        resp = client.get(f"{people_url(tree)}?{query}")
        assert resp.status_code == 200
        return [row.split(" ")[0] for row in people_rows(resp.get_data(as_text=True))]

    assert names("q=leader") == ["Lee"]
    assert names("role=clinician") == ["Cara"]
    assert names(f"unit={surgery.id}") == ["Lee"]
    assert names(f"unit={surgery.id}&inactive=y") == ["Gus", "Lee"]
    assert names(f"unit={tree.department.id}&role=unit-leader") == ["Nobody"]  # "Nobody matches ..."
    html = client.get(f"{people_url(tree)}?q=lee&role=unit-leader").get_data(as_text=True)
    assert value_of(html, "q") == "lee" and value_of(html, "role") == "unit-leader"


def test_a_long_roster_is_paged(tree, hr, login_as, make):
    for n in range(30):
        make.person(tree, name=f"Staff {n:02d}")
    client = login_as(hr)
    first = client.get(f"{people_url(tree)}?q=staff").get_data(as_text=True)
    assert "30 people, page 1 of 2" in text(first)
    assert len(people_rows(first)) == 25
    next_link = re.search(r'href="([^"]+)">Next page</a>', first).group(1)
    second = client.get(unescape(next_link)).get_data(as_text=True)
    assert [r.split(" ")[1] for r in people_rows(second)] == ["25", "26", "27", "28", "29"]


def test_unit_pickers_name_full_paths_in_tree_order_and_take_a_typed_path_when_long(
    tree, hr, login_as, make, db
):
    client = login_as(hr)
    short = client.get(f"{people_url(tree)}/new").get_data(as_text=True)
    options = re.findall(r'<option value="\d+">([^<]+)</option>', short)
    assert options == [
        "Alpha Health",
        "Alpha Health &gt; General Hospital",
        "Alpha Health &gt; General Hospital &gt; Medicine",
        "Alpha Health &gt; General Hospital &gt; Medicine &gt; Ward 4B",
    ]
    surgery = make.unit(tree.org, "Surgery", UnitKind.DEPARTMENT, tree.facility)
    for n in range(10):
        make.unit(tree.org, f"Theatre {n}", UnitKind.UNIT, surgery)
    long = client.get(f"{people_url(tree)}/new").get_data(as_text=True)
    picker = re.search(r'<input [^>]*\bid="unit_id"[^>]*>', long).group(0)
    assert 'list="unit_id-units"' in picker and 'type="text"' in picker
    listed = re.findall(r'<option value="([^"]+)"></option>', long)
    assert listed[3:6] == [
        "Alpha Health &gt; General Hospital &gt; Medicine &gt; Ward 4B",
        "Alpha Health &gt; General Hospital &gt; Surgery",
        "Alpha Health &gt; General Hospital &gt; Surgery &gt; Theatre 0",
    ]
    assert "Type part of a name, then choose the unit from the list." in long

    typed = "alpha health > general hospital > surgery > theatre 7"
    post(client, f"{people_url(tree)}/new", new_person(tree, unit_id=typed))
    nia = db.query(Membership).join(User).filter(User.name == "Nia Nurse").one()
    assert nia.unit.name == "Theatre 7"

    wrong = post(
        client, f"{people_url(tree)}/new", new_person(tree, email="x@alpha.example", unit_id="Theatre 99")
    )
    assert wrong.status_code == 400
    html = wrong.get_data(as_text=True)
    assert '<a href="#unit_id">Unit: Choose a unit from the list.</a>' in html
    assert 'value="Theatre 99"' in html


# --- the audit trail ------------------------------------------------------------------------------------


def record_rename(db, tree, admin, old: str, new: str) -> AuditEvent:
    """An event as organizations.rename_unit records it: `admin` renamed the tree's ward."""
    return audit.record(
        db,
        actor_id=admin.user_id,
        org_id=tree.org.id,
        action="unit.renamed",
        target_type="org_unit",
        target_id=tree.unit.id,
        changes={"name": [old, new]},
    )


def test_the_audit_trail_pages_back_through_older_events(tree, admin, login_as, db):
    for n in range(55):
        record_rename(db, tree, admin, f"Name {n}", f"Name {n + 1}")
    db.commit()
    client = login_as(admin)
    first = client.get(f"/o/{tree.org.slug}/admin/audit").get_data(as_text=True)
    assert "renamed Name 54 to Name 55" in text(first) and "renamed Name 4 to Name 5." not in text(first)
    older = re.search(r'href="([^"]+)">Older events</a>', first).group(1)
    second = client.get(unescape(older)).get_data(as_text=True)
    assert "renamed Name 4 to Name 5" in text(second) and "renamed Name 5 to Name 6" not in text(second)
    assert "Older events" not in second
    assert db.query(AuditEvent).count() == 55


def test_the_audit_trail_filters_by_person_kind_of_change_and_day(tree, admin, hr, login_as, make, db):
    nurse = make.person(tree, name="Nia Nurse", email="nia@alpha.example")
    other = make.person(tree, name="Omar Other", email="omar@alpha.example")
    client = login_as(admin)
    for person in (nurse, other):
        page = f"{people_url(tree)}/{person.id}"
        post(client, page, {"change": "permissions", "coach": "y"}, token_from=page)
    old = record_rename(db, tree, admin, "Ward 4A", tree.unit.name)
    old.created_at = datetime(2020, 3, 1, 4, 30, tzinfo=UTC)  # 29 Feb 2020, 23:30 in New York
    db.commit()
    trail_url = f"/o/{tree.org.slug}/admin/audit"

    by_person = text(client.get(trail_url, query_string={"person": "nia@"}).get_data(as_text=True))
    assert "Ada Admin changed Nia Nurse's permissions: added Coach." in by_person
    assert "Omar Other's" not in by_person and "renamed Ward 4A" not in by_person

    by_kind = text(client.get(trail_url, query_string={"action": "unit.renamed"}).get_data(as_text=True))
    listed = by_kind.split("What happened", 1)[1]
    assert "Ada Admin renamed Ward 4A to" in listed and "Nia Nurse" not in listed
    assert "29 Feb 2020, 23:30" in by_kind  # in the organisation's time zone

    days = {"since": "2020-02-29", "until": "2020-02-29"}
    on_the_day = text(client.get(trail_url, query_string=days).get_data(as_text=True))
    assert "renamed Ward 4A" in on_the_day and "Nia Nurse's permissions" not in on_the_day
    day_after = text(client.get(trail_url, query_string={"since": "2020-03-01"}).get_data(as_text=True))
    assert "renamed Ward 4A" not in day_after and "Nia Nurse's permissions" in day_after

    wrong = client.get(trail_url, query_string={"since": "yesterday", "until": "2020-01-01"})
    assert wrong.status_code == 400
    assert "From (day): Enter a date as year, month and day, for example 2026-03-31." in text(
        wrong.get_data(as_text=True)
    )
    backwards = client.get(trail_url, query_string={"since": "2021-01-01", "until": "2020-01-01"})
    assert backwards.status_code == 400
    assert "The first day must not be after the last day." in text(backwards.get_data(as_text=True))


def test_a_refused_form_is_summarised_at_the_top_with_links_to_its_fields(tree, admin, login_as, make):
    nurse = make.person(tree, name="Nia Nurse", email="nia@alpha.example")
    make.person(tree, name="Taken", email="taken@alpha.example")
    client = login_as(admin)
    page = f"{people_url(tree)}/{nurse.id}"
    details = {"change": "edit", "email": "taken@alpha.example", "name": "", "stakeholder_role": "clinician"}
    resp = post(client, page, details, token_from=page)  # the form posts to the page's own address
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    summary = html[
        html.index('<div class="error-summary"') : html.index("</div>", html.index("error-summary"))
    ]
    assert 'role="alert" tabindex="-1" autofocus' in summary
    assert '<a href="#name">Name: Enter the person&#39;s name.</a>' in summary
    assert html.index("error-summary") < html.index("<h1>")
    assert value_of(html, "email") == "taken@alpha.example"  # what was typed is kept


# --- safety ---------------------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(tree, admin, login_as, db):
    client = login_as(admin)
    resp = client.post(units_url(tree), data={"parent_id": tree.department.id, "name": "Ward 9"})
    assert resp.status_code == 400
    assert "This form has expired or was not sent from this site." in resp.get_data(as_text=True)
    resp = client.post(f"{people_url(tree)}/new", data=new_person(tree))
    assert resp.status_code == 400
    assert db.query(OrgUnit).filter_by(name="Ward 9").count() == 0
    assert db.query(User).filter_by(name="Nia Nurse").count() == 0


def test_pages_need_sign_in(tree, client):
    for path in (units_url(tree), people_url(tree), f"/o/{tree.org.slug}/admin/audit"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"]
