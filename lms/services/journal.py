"""A person's journal: entries in Markdown, private by default, shared with their coach entry by entry.

DESIGN.md section 6: a private entry is read by its author alone. Every function here that returns an
entry or a module reflection takes the actor and finds it through `own_entry`/`own_reflection` (the
author) or `_shared` (the coach of the active relationship it was shared under, checked by
lms.services.coaching); anything else answers NotFound, as a wrong id does. Module reflections are in
the journal too: private until shared, by `shared_at` and `shared_relationship_id` on their own row.
Audit events name the entry, never its words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from curricula.render import parse, render
from lms.db import utcnow
from lms.models import CoachingRelationship, JournalComment, JournalEntry, JournalSource, Module, Reflection
from lms.services import Invalid, NotFound, audit
from lms.services.access import Actor
from lms.services.catalogue import vocabulary
from lms.services.coaching import coaching_of, current_coach, untitled
from lms.services.search import contains, json_list_has

COMMENT_MAX = 5_000
COMMENT_EMPTY = "Write your comment before sending it."
LIST_MAX = 500  # items a list answers at most (the export has them all)
PER_PAGE = 50  # items on a page of the journal list
BODY_MAX = 20_000
SEARCH_MAX = 200
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


# --- the author's own entries ------------------------------------------------------------------------


def own_entry(db: Session, actor: Actor, entry_id: int) -> JournalEntry:
    """The actor's own entry in this organisation, or NotFound (whoever else wrote it, wherever)."""
    entry = db.get(JournalEntry, entry_id)
    if entry is None or entry.user_id != actor.user.id or entry.org_id != actor.org_id:
        raise NotFound("No such journal entry.")
    return entry


def edit_entry(
    db: Session, actor: Actor, entry_id: int, *, body: str, title: str = "", tags: Iterable[str] = ()
) -> JournalEntry:
    """Change one's own entry; a shared entry stays shared with the same coach."""
    entry = own_entry(db, actor, entry_id)
    title, body, wanted = _checked(db, title=title, body=body, tags=tags)
    _fill(entry, title, body, wanted)
    entry.updated_at = utcnow()
    db.flush()
    return entry


def delete_entry(db: Session, actor: Actor, entry_id: int) -> None:
    """Delete one's own entry and the comments on it, for good."""
    entry = own_entry(db, actor, entry_id)
    db.delete(entry)
    db.flush()


def own_reflection(db: Session, actor: Actor, reflection_id: int) -> Reflection:
    """The actor's own module reflection, or NotFound."""
    reflection = db.get(Reflection, reflection_id)
    if reflection is None or reflection.user_id != actor.user.id:
        raise NotFound("No such reflection.")
    return reflection


# --- the journal as one list -------------------------------------------------------------------------


@dataclass
class JournalItem:
    """An entry or a module reflection, as the journal shows it."""

    kind: str  # "entry" | "reflection"
    id: int
    title: str
    body: str  # Markdown (an entry) or plain text (a reflection)
    html: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    shared_at: datetime | None
    shared_relationship_id: int | None
    source: str = JournalSource.ENTRY.value
    module_slug: str = ""
    prompt_html: str = ""  # the reflection prompt it answers
    comments: list[JournalComment] = field(default_factory=list)

    @property
    def shared(self) -> bool:
        return self.shared_at is not None


def entry_item(entry: JournalEntry) -> JournalItem:
    return JournalItem(
        "entry",
        entry.id,
        entry.title or untitled(entry.created_at),
        entry.body,
        entry.body_html,
        list(entry.tags),
        entry.created_at,
        entry.updated_at,
        entry.shared_at,
        entry.shared_relationship_id,
        source=entry.source.value,
    )


def reflection_item(reflection: Reflection, module: Module) -> JournalItem:
    prompt = next((r for r in module.reflections if r.get("key") == reflection.prompt_key), {})
    return JournalItem(
        "reflection",
        reflection.id,
        f"Reflection: {module.title}",
        reflection.text,
        render_markdown(reflection.text),
        [t for t in (module.component, *module.principles) if t],
        reflection.created_at,
        reflection.updated_at,
        reflection.shared_at,
        reflection.shared_relationship_id,
        source="module",
        module_slug=module.slug,
        prompt_html=prompt.get("prompt_html", ""),
    )


def search_words(q: str) -> list[str]:
    """The words of a search, lower-cased; Invalid when it is too long to be a search."""
    if len(q) > SEARCH_MAX:
        raise Invalid(f"Search for at most {SEARCH_MAX} characters.", "q")
    return list(dict.fromkeys(q.lower().split()))


def _journal_queries(db: Session, actor: Actor, q: str, tags: Iterable[str]) -> tuple[Select, Select]:
    """The actor's own entries in this organisation and their module reflections, each newest first,
    narrowed to those holding every word of `q` (any case) and carrying every tag of `tags`."""
    words = search_words(q or "")
    wanted = [t for t in dict.fromkeys(tags) if t]
    known = dict(tag_choices(db))
    if any(t not in known for t in wanted):
        raise Invalid("Choose tags from the list.", "tags")
    entries = (
        select(JournalEntry)
        .where(JournalEntry.user_id == actor.user.id, JournalEntry.org_id == actor.org_id)
        .where(*(contains(JournalEntry.search_text, w) for w in words))
        .where(*(json_list_has(JournalEntry.tags, t) for t in wanted))
        .order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc())
    )
    reflections = (
        select(Reflection, Module)
        .join(Module, Module.id == Reflection.module_id)
        .where(Reflection.user_id == actor.user.id)
        .where(
            *(
                or_(contains(func.lower(Reflection.text), w), contains(func.lower(Module.title), w))
                for w in words
            )
        )
        .where(*(or_(Module.component == t, json_list_has(Module.principles, t)) for t in wanted))
        .order_by(Reflection.created_at.desc(), Reflection.id.desc())
    )
    return entries, reflections


def _newest(db: Session, entries: Select, reflections: Select, limit: int | None) -> list[JournalItem]:
    """The newest `limit` items of both lists (all of them for None), newest first."""
    if limit is not None:
        entries, reflections = entries.limit(limit), reflections.limit(limit)
    items = [entry_item(e) for e in db.scalars(entries)]
    items += [reflection_item(r, m) for r, m in db.execute(reflections)]
    items.sort(key=lambda i: i.created_at, reverse=True)
    return items[:limit] if limit is not None else items


def list_journal(
    db: Session, actor: Actor, *, q: str = "", tags: Iterable[str] = (), limit: int | None = None
) -> list[JournalItem]:
    """The actor's own entries in this organisation and their module reflections, newest first.

    `q` finds items holding every word (any case); `tags` keeps items carrying every tag. Nobody but
    the author ever reaches this list."""
    entries, reflections = _journal_queries(db, actor, q, tags)
    return _newest(db, entries, reflections, limit)


@dataclass
class JournalPage:
    """One page of the journal list: its items, the comments on each, and where it stands."""

    items: list[JournalItem]
    comments: dict[tuple[str, int], int]  # how many comments each item has, by (kind, id)
    total: int  # items in the whole (searched) journal
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def journal_page(
    db: Session,
    actor: Actor,
    *,
    q: str = "",
    tags: Iterable[str] = (),
    page: int = 1,
    per_page: int = PER_PAGE,
) -> JournalPage:
    """Page `page` (from 1) of the actor's own journal list, `per_page` items, newest first; a page
    past the end is empty. Only the author ever reaches it."""
    entries, reflections = _journal_queries(db, actor, q, tags)
    total = sum(
        db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        for query in (entries, reflections)
    )
    start = (page - 1) * per_page
    items = _newest(db, entries, reflections, start + per_page)[start:] if start < total else []
    return JournalPage(items, comment_counts(db, items), total, page, per_page)


def entry_page(db: Session, actor: Actor, entry_id: int) -> JournalItem:
    """One's own entry with the comments on it."""
    entry = db.scalar(
        select(JournalEntry)
        .where(JournalEntry.id == entry_id)
        .options(selectinload(JournalEntry.comments).selectinload(JournalComment.author))
    )
    if entry is None:
        raise NotFound("No such journal entry.")
    entry = own_entry(db, actor, entry.id)
    item = entry_item(entry)
    item.comments = list(entry.comments)
    return item


def reflection_page(db: Session, actor: Actor, reflection_id: int) -> JournalItem:
    """One's own module reflection with the comments on it."""
    reflection = own_reflection(db, actor, reflection_id)
    item = reflection_item(reflection, db.get_one(Module, reflection.module_id))
    item.comments = comments_on_reflection(db, reflection.id)
    return item


def comments_on_reflection(db: Session, reflection_id: int) -> list[JournalComment]:
    return list(
        db.scalars(
            select(JournalComment)
            .where(JournalComment.reflection_id == reflection_id)
            .options(selectinload(JournalComment.author))
            .order_by(JournalComment.id)
        )
    )


def comment_counts(db: Session, items: list[JournalItem]) -> dict[tuple[str, int], int]:
    """How many comments each of these items (the author's own) has, by (kind, id), in one query."""
    entry_ids = [i.id for i in items if i.kind == "entry"]
    reflection_ids = [i.id for i in items if i.kind == "reflection"]
    if not (entry_ids or reflection_ids):
        return {}
    rows = db.execute(
        select(JournalComment.entry_id, JournalComment.reflection_id, func.count())
        .where(or_(JournalComment.entry_id.in_(entry_ids), JournalComment.reflection_id.in_(reflection_ids)))
        .group_by(JournalComment.entry_id, JournalComment.reflection_id)
    )
    return {
        ("entry", entry_id) if entry_id is not None else ("reflection", reflection_id or 0): count
        for entry_id, reflection_id, count in rows
    }


def comments_of(db: Session, items: list[JournalItem]) -> dict[tuple[str, int], list[JournalComment]]:
    """The comments on these items (the author's own), by (kind, id), in two queries."""
    entry_ids = [i.id for i in items if i.kind == "entry"]
    reflection_ids = [i.id for i in items if i.kind == "reflection"]
    found: dict[tuple[str, int], list[JournalComment]] = {}
    if entry_ids or reflection_ids:
        comments = db.scalars(
            select(JournalComment)
            .where(
                or_(JournalComment.entry_id.in_(entry_ids), JournalComment.reflection_id.in_(reflection_ids))
            )
            .options(selectinload(JournalComment.author))
            .order_by(JournalComment.id)
        )
        for c in comments:
            key = ("entry", c.entry_id) if c.entry_id is not None else ("reflection", c.reflection_id or 0)
            found.setdefault(key, []).append(c)
    return found


# --- export ------------------------------------------------------------------------------------------


def export_markdown(db: Session, actor: Actor) -> str:
    """The actor's whole journal as one Markdown document, oldest first: theirs alone to download."""
    words = vocabulary(db)
    titles = {t.id: t.title for t in (*words.components, *words.principles)}
    lines = [f"# Journal of {actor.user.name}", "", f"{actor.org.name}, exported {utcnow():%d %b %Y}.", ""]
    items = list_journal(db, actor)
    notes = comments_of(db, items)
    for item in reversed(items):
        lines += [f"## {item.title}", "", f"_Written {item.created_at:%d %b %Y %H:%M} UTC_"]
        if item.tags:
            lines.append("Tags: " + ", ".join(titles.get(t, t) for t in item.tags))
        lines.append("Shared with your coach." if item.shared else "Private.")
        lines += ["", item.body.strip(), ""]
        comments = notes.get((item.kind, item.id), [])
        for comment in comments:
            lines += [f"> **{comment.author.name}**, {comment.created_at:%d %b %Y}:", ">"]
            lines += [f"> {line}" for line in comment.body.splitlines()] + [""]
    return "\n".join(lines).rstrip() + "\n"


# --- sharing with one's coach, entry by entry ---------------------------------------------------------


def own_item(db: Session, actor: Actor, kind: str, item_id: int) -> JournalEntry | Reflection:
    if kind == "entry":
        return own_entry(db, actor, item_id)
    if kind == "reflection":
        return own_reflection(db, actor, item_id)
    raise NotFound("No such journal entry.")


def _record_sharing(db: Session, actor: Actor, action: str, kind: str, item_id: int, rel_id: int) -> None:
    """On the author's own account, not in the organisation's trail (HR and org admins read that, and
    may not know what anyone shares with a coach); it names the item and the relationship, no text."""
    audit.record(
        db,
        actor_id=actor.user.id,
        org_id=None,
        action=action,
        target_type="journal_entry" if kind == "entry" else "reflection",
        target_id=item_id,
        changes={"relationship": rel_id},
    )


def share(db: Session, actor: Actor, kind: str, item_id: int) -> CoachingRelationship:
    """Share one's own entry or reflection with one's current coach (in this organisation)."""
    item = own_item(db, actor, kind, item_id)
    rel = current_coach(db, actor.membership)
    if rel is None:
        raise Invalid("You have no coach in this organisation to share with.")
    if item.shared_at is None or item.shared_relationship_id != rel.id:
        item.shared_at, item.shared_relationship_id = utcnow(), rel.id
        _record_sharing(db, actor, "journal.shared", kind, item_id, rel.id)
        db.flush()
    return rel


def unshare(db: Session, actor: Actor, kind: str, item_id: int) -> None:
    """Make a shared entry or reflection private again: the coach no longer sees it (nor comments on it)."""
    item = own_item(db, actor, kind, item_id)
    if item.shared_at is not None:
        _record_sharing(db, actor, "journal.unshared", kind, item_id, item.shared_relationship_id or 0)
        item.shared_at, item.shared_relationship_id = None, None
        db.flush()


# --- what a coach reads: shared items of an active coachee, and comments ---------------------------------


def _shared(db: Session, actor: Actor, kind: str, item_id: int) -> tuple[JournalEntry | Reflection, int]:
    """An item shared with the actor as the coach of an active relationship, and the coachee's
    membership id; NotFound for anything else (private, unshared, another coach's, a wrong id)."""
    model = {"entry": JournalEntry, "reflection": Reflection}.get(kind)
    item = db.get(model, item_id) if model is not None else None
    if item is None or item.shared_at is None or item.shared_relationship_id is None:
        raise NotFound("No such shared entry.")
    rel = db.get(CoachingRelationship, item.shared_relationship_id)
    if rel is None or rel.coach_id != actor.membership.id:
        raise NotFound("No such shared entry.")
    if coaching_of(db, actor, rel.coachee_id).id != rel.id:
        raise NotFound("No such shared entry.")
    return item, rel.coachee_id


def shared_item(db: Session, actor: Actor, kind: str, item_id: int) -> JournalItem:
    """A shared entry or reflection with its comments, for the coach it was shared with."""
    item, _ = _shared(db, actor, kind, item_id)
    if isinstance(item, JournalEntry):
        shown = entry_item(item)
        shown.comments = list(item.comments)
    else:
        shown = reflection_item(item, db.get_one(Module, item.module_id))
        shown.comments = comments_on_reflection(db, item.id)
    return shown


def shared_by(db: Session, actor: Actor, coachee_id: int) -> list[JournalItem]:
    """Everything a coachee shares with the actor (their active coach), newest shared first."""
    rel = coaching_of(db, actor, coachee_id)
    entries = db.scalars(
        select(JournalEntry).where(
            JournalEntry.shared_relationship_id == rel.id, JournalEntry.shared_at.is_not(None)
        )
    )
    reflections = db.execute(
        select(Reflection, Module)
        .join(Module, Module.id == Reflection.module_id)
        .where(Reflection.shared_relationship_id == rel.id, Reflection.shared_at.is_not(None))
    )
    items = [entry_item(e) for e in entries] + [reflection_item(r, m) for r, m in reflections]
    return sorted(items, key=lambda i: i.shared_at or i.created_at, reverse=True)


def add_comment(db: Session, actor: Actor, kind: str, item_id: int, body: str) -> JournalComment:
    """The coach comments on an entry or reflection shared with them."""
    item, _ = _shared(db, actor, kind, item_id)
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise Invalid(COMMENT_EMPTY, "body")
    if len(body) > COMMENT_MAX:
        raise Invalid(f"Keep a comment to {COMMENT_MAX:,} characters or fewer: it has {len(body):,}.", "body")
    comment = JournalComment(author_id=actor.user.id, body=body, created_at=utcnow())
    if isinstance(item, JournalEntry):
        comment.entry_id = item.id
    else:
        comment.reflection_id = item.id
    db.add(comment)
    db.flush()
    return comment
