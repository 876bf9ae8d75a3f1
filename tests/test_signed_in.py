"""A worker's copy of who is signed in (lms.signed_in), on PostgreSQL: a page asks the database nothing
once the copy holds the person, and every change to what the copy holds, made by this worker or by any
other client of the database, is seen by the next request.

The tests commit for real (the copy learns of changes from PostgreSQL's notifications, sent on commit).
`outsider` plays another worker: a client of the same database that the app's own engine never sees.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from conftest import csrf_token
from flask import Flask
from sqlalchemy import create_engine, event, text, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from curricula.stakeholders import StakeholderRole
from lms import signed_in
from lms.db import utcnow
from lms.models import Invitation, Membership, Organization, OrgUnit, UserSession
from lms.services import sessions

pytestmark = [pytest.mark.postgres, pytest.mark.committed]


@pytest.fixture
def outsider(app: Flask) -> Iterator[Session]:
    """Another worker's session on the same database: its commits reach the app only as notifications."""
    engine = create_engine(app.config["DATABASE_URL"], poolclass=NullPool)
    with Session(engine) as session:
        yield session
    engine.dispose()


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The statements the app's engine sends while the block runs."""
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    engine = app.extensions["lms.engine"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


def eventually(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """A change made by another worker reaches this one as the database's notification: within
    milliseconds, not before its commit returns."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not seen within {timeout} s: {what}"
        time.sleep(0.02)


def listening(outsider: Session) -> list[int]:
    """The server processes of the workers' listening connections."""
    pids = list(
        outsider.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = :q"),
            {"q": f"LISTEN {signed_in.CHANNEL}"},
        )
    )
    outsider.commit()  # the server's activity is read once per transaction
    return pids


def signed_out(client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and "/sign-in" in response.headers["Location"]


def asks_nothing(app: Flask, client, path: str = "/") -> bool:
    with statements(app) as sent:
        assert client.get(path).status_code == 200
    return sent == []


@pytest.fixture
def held(app: Flask, learner: Membership, login_as):
    """A learner whose session the worker's copy holds. (The notifications of their own sign-in, which
    wrote their session and person, may still be on their way after the first page: the copy drops them
    when they arrive, and the page after holds them again.)"""
    client = login_as(learner)
    eventually(lambda: asks_nothing(app, client), "a page answered from the copy")
    return client


def test_a_page_for_a_person_the_copy_holds_sends_no_statement(app, learner, login_as):
    client = login_as(learner)
    with statements(app) as first:
        page = client.get("/")
    assert page.status_code == 200 and "Lena Learner" in page.get_data(as_text=True)
    assert first[0].startswith("SELECT user_account.id")  # the signed-in lookup

    eventually(lambda: asks_nothing(app, client), "a page answered from the copy")
    assert "Lena Learner" in client.get("/").get_data(as_text=True)


def test_a_forged_session_key_is_refused_though_the_copy_holds_the_person(app, held, learner, login_as):
    other = login_as(learner)  # the same person's id in the cookie, with a key that is not theirs:
    with other.session_transaction() as cookie:
        cookie["lms_sid"] = "not-a-key-of-theirs"
    assert signed_out(other)
    assert held.get("/").status_code == 200


def test_sessions_ended_by_another_worker_end_here(held, learner, outsider):
    outsider.execute(
        update(UserSession).where(UserSession.user_id == learner.user_id).values(ended_at=utcnow())
    )
    outsider.commit()
    eventually(lambda: signed_out(held), "sign out everywhere, done through another worker")


def test_a_membership_deactivated_by_another_worker_signs_the_person_out(held, learner, outsider):
    outsider.execute(update(Membership).where(Membership.id == learner.id).values(active=False))
    outsider.commit()
    eventually(lambda: signed_out(held), "a deactivation, done through another worker")


def test_a_role_given_by_another_worker_shows_on_the_next_page(held, learner, outsider):
    assert "Units" not in held.get("/").get_data(as_text=True)
    outsider.execute(update(Membership).where(Membership.id == learner.id).values(is_org_admin=True))
    outsider.commit()
    eventually(lambda: ">Units<" in held.get("/").get_data(as_text=True), "the org admin's menu")


def test_an_organisation_archived_by_another_worker_signs_its_people_out(held, learner, outsider):
    outsider.execute(
        update(Organization).where(Organization.id == learner.org_id).values(archived_at=utcnow())
    )
    outsider.commit()
    eventually(lambda: signed_out(held), "an archived organisation")


def test_a_unit_renamed_by_another_worker_is_read_again(app, held, learner, outsider):
    outsider.execute(update(OrgUnit).where(OrgUnit.id == learner.unit_id).values(name="Ward 5C"))
    outsider.commit()

    eventually(lambda: not asks_nothing(app, held), "the person's unit read again")


def test_an_invitation_sent_by_another_worker_shows_on_the_home_page(held, learner, other_tree, outsider):
    outsider.add(
        Invitation(
            org_id=other_tree.org.id,
            email=learner.user.email,
            name="Lena Learner",
            stakeholder_role=StakeholderRole.CLINICIAN,
            permissions_granted="",
            created_at=utcnow(),
        )
    )
    outsider.commit()
    eventually(
        lambda: "Beta Health invites you to join" in held.get("/").get_data(as_text=True),
        "the invitation on the home page",
    )


def test_a_change_made_through_this_worker_is_seen_by_its_very_next_request(held, learner, db):
    # No waiting: this worker empties its copy when it commits, before the notification arrives.
    db.execute(update(Membership).where(Membership.id == learner.id).values(active=False))
    db.commit()
    assert signed_out(held)


def test_a_person_answered_from_the_copy_changes_their_own_name(held):
    token = csrf_token(held, "/profile")  # the profile reads columns the lookup leaves out
    saved = held.post("/profile/name", data={"name": "Lena Leader", "csrf_token": token})
    assert saved.status_code == 302
    assert "Lena Leader" in held.get("/").get_data(as_text=True)


def test_sign_out_everywhere_in_one_browser_ends_the_other_held_one(app, learner, login_as):
    phone, laptop = login_as(learner), login_as(learner)
    for browser in (phone, laptop):
        eventually(lambda browser=browser: asks_nothing(app, browser), "a page answered from the copy")
    token = csrf_token(phone, "/profile")
    assert phone.post("/profile/sign-out-everywhere", data={"csrf_token": token}).status_code == 302
    assert signed_out(laptop)
    assert signed_out(phone)


def test_a_session_past_its_lifetime_ends_though_the_copy_holds_it(app, held, monkeypatch):
    monkeypatch.setitem(app.config, "PERMANENT_SESSION_LIFETIME", 0)
    assert signed_out(held)


def test_a_lost_listening_connection_empties_the_copy_and_is_made_again(app, held, learner, outsider):
    (pid,) = listening(outsider)
    outsider.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    eventually(lambda: listening(outsider) == [], "the listening connection gone")
    # Changed while no one listens: no notification will ever say so.
    outsider.execute(update(Membership).where(Membership.id == learner.id).values(is_org_admin=True))
    outsider.commit()

    assert ">Units<" in held.get("/").get_data(as_text=True)  # read from the database, not the copy
    eventually(lambda: asks_nothing(app, held), "the person held again")  # listening from the next request
    assert len(listening(outsider)) == 1


def test_every_table_the_signed_in_lookup_reads_notifies_the_workers(app, outsider):
    compiled = str(sessions._USER_BY_SESSION.compile(app.extensions["lms.engine"]))
    read = set(re.findall(r"(?:FROM|JOIN) (\w+)", compiled))
    assert read == set(signed_in.WATCHED_TABLES)
    notifying = set(
        outsider.scalars(
            text(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE 'lms_signed_in_%' AND t.tgname <> 'lms_signed_in_truncate'"
            )
        )
    )
    truncating = set(
        outsider.scalars(
            text(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname = 'lms_signed_in_truncate'"
            )
        )
    )
    assert notifying == truncating == read


def test_a_forked_worker_listens_on_a_connection_of_its_own_and_starts_empty(
    app, held, outsider, monkeypatch
):
    parent = os.getpid()
    monkeypatch.setattr(signed_in.os, "getpid", lambda: parent + 1)  # as gunicorn's fork would look
    assert not asks_nothing(app, held)  # the parent's copy is not the child's
    # The parent's connection is left open (closing it would end the parent's session on the shared
    # socket); the child made its own.
    assert len(listening(outsider)) == 2
