"""Publishing the curricula: `lms content sync` copies a checked corpus (curricula/) into the database.

A sync publishes and nothing else, in one transaction:
- a module new to the database is added, one whose content hash changed is rewritten, one whose file is
  gone is retired (`retired_at`, never deleted: people's progress and assignments point at it), and a
  retired module whose file comes back is restored;
- unchanged modules are not rewritten: the existing (slug, hash, ...) are read in one query and only the
  rows that differ are written, so re-publishing 1,000 modules after one edit writes one row;
- a ContentRelease (vocabularies, default dosing policy, counts) is recorded when anything changed, or
  when there is none yet.

It never touches Progress, CheckAttempt or Reflection: each keeps the content hash it was made against,
so an edited module never silently re-opens or completes anyone's work.

Dose assignments follow the published modules through `dosing.reconcile`, which the CLI runs for each
organisation after the sync, one transaction per organisation: a big organisation's re-planning does
not hold the publishing transaction open, and a failure there leaves the publication in place (the
nightly reconcile finishes the job).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import unescape
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from curricula.model import Corpus, Problem, Term
from curricula.model import Module as CorpusModule
from lms.db import utcnow
from lms.models import ContentRelease, Module


class ContentProblems(Exception):
    """The corpus has problems: nothing was published."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'' if count == 1 else 's'} in the content: nothing was published")


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a sync did. Each module of the corpus is counted once, as added, changed, unchanged,
    rebuilt (same text, built again by a newer `BUILD`) or restored (a restored module is rewritten
    from its file); `retired` counts modules whose file is gone."""

    added: int
    changed: int
    unchanged: int
    retired: int
    restored: int
    release_id: int | None  # the release recorded by this sync; None when nothing changed
    rebuilt: int = 0

    @property
    def changed_anything(self) -> bool:
        return bool(
            self.added or self.changed or self.retired or self.restored or self.rebuilt or self.release_id
        )

    def __str__(self) -> str:
        rebuilt = f", {self.rebuilt} rebuilt" if self.rebuilt else ""
        return (
            f"{self.added} added, {self.changed} changed, {self.unchanged} unchanged{rebuilt}, "
            f"{self.retired} retired, {self.restored} restored"
        )


# How modules are built from their files (curricula/ and search_text below). Change it whenever a change
# there alters what a module row holds for the same text: the next sync rebuilds every row built before.
BUILD = "2026-11-25.1"


def sync(db: Session, corpus: Corpus) -> SyncReport:
    """Publish the corpus; refuse it whole (ContentProblems) when it has any problem. Commits once."""
    if corpus.problems:
        raise ContentProblems(corpus.problems)
    now = utcnow()
    existing = _published(db)
    added: list[dict[str, Any]] = []
    rewritten: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []  # same content, another place in the order or another file name
    counts = {"changed": 0, "unchanged": 0, "restored": 0, "rebuilt": 0}
    for position, module in enumerate(corpus.modules, start=1):
        row = existing.pop(module.id, None)
        if row is None:
            added.append({**_fields(module, position, now), "created_at": now})
            continue
        row_id, content_hash, row_position, path, active, built_with = row
        if not active:
            counts["restored"] += 1
            rewritten.append({"id": row_id, **_fields(module, position, now)})
        elif content_hash != module.content_hash:
            counts["changed"] += 1
            rewritten.append({"id": row_id, **_fields(module, position, now)})
        elif built_with != BUILD:
            counts["rebuilt"] += 1
            rewritten.append({"id": row_id, **_fields(module, position, now)})
        else:
            counts["unchanged"] += 1
            if row_position != position or path != module.path:
                moved.append({"id": row_id, "position": position, "path": module.path})
    gone = [row[0] for row in existing.values() if row[4]]  # left over: their files are gone
    if added:
        db.execute(insert(Module), added)
    if rewritten:
        db.execute(update(Module), rewritten)
    if moved:
        db.execute(update(Module), moved)
    if gone:
        db.execute(update(Module).where(Module.id.in_(gone)).values(retired_at=now, updated_at=now))
    release = _release(
        db,
        corpus,
        added=len(added),
        changed=counts["changed"] + counts["restored"] + counts["rebuilt"],
        retired=len(gone),
        moved=len(moved),
    )
    db.flush()
    return SyncReport(
        added=len(added),
        changed=counts["changed"],
        unchanged=counts["unchanged"],
        rebuilt=counts["rebuilt"],
        retired=len(gone),
        restored=counts["restored"],
        release_id=release.id if release else None,
    )


def _published(db: Session) -> dict[str, tuple[int, str, int, str, bool, str]]:
    """What the database holds: slug -> (id, content hash, position, path, active, built with), in one
    query through Core (no ORM objects): a re-sync of 1,000 unchanged modules is mostly this read."""
    table = Module.__table__
    query = select(
        table.c.id,
        table.c.slug,
        table.c.content_hash,
        table.c.position,
        table.c.path,
        table.c.retired_at.is_(None).label("active"),
        table.c.built_with,
    )
    rows = db.connection().execute(query).all()  # one fetchall, not a fetch per row
    return {slug: (i, h, p, path, bool(a), b) for i, slug, h, p, path, a, b in rows}


def latest_release(db: Session) -> ContentRelease | None:
    return db.scalar(select(ContentRelease).order_by(ContentRelease.id.desc()).limit(1))


def vocabulary_of(corpus: Corpus) -> dict[str, Any]:
    """The names a release publishes, as JSON: curricula, dose levels (in order), components, principles."""
    return {
        "curricula": _terms(corpus.curricula),
        "levels": _terms(corpus.policy.levels),
        "components": _terms(corpus.components),
        "principles": _terms(corpus.principles),
    }


def _release(
    db: Session, corpus: Corpus, *, added: int, changed: int, retired: int, moved: int
) -> ContentRelease | None:
    """Record a release when modules changed or moved in the order (lists follow it, and pages cached
    for the previous release must not be served), when the vocabularies or the default policy changed
    (an edit to dosing.yaml alone is a release too), or when there is none yet."""
    vocabulary = vocabulary_of(corpus)
    policy = {role: dict(levels) for role, levels in corpus.policy.roles.items()}
    latest = latest_release(db)
    if (
        latest is not None
        and not (added or changed or retired or moved)
        and latest.vocabulary == vocabulary
        and latest.policy == policy
    ):
        return None
    release = ContentRelease(
        synced_at=utcnow(),
        vocabulary=vocabulary,
        policy=policy,
        added=added,
        changed=changed,
        retired=retired,
    )
    db.add(release)
    db.flush()
    return release


_FIGURE = re.compile(r"<svg\b.*?</svg>", re.S)  # a drawn chart's ticks are not words to search
_TAG = re.compile(r"<[^>]+>")


def search_text(module: CorpusModule) -> str:
    """What the catalogue's search reads, lower-cased: title, summary, objectives and the body's words
    (its text and reflection prompts; checks are left out, so a search does not lead to the answers)."""
    html = " ".join(
        [s.value for s in module.segments if s.kind == "html"] + [r.prompt_html for r in module.reflections]
    )
    words = unescape(_TAG.sub(" ", _FIGURE.sub(" ", html)))
    return " ".join([module.title, module.summary, *module.objectives, *words.split()]).lower()


def _terms(terms: Sequence[Term]) -> list[dict[str, str]]:
    return [{"id": t.id, "title": t.title, "summary": t.summary} for t in terms]


def _fields(module: CorpusModule, position: int, now: Any) -> dict[str, Any]:
    """Every column of a Module row, from the corpus module: what an added or changed row is written with."""
    return {
        "slug": module.id,
        "curriculum": module.curriculum,
        "title": module.title,
        "dose": module.dose,
        "component": module.component,
        "principles": list(module.principles),
        "roles": list(module.roles),
        "minutes": module.minutes,
        "requires": list(module.requires),
        "sources": list(module.sources),
        "objectives": list(module.objectives),
        "summary": module.summary,
        "segments": [{"kind": s.kind, "value": s.value} for s in module.segments],
        "checks": [
            {
                "key": c.key,
                "question_html": c.question_html,
                "options": [{"text_html": o.text_html, "correct": o.correct} for o in c.options],
                "explanation_html": c.explanation_html,
            }
            for c in module.checks
        ],
        "reflections": [{"key": r.key, "prompt_html": r.prompt_html} for r in module.reflections],
        "search_text": search_text(module),
        "built_with": BUILD,
        "path": module.path,
        "content_hash": module.content_hash,
        "position": position,
        "updated_at": now,
        "retired_at": None,
    }
