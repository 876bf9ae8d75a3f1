"""The coverage pages in a real browser at 360 and 1280 px: axe-clean, no sideways scrolling on a phone,
and every number a link to the people behind it, down to a person's learning record."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from conftest import PASSWORD
from sqlalchemy import select

from curricula.corpus import load_corpus
from curricula.stakeholders import StakeholderRole
from lms.models import Assignment, Module
from lms.services import content, modules, people
from lms.services.access import Actor
from lms.services.coverage_upkeep import org_today

pytestmark = pytest.mark.browser


@pytest.fixture
def ward(db, make, tree):
    """The real content, an HR administrator and four clinicians on the ward: one done with a module, one
    overdue, one with a name a spreadsheet would take for a formula."""
    corpus = load_corpus(Path(__file__).parents[2] / "content")
    if corpus.problems:
        pytest.skip(f"content/ has problems: {corpus.problems[0]}")
    content.sync(db, corpus)
    admin = make.person(tree, StakeholderRole.EXECUTIVE, email="ida@alpha.test", name="Ida Mensah", hr=True)
    hr = Actor(admin.user, admin)
    added = [
        people.add_person(
            db,
            hr,
            people.PersonInput(
                email=f"c{n}@alpha.example", name=name, stakeholder_role="clinician", unit_id=tree.unit.id
            ),
            welcome=False,
        )
        for n, name in enumerate(
            ["Ada Lovelace-Byron", "Ben Okafor", "=SUM(A1)", "Chidinma Featherstonehaugh"]
        )
    ]
    late = db.scalars(
        select(Assignment)
        .join(Module, Module.id == Assignment.module_id)
        .where(Assignment.membership_id == added[1].id, Module.dose == "awareness")
    ).first()
    late.due_on = org_today(db, tree.org.id) - timedelta(days=2)
    db.commit()
    first = db.scalars(select(Assignment).where(Assignment.membership_id == added[0].id)).first()
    module = first.module
    for check in module.checks:
        right = [i for i, option in enumerate(check["options"]) if option["correct"]]
        modules.answer_check(db, added[0].user, module.slug, check["key"], right)
    db.commit()
    return tree


@pytest.mark.parametrize("size", ["phone_page", "page"])
def test_hr_follows_a_number_to_the_people_and_a_person_to_their_record(
    request, size, visit, sign_in, follow, ward
):
    page = request.getfixturevalue(size)
    visit(page, "/sign-in")
    sign_in(page, "ida@alpha.test", PASSWORD)
    slug = ward.org.slug
    visit(page, f"/o/{slug}/coverage/")
    visit(page, f"/o/{slug}/coverage/?unit={ward.facility.id}")
    assert "below target" in page.get_by_role("table", name="Per cent completed by unit").inner_text()
    overdue = page.get_by_role("link", name="Clinician (point-of-care staff) overdue at Awareness")
    assert overdue.inner_text().startswith("1")
    follow(page, overdue)
    assert "Ben Okafor" in page.get_by_role("table").inner_text()
    follow(page, page.get_by_role("link", name="Ben Okafor"))
    record = page.get_by_role("region", name="Learning record")
    assert "Overdue" in record.inner_text()
    visit(page, f"/o/{slug}/coverage/?level=nothing", status=400)
