"""Resetting a forgotten password by an emailed link, without telling anyone which emails exist."""

from __future__ import annotations

import logging
import re
import threading
from datetime import timedelta

import pytest
from conftest import PASSWORD, csrf_token
from flask import has_request_context
from sqlalchemy import func, select

from lms.db import utcnow
from lms.mail import transport_from_url
from lms.models import AuditEvent, OutboxMessage, PasswordResetToken, User
from lms.services import accounts, outbox

NEW_PASSWORD = "a new and longer passphrase"
SENT = "If an account uses that address, we have sent a link"


@pytest.fixture
def nurse(make, tree):
    return make.person(tree, email="nurse@alpha.test", name="Nora Nurse")


def ask_for_reset(client, email, **kwargs):
    """POST the reset form and close the answer as a server does once it is sent (the request's work
    runs then, after the answer: lms.web.after_response)."""
    token = csrf_token(client, "/reset")
    kwargs.setdefault("buffered", True)
    return client.post("/reset", data={"email": email, "csrf_token": token}, **kwargs)


def choose_password(client, path, password=NEW_PASSWORD, confirm=None):
    token = csrf_token(client, "/sign-in")
    data = {"password": password, "confirm": password if confirm is None else confirm, "csrf_token": token}
    return client.post(path, data=data)


def sign_in(client, email, password):
    token = csrf_token(client, "/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})


def link_path(app, body: str) -> str:
    base = app.config["BASE_URL"]
    match = re.search(re.escape(base) + r"(/reset/\S+)", body)
    assert match, f"no reset link in: {body}"
    return match.group(1)


def queued_link(app, db) -> str:
    """The path of the newest reset link waiting in the outbox."""
    body = db.scalar(select(OutboxMessage.body_text).order_by(OutboxMessage.id.desc()).limit(1))
    return link_path(app, body)


def password_hash(db, user_id):
    db.expire_all()
    return db.scalar(select(User.password_hash).where(User.id == user_id))


def test_reset_by_emailed_link_end_to_end(app, db, client, nurse, login_as, smtp_server):
    url, mailbox = smtp_server
    elsewhere = login_as(nurse)  # a session on another device, from before the reset
    assert elsewhere.get("/").status_code == 200

    html = ask_for_reset(client, "Nurse@Alpha.test").get_data(as_text=True)
    assert SENT in html, html[html.find("<main") :]
    assert outbox.deliver_due(db, transport_from_url(url)) == 1

    [mail] = mailbox.messages
    assert mail["To"] == "nurse@alpha.test"
    assert mail["Subject"] == "Reset your Lead with Quality password"
    path = link_path(app, mail.get_payload(decode=True).decode())

    page = client.get(path)
    assert page.status_code == 200
    assert "Choose a new password" in page.get_data(as_text=True)
    assert 'autocomplete="new-password"' in page.get_data(as_text=True)
    resp = choose_password(client, path)
    assert resp.status_code == 302 and resp.headers["Location"] == "/sign-in"
    assert "Your password has been changed" in client.get("/sign-in").get_data(as_text=True)

    assert sign_in(client, "nurse@alpha.test", PASSWORD).status_code == 400
    assert sign_in(client, "nurse@alpha.test", NEW_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200

    assert elsewhere.get("/").status_code == 302, "the older session is signed out"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "password.reset"))
    assert event is not None and event.target_id == nurse.user_id


def test_a_used_link_cannot_be_used_again(app, db, client, nurse):
    ask_for_reset(client, "nurse@alpha.test")
    path = queued_link(app, db)
    choose_password(client, path)
    changed = password_hash(db, nurse.user_id)

    resp = choose_password(client, path, password="yet another passphrase")
    assert resp.status_code == 400
    assert "This reset link has already been used." in resp.get_data(as_text=True)
    assert password_hash(db, nurse.user_id) == changed


def test_using_one_link_cancels_the_others(app, db, client, nurse):
    ask_for_reset(client, "nurse@alpha.test")
    first = queued_link(app, db)
    ask_for_reset(client, "nurse@alpha.test")
    second = queued_link(app, db)
    assert first != second

    choose_password(client, second)
    assert "already been used" in client.get(first).get_data(as_text=True)


def test_an_expired_link_says_so_and_changes_nothing(app, db, client, nurse):
    ask_for_reset(client, "nurse@alpha.test")
    path = queued_link(app, db)
    token = db.scalar(select(PasswordResetToken))
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()

    resp = client.get(path)
    assert resp.status_code == 400
    assert "This reset link has expired. Ask for a new one." in resp.get_data(as_text=True)
    resp = choose_password(client, path)
    assert "This reset link has expired." in resp.get_data(as_text=True)
    assert sign_in(client, "nurse@alpha.test", PASSWORD).status_code == 302


def test_a_made_up_link_is_not_valid(client, nurse):
    resp = client.get("/reset/not-a-real-token")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "This reset link is not valid. Ask for a new one." in html
    assert 'href="/reset"' in html
    assert "not valid" in choose_password(client, "/reset/not-a-real-token").get_data(as_text=True)


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        (NEW_PASSWORD, "something else entirely", "The two passwords do not match."),
        ("short", "short", "Use 10 to 128 characters"),
        ("x" * 129, "x" * 129, "Use 10 to 128 characters"),
        ("nurse@alpha.test", "nurse@alpha.test", "not your email address"),
    ],
)
def test_a_password_that_breaks_a_rule_is_explained_and_nothing_changes(
    app, db, client, nurse, password, confirm, message
):
    before = password_hash(db, nurse.user_id)
    ask_for_reset(client, "nurse@alpha.test")
    path = queued_link(app, db)

    resp = choose_password(client, path, password=password, confirm=confirm)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    summary = html[
        html.index('<div class="error-summary"') : html.index("</div>", html.index("error-summary"))
    ]
    assert message in summary and '<a href="#' in summary, "the summary at the top says it too"
    assert 'aria-invalid="true"' in resp.get_data(as_text=True)
    assert password_hash(db, nurse.user_id) == before
    assert db.scalar(select(PasswordResetToken.used_at)) is None
    assert choose_password(client, path).status_code == 302, "the link still works afterwards"


def test_unknown_email_gets_the_same_page_and_no_mail(app, db, client, nurse):
    known = ask_for_reset(client, "nurse@alpha.test")
    unknown = ask_for_reset(client, "nobody@alpha.test")
    assert unknown.status_code == known.status_code == 200
    assert unknown.get_data(as_text=True) == known.get_data(as_text=True)
    assert unknown.headers.get("Content-Length") == known.headers.get("Content-Length")
    assert SENT in unknown.get_data(as_text=True)
    assert db.scalars(select(OutboxMessage.to_addr)).all() == ["nurse@alpha.test"]


def test_the_email_is_looked_up_and_queued_after_the_request_not_in_it(db, client, nurse, monkeypatch):
    """Looking the email up, making a link and queueing the email take time only when the account
    exists; done after the request (lms.web.after_response; a real server's answer not waiting for it is
    tested there), that time cannot tell a stranger which emails have accounts."""
    seen = []
    original = accounts.request_password_reset

    def watched(session, *, email):
        seen.append((has_request_context(), threading.current_thread() is threading.main_thread()))
        return original(session, email=email)

    monkeypatch.setattr(accounts, "request_password_reset", watched)
    token = csrf_token(client, "/reset")
    resp = client.post("/reset", data={"email": "nurse@alpha.test", "csrf_token": token})
    assert resp.status_code == 200
    assert SENT in resp.get_data(as_text=True)
    assert seen == [(False, False)], "run outside the request, in a thread of its own"
    assert db.scalars(select(OutboxMessage.to_addr)).all() == ["nurse@alpha.test"]
    assert db.scalar(select(func.count()).select_from(PasswordResetToken)) == 1


def test_a_failure_after_the_answer_is_logged_and_the_answer_stays_the_same(
    db, client, nurse, monkeypatch, caplog
):
    def broken(db, *, email):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(accounts, "request_password_reset", broken)
    with caplog.at_level(logging.ERROR):
        resp = ask_for_reset(client, "nurse@alpha.test")
    assert resp.status_code == 200
    assert SENT in resp.get_data(as_text=True)
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "failed after the response was sent" in record.getMessage()
    assert record.exc_info and "the database went away" in str(record.exc_info[1])
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_an_inactive_account_gets_no_link(db, client, make, tree):
    make.person(tree, email="left@alpha.test", active=False)
    assert SENT in ask_for_reset(client, "left@alpha.test").get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_link_uses_the_configured_address_not_the_request_host(app, db, client, nurse):
    evil = {"Host": "evil.example"}
    page = client.get("/reset", headers=evil).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post(
        "/reset", data={"email": "nurse@alpha.test", "csrf_token": token}, headers=evil, buffered=True
    )
    assert SENT in resp.get_data(as_text=True)
    body = db.scalar(select(OutboxMessage.body_text))
    assert f"{app.config['BASE_URL']}/reset/" in body
    assert "evil.example" not in body


def test_at_most_three_reset_emails_an_hour(db, client, nurse):
    for _ in range(5):
        assert SENT in ask_for_reset(client, "nurse@alpha.test").get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 3


def test_only_a_digest_of_the_link_is_stored(app, db, client, nurse):
    ask_for_reset(client, "nurse@alpha.test")
    secret = queued_link(app, db).removeprefix("/reset/")
    stored = db.scalar(select(PasswordResetToken.token_hash))
    assert secret not in stored and len(stored) == 64


def test_a_bad_email_address_is_explained(client):
    resp = ask_for_reset(client, "not an email")
    assert resp.status_code == 400
    assert "Enter an email address like name@hospital.org." in resp.get_data(as_text=True)
    assert 'value="not an email"' in resp.get_data(as_text=True)
