"""A person's journal: entries in Markdown, private by default, shared with their coach entry by entry.

DESIGN.md section 6: a private entry is read by its author alone. Every function here that returns an
entry takes the actor and finds it through `_own_entry` (the author) or lms.services.coaching (the coach
of an active relationship it was shared under); anything else answers NotFound, as a wrong id does.
Audit events name the entry, never its words.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from curricula.render import parse, render
from lms.db import utcnow
from lms.models import JournalEntry, JournalSource
from lms.services import Invalid
from lms.services.access import Actor
from lms.services.catalogue import vocabulary

BODY_MAX = 20_000
TITLE_MAX = 200
BODY_EMPTY = "Write something before saving the entry."
BODY_TOO_LONG = "Keep an entry to {maximum:,} characters or fewer: it has {length:,}."
TITLE_TOO_LONG = "Keep the title to {maximum} characters or fewer."


def render_markdown(text: str) -> str:
    """Markdown rendered as a module body is (curricula.render): raw HTML printed as text."""
    return render(parse(text))


def tag_choices(db: Session) -> list[tuple[str, str]]:
    """The tags an entry may carry: the framework components and WSQ principles of the latest release."""
    words = vocabulary(db)
    return [(t.id, t.title) for t in (*words.components, *words.principles)]


def _checked(db: Session, *, title: str, body: str, tags: Iterable[str]) -> tuple[str, str, list[str]]:
    """Title, body and tags as they will be stored, or Invalid naming each field that breaks a rule."""
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    body = (body or "").replace("\r\n", "\n")
    if len(title) > TITLE_MAX:
        errors["title"] = [TITLE_TOO_LONG.format(maximum=TITLE_MAX)]
    if not body.strip():
        errors["body"] = [BODY_EMPTY]
    elif len(body) > BODY_MAX:
        errors["body"] = [BODY_TOO_LONG.format(maximum=BODY_MAX, length=len(body))]
    known = dict(tag_choices(db))
    wanted = list(dict.fromkeys(t for t in tags if t))
    unknown = [t for t in wanted if t not in known]
    if unknown:
        errors["tags"] = [
            "Choose tags from the framework components and principles; unknown: " + ", ".join(unknown)
        ]
    if errors:
        raise Invalid(errors)
    return title, body, wanted


def _fill(entry: JournalEntry, title: str, body: str, tags: list[str]) -> None:
    entry.title, entry.body, entry.tags = title, body, tags
    entry.body_html = render_markdown(body)
    entry.search_text = f"{title}\n{body}".lower()


def write_entry(
    db: Session,
    actor: Actor,
    *,
    body: str,
    title: str = "",
    tags: Iterable[str] = (),
    source: JournalSource | str = JournalSource.ENTRY,
) -> JournalEntry:
    """A new private entry in the actor's journal (in their organisation). Flushes, never commits."""
    title, body, wanted = _checked(db, title=title, body=body, tags=tags)
    now = utcnow()
    entry = JournalEntry(
        user_id=actor.user.id,
        org_id=actor.org_id,
        source=JournalSource(source),
        created_at=now,
        updated_at=now,
    )
    _fill(entry, title, body, wanted)
    db.add(entry)
    db.flush()
    return entry
