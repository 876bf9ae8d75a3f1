"""My learning is kept rendered between visits (lms.kept) and rendered again the moment
anything it shows changes: a status, an assignment, the published modules, the organisation's date."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from conftest import csrf_token
from sqlalchemy import select

from lms import kept
from lms.db import utcnow
from lms.models import Assignment, AssignmentSource, Membership, Progress, ProgressStatus
from lms.services import learning
from lms.services.access import default_actor


def my_learning(client) -> str:
    resp = client.get("/learning")
    assert resp.status_code == 200
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))).split())


def answer(client, slug: str, key: str, chosen: int) -> None:
    token = csrf_token(client, f"/modules/{slug}")
    resp = client.post(f"/modules/{slug}/checks/{key}", data={"csrf_token": token, "chosen": [str(chosen)]})
    assert resp.status_code == 303


def version_of(db, membership: Membership) -> int:
    return db.scalar(select(Membership.learning_version).where(Membership.id == membership.id))


def test_my_learning_follows_each_step_through_a_module_and_reading_does_not_invalidate_it(
    lib, learner, login_as, db
):
    lib.assign(learner, lib.module("pdsa", title="PDSA cycles"))
    client = login_as(learner)
    assert "0 of 1 done" in my_learning(client) and "Not started" in my_learning(client)

    client.get("/modules/pdsa")  # the first visit starts the module
    assert "PDSA cycles 10 minutes · In progress" in my_learning(client)

    kept = version_of(db, learner)
    client.get("/modules/pdsa")  # reading it again changes nothing My learning shows
    assert version_of(db, learner) == kept
    answer(client, "pdsa", "pdsa-order", 0)  # a wrong answer changes the module page, not the status
    assert version_of(db, learner) > kept
    assert "In progress" in my_learning(client)
    kept = version_of(db, learner)

    answer(client, "pdsa", "pdsa-order", 1)  # right: the module is completed
    page = my_learning(client)
    assert "1 of 1 done" in page and "PDSA cycles 10 minutes · Completed" in page
    assert version_of(db, learner) > kept


def test_an_assignment_added_redated_or_cancelled_by_any_service_shows_at_once(lib, learner, login_as, db):
    lib.assign(learner, lib.module("first", title="First module"), due_on=date(2030, 1, 2))
    client = login_as(learner)
    page = my_learning(client)
    assert "First module" in page and "Second module" not in page

    second = lib.assign(learner, lib.module("second", title="Second module"), due_on=date(2030, 5, 6))
    assert "Second module 10 minutes · Not started · Due 6 May 2030" in my_learning(client)

    second.due_on = date(2031, 3, 4)
    db.commit()
    assert "Second module 10 minutes · Not started · Due 4 Mar 2031" in my_learning(client)

    second.cancelled_at = utcnow()
    db.commit()
    page = my_learning(client)
    assert "Second module" not in page and "0 of 1 done" in page


def test_progress_changes_every_membership_of_the_person(lib, learner, make, other_tree, db):
    """Progress belongs to the person across organisations: each organisation's My learning shows it."""
    elsewhere = make.person(other_tree, email=learner.user.email)
    module = lib.module("pdsa")
    before = (version_of(db, learner), version_of(db, elsewhere))

    db.add(
        Progress(
            user_id=learner.user_id,
            module_id=module.id,
            status=ProgressStatus.IN_PROGRESS,
            started_at=utcnow(),
        )
    )
    db.commit()

    after = (version_of(db, learner), version_of(db, elsewhere))
    assert after[0] > before[0] and after[1] > before[1]
    assert learner.learning_version == after[0]  # the loaded membership reads the new value


def test_a_change_rolled_back_leaves_the_version_as_it_was(lib, learner, db):
    module = lib.module("pdsa")
    before = version_of(db, learner)
    db.add(
        Assignment(
            membership_id=learner.id,
            org_id=learner.org_id,
            user_id=learner.user_id,
            module_id=module.id,
            source=AssignmentSource.MANUAL,
            due_on=date(2030, 1, 1),
        )
    )
    db.flush()
    assert version_of(db, learner) == before + 1  # bumped in the same transaction as the change

    db.rollback()
    assert version_of(db, learner) == before


def test_a_new_content_release_renders_the_list_again(lib, learner, login_as):
    module = lib.module("pdsa", title="PDSA cycles")
    lib.assign(learner, module)
    client = login_as(learner)
    assert "PDSA cycles" in my_learning(client)

    module.title = "Testing changes with PDSA"  # as a sync rewrites a module: in a new release
    lib.release()

    page = my_learning(client)
    assert "Testing changes with PDSA" in page and "PDSA cycles" not in page


@pytest.fixture
def fixed_now(monkeypatch):
    def fix(when: datetime) -> None:
        monkeypatch.setattr(learning, "utcnow", lambda: when)

    return fix


def test_a_module_due_today_is_overdue_on_the_organisations_next_day(lib, learner, login_as, fixed_now):
    # 20:00 UTC on 24 November is 15:00 that day in New York, the test organisation's zone.
    fixed_now(datetime(2026, 11, 24, 20, 0, tzinfo=UTC))
    lib.assign(learner, lib.module("pdsa", title="PDSA cycles"), due_on=date(2026, 11, 24))
    client = login_as(learner)
    assert "Overdue" not in my_learning(client)

    fixed_now(datetime(2026, 11, 25, 5, 0, tzinfo=UTC))  # midnight has passed in New York
    page = my_learning(client)
    assert "1 overdue" in page and "Due 24 Nov 2026 Overdue" in page


def test_moving_the_organisation_to_another_time_zone_renders_the_list_again(
    lib, learner, login_as, fixed_now, db
):
    fixed_now(datetime(2026, 11, 24, 20, 0, tzinfo=UTC))  # still the 24th in New York
    lib.assign(learner, lib.module("pdsa", title="PDSA cycles"), due_on=date(2026, 11, 24))
    client = login_as(learner)
    assert "Overdue" not in my_learning(client)

    learner.organization.time_zone = "Pacific/Auckland"  # already the 25th there
    db.commit()
    assert "Due 24 Nov 2026 Overdue" in my_learning(client)


# --- the store itself -----------------------------------------------------------------------------


def counted(renders: list[int], n: int):
    def render() -> kept.Part:
        renders.append(n)
        return kept.Part((f"<p>{n}</p>",))

    return render


def test_a_part_is_rendered_once_per_key():
    parts, renders = kept.Store(capacity=10), []
    first = parts.get(("k",), counted(renders, 1))
    again = parts.get(("k",), counted(renders, 2))
    assert first == again == kept.Part(("<p>1</p>",))
    assert renders == [1]


def test_the_least_recently_used_part_makes_room():
    parts, renders = kept.Store(capacity=2), []
    parts.get(("a",), counted(renders, 1))
    parts.get(("b",), counted(renders, 2))
    parts.get(("a",), counted(renders, 3))  # a is used again: b is now the oldest
    parts.get(("c",), counted(renders, 4))
    parts.get(("a",), counted(renders, 5))
    parts.get(("b",), counted(renders, 6))
    assert renders == [1, 2, 4, 6]
    assert len(parts) == 2


def test_with_no_room_every_request_renders():
    parts, renders = kept.Store(capacity=0), []
    parts.get(("k",), counted(renders, 1))
    second = parts.get(("k",), counted(renders, 2))
    assert second == kept.Part(("<p>2</p>",)) and renders == [1, 2] and len(parts) == 0


def test_a_slot_is_filled_per_response_and_escaped():
    part = kept.Part(('<input value="', '">'), ("csrf_token",))
    assert part.fill({"csrf_token": "a<b"}) == '<input value="a&lt;b">'
    assert part.fill({"csrf_token": "other"}) == '<input value="other">'


def test_the_store_is_sized_by_lms_page_cache_entries(tmp_path):
    from lms import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", "PAGE_CACHE_ENTRIES": 3})
    assert kept.store(app).capacity == 3
    from lms.config import load

    assert load({"LMS_PAGE_CACHE_ENTRIES": "0"}, {"INSTANCE_PATH": str(tmp_path)})["PAGE_CACHE_ENTRIES"] == 0
    assert load({}, {"INSTANCE_PATH": str(tmp_path)})["PAGE_CACHE_ENTRIES"] == 1000


def test_the_version_changes_with_the_day_and_the_release(lib, learner, db):
    actor = default_actor(learner.user)
    today = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    same = kept.learning_version(db, actor, now=today)
    assert kept.learning_version(db, actor, now=today + timedelta(minutes=5)) == same
    assert kept.learning_version(db, actor, now=today + timedelta(days=1)) != same
    lib.release()
    assert kept.learning_version(db, actor, now=today) != same


def test_the_home_pages_learning_card_follows_the_same_changes(lib, learner, login_as):
    lib.assign(learner, lib.module("pdsa", title="PDSA cycles"))
    client = login_as(learner)
    assert "Next: PDSA cycles" in home_page(client) and "1 to do; 0 of 1 done." in home_page(client)

    page = client.get("/modules/pdsa").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/modules/pdsa/checks/pdsa-order", data={"csrf_token": token, "chosen": ["1"]})

    home = home_page(client)
    assert "0 to do; 1 of 1 done." in home and "Next:" not in home


def home_page(client) -> str:
    resp = client.get("/")
    assert resp.status_code == 200
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))).split())
