"""Gemba walks: a leader goes where the work is, asks a set of questions, notes what they saw and raises
follow-ups; and the organisation's settings for escalation and leader standard work.

A walk is read and written by its leader and read by org admins (DESIGN.md section 6); anyone else gets
NotFound. A walk is sent with a key the browser made for it (`client_key`): sent again after a dropped
connection, it answers the walk it made the first time, never a second one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from coaching.escalation import EscalationError, EscalationPolicy
from coaching.questions import QuestionSet, load_question_sets
from coaching.standard_work import Adherence, Target, TargetError, adherence, parse_targets
from lms.db import utcnow
from lms.models import GembaSettings, GembaWalk, OrgUnit, Permission
from lms.services import Invalid, NotFound, audit, coaching, follow_ups
from lms.services.access import Actor

QUESTION_SETS_ROOT = Path(__file__).resolve().parents[2] / "content" / "coaching" / "questions"
ANSWER_MAX = 5_000
OBSERVATIONS_MAX = 10_000
EXPECTED_MAX = 1_000
CLIENT_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CLIENT_KEY_HELP = "client_key must be 8 to 64 letters, digits, hyphens or underscores, made once per walk."
ESCALATION_DAYS_MAX = 365


@functools.cache
def question_sets() -> dict[str, QuestionSet]:
    """The gemba question sets of content/coaching/ (read once per process; `lms content check` reports
    their problems)."""
    sets, _problems = load_question_sets(QUESTION_SETS_ROOT)
    return dict(sets)


def question_set(key: str) -> QuestionSet | None:
    return question_sets().get(key)


def walkable_units(db: Session, actor: Actor) -> list[OrgUnit]:
    """The organisation's active units, in tree order: where a walk may take place."""
    return list(
        db.scalars(
            select(OrgUnit)
            .where(OrgUnit.org_id == actor.org_id, OrgUnit.archived_at.is_(None))
            .order_by(OrgUnit.path)
        )
    )


@dataclass(frozen=True)
class NewWalk:
    unit_id: int | None
    question_set: str
    client_key: str
    answers: Mapping[str, str] = field(default_factory=dict)
    observations: str = ""
    expected_next: str = ""  # the next step the leader expects to see (a Kata prompt asks about it)
    follow_ups: Sequence[follow_ups.NewFollowUp] = ()
    walked_at: datetime | None = None


@dataclass(frozen=True)
class Recorded:
    walk: GembaWalk
    created: bool  # False: the same walk was sent before (the same client_key) and is answered again


def _existing(db: Session, actor: Actor, client_key: str) -> GembaWalk | None:
    return db.scalar(
        select(GembaWalk).where(
            GembaWalk.leader_id == actor.membership.id, GembaWalk.client_key == client_key
        )
    )


def record_walk(db: Session, actor: Actor, new: NewWalk, *, prefix: str = "follow_ups.{}.") -> Recorded:
    """Record the actor's walk and the follow-ups raised on it, all or nothing. Follow-up problems are
    keyed `prefix` (formatted with the follow-up's index) + the field name."""
    key = (new.client_key or "").strip()
    if not CLIENT_KEY.match(key):
        raise Invalid(CLIENT_KEY_HELP, "client_key")
    found = _existing(db, actor, key)
    if found is not None:
        return Recorded(found, created=False)
    errors: dict[str, list[str]] = {}
    unit = db.get(OrgUnit, new.unit_id) if new.unit_id is not None else None
    if unit is None or unit.org_id != actor.org_id or not unit.active:
        errors["unit_id"] = ["Choose the unit you walked, one of this organisation's active units."]
    questions = question_set(new.question_set)
    answers: dict[str, str] = {}
    if questions is None:
        errors["question_set"] = ["Choose one of the question sets."]
    else:
        known = {q.key for q in questions.questions}
        for question_key, text in new.answers.items():
            text = (text or "").strip()
            if question_key not in known:
                errors.setdefault("answers", []).append(f"{question_key!r} is not a question of this set.")
            elif len(text) > ANSWER_MAX:
                errors[f"answers.{question_key}"] = [
                    f"Keep each answer to {ANSWER_MAX:,} characters or fewer (this one has {len(text):,})."
                ]
            elif text:
                answers[question_key] = text
    observations = (new.observations or "").strip()
    if len(observations) > OBSERVATIONS_MAX:
        errors["observations"] = [
            f"Keep your observations to {OBSERVATIONS_MAX:,} characters or fewer "
            f"(they have {len(observations):,})."
        ]
    expected_next = (new.expected_next or "").strip()
    if len(expected_next) > EXPECTED_MAX:
        errors["expected_next"] = [
            f"Keep the next step you expect to {EXPECTED_MAX:,} characters or fewer "
            f"(it has {len(expected_next):,})."
        ]
    if new.walked_at is not None and new.walked_at > utcnow() + timedelta(minutes=5):
        errors["walked_at"] = ["A walk cannot be recorded in the future."]
    cleaned = []
    for index, item in enumerate(new.follow_ups):
        clean, problems = follow_ups.check_new(db, actor, item, prefix=prefix.format(index))
        errors.update(problems)
        cleaned.append(clean)
    if errors:
        raise Invalid(errors)
    assert unit is not None
    try:
        with db.begin_nested():
            walk = GembaWalk(
                org_id=actor.org_id,
                leader_id=actor.membership.id,
                unit_id=unit.id,
                question_set=new.question_set,
                walked_at=new.walked_at or utcnow(),
                answers=answers,
                observations=observations,
                expected_next=expected_next,
                client_key=key,
            )
            db.add(walk)
            db.flush()
    except IntegrityError:  # the same walk, sent twice at once: the other request made it
        found = _existing(db, actor, key)
        if found is None:
            raise
        return Recorded(found, created=False)
    for clean in cleaned:
        assert clean is not None
        follow_ups.add(db, actor, clean, unit=unit, walk=walk)
    db.flush()
    return Recorded(walk, created=True)


def may_read(actor: Actor, walk: GembaWalk) -> bool:
    """The leader who walked, and the organisation's admins (DESIGN.md section 6)."""
    return walk.org_id == actor.org_id and (
        walk.leader_id == actor.membership.id or actor.can(Permission.ORG_ADMIN)
    )


def get_walk(db: Session, actor: Actor, walk_id: int) -> GembaWalk:
    walk = db.get(GembaWalk, walk_id)
    if walk is None or not (
        may_read(actor, walk)
        or (walk.org_id == actor.org_id and coaching.coaches_now(db, actor, walk.leader_id))
    ):
        raise NotFound("No such gemba walk.")
    return walk


def my_walks(db: Session, actor: Actor, *, limit: int = 100) -> list[GembaWalk]:
    """The actor's own walks, latest first."""
    return list(
        db.scalars(
            select(GembaWalk)
            .where(GembaWalk.leader_id == actor.membership.id)
            .options(selectinload(GembaWalk.unit), selectinload(GembaWalk.follow_ups))
            .order_by(GembaWalk.walked_at.desc(), GembaWalk.id.desc())
            .limit(limit)
        )
    )


# --- the organisation's settings --------------------------------------------------------------------


def settings_of(db: Session, org_id: int) -> GembaSettings | None:
    return db.get(GembaSettings, org_id)


def escalation_policy(db: Session, org_id: int) -> EscalationPolicy:
    settings = settings_of(db, org_id)
    if settings is not None and settings.escalation_days:
        return EscalationPolicy(days=tuple(settings.escalation_days))  # type: ignore[arg-type]
    return EscalationPolicy()


def targets(db: Session, org_id: int) -> dict[str, Target]:
    """Leader-standard-work targets by stakeholder role: the defaults, with the organisation's own."""
    settings = settings_of(db, org_id)
    return parse_targets(settings.targets if settings else None)


def save_settings(
    db: Session,
    actor: Actor,
    *,
    escalation_days: Sequence[int | None],
    targets: Mapping[str, Mapping[str, Any] | None],
) -> GembaSettings:
    """Org admins set the days overdue for each escalation (rising) and their own targets by role
    ({"per": "day" | "week", "count": n}; None keeps the default)."""
    actor.require(Permission.ORG_ADMIN)
    errors: dict[str, list[str]] = {}
    days = list(escalation_days)
    for index, value in enumerate(days):
        if value is None or not 1 <= value <= ESCALATION_DAYS_MAX:
            errors[f"days_{index}"] = [f"Enter a whole number of days from 1 to {ESCALATION_DAYS_MAX}."]
    if not errors:
        try:
            EscalationPolicy(days=tuple(days))  # type: ignore[arg-type]
        except EscalationError as exc:
            errors[f"days_{len(days) - 1}"] = [exc.message]
    own: dict[str, dict[str, Any]] = {}
    for role, value in targets.items():
        if value is None:
            continue
        try:
            target = parse_targets({role: dict(value)})[role]
        except TargetError as exc:
            errors[f"target_{role}"] = [exc.message]
        else:
            own[role] = {"per": target.per, "count": target.count}
    if errors:
        raise Invalid(errors)
    settings = settings_of(db, actor.org_id) or GembaSettings(org_id=actor.org_id, targets={})
    before = {"escalation_days": settings.escalation_days, "targets": settings.targets}
    settings.escalation_days = [int(d) for d in days if d is not None]
    settings.targets = own
    settings.updated_at = utcnow()
    settings.updated_by_id = actor.membership.id
    db.add(settings)
    after = {"escalation_days": settings.escalation_days, "targets": own}
    if before != after:
        audit.record(
            db,
            actor_id=actor.user.id,
            org_id=actor.org_id,
            action="gemba.settings_changed",
            target_type="organization",
            target_id=actor.org_id,
            changes={name: [before[name], after[name]] for name in after if before[name] != after[name]},
        )
    db.flush()
    return settings


# --- leader standard work ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # inclusive
    result: Adherence | None  # None: no target for this role
    walks: int


@dataclass(frozen=True)
class StandardWork:
    target: Target | None
    time_zone: str
    today: date
    periods: tuple[Period, ...]


def standard_work(db: Session, actor: Actor, *, now: datetime | None = None) -> StandardWork:
    """The actor's walks this week (from Monday) and this month, against their role's target, in the
    organisation's time zone."""
    zone = ZoneInfo(actor.org.time_zone)
    today = (now or utcnow()).astimezone(zone).date()
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    since = min(week_start, month_start)
    since_utc = datetime.combine(since, datetime.min.time(), zone)
    walked = db.scalars(
        select(GembaWalk.walked_at).where(
            GembaWalk.leader_id == actor.membership.id, GembaWalk.walked_at >= since_utc
        )
    )
    dates = [moment.astimezone(zone).date() for moment in walked]
    target = targets(db, actor.org_id).get(actor.membership.stakeholder_role.value)
    periods = []
    for label, start in (("This week", week_start), ("This month", month_start)):
        count = sum(1 for d in dates if start <= d <= today)
        result = adherence(dates, target, start, today) if target is not None else None
        periods.append(Period(label, start, today, result, count))
    return StandardWork(target, str(zone), today, tuple(periods))
