"""Importing a unit tree from a CSV file (`lms units import FILE --org S`, and the Units page's upload):
all or nothing, every problem by row and column, idempotent, parents in any order."""

from __future__ import annotations

import io
import re

import pytest
from conftest import csrf_token
from sqlalchemy import func, select

from lms.cli import main
from lms.models import AuditEvent, Membership, OrgUnit, OutboxMessage, UnitKind, User
from lms.services import units_import
from lms.services.access import Actor

HEADER = "code,name,level,parent code\n"

# Children before their parents, on purpose.
HOSPITAL = HEADER + (
    "W4W,4 West,unit,MED\n"
    "MED,Medicine,department,RGH\n"
    "RGH,Riverbend General Hospital,facility,\n"
    "ED,Emergency,department,RGH\n"
    "AED,Adult Emergency,unit,ED\n"
)


def tree_of(db, org_id: int) -> list[tuple[str | None, str, str, str | None]]:
    """(code, name, level, parent's name) of every unit, in tree order."""
    db.expire_all()
    units = db.scalars(select(OrgUnit).where(OrgUnit.org_id == org_id).order_by(OrgUnit.path)).all()
    return [(u.code, u.name, u.kind.value, u.parent.name if u.parent else None) for u in units]


@pytest.fixture
def admin(make, tree) -> Membership:
    return make.person(tree, org_admin=True)


@pytest.fixture
def actor(admin) -> Actor:
    return Actor(admin.user, admin)


def problems_of(db, actor, text: str) -> list[str]:
    with pytest.raises(units_import.ImportProblems) as refused:
        units_import.import_units(db, actor, text.encode())
    db.rollback()
    return refused.value.problems


# --- the service ------------------------------------------------------------------------------------------


def test_a_file_builds_the_tree_with_parents_after_children(db, tree, actor):
    report = units_import.import_units(db, actor, HOSPITAL.encode())
    assert sorted(report.added) == [
        "4 West", "Adult Emergency", "Emergency", "Medicine", "Riverbend General Hospital",
    ]  # fmt: skip
    built = tree_of(db, tree.org.id)
    assert ("W4W", "4 West", "unit", "Medicine") in built
    assert ("RGH", "Riverbend General Hospital", "facility", tree.system.name) in built
    # By code: the fixture's tree has a "Medicine" of its own.
    paths = {
        u.code: u.path for u in db.scalars(select(OrgUnit).where(OrgUnit.org_id == tree.org.id)) if u.code
    }
    assert paths["W4W"].startswith(paths["MED"]) and paths["MED"].startswith(paths["RGH"])
    assert report.left_alone == 4  # the fixture's own system, facility, department and unit


def test_importing_the_same_file_again_changes_nothing(db, tree, actor):
    units_import.import_units(db, actor, HOSPITAL.encode())
    db.commit()
    before = tree_of(db, tree.org.id)
    report = units_import.import_units(db, actor, HOSPITAL.encode())
    assert (report.added, report.renamed, report.moved, report.unchanged) == ([], [], [], 5)
    assert tree_of(db, tree.org.id) == before


def test_a_known_code_renames_and_moves_its_unit_and_units_not_in_the_file_stay(db, tree, actor):
    units_import.import_units(db, actor, HOSPITAL.encode())
    db.commit()
    edited = HEADER + "W4W,Ward 4 West,unit,ED\n"
    report = units_import.import_units(db, actor, edited.encode())
    assert (report.renamed, report.moved) == (["Ward 4 West"], ["Ward 4 West"])
    built = tree_of(db, tree.org.id)
    assert ("W4W", "Ward 4 West", "unit", "Emergency") in built
    assert ("AED", "Adult Emergency", "unit", "Emergency") in built  # not in the file: left alone
    moved = db.scalar(select(OrgUnit).where(OrgUnit.code == "W4W"))
    emergency = db.scalar(select(OrgUnit).where(OrgUnit.code == "ED"))
    assert moved.path == f"{emergency.path}{moved.id}/"


def test_every_problem_is_reported_by_row_and_column_in_one_pass_and_nothing_is_applied(db, tree, actor):
    text = HEADER + (
        "F1,North Hospital,facility,\n"
        "D1,,department,F1\n"
        "U1,Ward A,ward,D1\n"
        "F1,South Hospital,facility,\n"
        ",No Code,facility,\n"
        "D2,Medicine,department,F9\n"
        "U2,Ward B,unit,F1\n"
        "D3,Surgery,department,\n"
        "D4,Surgery,department,F1\n"
        "D5,surgery,department,F1\n"
    )
    assert problems_of(db, actor, text) == [
        "row 3, column name: give the unit a name.",
        "row 4, column level: 'ward' is not a level; use one of system, facility, department, unit.",
        "row 5, column code: the code F1 is on row 2 too.",
        "row 6, column code: give the unit a code.",
        "row 7, column parent code: no unit has the code F9, in the file or in the tree.",
        "row 8, column parent code: a unit sits under a department; F1 is a facility.",
        "row 9, column parent code: give the code of the facility this department is in.",
        "row 11, column name: North Hospital would have two units named 'surgery' (row 10).",
    ]
    assert problems_of(db, actor, HEADER + "F1,General Hospital,facility,\n") == [
        f"row 2, column name: {tree.system.name} would have two units named 'General Hospital' "
        "(the tree's General Hospital)."
    ]
    assert db.scalar(select(func.count()).where(OrgUnit.org_id == tree.org.id)) == 4


def test_a_cycle_is_refused_in_the_file_and_through_the_tree(db, tree, actor):
    cycle = HEADER + "D1,Medicine,department,F1\nF1,North,facility,D1\n"
    assert problems_of(db, actor, cycle) == [
        "row 3, column parent code: a facility sits under a system; D1 is a department."
    ]
    assert problems_of(db, actor, HEADER + "S,Root,system,S\n") == [
        "row 2, column parent code: the system is the top of the tree: leave this blank."
    ]
    units_import.import_units(
        db, actor, (HEADER + "F1,North,facility,\nD1,Medicine,department,F1\n").encode()
    )
    db.commit()
    # The tree's F1 put under its own department D1.
    assert problems_of(db, actor, HEADER + "F1,North,facility,D1\n") == [
        "row 2, column parent code: a facility sits under a system; D1 is a department."
    ]


def test_a_known_code_cannot_change_level_and_an_archived_unit_is_named(db, tree, actor):
    units_import.import_units(
        db, actor, (HEADER + "F1,North,facility,\nD1,Medicine,department,F1\n").encode()
    )
    db.commit()
    assert problems_of(db, actor, HEADER + "D1,Medicine,facility,\n") == [
        "row 2, column level: Medicine (D1) is a department; an import does not change a unit's level "
        "(give a new code for a new unit)."
    ]
    db.scalar(select(OrgUnit).where(OrgUnit.code == "D1")).archived_at = tree.org.created_at
    db.commit()
    assert problems_of(db, actor, HEADER + "D1,Medicine,department,F1\n") == [
        "row 2, column code: Medicine (D1) is archived: restore it on the Units page first."
    ]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "row 1: the file is empty; its first row names the columns code, name, level, parent code."),
        (
            b"code;name;level;parent code\n",
            "missing: code, name, level, parent code (the file may use semicolons",
        ),
        (b"code,name,level\nF1,North,facility\n", "row 1: the header needs the columns code, name, level, "),
        (HEADER.encode(), "row 2: the file has a header but no units."),
        ("code,name,level,parent code\nF1,Hôpital Nord,facility,\n".encode("latin-1"), "not UTF-8 text"),
        (
            b"code,name,level,parent code\nF1,North, East,facility,\n",
            "row 2: it has 5 cells but the header 4",
        ),
    ],
)
def test_a_file_that_cannot_be_read_says_what_to_fix(db, tree, actor, data, problem):
    with pytest.raises(units_import.ImportProblems) as refused:
        units_import.import_units(db, actor, data)
    assert problem in refused.value.problems[0]


def test_a_spreadsheets_byte_order_mark_blank_lines_and_a_system_row_are_understood(db, tree, actor):
    text = (
        "\ufeffCode,Name,Level,Parent_Code\r\n"
        "SYS,Alpha Health System,system,\r\n"
        ",,,\r\n"
        "F1,North,facility,SYS\r\n"
    )
    report = units_import.import_units(db, actor, text.encode("utf-8"))
    assert (report.added, report.renamed) == (["North"], ["Alpha Health System"])
    built = tree_of(db, tree.org.id)
    assert built[0] == ("SYS", "Alpha Health System", "system", None)
    assert ("F1", "North", "facility", "Alpha Health System") in built


def test_only_an_org_admin_imports_and_each_change_is_audited(db, make, tree, actor):
    from lms.services import Forbidden

    hr = make.person(tree, hr=True)
    with pytest.raises(Forbidden):
        units_import.import_units(db, Actor(hr.user, hr), HOSPITAL.encode())
    units_import.import_units(db, actor, HOSPITAL.encode())
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.org_id == tree.org.id).order_by(AuditEvent.id)
    ).all()
    assert actions.count("unit.added") == 5 and actions[-1] == "units.imported"


# --- the command ------------------------------------------------------------------------------------------


@pytest.fixture
def lms(app, ctx):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(main, list(args))


def test_the_command_imports_a_file_and_lists_every_problem_of_a_bad_one(db, tree, lms, tmp_path):
    good = tmp_path / "units.csv"
    good.write_text(HOSPITAL)
    result = lms("units", "import", str(good), "--org", "alpha")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Imported units.csv into alpha: 5 added, 0 renamed, 0 moved, 0 unchanged; "
        "4 unit(s) not in the file left as they were."
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "X1,,facility,\nX2,Ward,unit,NOPE\n")
    result = lms("units", "import", str(bad), "--org", "alpha")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Nothing was imported: bad.csv has 2 problem(s).",
        "  row 2, column name: give the unit a name.",
        "  row 3, column parent code: no unit has the code NOPE, in the file or in the tree.",
    ]
    assert lms("units", "import", str(good), "--org", "nope").output.strip() == (
        "Error: No organisation has the slug 'nope' (see `lms org list`)."
    )


# --- the Units page ---------------------------------------------------------------------------------------


def upload(client, slug: str, text: str):
    token = csrf_token(client, f"/o/{slug}/admin/units")
    return client.post(
        f"/o/{slug}/admin/units",
        data={"csrf_token": token, "change": "import", "file": (io.BytesIO(text.encode()), "units.csv")},
        content_type="multipart/form-data",
    )


def test_the_units_page_uploads_a_file_and_shows_its_problems(db, tree, admin, login_as):
    client = login_as(admin)
    response = upload(client, "alpha", HEADER + "F1,,facility,\nD1,Medicine,department,F9\n")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    assert "<li>row 2, column name: give the unit a name.</li>" in page
    response = upload(client, "alpha", HOSPITAL)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "The units file was imported: 5 added" in page
    assert "Adult Emergency" in page


# --- end to end: a fresh organisation ---------------------------------------------------------------------


def test_a_new_organisation_is_built_by_its_first_admin_from_the_invitation_on(app, db, lms, client):
    """`lms org create`, the emailed link, a password, sign in, add a unit on the Units page, import."""
    result = lms(
        "org", "create", "--slug", "st-marys", "--name", "St Mary's Hospital", "--time-zone", "Europe/London",
        "--admin-email", "dana@stmarys.example", "--admin-name", "Dana Whitfield",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = db.scalar(select(OutboxMessage.body_text).where(OutboxMessage.to_addr == "dana@stmarys.example"))
    link = re.search(re.escape(app.config["BASE_URL"]) + r"(/reset/\S+)", body).group(1)
    token = csrf_token(client, link)
    chosen = client.post(
        link,
        data={"csrf_token": token, "password": "a fine long password", "confirm": "a fine long password"},
    )
    assert chosen.status_code == 302
    token = csrf_token(client, "/sign-in")
    signed_in = client.post(
        "/sign-in",
        data={"csrf_token": token, "email": "dana@stmarys.example", "password": "a fine long password"},
    )
    assert signed_in.status_code == 302
    units_page = client.get("/o/st-marys/admin/units")
    assert units_page.status_code == 200
    root = db.scalar(
        select(OrgUnit)
        .join(OrgUnit.organization)
        .where(
            OrgUnit.parent_id.is_(None), OrgUnit.kind == UnitKind.SYSTEM, OrgUnit.name == "St Mary's Hospital"
        )
    )
    token = csrf_token(client, "/o/st-marys/admin/units")
    added = client.post(
        "/o/st-marys/admin/units", data={"csrf_token": token, "parent_id": root.id, "name": "Main Site"}
    )
    assert added.status_code == 302
    assert "Main Site was added under St Mary&#39;s Hospital." in client.get(added.location).get_data(
        as_text=True
    )
    imported = upload(client, "st-marys", HEADER + "MED,Medicine,department,MAIN\nMAIN,Main Site,facility,\n")
    # "Main Site" exists already without a code: the file's MAIN would be a second one beside it.
    assert imported.status_code == 400
    assert "St Mary&#39;s Hospital would have two units named &#39;Main Site&#39;" in imported.get_data(
        as_text=True
    )
    imported = upload(client, "st-marys", HEADER + "MED,Medicine,department,NS\nNS,North Site,facility,\n")
    assert imported.status_code == 302
    built = tree_of(db, root.org_id)
    assert built == [
        (None, "St Mary's Hospital", "system", None),
        (None, "Main Site", "facility", "St Mary's Hospital"),
        ("NS", "North Site", "facility", "St Mary's Hospital"),
        ("MED", "Medicine", "department", "North Site"),
    ]
    user = db.scalar(select(User).where(User.email == "dana@stmarys.example"))
    assert user.name == "Dana Whitfield"
