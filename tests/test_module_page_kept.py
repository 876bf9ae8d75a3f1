"""A module page is kept rendered between visits (lms.kept) and rendered again the moment
anything it shows changes; each response carries the CSRF token of its own session."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest.mock import patch

from learning_factory import checked_options
from sqlalchemy import select, update

from lms import kept
from lms.db import utcnow
from lms.models import Progress, ProgressStatus
from lms.services import modules
from lms.services.access import default_actor


def token_in(html: str) -> str:
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', html))
    assert len(tokens) == 1, tokens
    return tokens.pop()


def test_each_session_gets_its_own_token_in_a_kept_page_and_can_answer_with_it(lib, learner, login_as):
    lib.module("pdsa", title="PDSA cycles")
    laptop, phone = login_as(learner), login_as(learner)  # one person, two sessions, two CSRF secrets

    on_laptop = laptop.get("/modules/pdsa").get_data(as_text=True)
    on_phone = phone.get("/modules/pdsa").get_data(as_text=True)  # the same version: from memory

    phone_token = token_in(on_phone)
    assert phone_token != token_in(on_laptop)
    resp = phone.post("/modules/pdsa/checks/pdsa-order", data={"csrf_token": phone_token, "chosen": ["1"]})
    assert resp.status_code == 303
    assert "Correct." in phone.get("/modules/pdsa").get_data(as_text=True)


def test_an_answer_shows_on_the_next_visit_though_the_page_was_kept(lib, learner, login_as):
    lib.module("pdsa", title="PDSA cycles")
    client = login_as(learner)
    page = client.get("/modules/pdsa").get_data(as_text=True)
    assert "Not quite" not in page

    client.post("/modules/pdsa/checks/pdsa-order", data={"csrf_token": token_in(page), "chosen": ["0"]})
    page = client.get("/modules/pdsa").get_data(as_text=True)
    assert "Not quite — try again." in page and checked_options(page, "pdsa-order") == {0}

    client.post(
        "/modules/pdsa/reflections/what-matters", data={"csrf_token": token_in(page), "text": "Fewer falls."}
    )
    assert "Fewer falls." in client.get("/modules/pdsa").get_data(as_text=True)


def test_completing_a_prerequisite_elsewhere_removes_the_notice(lib, learner, login_as):
    lib.module("basics", title="The basics")
    lib.module("advanced", title="Advanced", requires=["basics"])
    client = login_as(learner)
    assert "Builds on" in client.get("/modules/advanced").get_data(as_text=True)

    basics = client.get("/modules/basics").get_data(as_text=True)
    client.post("/modules/basics/checks/pdsa-order", data={"csrf_token": token_in(basics), "chosen": ["1"]})

    assert "Builds on" not in client.get("/modules/advanced").get_data(as_text=True)


def test_a_new_release_renders_the_page_again(lib, learner, login_as):
    module = lib.module("pdsa", title="PDSA cycles")
    client = login_as(learner)
    assert '<h1 id="module-title">PDSA cycles</h1>' in client.get("/modules/pdsa").get_data(as_text=True)

    module.title, module.content_hash = "Testing changes with PDSA", "v2"  # as a sync rewrites it
    lib.release()

    page = client.get("/modules/pdsa").get_data(as_text=True)
    assert "<title>Testing changes with PDSA" in page
    assert '<h1 id="module-title">Testing changes with PDSA</h1>' in page


def test_a_visit_is_noted_once_a_minute_and_reading_does_not_change_the_version(lib, learner, db, login_as):
    lib.module("pdsa")
    client, actor = login_as(learner), default_actor(learner.user)
    assert client.get("/modules/pdsa").status_code == 200  # the first visit starts the progress
    progress = db.scalar(select(Progress))
    assert progress is not None and progress.status is ProgressStatus.IN_PROGRESS
    db.expire_all()  # the visit bumped the learning version (a progress started)
    found = modules.identity(db, "pdsa")
    version = kept.module_version(db, actor, found)

    an_hour_ago = utcnow() - timedelta(hours=1)
    db.execute(update(Progress).values(last_seen_at=an_hour_ago))
    assert client.get("/modules/pdsa").status_code == 200  # within the minute: not noted again
    db.expire_all()
    assert db.scalar(select(Progress.last_seen_at)) == an_hour_ago
    assert kept.module_version(db, actor, found) == version  # reading is no reason to render again

    later = kept.monotonic() + modules.SEEN_AGAIN_AFTER.total_seconds() + 1
    with patch.object(kept, "monotonic", lambda: later):
        assert client.get("/modules/pdsa").status_code == 200
    db.expire_all()
    assert db.scalar(select(Progress.last_seen_at)) > an_hour_ago + timedelta(minutes=59)
    assert kept.module_version(db, actor, found) == version


def test_a_retired_module_is_gone_for_whoever_never_started_it(lib, learner, make, tree, login_as):
    module = lib.module("pdsa")
    reader = make.person(tree, email="reader@alpha.test")
    assert login_as(reader).get("/modules/pdsa").status_code == 200
    module.retired_at = utcnow()
    lib.release()
    assert login_as(reader).get("/modules/pdsa").status_code == 200  # they started it: they keep it
    assert login_as(learner).get("/modules/pdsa").status_code == 404
