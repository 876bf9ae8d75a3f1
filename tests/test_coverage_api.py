"""Coverage in the JSON API: a subtree by role and level, the overdue list and a person's record, for HR
and org admins, described in the generated document."""

from __future__ import annotations

from test_coverage_pages import ward  # noqa: F401  (the fixture: a ward with one done and one overdue)


def test_hr_reads_a_subtree_by_role_and_level_with_the_units_below(login_as, tree, ward):  # noqa: F811
    body = login_as(ward["hr"]).get(f"/api/v1/orgs/{tree.org.slug}/coverage?unit_id={tree.facility.id}").json
    assert body["unit"] == {"id": tree.facility.id, "name": "General Hospital"}
    awareness = next(x for x in body["lines"] if x["level"] == "awareness")
    assert awareness == {
        "role": "clinician",
        "level": "awareness",
        "needed": 4,
        "completed": 1,
        "percent": 25,
        "overdue": 1,
    }
    assert {u["unit"]["name"] for u in body["units"]} == {"Medicine", "Surgery"}
    assert body["staff"] == 5 and body["pyramid"][0]["level"] == "awareness"  # four clinicians and HR


def test_the_overdue_list_names_who_is_late_and_since_when(login_as, tree, ward):  # noqa: F811
    body = login_as(ward["hr"]).get(f"/api/v1/orgs/{tree.org.slug}/coverage/overdue").json
    assert body["total"] == 1
    assert body["items"][0]["email"] == "late@alpha.example" and body["items"][0]["level"] == "awareness"


def test_a_person_record_lists_assignments_progress_and_overdue(login_as, tree, ward):  # noqa: F811
    client = login_as(ward["hr"])
    record = client.get(f"/api/v1/orgs/{tree.org.slug}/people/{ward['done'].id}/record").json
    mfi = next(i for i in record["items"] if i["module"] == "mfi")
    assert mfi["status"] == "completed" and mfi["completed_at"].endswith("Z") and not mfi["overdue"]
    late = client.get(f"/api/v1/orgs/{tree.org.slug}/people/{ward['late'].id}/record").json
    assert [i["module"] for i in late["items"] if i["overdue"]] == ["mfi"]


def test_learners_get_403_and_a_wrong_level_a_400_naming_it(login_as, tree, ward):  # noqa: F811
    assert login_as(ward["done"]).get(f"/api/v1/orgs/{tree.org.slug}/coverage").status_code == 403
    bad = login_as(ward["hr"]).get(f"/api/v1/orgs/{tree.org.slug}/coverage?dose=black-belt")
    assert bad.status_code == 400 and "dose" in bad.json["fields"]


def test_the_document_describes_the_coverage_operations(client):
    doc = client.get("/api/v1/openapi.json").json
    assert {
        "/orgs/{org}/coverage",
        "/orgs/{org}/coverage/overdue",
        "/orgs/{org}/people/{membership_id}/record",
    } <= set(doc["paths"])
    assert "CoverageQuery" not in doc["components"]["schemas"]
    assert {"Coverage", "OverduePage", "PersonRecord"} <= set(doc["components"]["schemas"])
