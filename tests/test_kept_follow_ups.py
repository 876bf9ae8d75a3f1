"""The follow-up board is kept rendered between visits (lms.kept.FOLLOW_UP_BOARD), 50 follow-ups to a
section's page with exact counts, and rendered again the moment anything it shows changes: a follow-up
raised, updated, reassigned, closed or escalated, a unit or a person renamed, a change of who leads a
unit, a new day. A kept board is its person's alone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from gemba_factory import Leaders, actor, follow_up, leaders_of
from sqlalchemy import select, update

from curricula.stakeholders import StakeholderRole
from lms.models import FollowUp, Organization
from lms.services import escalation, follow_ups


@pytest.fixture
def people(make, tree) -> Leaders:
    return leaders_of(make, tree)


def words(client, path: str = "/follow-ups") -> str:
    resp = client.get(path)
    assert resp.status_code == 200
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))).split())


def section(client, scope: str, path: str = "/follow-ups") -> list[str]:
    """The titles a section of the page lists, in order."""
    html = client.get(path).get_data(as_text=True)
    part = re.search(rf'<section aria-labelledby="{scope}-heading".*?</section>', html, re.S)
    if part is None:
        return []
    return [unescape(t) for t in re.findall(r'<a href="/follow-ups/\d+">([^<]*)</a>', part.group(0))]


def raise_for(db, people: Leaders, title: str, *, owner=None, days: int = 3) -> FollowUp:
    return follow_ups.raise_follow_up(
        db,
        actor(people.unit),
        follow_ups.NewFollowUp(
            title,
            (owner or people.nurse).id,
            follow_ups.local_today(people.unit.organization) + timedelta(days),
        ),
    )


def version_of(db, people: Leaders) -> int:
    return db.scalar(select(Organization.follow_up_version).where(Organization.id == people.nurse.org_id))


def test_a_board_read_again_is_the_kept_one_until_a_follow_up_changes(db, people, login_as):
    item = raise_for(db, people, "Restock the crash cart")
    nia = login_as(people.nurse)
    assert section(nia, "mine") == ["Restock the crash cart"]
    db.execute(update(FollowUp).where(FollowUp.id == item.id).values(title="Sneaked in"))
    db.commit()
    assert section(nia, "mine") == ["Restock the crash cart"]  # no service wrote it: nothing bumped
    raise_for(db, people, "Fix the bed alarm", days=1)
    assert section(nia, "mine") == ["Fix the bed alarm", "Sneaked in"]


def test_each_change_to_a_follow_up_shows_at_once_on_every_board_it_is_on(db, people, login_as):
    item = raise_for(db, people, "Restock the crash cart")
    nia, uma, dev = login_as(people.nurse), login_as(people.unit), login_as(people.department)
    assert "Mine (1 open)" in words(nia) and section(uma, "raised") == ["Restock the crash cart"]
    assert section(dev, "units") == ["Restock the crash cart"]

    follow_ups.update(
        db, actor(people.nurse), item.id, title="Restock both carts", description="", due_on=item.due_on
    )
    for client, scope in ((nia, "mine"), (uma, "raised"), (uma, "units"), (dev, "units")):
        assert section(client, scope) == ["Restock both carts"]

    follow_ups.reassign(db, actor(people.nurse), item.id, owner_id=people.admin.id)
    assert section(nia, "mine") == [] and "Mine (0 open)" in words(nia)
    ada = login_as(people.admin)
    assert section(ada, "mine") == ["Restock both carts"]
    assert "owner Ada Admin" in words(uma)

    follow_ups.close(db, actor(people.admin), item.id, resolution="Both restocked")
    page = words(ada)
    assert "Mine (0 open)" in page and "Closed" in page and "0 open, 1 in all" in page
    assert "Closed" in words(dev)


def test_an_escalation_by_the_scheduler_shows_on_the_leaders_board(db, people, tree, login_as):
    item = follow_up(db, people.unit, people.nurse, tree.unit.id, date(2026, 3, 7))
    dev = login_as(people.department)
    assert section(dev, "escalated") == [] and "Escalated to me (0 open)" in words(dev)
    assert escalation.escalate_overdue(db, datetime(2026, 3, 10, 15, 0, tzinfo=UTC)) == 1
    page = words(dev)
    assert section(dev, "escalated") == [item.title] and "Escalated to me (1 open)" in page
    assert "Escalated to department" in page


def test_a_renamed_owner_or_unit_shows_at_once(db, people, tree, login_as):
    raise_for(db, people, "Restock the crash cart")
    uma = login_as(people.unit)
    assert f"{tree.unit.name} · owner Nia Nurse" in words(uma)
    before = version_of(db, people)
    people.nurse.user.name = "Nia Newname"
    db.commit()
    assert version_of(db, people) > before
    assert "owner Nia Newname" in words(uma)
    tree.unit.name = "5 East"
    db.commit()
    assert "5 East · owner Nia Newname" in words(uma)


def test_becoming_or_ceasing_to_lead_a_unit_changes_my_units_at_once(db, people, tree, make, login_as):
    raise_for(db, people, "Restock the crash cart")
    ned = make.person(tree, StakeholderRole.CLINICIAN, name="Ned Next", unit=tree.unit)
    ned_client = login_as(ned)
    assert section(ned_client, "units") == []
    ned.stakeholder_role = StakeholderRole.UNIT_LEADER  # Ned now leads 4 West
    db.commit()
    assert section(ned_client, "units") == ["Restock the crash cart"]
    ned.unit_id = tree.facility.id  # moved to the facility, which executives lead: Ned leads nothing
    db.commit()
    assert section(ned_client, "units") == []


def test_a_follow_up_becomes_overdue_on_the_organisations_next_day(db, people, login_as, monkeypatch):
    # 20:00 UTC on 24 November is 15:00 that day in New York, the test organisation's zone.
    monkeypatch.setattr(follow_ups, "utcnow", lambda: datetime(2026, 11, 24, 20, 0, tzinfo=UTC))
    raise_for(db, people, "Restock the crash cart", days=0)
    nia = login_as(people.nurse)
    assert "Overdue" not in words(nia)
    monkeypatch.setattr(follow_ups, "utcnow", lambda: datetime(2026, 11, 25, 5, 0, tzinfo=UTC))
    assert "Restock the crash cart Overdue" in words(nia)


def test_fifty_to_a_section_with_exact_counts_and_every_page_a_link_away(db, people, login_as):
    made = [raise_for(db, people, f"Item {n:03d}", days=1 + n) for n in range(120)]
    for item in made[:5]:
        follow_ups.close(db, actor(people.nurse), item.id, resolution="Done")
    nia = login_as(people.nurse)
    html = nia.get("/follow-ups").get_data(as_text=True)
    page = words(nia)
    assert "Mine (115 open)" in page and "115 open, 120 in all; the first 50 shown" in page
    mine = section(nia, "mine")
    assert len(mine) == 50 and mine[0] == "Item 005" and mine[-1] == "Item 054"
    assert 'href="/follow-ups?section=mine">All 120 of Mine' in html

    first = words(nia, "/follow-ups?section=mine")
    assert "Follow-ups: Mine" in first and "page 1 of 3" in first and "Back to the whole board" in first
    assert section(nia, "raised", "/follow-ups?section=mine") == []  # only the section asked for
    third = section(nia, "mine", "/follow-ups?section=mine&page=3")
    # Open ones first by due date, the closed ones last.
    assert len(third) == 20 and third[0] == "Item 105"
    assert sorted(third[-5:]) == ["Item 000", "Item 001", "Item 002", "Item 003", "Item 004"]
    html = nia.get("/follow-ups?section=mine&page=2").get_data(as_text=True)
    assert 'aria-label="Pages of Mine"' in html
    assert 'href="/follow-ups?section=mine">Previous page' in html
    assert 'href="/follow-ups?section=mine&amp;page=3">Next page' in html

    assert "There is no page 7" in words(nia, "/follow-ups?section=mine&page=7")
    assert nia.get("/follow-ups?section=nobodys").status_code == 404
    assert nia.get("/follow-ups?section=mine&page=x").status_code == 400


def test_a_kept_board_is_never_served_to_anyone_else(db, people, make, tree, login_as):
    raise_for(db, people, "Nia's own promise")
    nia = login_as(people.nurse)
    assert section(nia, "mine") == ["Nia's own promise"]  # kept now, for Nia
    colleague = make.person(tree, StakeholderRole.CLINICIAN, name="Cole Colleague", unit=tree.unit)
    cole = login_as(colleague)
    assert section(cole, "mine") == [] and "Nia's own promise" not in words(cole)
    raise_for(db, people, "Cole's own promise", owner=colleague)
    assert section(cole, "mine") == ["Cole's own promise"]
    assert section(nia, "mine") == ["Nia's own promise"]
    for path in ("/follow-ups?section=mine", "/follow-ups?section=mine&page=2"):
        assert "Nia's own promise" not in words(cole, path)
