"""Dose assignment: every person receives the modules their stakeholder role's dose levels require.

The policy says, per role, which levels a person needs and in how many days each is due. The default is
the one published by the latest content release (content/dosing.yaml); an organisation may override it
role by role (HR or an org admin, audited). Planning a person is idempotent and is done:
- in the transaction that adds a person, changes their role or unit, deactivates or reactivates them
  (lms/services/people.py), so a new person holds their assignments the moment they are added;
- for every person of the role, in the transaction that changes the organisation's policy;
- nightly for every organisation (`reconcile`, lms/scheduler.py), and after `lms content sync`, so
  assignments follow modules published, changed or retired since.

One person (`plan_for`) is planned with the ORM. Many (`reconcile`, `plan_role`) are planned set-based:
one query (lms/services/dosing_bulk.py) names the people whose assignments differ from the policy, only
they are read (plain rows) and planned, by the same `_decide`, and the changes are written with Core;
`_assignments_changed` is where such a bulk write reports the memberships it changed.

Which modules a person requires is curricula.dosing's rule: the active modules of their role's levels
that name their role in `roles`, and every module of the extra level HR may have given them
(Membership.extra_level), each due its level's days.

Rules of a plan (only DOSE assignments are touched; COHORT and MANUAL ones belong to their owners):
- a required module without an assignment gets one, due the policy's days after today in the
  organisation's time zone; a cancelled one is re-opened, due the policy's days after today;
- an open assignment's due date follows the policy: the local date it was assigned plus the policy's days
  for its level, so an override that shortens or lengthens a level moves open assignments with it;
- an open assignment no longer required (role changed, policy changed, module retired, person
  deactivated) is cancelled, unless the person completed the module: completed history stays.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curricula import dosing as rule
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
from lms.services import Invalid, NotFound, audit, coverage, dosing_bulk
from lms.services.access import Actor
from lms.services.catalogue import vocabulary

DAYS_MIN, DAYS_MAX = 1, 730
NIGHTLY_HOUR = 2  # local time of the nightly reconcile
BATCH = 2000  # memberships planned per round of queries (and Core writes) in `reconcile`

Policy = dict[str, dict[str, int]]  # role -> {level: days}


@dataclass(slots=True)
class PlanCounts:
    """What planning changed: assignments created, re-opened, cancelled, open ones given a new due date."""

    created: int = 0
    reopened: int = 0
    cancelled: int = 0
    redated: int = 0
    people: int = 0  # people planned
    memberships: set[int] = field(default_factory=set)  # those whose assignments were written

    def add(self, other: PlanCounts) -> None:
        self.created += other.created
        self.reopened += other.reopened
        self.cancelled += other.cancelled
        self.redated += other.redated
        self.people += other.people
        self.memberships |= other.memberships

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


def overrides(db: Session, org_id: int) -> dict[str, DosePolicyOverride]:
    return {
        o.role: o for o in db.scalars(select(DosePolicyOverride).where(DosePolicyOverride.org_id == org_id))
    }


def effective_policy(db: Session, org_id: int) -> Policy:
    """The organisation's policy: the default, with each overridden role replaced by the override."""
    policy = default_policy(db)
    for role, override in overrides(db, org_id).items():
        policy[role] = dict(override.levels)
    return policy


# --- planning ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Context:
    """What planning many people of one organisation shares: read once."""

    policy: Policy
    modules: list[rule.Dosed[int]]  # the active modules, in curriculum order
    by_role: dict[str, dict[int, tuple[str, int]]]  # role -> what it requires: {module id: (level, days)}
    today: date  # in the organisation's time zone
    zone: ZoneInfo
    now: datetime  # the moment assignments are made: `today` at this hour

    def required(self, role: str | None, extra: rule.Extra | None) -> dict[int, tuple[str, int]]:
        """What a person of `role`, given `extra` or not, requires (curricula.dosing)."""
        if extra is None:
            return self.by_role.get(role or "", {})
        return rule.required(self.modules, self.policy.get(role or "", {}), role, extra)


def _context(db: Session, org_id: int, today: date | None) -> _Context:
    """Read the organisation's policy and the active modules (a few dozen rows).

    `today` plans as of that day (noon, local time), for tests and back-dating; None is now.
    """
    org = db.get(Organization, org_id)
    if org is None:
        raise NotFound("No such organisation.")
    zone = ZoneInfo(org.time_zone or "UTC")
    policy = effective_policy(db, org_id)
    modules = [
        rule.Dosed(module_id, dose, tuple(roles or ()))
        for module_id, dose, roles in db.execute(
            select(Module.id, Module.dose, Module.roles)
            .where(Module.retired_at.is_(None))
            .order_by(Module.position)
        )
    ]
    if today is None:
        now = utcnow()
        today = now.astimezone(zone).date()
    else:
        now = datetime.combine(today, time(12), tzinfo=zone).astimezone(UTC)
    return _Context(policy, modules, rule.by_role(modules, policy), today, zone, now)


def extra_of(level: str | None, days: int | None) -> rule.Extra | None:
    """The extra level stored on a membership (Membership.extra_level, extra_level_days), or None."""
    return rule.Extra(level, days) if level and days else None


def plan_for(db: Session, membership: Membership, *, today: date | None = None) -> PlanCounts:
    """Bring one person's DOSE assignments in line with the policy, in the caller's transaction (no commit).

    Three queries: the policy's modules, the person's assignments, the modules they completed. The writes
    are ORM writes (lms.kept's listener bumps the membership's learning_version).
    """
    context = _context(db, membership.org_id, today)
    existing = list(db.scalars(select(Assignment).where(Assignment.membership_id == membership.id)))
    completed = set(
        db.scalars(
            select(Progress.module_id).where(
                Progress.user_id == membership.user_id, Progress.status == ProgressStatus.COMPLETED
            )
        )
    )
    extra = extra_of(membership.extra_level, membership.extra_level_days)
    plan = _decide(
        context, context.required(_role_of(membership), extra), membership.active, existing, completed
    )
    held = {a.id: a for a in existing}
    for module_id, level, due in plan.create:
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
    for assignment_id, level, due in plan.reopen:
        assignment = held[assignment_id]
        assignment.cancelled_at = None
        assignment.assigned_at, assignment.level, assignment.due_on = context.now, level, due
    for assignment_id, level, due in plan.redate:
        held[assignment_id].level, held[assignment_id].due_on = level, due
    for assignment_id in plan.cancel:
        held[assignment_id].cancelled_at = context.now
    db.flush()
    return plan.counts(membership.id)


def reconcile(db: Session, org_id: int, *, today: date | None = None) -> PlanCounts:
    """Plan every person of the organisation (the nightly job, and after a content sync).

    Set-based (lms/services/dosing_bulk.py): one query names the people whose assignments differ from the
    policy, and only they are planned, BATCH at a time (three queries each: the people, their assignments,
    their completions), with Core writes; nothing is read or written for the others. Inactive people are
    included so that open assignments left behind are cancelled. `PlanCounts.memberships` holds the
    memberships whose assignments changed.
    """
    db.flush()
    context = _context(db, org_id, today)
    counts = _plan_stale(db, context, org_id)
    counts.people = db.scalar(select(func.count()).where(Membership.org_id == org_id)) or 0
    return counts


def plan_role(db: Session, org_id: int, role: str) -> PlanCounts:
    """Plan every active person of one role in the organisation, in the caller's transaction (set-based,
    as `reconcile`)."""
    db.flush()
    context = _context(db, org_id, None)
    counts = _plan_stale(db, context, org_id, role=role)
    counts.people = (
        db.scalar(
            select(func.count()).where(
                Membership.org_id == org_id,
                Membership.active.is_(True),
                Membership.stakeholder_role == StakeholderRole(role),
            )
        )
        or 0
    )
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


def stale(db: Session, org_id: int, *, today: date | None = None, role: str | None = None) -> list[int]:
    """The memberships a reconcile (of `role`'s active people, when given) would plan: those
    `dosing_bulk.stale_memberships` names. Nobody once everyone is planned."""
    db.flush()
    return _stale(db, _context(db, org_id, today), org_id, role)


def _stale(db: Session, context: _Context, org_id: int, role: str | None) -> list[int]:
    query = dosing_bulk.stale_memberships(
        org_id,
        context.policy,
        context.modules,
        context.zone.key,
        context.today,
        db.get_bind().dialect.name,
        role,
    )
    return list(db.scalars(query))


def _plan_stale(db: Session, context: _Context, org_id: int, role: str | None = None) -> PlanCounts:
    """Plan the people `dosing_bulk.stale_memberships` names (of `role`, when given), BATCH at a time;
    what follows their assignments is brought up to date once, after the last batch."""
    stale = _stale(db, context, org_id, role)
    counts = PlanCounts()
    changed: dict[int, int | None] = {}
    for start in range(0, len(stale), BATCH):
        counts.add(_plan_batch(db, context, org_id, stale[start : start + BATCH], changed))
    _assignments_changed(db, org_id, changed)
    return counts


def _plan_batch(
    db: Session, context: _Context, org_id: int, ids: list[int], changed: dict[int, int | None]
) -> PlanCounts:
    """Plan these memberships from plain rows (no ORM object per row) and write the changes with Core;
    the memberships written are added to `changed` (membership -> unit)."""
    people = db.execute(
        select(
            Membership.id,
            Membership.user_id,
            Membership.unit_id,
            Membership.stakeholder_role,
            Membership.active,
            Membership.extra_level,
            Membership.extra_level_days,
        ).where(Membership.id.in_(ids))
    ).all()
    held: dict[int, list[Any]] = defaultdict(list)
    for row in db.execute(
        select(
            Assignment.id,
            Assignment.membership_id,
            Assignment.module_id,
            Assignment.source,
            Assignment.level,
            Assignment.assigned_at,
            Assignment.due_on,
            Assignment.cancelled_at,
        ).where(Assignment.membership_id.in_(ids))
    ):
        held[row.membership_id].append(row)
    completed: dict[int, set[int]] = defaultdict(set)
    for user_id, module_id in db.execute(
        select(Progress.user_id, Progress.module_id).where(
            Progress.user_id.in_({p.user_id for p in people}), Progress.status == ProgressStatus.COMPLETED
        )
    ):
        completed[user_id].add(module_id)
    counts = PlanCounts()
    writes = dosing_bulk.Writes(context.now)
    for person in people:
        role = person.stakeholder_role.value if person.stakeholder_role else None
        required = context.required(role, extra_of(person.extra_level, person.extra_level_days))
        plan = _decide(context, required, person.active, held[person.id], completed[person.user_id])
        counts.add(plan.counts(person.id))
        writes.add(person, org_id, plan)
    if writes.changed:
        writes.execute(db)
        changed.update(writes.changed)
    return counts


def _assignments_changed(db: Session, org_id: int, changed: dict[int, int | None]) -> None:
    """The one place a bulk plan (reconcile, plan_role) reports what it wrote: `changed` maps each
    membership whose assignments were written (created, re-opened, re-dated, cancelled) to its unit, after
    the writes, in the same transaction. Whatever is kept per membership or unit and follows assignments is
    brought up to date from here: My learning's version (ORM writes get theirs from lms.kept's listener;
    these are Core writes), and the coverage these people count in (theirs alone, or the organisation's
    rebuilt when they are many: coverage.refresh_people)."""
    if not changed:
        return
    dosing_bulk.bump_learning_versions(db, list(changed))
    coverage.refresh_people(db, org_id, changed)


def _role_of(membership: Membership) -> str | None:
    role = membership.stakeholder_role
    return role.value if isinstance(role, StakeholderRole) else role


class _Held(Protocol):
    """An assignment as planning reads it: an ORM Assignment or a row of the same columns."""

    id: int
    module_id: int
    source: AssignmentSource
    level: str | None
    assigned_at: datetime
    due_on: date
    cancelled_at: datetime | None


@dataclass(slots=True)
class _Plan:
    """What one person's assignments need: (module id, level, due) to create; (assignment id, level, due)
    to re-open or re-date; assignment ids to cancel."""

    create: list[tuple[int, str, date]] = field(default_factory=list)
    reopen: list[tuple[int, str, date]] = field(default_factory=list)
    redate: list[tuple[int, str, date]] = field(default_factory=list)
    cancel: list[int] = field(default_factory=list)

    def counts(self, membership_id: int) -> PlanCounts:
        counts = PlanCounts(len(self.create), len(self.reopen), len(self.cancel), len(self.redate), people=1)
        if counts.changed:
            counts.memberships.add(membership_id)
        return counts


def _decide(
    context: _Context,
    required: Mapping[int, tuple[str, int]],
    active: bool,
    existing: Iterable[_Held],
    completed: set[int],
) -> _Plan:
    """The rules of the module docstring, for one person, given what was read for them and what they
    require ({module id: (level, days)}: _Context.required)."""
    plan = _Plan()
    if not active:
        required = {}
    held = {a.module_id: a for a in existing}
    for module_id, (level, days) in required.items():
        assignment = held.get(module_id)
        if assignment is None:
            plan.create.append((module_id, level, context.today + timedelta(days=days)))
        elif assignment.source is not AssignmentSource.DOSE:
            continue
        elif assignment.cancelled_at is not None:
            plan.reopen.append((assignment.id, level, context.today + timedelta(days=days)))
        elif module_id not in completed:
            assigned_on = assignment.assigned_at.astimezone(context.zone).date()
            due = assigned_on + timedelta(days=days)
            if (assignment.due_on, assignment.level) != (due, level):
                plan.redate.append((assignment.id, level, due))
    for assignment in held.values():
        if (
            assignment.source is AssignmentSource.DOSE
            and assignment.cancelled_at is None
            and assignment.module_id not in required
            and assignment.module_id not in completed
        ):
            plan.cancel.append(assignment.id)
    return plan


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
        days = parse_days(value)
        if days is None:
            errors[level] = [f"Enter a whole number of days from {DAYS_MIN} to {DAYS_MAX}."]
        else:
            clean[level] = days
    if errors:
        raise Invalid(errors)
    ordered = {level: clean[level] for level in known if level in clean}
    existing = overrides(db, actor.org_id)
    before = effective_policy(db, actor.org_id).get(role, {})
    override = existing.get(role)
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
    override = overrides(db, actor.org_id).get(role)
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


def parse_days(value: Any) -> int | None:
    """Days to complete a level, as typed (text or a number): 1 to 730, or None when it is not that."""
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
