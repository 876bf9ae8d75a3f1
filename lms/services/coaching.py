"""Coaching relationships: a coach and a coachee in one organisation (DESIGN.md sections 3 and 6).

An org admin makes one directly; a coach proposes one and the coachee accepts or declines it. A coachee
has one coach at a time: a relationship that becomes active ends the one before it (what was shared
under the old one stays with it, so the new coach never inherits it). The coach, the coachee or an org
admin ends one. Each change is in the organisation's audit trail, naming people, never journal text.

A coach reads what a coachee shared under an active relationship, and nothing else: never private
entries, nor how many there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from lms.db import utcnow
from lms.models import (
    CoachingRelationship,
    JournalEntry,
    Membership,
    Module,
    Permission,
    Reflection,
    User,
)
from lms.services import Invalid, NotFound, audit
from lms.services.access import Actor, membership_in_org
from lms.services.prompt_adherence import Adherence, adherence

SHARED_LATELY = 5
NO_SUCH_RELATIONSHIP = "No such coaching relationship."


# --- reading ------------------------------------------------------------------------------------------


def _with_people(query):
    return query.options(
        selectinload(CoachingRelationship.coach).selectinload(Membership.user),
        selectinload(CoachingRelationship.coachee).selectinload(Membership.user),
    )


def _active() -> list:
    return [CoachingRelationship.accepted_at.is_not(None), CoachingRelationship.ended_at.is_(None)]


def coaches(rel: CoachingRelationship) -> bool:
    """The relationship's coach may coach still: active here, with the coach permission."""
    return rel.coach.active and rel.coach.is_coach


def current_coach(db: Session, coachee: Membership) -> CoachingRelationship | None:
    """The coachee's active relationship (one at most) with someone who may coach still, or None: what
    the coachee shares goes to this coach."""
    rel = db.scalar(
        _with_people(select(CoachingRelationship))
        .where(CoachingRelationship.coachee_id == coachee.id, *_active())
        .order_by(CoachingRelationship.id.desc())
        .limit(1)
    )
    return rel if rel is not None and coaches(rel) else None


def coaches_now(db: Session, actor: Actor, coachee_id: int) -> bool:
    """Whether the actor is the current coach of the member `coachee_id` (DESIGN.md section 6: a coach
    reads their coachee's gemba walks and follow-ups, never their private journal)."""
    coachee = db.get(Membership, coachee_id)
    if coachee is None or coachee.org_id != actor.org_id:
        return False
    rel = current_coach(db, coachee)
    return rel is not None and rel.coach_id == actor.membership.id


def coaching_relationship(db: Session, actor: Actor, relationship_id: int) -> CoachingRelationship:
    """A relationship the actor is part of (coach or coachee), or any of the organisation's for an org
    admin; NotFound otherwise (another organisation's, or someone else's)."""
    rel = db.get(CoachingRelationship, relationship_id)
    if rel is None or rel.org_id != actor.org_id:
        raise NotFound(NO_SUCH_RELATIONSHIP)
    if actor.membership.id not in (rel.coach_id, rel.coachee_id) and not actor.can(Permission.ORG_ADMIN):
        raise NotFound(NO_SUCH_RELATIONSHIP)
    return rel


def coaching_of(db: Session, actor: Actor, coachee_id: int) -> CoachingRelationship:
    """The active relationship in which the actor (holding the coach permission) coaches this member;
    NotFound for anyone else: the one check before a coach reads anything a coachee shared."""
    if not actor.can(Permission.COACH):
        raise NotFound("No such coachee.")
    rel = db.scalar(
        select(CoachingRelationship).where(
            CoachingRelationship.org_id == actor.org_id,
            CoachingRelationship.coach_id == actor.membership.id,
            CoachingRelationship.coachee_id == coachee_id,
            *_active(),
        )
    )
    if rel is None or not rel.coachee.usable:
        raise NotFound("No such coachee.")
    return rel


@dataclass
class MyCoaching:
    """One person's side of coaching in their organisation."""

    coach: CoachingRelationship | None = None  # my active coach
    proposals: list[CoachingRelationship] = field(default_factory=list)  # waiting for my answer
    coachees: list[CoachingRelationship] = field(default_factory=list)  # active, I am the coach
    proposed: list[CoachingRelationship] = field(default_factory=list)  # mine, waiting for theirs


def my_coaching(db: Session, actor: Actor) -> MyCoaching:
    me = actor.membership.id
    rels = db.scalars(
        _with_people(select(CoachingRelationship))
        .where(
            CoachingRelationship.org_id == actor.org_id,
            or_(CoachingRelationship.coach_id == me, CoachingRelationship.coachee_id == me),
            CoachingRelationship.ended_at.is_(None),
        )
        .order_by(CoachingRelationship.started_at.desc(), CoachingRelationship.id.desc())
    )
    mine = MyCoaching()
    for rel in rels:
        if rel.coachee_id == me:
            if rel.active:
                if coaches(rel):
                    mine.coach = mine.coach or rel
            else:
                mine.proposals.append(rel)
        elif rel.active:
            if rel.coachee.usable:
                mine.coachees.append(rel)
        else:
            mine.proposed.append(rel)
    mine.coachees.sort(key=lambda r: r.coachee.user.name.lower())
    return mine


@dataclass(frozen=True)
class Shared:
    """Something a coachee shared: an entry or a module reflection (its title and when, not its text)."""

    kind: str  # "entry" | "reflection"
    id: int
    title: str
    shared_at: datetime


@dataclass
class Coachee:
    relationship: CoachingRelationship
    shared: list[Shared]
    prompts: Adherence  # answered of the reflection prompts delivered lately: counts, never content


def coachees(db: Session, actor: Actor, *, lately: int = SHARED_LATELY) -> list[Coachee]:
    """A coach's coachees with what each shared lately, newest first: titles and times only."""
    actor.require(Permission.COACH)
    relationships = my_coaching(db, actor).coachees
    kept = adherence(db, [rel.coachee.user_id for rel in relationships])
    return [
        Coachee(rel, shared_under(db, rel, limit=lately), kept[rel.coachee.user_id]) for rel in relationships
    ]


def shared_under(db: Session, rel: CoachingRelationship, *, limit: int) -> list[Shared]:
    """What the coachee shared under this relationship (still shared), newest first."""
    entries = db.execute(
        select(JournalEntry.id, JournalEntry.title, JournalEntry.created_at, JournalEntry.shared_at)
        .where(JournalEntry.shared_relationship_id == rel.id, JournalEntry.shared_at.is_not(None))
        .order_by(JournalEntry.shared_at.desc())
        .limit(limit)
    ).all()
    reflections = db.execute(
        select(Reflection.id, Module.title, Reflection.shared_at)
        .join(Module, Module.id == Reflection.module_id)
        .where(Reflection.shared_relationship_id == rel.id, Reflection.shared_at.is_not(None))
        .order_by(Reflection.shared_at.desc())
        .limit(limit)
    ).all()
    items = [Shared("entry", r.id, r.title or untitled(r.created_at), r.shared_at) for r in entries]
    items += [Shared("reflection", r.id, f"Reflection: {r.title}", r.shared_at) for r in reflections]
    return sorted(items, key=lambda s: s.shared_at, reverse=True)[:limit]


def untitled(created_at: datetime) -> str:
    """The name of an entry without a title: the day it was written."""
    return f"Entry of {created_at.day} {created_at:%b %Y}"


def relationships_of_person(db: Session, actor: Actor, membership_id: int) -> list[CoachingRelationship]:
    """For an org admin: a member's relationships, as coach or coachee, newest first (ended ones too)."""
    actor.require(Permission.ORG_ADMIN)
    person = membership_in_org(db, actor, membership_id)
    return list(
        db.scalars(
            _with_people(select(CoachingRelationship))
            .where(
                or_(CoachingRelationship.coach_id == person.id, CoachingRelationship.coachee_id == person.id)
            )
            .order_by(CoachingRelationship.started_at.desc(), CoachingRelationship.id.desc())
        )
    )


def coaches_in_org(db: Session, actor: Actor) -> list[Membership]:
    """The organisation's active members holding the coach permission, by name (the admin's choice)."""
    actor.require(Permission.ORG_ADMIN)
    return list(
        db.scalars(
            select(Membership)
            .join(User, Membership.user_id == User.id)
            .where(Membership.org_id == actor.org_id, Membership.is_coach, Membership.active)
            .options(selectinload(Membership.user))
            .order_by(func.lower(User.name), Membership.id)
        )
    )


# --- changing -----------------------------------------------------------------------------------------


def _record(db: Session, actor: Actor, action: str, rel: CoachingRelationship) -> None:
    """Names the coach (the coachee is the target), never anything either wrote."""
    audit.by(
        db,
        actor,
        action=action,
        target_type="membership",
        target_id=rel.coachee_id,
        changes={"coach": rel.coach.user.name, "relationship": rel.id},
    )


def _check_pair(
    db: Session, coach: Membership, coachee: Membership, *, person: str = "coachee_id"
) -> CoachingRelationship | None:
    """Refuse a pair that cannot start (`person` names the field the coachee was chosen in); answer the
    pair's proposal that waits for the coachee, if there is one."""
    errors: dict[str, list[str]] = {}
    if not coach.active or not coach.is_coach:
        errors["coach_id"] = [f"{coach.user.name} does not hold the coach permission here."]
    if coachee.id == coach.id:
        errors[person] = ["A person cannot be their own coach."]
    elif not coachee.active:
        errors[person] = [f"{coachee.user.name} is not active in this organisation."]
    if errors:
        raise Invalid(errors)
    same = db.scalar(
        select(CoachingRelationship).where(
            CoachingRelationship.coach_id == coach.id,
            CoachingRelationship.coachee_id == coachee.id,
            CoachingRelationship.ended_at.is_(None),
        )
    )
    if same is not None and same.active:
        raise Invalid(f"{coach.user.name} already coaches {coachee.user.name}.", person)
    return same


def _activate(db: Session, actor: Actor, rel: CoachingRelationship) -> CoachingRelationship:
    """Make the relationship active, ending every other the coachee has (one coach at a time, even when
    an earlier coach has left or lost the permission, so none of them can come back to what was shared)."""
    now = utcnow()
    others = db.scalars(
        select(CoachingRelationship).where(
            CoachingRelationship.coachee_id == rel.coachee_id, CoachingRelationship.id != rel.id, *_active()
        )
    )
    for previous in others:
        previous.ended_at, previous.end_reason = now, "replaced"
        _record(db, actor, "coaching.ended", previous)
    rel.accepted_at = now
    db.flush()
    return rel


def create(db: Session, actor: Actor, *, coach_id: int, coachee_id: int) -> CoachingRelationship:
    """An org admin makes a relationship, active at once."""
    actor.require(Permission.ORG_ADMIN)
    coach = membership_in_org(db, actor, coach_id)
    coachee = membership_in_org(db, actor, coachee_id)
    # A proposal of the same pair that waits for the coachee is made active rather than doubled.
    rel = _check_pair(db, coach, coachee)
    if rel is None:
        rel = CoachingRelationship(
            org_id=actor.org_id,
            coach=coach,
            coachee=coachee,
            proposed_by_id=actor.user.id,
            started_at=utcnow(),
        )
        db.add(rel)
        db.flush()
    _activate(db, actor, rel)
    _record(db, actor, "coaching.created", rel)
    return rel


def propose(db: Session, actor: Actor, *, email: str) -> CoachingRelationship:
    """A coach proposes to coach the member with this email; it waits for their acceptance."""
    actor.require(Permission.COACH)
    # Compared as accounts store addresses (lower case); not validated: an unknown one is simply unknown.
    address = (email or "").strip().lower()
    if not address:
        raise Invalid("Enter the email of the person you would coach.", "email")
    coachee = db.scalar(
        select(Membership)
        .join(User, Membership.user_id == User.id)
        .where(Membership.org_id == actor.org_id, User.email == address, Membership.active)
    )
    if coachee is None:
        raise Invalid("No active member of this organisation has that email.", "email")
    if _check_pair(db, actor.membership, coachee, person="email") is not None:
        raise Invalid(f"You have proposed to coach {coachee.user.name}: it waits for their answer.", "email")
    rel = CoachingRelationship(
        org_id=actor.org_id,
        coach=actor.membership,
        coachee=coachee,
        proposed_by_id=actor.user.id,
        started_at=utcnow(),
    )
    db.add(rel)
    db.flush()
    _record(db, actor, "coaching.proposed", rel)
    return rel


def _proposal_to_me(db: Session, actor: Actor, relationship_id: int) -> CoachingRelationship:
    rel = db.get(CoachingRelationship, relationship_id)
    if rel is None or rel.org_id != actor.org_id or rel.coachee_id != actor.membership.id or not rel.pending:
        raise NotFound("No such proposal.")
    return rel


def accept(db: Session, actor: Actor, relationship_id: int) -> CoachingRelationship:
    """The coachee accepts a coach's proposal (ending their current relationship, if any)."""
    rel = _proposal_to_me(db, actor, relationship_id)
    if not rel.coach.active or not rel.coach.is_coach:
        raise Invalid(f"{rel.coach.user.name} no longer coaches in this organisation.")
    _activate(db, actor, rel)
    _record(db, actor, "coaching.accepted", rel)
    return rel


def decline(db: Session, actor: Actor, relationship_id: int) -> CoachingRelationship:
    rel = _proposal_to_me(db, actor, relationship_id)
    rel.ended_at, rel.end_reason = utcnow(), "declined"
    _record(db, actor, "coaching.declined", rel)
    db.flush()
    return rel


def end(db: Session, actor: Actor, relationship_id: int) -> CoachingRelationship:
    """The coach, the coachee or an org admin ends a relationship (a coach withdraws a proposal so).
    What was shared under it stays shared with nobody but its author."""
    rel = coaching_relationship(db, actor, relationship_id)
    if rel.ended_at is not None:
        return rel
    rel.ended_at = utcnow()
    rel.end_reason = "ended" if rel.accepted_at is not None else "withdrawn"
    _record(db, actor, "coaching.ended" if rel.accepted_at else "coaching.withdrawn", rel)
    db.flush()
    return rel
