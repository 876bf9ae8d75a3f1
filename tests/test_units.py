"""The unit tree: add, rename, move, archive, restore, with the rules that keep it a tree."""

from __future__ import annotations

import pytest

from curricula.stakeholders import StakeholderRole
from lms.models import AuditEvent, OrgUnit, UnitKind
from lms.services import Forbidden, Invalid, NotFound
from lms.services import organizations as orgs
from lms.services.access import Actor


@pytest.fixture
def admin(make, tree) -> Actor:
    m = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True)
    return Actor(m.user, m)


def test_create_organization_makes_its_system_root(db):
    org = orgs.create_organization(db, slug="gamma", name="Gamma Health", time_zone="Europe/London")
    root = db.query(OrgUnit).filter_by(org_id=org.id).one()
    assert root.kind is UnitKind.SYSTEM and root.path == f"/{root.id}/"
    with pytest.raises(Invalid) as exc:
        orgs.create_organization(db, slug="gamma", name="Again", time_zone="Mars/Base")
    assert set(exc.value.errors) == {"slug", "time_zone"}


def test_add_unit_takes_the_level_below_its_parent(db, admin, tree):
    unit = orgs.add_unit(db, admin, parent_id=tree.department.id, name="  Ward   5C ")
    assert unit.kind is UnitKind.UNIT and unit.name == "Ward 5C"
    assert unit.path == f"{tree.department.path}{unit.id}/"
    event = db.query(AuditEvent).filter_by(action="unit.added").one()
    assert event.actor_id == admin.user.id and event.changes["parent"] == "Medicine"


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Give the unit a name."), ("x" * 121, "120 characters"), ("ward 4b", "already has a unit named")],
)
def test_bad_unit_names_are_refused_with_a_reason(db, admin, tree, name, message):
    with pytest.raises(Invalid) as exc:
        orgs.add_unit(db, admin, parent_id=tree.department.id, name=name)
    assert message in exc.value.errors["name"][0]
    assert db.query(OrgUnit).filter_by(org_id=tree.org.id).count() == 4


def test_a_unit_cannot_hold_units(db, admin, tree):
    with pytest.raises(Invalid, match="lowest level"):
        orgs.add_unit(db, admin, parent_id=tree.unit.id, name="Bay 1")


def test_move_rewrites_the_whole_subtree(db, admin, tree):
    other_facility = orgs.add_unit(db, admin, parent_id=tree.system.id, name="Community Hospital")
    orgs.move_unit(db, admin, tree.department.id, new_parent_id=other_facility.id)
    dept = db.get(OrgUnit, tree.department.id)
    ward = db.get(OrgUnit, tree.unit.id)
    assert dept.parent_id == other_facility.id
    assert dept.path == f"{other_facility.path}{dept.id}/"
    assert ward.path == f"{dept.path}{ward.id}/"
    assert db.query(AuditEvent).filter_by(action="unit.moved").one().changes["parent"] == [
        "General Hospital",
        "Community Hospital",
    ]


def test_moving_a_unit_under_its_own_child_is_refused_and_changes_nothing(db, admin, tree):
    paths = {u.id: u.path for u in db.query(OrgUnit)}
    with pytest.raises(Invalid, match="cannot move under itself or one of its own units"):
        orgs.move_unit(db, admin, tree.facility.id, new_parent_id=tree.department.id)
    with pytest.raises(Invalid, match="cannot move under itself"):
        orgs.move_unit(db, admin, tree.facility.id, new_parent_id=tree.facility.id)
    db.expire_all()
    assert {u.id: u.path for u in db.query(OrgUnit)} == paths


def test_move_must_keep_the_levels(db, admin, tree):
    with pytest.raises(Invalid, match="A unit sits under a department; General Hospital is a facility"):
        orgs.move_unit(db, admin, tree.unit.id, new_parent_id=tree.facility.id)


def test_archive_refuses_units_with_people_then_restore(db, admin, make, tree):
    with pytest.raises(Invalid, match="active person"):
        orgs.archive_unit(db, admin, tree.unit.id)  # the admin sits in Ward 4B
    empty = orgs.add_unit(db, admin, parent_id=tree.department.id, name="Ward 6")
    orgs.archive_unit(db, admin, empty.id)
    assert not db.get(OrgUnit, empty.id).active
    with pytest.raises(Invalid, match="active unit"):
        orgs.archive_unit(db, admin, tree.department.id)
    orgs.restore_unit(db, admin, empty.id)
    assert db.get(OrgUnit, empty.id).active


def test_other_organisations_units_are_not_found(db, admin, other_tree):
    with pytest.raises(NotFound):
        orgs.get_unit(db, admin, other_tree.unit.id)
    with pytest.raises(NotFound):
        orgs.rename_unit(db, admin, other_tree.unit.id, name="Mine now")
    with pytest.raises(Invalid, match="Choose a unit of this organisation"):
        orgs.add_unit(db, admin, parent_id=other_tree.department.id, name="Sneaky")


def test_hr_reads_the_tree_but_cannot_change_it(db, make, tree):
    hr = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)
    actor = Actor(hr.user, hr)
    roots = orgs.unit_tree(db, actor)
    assert [n.unit.name for n in roots] == ["Alpha Health"]
    assert roots[0].children[0].children[0].children[0].people == 1
    with pytest.raises(Forbidden):
        orgs.add_unit(db, actor, parent_id=tree.department.id, name="Ward 9")
