"""The privacy walk (DESIGN.md section 6): a private journal entry and a private module reflection are
read by their author alone.

Every rule of the application's URL map (pages, the API, files: whatever the app serves, including
routes added after this test was written) is requested with GET as every role: the author, their coach,
another coach, HR, faculty, the org admin, a platform operator, another organisation's admin and someone
signed out. Path parameters are filled with real ids and slugs of the seeded world (the private entry's
and reflection's ids among them; `<org>` with both organisations' slugs). A rule whose parameter this
test does not know fails it: teach `VALUES` a value, so no route escapes the walk. The markers may appear
only in answers to the author, and never in an audit event or an email.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from flask import Flask
from gemba_factory import walk
from journal_factory import Circle, actor_of, build_circle
from openpyxl import load_workbook
from prompts_factory import schedule
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.models import AuditEvent, Invitation, OutboxMessage, PromptDelivery
from lms.services import coaching, follow_ups, journal, prompts, tokens
from lms.services.prompt_delivery import deliver_due

MARKER = "PRIVATE-MARKER-7f3a9c"  # in the private entry's title and body
REFLECTION_MARKER = "REFLECTION-MARKER-51be02"  # in the private module reflection
ANSWER_MARKER = "ANSWER-MARKER-c40d17"  # in the answer to a reflection prompt (a private entry)


@dataclass
class World:
    circle: Circle
    entry_id: int
    reflection_id: int
    relationship_id: int
    invitation_id: int
    token_id: int
    org_id: int
    unit_id: int
    walk_id: int = 0
    follow_up_id: int = 0
    schedule_id: int = 0
    delivery_id: int = 0


@pytest.fixture
def world(db, make, tree, other_tree, lib) -> World:
    circle = build_circle(db, make, tree, other_tree, lib)
    author = actor_of(circle.author)
    entry = journal.write_entry(
        db, author, title=f"Title {MARKER}", body=f"Body {MARKER}", tags=["set-direction", "shared-purpose"]
    )
    reflection = circle.reflect(db, f"My reflection {REFLECTION_MARKER}")
    # What the coach may read, so the coach's pages have something in them: a shared entry, a comment.
    shared = journal.write_entry(db, author, title="Shared on purpose", body="For Cal to read")
    journal.share(db, author, "entry", shared.id)
    journal.add_comment(db, actor_of(circle.coach), "entry", shared.id, "Thank you for sharing")
    invitation = Invitation(
        org_id=tree.org.id,
        email="invited@elsewhere.test",
        name="In Vited",
        stakeholder_role=StakeholderRole.BOARD,
    )
    db.add(invitation)
    db.flush()
    tokens.create_token(db, circle.author.user, name="walk")  # its id is in a path; the secret is not needed
    relationship = coaching.current_coach(db, circle.author)
    db.commit()
    token_id = tokens.tokens_of(db, circle.author.user)[0].id
    # The author's gemba walk with a follow-up they own, and a reflection prompt delivered and answered.
    walked = walk(
        db,
        circle.author,
        tree.unit.id,
        owner=circle.author,
        due_on=follow_ups.local_today(tree.org) + timedelta(days=2),
    ).walk
    rhythm = schedule(db, circle.author, now=datetime.now(UTC) - timedelta(days=1, hours=1))
    deliver_due(db)
    delivery_id = db.scalar(select(PromptDelivery.id).where(PromptDelivery.schedule_id == rhythm.id))
    prompts.answer(db, author, delivery_id, f"My answer {ANSWER_MARKER}")
    db.commit()
    return World(
        circle,
        entry.id,
        reflection.id,
        relationship.id,
        invitation.id,
        token_id,
        tree.org.id,
        tree.unit.id,
        walked.id,
        walked.follow_ups[0].id,
        rhythm.id,
        delivery_id,
    )


# Each path parameter's values, from the seeded world. A new parameter name needs a line here.
VALUES: dict[str, Callable[[World], list[str]]] = {
    "org": lambda w: ["alpha", "beta"],
    "entry_id": lambda w: [str(w.entry_id)],
    "reflection_id": lambda w: [str(w.reflection_id)],
    "membership_id": lambda w: [str(w.circle.author.id)],
    "relationship_id": lambda w: [str(w.relationship_id)],
    "unit_id": lambda w: [str(w.unit_id)],
    "invitation_id": lambda w: [str(w.invitation_id)],
    "token_id": lambda w: [str(w.token_id)],
    "org_id": lambda w: [str(w.org_id)],
    "slug": lambda w: [w.circle.module.slug],
    "key": lambda w: ["what-matters"],
    "role": lambda w: ["executive"],
    "filename": lambda w: ["css/app.css"],
    "token": lambda w: ["not-a-real-token"],
    "secret": lambda w: ["not-a-real-secret"],
    "walk_id": lambda w: [str(w.walk_id)],
    "follow_up_id": lambda w: [str(w.follow_up_id)],
    "schedule_id": lambda w: [str(w.schedule_id)],
    "delivery_id": lambda w: [str(w.delivery_id)],
    "change": lambda w: ["pause"],
    "name": lambda w: ["driver-diagram", "User"],
    "resource_id": lambda w: [str(w.circle.author.id)],
    "anything": lambda w: ["Users/nobody"],
    "fmt": lambda w: ["csv", "xlsx"],
    "mapping_id": lambda w: ["1"],
    "job_id": lambda w: ["no-such-import"],
}

ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def urls_of(rule: str, world: World) -> list[str]:
    """Every URL for the rule: each parameter replaced by each of its values."""
    urls = [rule]
    for name in dict.fromkeys(ARGUMENT.findall(rule)):
        if name not in VALUES:
            pytest.fail(f"{rule}: teach tests/test_privacy_walk.py's VALUES a value for <{name}>")
        pattern = re.compile(r"<(?:[^<>:]+:)?" + re.escape(name) + ">")
        urls = [pattern.sub(value, url) for url in urls for value in VALUES[name](world)]
    return urls


def test_every_rule_of_the_url_map_is_walked(app: Flask, world: World):
    """The walk below covers every rule; one it could not fill in fails here by name."""
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 50
    for rule in rules:
        assert urls_of(rule.rule, world)


def _text_of(response) -> str:
    """What a response says: its text, or for a spreadsheet (XLSX, a zip) the text of every cell."""
    data = response.get_data()
    if data.startswith(b"PK"):
        book = load_workbook(BytesIO(data), read_only=True)
        return "\n".join(str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row)
    return data.decode("utf-8", errors="replace")


def test_a_private_entry_and_reflection_are_read_by_their_author_alone(app, world, login_as, db):
    c = world.circle
    roles = {
        "author": login_as(c.author),
        "coach of the author": login_as(c.coach),
        "another coach": login_as(c.other_coach),
        "HR": login_as(c.hr),
        "faculty": login_as(c.faculty),
        "org admin": login_as(c.admin),
        "platform operator": login_as(c.operator),
        "another organisation's admin": login_as(c.other_admin),
        "anonymous": app.test_client(),
    }
    urls = sorted({url for rule in app.url_map.iter_rules() for url in urls_of(rule.rule, world)})
    seen_by_author: set[str] = set()
    for role, client in roles.items():
        for url in urls:
            response = client.get(url)
            assert response.status_code < 500, f"GET {url} as {role} answered {response.status_code}"
            body = _text_of(response)
            for marker in (MARKER, REFLECTION_MARKER, ANSWER_MARKER):
                if marker in body:
                    assert role == "author", f"GET {url} as {role} showed the author's private {marker}"
                    seen_by_author.add(url)
    # The walk reached the private texts: the author finds them where they should.
    for url in (
        "/journal",
        f"/journal/entries/{world.entry_id}",
        f"/journal/reflections/{world.reflection_id}",
        "/journal/export.md",
        "/journal/print",
        "/api/v1/orgs/alpha/journal",
        f"/api/v1/orgs/alpha/journal/entries/{world.entry_id}",
    ):
        assert url in seen_by_author, url
    # Nor in any audit event or email (the walk's requests included).
    db.expire_all()
    for row in (*db.scalars(select(AuditEvent)), *db.scalars(select(OutboxMessage))):
        text = repr({k: v for k, v in vars(row).items() if not k.startswith("_")})
        assert MARKER not in text and REFLECTION_MARKER not in text and ANSWER_MARKER not in text


def test_the_markers_are_found_by_the_authors_search_and_nobody_elses(world, db):
    c = world.circle
    assert [i.id for i in journal.list_journal(db, actor_of(c.author), q=MARKER.lower())] == [world.entry_id]
    for other in (c.coach, c.other_coach, c.hr, c.faculty, c.admin):
        assert journal.list_journal(db, actor_of(other), q=MARKER) == []
        assert journal.list_journal(db, actor_of(other), q=REFLECTION_MARKER) == []
