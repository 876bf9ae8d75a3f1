"""Dose assignment: every person receives the modules their stakeholder role's dose levels require.

The policy says, per role, which levels a person needs and in how many days each is due. The default is
the one published by the latest content release (content/dosing.yaml); an organisation may override it
role by role (HR or an org admin, audited). Planning a person is idempotent and is done:
- in the transaction that adds a person, changes their role or unit, deactivates or reactivates them
  (lms/services/people.py), so a new person holds their assignments the moment they are added;
- for every person of the role, in the transaction that changes the organisation's policy;
- nightly for every organisation (`reconcile`, lms/scheduler.py), and after `lms content sync`, so
  assignments follow modules published, changed or retired since.

Rules of a plan (only DOSE assignments are touched; COHORT and MANUAL ones belong to their owners):
- a required module (active, its dose among the role's levels) without an assignment gets one, due the
  policy's days after today in the organisation's time zone; a cancelled one is re-opened, due the
  policy's days after today;
- an open assignment's due date follows the policy: the local date it was assigned plus the policy's days
  for its level, so an override that shortens or lengthens a level moves open assignments with it;
- an open assignment no longer required (role changed, policy changed, module retired, person
  deactivated) is cancelled, unless the person completed the module: completed history stays.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from curricula.stakeholders import LABELS, StakeholderRole, role_named
from lms.db import utcnow
from lms.models import (
    Assignment,
    AssignmentSource,
    ContentRelease,
    DosePolicyOverride,
    Membership,
    Module,
    Organization,
    Permission,
    Progress,
    ProgressStatus,
)
from lms.services import Invalid, NotFound, audit
from lms.services.access import Actor
from lms.services.catalogue import vocabulary

DAYS_MIN, DAYS_MAX = 1, 730
NIGHTLY_HOUR = 2  # local time of the nightly reconcile
BATCH = 500  # memberships planned per round of queries in `reconcile`

Policy = dict[str, dict[str, int]]  # role -> {level: days}


@dataclass(slots=True)
class PlanCounts:
    """What planning changed: assignments created, re-opened, cancelled, open ones given a new due date."""

    created: int = 0
    reopened: int = 0
    cancelled: int = 0
    redated: int = 0
    people: int = 0  # people planned

    def add(self, other: PlanCounts) -> None:
        self.created += other.created
        self.reopened += other.reopened
        self.cancelled += other.cancelled
        self.redated += other.redated
        self.people += other.people

    @property
    def changed(self) -> int:
        return self.created + self.reopened + self.cancelled + self.redated

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.reopened} re-opened, {self.cancelled} cancelled, "
            f"{self.redated} with a new due date"
        )


# --- the policy ---------------------------------------------------------------------------------------


def _latest_release(db: Session) -> ContentRelease | None:
    return db.scalar(select(ContentRelease).order_by(ContentRelease.id.desc()).limit(1))


def default_policy(db: Session) -> Policy:
    """The policy of the latest content release ({} before the first `lms content sync`)."""
    release = _latest_release(db)
    return {role: dict(levels) for role, levels in (release.policy if release else {}).items()}


def level_ids(db: Session) -> list[str]:
    """The dose levels of the latest content release, in order (widest first)."""
    return [level.id for level in vocabulary(db).levels]


def _overrides(db: Session, org_id: int) -> dict[str, DosePolicyOverride]:
    return {
        o.role: o for o in db.scalars(select(DosePolicyOverride).where(DosePolicyOverride.org_id == org_id))
    }


def effective_policy(db: Session, org_id: int) -> Policy:
    """The organisation's policy: the default, with each overridden role replaced by the override."""
    policy = default_policy(db)
    for role, override in _overrides(db, org_id).items():
        policy[role] = dict(override.levels)
    return policy


# --- planning ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Context:
    """What planning many people of one organisation shares: read once."""

    policy: Policy
    modules_by_level: dict[str, list[int]]  # active module ids per dose level
    today: date  # in the organisation's time zone
    zone: ZoneInfo
    now: datetime  # the moment assignments are made: `today` at this hour


def _context(db: Session, org_id: int, today: date | None, roles: Iterable[str] | None = None) -> _Context:
    """Read the policy and the active modules of the levels `roles` need (every role's when None).

    `today` plans as of that day (noon, local time), for tests and back-dating; None is now.
    """
    org = db.get(Organization, org_id)
    if org is None:
        raise NotFound("No such organisation.")
    zone = ZoneInfo(org.time_zone or "UTC")
    policy = effective_policy(db, org_id)
    chosen = policy.values() if roles is None else [policy.get(r, {}) for r in roles]
    wanted = {level for days in chosen for level in days}
    modules: dict[str, list[int]] = defaultdict(list)
    if wanted:
        for module_id, dose in db.execute(
            select(Module.id, Module.dose)
            .where(Module.retired_at.is_(None), Module.dose.in_(sorted(wanted)))
            .order_by(Module.position)
        ):
            modules[dose].append(module_id)
    if today is None:
        now = utcnow()
        today = now.astimezone(zone).date()
    else:
        now = datetime.combine(today, time(12), tzinfo=zone).astimezone(UTC)
    return _Context(policy, dict(modules), today, zone, now)


def plan_for(db: Session, membership: Membership, *, today: date | None = None) -> PlanCounts:
    """Bring one person's DOSE assignments in line with the policy, in the caller's transaction (no commit).

    Three queries: the policy's modules, the person's assignments, the modules they completed.
    """
    context = _context(db, membership.org_id, today, roles=[_role_of(membership) or ""])
    existing = list(db.scalars(select(Assignment).where(Assignment.membership_id == membership.id)))
    completed = set(
        db.scalars(
            select(Progress.module_id).where(
                Progress.user_id == membership.user_id, Progress.status == ProgressStatus.COMPLETED
            )
        )
    )
    counts = _plan(db, context, membership, existing, completed)
    db.flush()
    return counts


def reconcile(db: Session, org_id: int, *, today: date | None = None) -> PlanCounts:
    """Plan every person of the organisation (the nightly job, and after a content sync).

    People are read in batches; each batch costs three queries (people, their assignments, their
    completions) whatever its size. Inactive people are included so that open assignments left behind
    are cancelled; planning them costs nothing when they hold none.
    """
    context = _context(db, org_id, today)
    counts = PlanCounts()
    last_id = 0
    while True:
        people = list(
            db.scalars(
                select(Membership)
                .where(Membership.org_id == org_id, Membership.id > last_id)
                .order_by(Membership.id)
                .limit(BATCH)
            )
        )
        if not people:
            break
        last_id = people[-1].id
        counts.add(_plan_many(db, context, people))
    db.flush()
    return counts


def reconcile_all(db: Session, *, today: date | None = None) -> Iterator[tuple[str, PlanCounts]]:
    """Reconcile every organisation, one after the other: yields (slug, counts) after each, so the caller
    may commit each organisation on its own (lms.db.commit_each)."""
    for org_id, slug in list(
        db.execute(select(Organization.id, Organization.slug).order_by(Organization.id))
    ):
        yield slug, reconcile(db, org_id, today=today)


def reconcile_nightly(db: Session, *, now: datetime | None = None) -> Iterator[tuple[str, PlanCounts]]:
    """Reconcile each organisation where it is now between 02:00 and 02:59 local time.

    The scheduler calls this every hour, so each organisation is reconciled once a night in its own time
    zone, when few people are learning. (A night whose 02:00 hour is skipped by daylight saving goes
    without; the next night catches up. Running twice in the hour is harmless: planning is idempotent.)
    Yields (slug, counts) after each organisation, so the job commits each on its own.
    """
    now = now or utcnow()
    orgs = list(
        db.execute(
            select(Organization.id, Organization.slug, Organization.time_zone).order_by(Organization.id)
        )
    )
    for org_id, slug, zone in orgs:
        if now.astimezone(ZoneInfo(zone or "UTC")).hour == NIGHTLY_HOUR:
            yield slug, reconcile(db, org_id)


def _plan_many(db: Session, context: _Context, people: list[Membership]) -> PlanCounts:
    ids = [m.id for m in people]
    by_person: dict[int, list[Assignment]] = defaultdict(list)
    for assignment in db.scalars(select(Assignment).where(Assignment.membership_id.in_(ids))):
        by_person[assignment.membership_id].append(assignment)
    completed: dict[int, set[int]] = defaultdict(set)
    for user_id, module_id in db.execute(
        select(Progress.user_id, Progress.module_id).where(
            Progress.user_id.in_({m.user_id for m in people}), Progress.status == ProgressStatus.COMPLETED
        )
    ):
        completed[user_id].add(module_id)
    counts = PlanCounts()
    for membership in people:
        counts.add(_plan(db, context, membership, by_person[membership.id], completed[membership.user_id]))
    db.flush()
    return counts


def _role_of(membership: Membership) -> str | None:
    role = membership.stakeholder_role
    return role.value if isinstance(role, StakeholderRole) else role


def _plan(
    db: Session,
    context: _Context,
    membership: Membership,
    existing: list[Assignment],
    completed: set[int],
) -> PlanCounts:
    """The rules of the module docstring, for one person, given what was read for them."""
    counts = PlanCounts(people=1)
    days = context.policy.get(_role_of(membership) or "", {}) if membership.active else {}
    required = {module_id: level for level in days for module_id in context.modules_by_level.get(level, ())}
    held = {a.module_id: a for a in existing}
    for module_id, level in required.items():
        assignment = held.get(module_id)
        due = context.today + timedelta(days=days[level])
        if assignment is None:
            db.add(
                Assignment(
                    membership_id=membership.id,
                    org_id=membership.org_id,
                    user_id=membership.user_id,
                    module_id=module_id,
                    source=AssignmentSource.DOSE,
                    level=level,
                    assigned_at=context.now,
                    due_on=due,
                )
            )
            counts.created += 1
        elif assignment.source is not AssignmentSource.DOSE:
            continue
        elif assignment.cancelled_at is not None:
            assignment.cancelled_at = None
            assignment.assigned_at = context.now
            assignment.level = level
            assignment.due_on = due
            counts.reopened += 1
        elif module_id not in completed:
            assigned_on = assignment.assigned_at.astimezone(context.zone).date()
            due = assigned_on + timedelta(days=days[level])
            if (assignment.due_on, assignment.level) != (due, level):
                assignment.due_on, assignment.level = due, level
                counts.redated += 1
    for assignment in existing:
        if (
            assignment.source is AssignmentSource.DOSE
            and assignment.cancelled_at is None
            and assignment.module_id not in required
            and assignment.module_id not in completed
        ):
            assignment.cancelled_at = context.now
            counts.cancelled += 1
    return counts


def plan_role(db: Session, org_id: int, role: str) -> PlanCounts:
    """Plan every active person of one role in the organisation, in the caller's transaction."""
    context = _context(db, org_id, None, roles=[role])
    counts = PlanCounts()
    people = list(
        db.scalars(
            select(Membership)
            .where(
                Membership.org_id == org_id,
                Membership.active.is_(True),
                Membership.stakeholder_role == StakeholderRole(role),
            )
            .order_by(Membership.id)
        )
    )
    for start in range(0, len(people), BATCH):
        counts.add(_plan_many(db, context, people[start : start + BATCH]))
    return counts


# --- overriding the policy (HR and org admins) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyChange:
    role: str
    levels: dict[str, int]  # the role's levels now
    overridden: bool
    counts: PlanCounts

    @property
    def role_label(self) -> str:
        return LABELS[StakeholderRole(self.role)]


def set_override(db: Session, actor: Actor, role: str, levels: Mapping[str, Any]) -> PolicyChange:
    """Replace the organisation's dosing for one role: {level: days}, days 1 to 730 ({} = no training).

    Days may arrive as typed (text); every problem is reported at once, keyed by level.
    """
    actor.require(Permission.HR, Permission.ORG_ADMIN)
    role = _known_role(role)
    known = level_ids(db)
    errors: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    if not known:
        raise Invalid("No content has been published yet: run `lms content sync` first.")
    for level, value in levels.items():
        if level not in known:
            errors[level] = [f"'{level}' is not a dose level: choose from {', '.join(known)}."]
            continue
        days = _days(value)
        if days is None:
            errors[level] = [f"Enter a whole number of days from {DAYS_MIN} to {DAYS_MAX}."]
        else:
            clean[level] = days
    if errors:
        raise Invalid(errors)
    ordered = {level: clean[level] for level in known if level in clean}
    overrides = _overrides(db, actor.org_id)
    before = effective_policy(db, actor.org_id).get(role, {})
    override = overrides.get(role)
    if override is None:
        override = DosePolicyOverride(org_id=actor.org_id, role=role, levels=ordered)
        db.add(override)
    override.levels = ordered
    override.updated_at = utcnow()
    override.updated_by = actor.user.id
    db.flush()
    return _replan(db, actor, role, before, ordered, overridden=True, target_id=override.id)


def clear_override(db: Session, actor: Actor, role: str) -> PolicyChange:
    """Go back to the default policy for one role."""
    actor.require(Permission.HR, Permission.ORG_ADMIN)
    role = _known_role(role)
    override = _overrides(db, actor.org_id).get(role)
    default = default_policy(db).get(role, {})
    if override is None:
        return PolicyChange(role, default, False, PlanCounts())
    before = dict(override.levels)
    target_id = override.id
    db.delete(override)
    db.flush()
    return _replan(db, actor, role, before, default, overridden=False, target_id=target_id)


def _replan(
    db: Session,
    actor: Actor,
    role: str,
    before: dict[str, int],
    after: dict[str, int],
    *,
    overridden: bool,
    target_id: int,
) -> PolicyChange:
    audit.by(
        db,
        actor,
        action="dosing.policy_changed",
        target_type="dose_policy",
        target_id=target_id,
        changes={"role": role, "levels": [before, after], "overridden": [not overridden, overridden]}
        if before != after or overridden
        else {"role": role, "overridden": [True, False]},
    )
    counts = plan_role(db, actor.org_id, role)
    db.flush()
    return PolicyChange(role, after, overridden, counts)


def _known_role(role: str) -> str:
    known = role_named(role)
    if known is None:
        raise NotFound("No such stakeholder role.")
    return known.value


def _days(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        # ASCII digits only, and few of them: int() refuses "²" (a digit to isdigit) and 5,000 nines.
        if not (value.isascii() and value.isdigit()) or len(value.lstrip("0")) > len(str(DAYS_MAX)):
            return None
        value = int(value)
    if not isinstance(value, int) or not DAYS_MIN <= value <= DAYS_MAX:
        return None
    return value


# --- the policy page --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RolePolicy:
    role: str
    label: str
    levels: dict[str, int]  # what applies now
    default: dict[str, int]
    overridden: bool


@dataclass(frozen=True, slots=True)
class PolicyOverview:
    levels: list[tuple[str, str]]  # (id, title), in order
    roles: list[RolePolicy]

    @property
    def published(self) -> bool:
        return bool(self.levels)

    def level_title(self, level: str) -> str:
        return next((title for lid, title in self.levels if lid == level), level)


def overview(db: Session, actor: Actor) -> PolicyOverview:
    """The organisation's dosing for every role, default and overrides side by side (HR, org admins)."""
    actor.require(Permission.HR, Permission.ORG_ADMIN)
    levels = [(level.id, level.title) for level in vocabulary(db).levels]
    default = default_policy(db)
    overrides = _overrides(db, actor.org_id)
    roles = [
        RolePolicy(
            role.value,
            LABELS[role],
            dict(overrides[role.value].levels) if role.value in overrides else default.get(role.value, {}),
            default.get(role.value, {}),
            role.value in overrides,
        )
        for role in StakeholderRole
    ]
    return PolicyOverview(levels, roles)
