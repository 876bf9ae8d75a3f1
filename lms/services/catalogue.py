"""The published curricula as a learner finds them: the vocabularies of the latest content release
(curricula, dose levels, components, principles) and the catalogue, filtered and searched.

Published modules are shared by every organisation, so any signed-in person may find any active one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from curricula.model import Term
from curricula.stakeholders import LABELS, StakeholderRole
from lms.models import (
    ContentRelease,
    Module,
    User,
)
from lms.services import Invalid
from lms.services.search import contains, json_list_has

CATALOGUE_FILTERS = ("q", "curriculum", "component", "principle", "role", "dose")
SEARCH_MAX = 200

# What lists of modules show of each (My learning, the record): never the content.
LISTED_MODULE_FIELDS = (
    Module.slug,
    Module.title,
    Module.curriculum,
    Module.dose,
    Module.minutes,
    Module.requires,
    Module.position,
    Module.retired_at,
)


# --- the vocabularies of the latest content release ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Titles for the ids modules use, from the latest `lms content sync` (empty before the first)."""

    curricula: tuple[Term, ...] = ()
    levels: tuple[Term, ...] = ()
    components: tuple[Term, ...] = ()
    principles: tuple[Term, ...] = ()

    @property
    def published(self) -> bool:
        return bool(self.levels or self.curricula)

    def title(self, kind: str, term_id: str | None) -> str:
        """The title of a curriculum/level/component/principle id, or the id itself when unknown."""
        if term_id is None:
            return ""
        terms: tuple[Term, ...] = getattr(self, kind)
        return next((t.title for t in terms if t.id == term_id), term_id)

    def level(self, level_id: str) -> Term:
        return next((t for t in self.levels if t.id == level_id), Term(level_id, level_id))

    def level_key(self, level_id: str) -> tuple[int, str]:
        """Sort key: the release's order of levels first, then unknown levels by name."""
        order = {t.id: i for i, t in enumerate(self.levels)}
        return (order.get(level_id, len(order)), level_id)


def _terms(entries: Iterable[Any]) -> tuple[Term, ...]:
    terms = []
    for entry in entries or ():
        if isinstance(entry, str):
            terms.append(Term(entry, entry))
        else:
            terms.append(Term(entry["id"], entry.get("title") or entry["id"], entry.get("summary") or ""))
    return tuple(terms)


_LATEST_RELEASE = (
    select(ContentRelease.id, ContentRelease.synced_at).order_by(ContentRelease.id.desc()).limit(1)
)
# The same, as two columns another statement can carry (the session loader's: no round trip of its own).
LATEST_RELEASE_COLUMNS = (
    _LATEST_RELEASE.with_only_columns(ContentRelease.id).scalar_subquery().label("release_id"),
    _LATEST_RELEASE.with_only_columns(ContentRelease.synced_at).scalar_subquery().label("release_synced_at"),
)
_READ_RELEASE = "lms.release_key"
# A release never changes once written, so its vocabulary is built once per process: keyed by the
# release's id and time (ids restart in a wiped database; the time tells such releases apart).
_VOCABULARIES: dict[tuple[int, datetime], Vocabulary] = {}


def release_read(db: Session, release_id: int | None, synced_at: datetime | None) -> None:
    """Note the latest release as a statement of this transaction read it (`LATEST_RELEASE_COLUMNS`), so
    `release_key` need not ask again before the transaction ends."""
    key = None if release_id is None or synced_at is None else (release_id, synced_at)
    db.info[_READ_RELEASE] = (db.get_transaction(), key)


def release_key(db: Session) -> tuple[int, datetime] | None:
    """What tells the latest content release apart from every other (None before the first sync).

    Every sync that changes what a module shows, or where it stands in the order, is a new release.
    Read once per transaction at most: with the signed-in person when a request has one.
    """
    read = db.info.get(_READ_RELEASE)
    if read is not None and read[0] is db.get_transaction() and read[0] is not None:
        return read[1]
    latest = db.execute(_LATEST_RELEASE).first()
    return None if latest is None else (latest.id, latest.synced_at)


def vocabulary(db: Session) -> Vocabulary:
    key = release_key(db)
    if key is None:
        return Vocabulary()
    words = _VOCABULARIES.get(key)
    if words is None:
        release = db.get(ContentRelease, key[0])
        entries = (release.vocabulary if release else None) or {}
        words = Vocabulary(
            curricula=_terms(entries.get("curricula", ())),
            levels=_terms(entries.get("levels", ())),
            components=_terms(entries.get("components", ())),
            principles=_terms(entries.get("principles", ())),
        )
        if len(_VOCABULARIES) >= 8:
            _VOCABULARIES.clear()
        _VOCABULARIES[key] = words
    return words


# --- the catalogue --------------------------------------------------------------------------------


def catalogue(
    db: Session,
    user: User,
    *,
    q: str = "",
    curriculum: str = "",
    component: str = "",
    principle: str = "",
    role: str = "",
    dose: str = "",
) -> list[Module]:
    """Active modules matching every filter given, prerequisites first.

    `q` matches words anywhere in the title, summary and objectives: every word must match. An unknown
    filter value is Invalid (naming the filter), never an empty list that looks like "no modules".
    """
    words = vocabulary(db)
    _check_filters(
        words, curriculum=curriculum, component=component, principle=principle, role=role, dose=dose
    )
    if len(q) > SEARCH_MAX:
        raise Invalid(f"Search for at most {SEARCH_MAX} characters.", "q")
    query = select(Module).where(Module.retired_at.is_(None))
    for word in q.lower().split():
        query = query.where(contains(Module.search_text, word))
    if curriculum:
        query = query.where(Module.curriculum == curriculum)
    if component:
        query = query.where(Module.component == component)
    if dose:
        query = query.where(Module.dose == dose)
    if principle:
        query = query.where(json_list_has(Module.principles, principle))
    if role:
        query = query.where(json_list_has(Module.roles, role))
    # Everything but the content (segments, checks, reflections): a list never shows it.
    listed = load_only(
        *LISTED_MODULE_FIELDS,
        Module.summary,
        Module.component,
        Module.principles,
        Module.roles,
        Module.objectives,
    )
    return list(db.scalars(query.order_by(Module.position, Module.title).options(listed)))


def _check_filters(words: Vocabulary, **filters: str) -> None:
    known = {
        "curriculum": {t.id for t in words.curricula},
        "component": {t.id for t in words.components},
        "principle": {t.id for t in words.principles},
        "dose": {t.id for t in words.levels},
        "role": {r.value for r in StakeholderRole},
    }
    names = {
        "curriculum": "curriculum",
        "component": "framework component",
        "principle": "principle",
        "dose": "dose level",
        "role": "stakeholder role",
    }
    errors: dict[str, list[str]] = {}
    for name, value in filters.items():
        # Before the first content sync there is no vocabulary to check against: nothing matches then.
        if value and (known[name] or name == "role") and value not in known[name]:
            errors[name] = [f"Choose a {names[name]} from the list."]
    if errors:
        raise Invalid(errors)


def role_label(role: str) -> str:
    try:
        return LABELS[StakeholderRole(role)]
    except ValueError:
        return role
