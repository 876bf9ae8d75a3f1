"""The `pages` benchmark's data: one health system of 200 people, the project's curricula plus generated
modules, and one learner holding exactly 60 assignments in a realistic mix of states."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bench import BenchmarkFailed
from bench.content import write_generated_corpus
from curricula.corpus import load_corpus
from curricula.stakeholders import StakeholderRole
from lms.db import commit_each, get_db, utcnow
from lms.models import (
    Assignment,
    AssignmentSource,
    Membership,
    Module,
    Organization,
    OrgUnit,
    Progress,
    UnitKind,
    User,
)
from lms.models.learning import ProgressStatus
from lms.security import hash_password
from lms.services import content as publishing
from lms.services import dosing, modules

LEARNER_EMAIL = "learner@bench.example"
CONTENT = Path(__file__).resolve().parent.parent / "content"

FACILITIES = ("Riverside General Hospital", "Northgate Community Hospital")
DEPARTMENTS = ("Medicine", "Surgery", "Emergency")
UNITS = ("Ward A", "Ward B", "Day Unit")
# Stakeholder roles of the 200 people; whoever is left over is a clinician.
PEOPLE = 200
ROLE_COUNTS = {
    StakeholderRole.EXECUTIVE: 4,
    StakeholderRole.BOARD: 4,
    StakeholderRole.DEPARTMENTAL_LEADER: 6,
    StakeholderRole.UNIT_LEADER: 18,
    StakeholderRole.QUALITY_STAFF: 8,
    StakeholderRole.PATIENT_FAMILY_PARTNER: 10,
}
# The learner's assignments (see learner_sixty).
GENERATED_MODULES = 105  # with content/'s, about 140 modules; a clinician's dose levels hold ~40
LEARNER_ASSIGNMENTS = 60
DOSE_ASSIGNED_DAYS_AGO = 45
AWARENESS_LEFT = 5  # awareness modules not completed (overdue): one started, four not
FOUNDATIONAL_DONE = 4
COHORT_SIZE = 12
MANUAL_OVERDUE = 2
REFLECTIONS = (
    "On 4 West we could test a two-minute safety huddle at the 07:00 handover, starting with one team.",
    "Our run chart shows falls creeping up on nights; I want to ask the night staff what gets in the way.",
)


def seed(app: Flask) -> dict[str, Any]:
    """One organisation with its unit tree and PEOPLE people, written directly with the models."""
    with app.app_context():
        db = get_db()
        org = Organization(slug="riverside", name="Riverside Health", time_zone="America/New_York")
        db.add(org)
        db.flush()

        def unit(name: str, kind: UnitKind, parent: OrgUnit | None) -> OrgUnit:
            node = OrgUnit(
                org_id=org.id, parent_id=parent.id if parent else None, kind=kind, name=name, path=""
            )
            db.add(node)
            db.flush()
            node.path = f"{parent.path if parent else '/'}{node.id}/"
            return node

        system = unit(org.name, UnitKind.SYSTEM, None)
        facilities, departments, units = [], [], []
        for f_name in FACILITIES:
            facility = unit(f_name, UnitKind.FACILITY, system)
            facilities.append(facility)
            for d_name in DEPARTMENTS:
                department = unit(d_name, UnitKind.DEPARTMENT, facility)
                departments.append(department)
                units += [unit(f"{d_name} {u_name}", UnitKind.UNIT, department) for u_name in UNITS]

        password_hash = hash_password("bench-password")  # one hash for all: hashing 200 takes seconds
        home_of = {
            StakeholderRole.EXECUTIVE: [system],
            StakeholderRole.BOARD: [system],
            StakeholderRole.QUALITY_STAFF: facilities,
            StakeholderRole.DEPARTMENTAL_LEADER: departments,
        }
        roles = [role for role, n in ROLE_COUNTS.items() for _ in range(n)]
        roles += [StakeholderRole.CLINICIAN] * (PEOPLE - len(roles))
        learner = None
        for n, role in enumerate(roles):
            places = home_of.get(role, units)
            is_learner = learner is None and role is StakeholderRole.CLINICIAN
            user = User(
                email=LEARNER_EMAIL if is_learner else f"person{n:03d}@riverside.example",
                name="Lee Learner" if is_learner else f"Person {n:03d}",
                password_hash=password_hash,
            )
            db.add(user)
            db.flush()
            db.add(
                Membership(
                    user_id=user.id,
                    org_id=org.id,
                    unit_id=places[n % len(places)].id,
                    stakeholder_role=role,
                    job_code="RN2" if role is StakeholderRole.CLINICIAN else role.value[:8].upper(),
                    employee_id=f"E{n:05d}",
                    is_org_admin=n in (0, 14),
                    is_hr=n in (1, 2, 3) and role is StakeholderRole.EXECUTIVE,
                    is_coach=role is StakeholderRole.QUALITY_STAFF and n % 2 == 0,
                    is_faculty=role is StakeholderRole.QUALITY_STAFF and n % 2 == 1,
                )
            )
            if is_learner:
                learner = user
        db.commit()
        assert learner is not None  # PEOPLE leaves room for clinicians
        counts = {
            "organizations": db.scalar(select(func.count()).select_from(Organization)),
            "units": db.scalar(select(func.count()).select_from(OrgUnit)),
            "people": db.scalar(select(func.count()).select_from(User)),
            "memberships": db.scalar(select(func.count()).select_from(Membership)),
        }
        return {
            "learner_id": learner.id,
            "learner": f"{LEARNER_EMAIL} (clinician)",
            "org": org.slug,
            **counts,
        }


def publish_learning(app: Flask, learner_id: int, tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Publish content/ plus GENERATED_MODULES generated modules, as `lms content sync` publishes, and
    assign them by dose; then give the learner their 60 assignments and progress (`learner_sixty`).

    The real curricula have too few modules for 60 assignments, so the generated ones (bench/content.py:
    about 600 words, headings, lists, a table, two checks and a reflection each) join them, their dose
    levels spread evenly. Returns the dataset's counts and the facts the endpoints' paths and checks use.
    """
    root = tmp / "content"
    shutil.copytree(CONTENT, root)
    write_generated_corpus(root, count=GENERATED_MODULES)
    with app.app_context():
        db = get_db()
        corpus = load_corpus(root)
        if not corpus.modules:
            raise BenchmarkFailed(f"no modules in {root}")
        # Problems (say, a link to a module not written yet) stop a real sync but not a measurement:
        # publish the modules that parsed, and record how many problems were set aside.
        publishing.sync(db, dataclasses.replace(corpus, problems=()))
        db.commit()  # services flush; the caller commits, as `lms content sync` does
        # reconcile_all yields after each organisation: nothing is planned until it is iterated.
        commit_each(dosing.reconcile_all(db), db)
        facts, mix = learner_sixty(db, learner_id)
        return {
            "modules": db.scalar(select(func.count()).select_from(Module)),
            "modules_generated": GENERATED_MODULES,
            "assignments": db.scalar(select(func.count()).select_from(Assignment)),
            "learner_assignments": mix,
            "module_page": facts["module"],
            "content_problems_set_aside": len(corpus.problems),
        }, facts


def learner_sixty(db: Session, learner_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Bring the learner, a clinician 45 days in, to exactly LEARNER_ASSIGNMENTS active assignments:

    - DOSE: every awareness and foundational module (the clinician's policy), assigned 45 days ago, so
      awareness (due in 30 days) is overdue where not done; all but AWARENESS_LEFT awareness modules and
      the first FOUNDATIONAL_DONE foundational ones completed, a few started;
    - COHORT: COHORT_SIZE practitioner modules of an improvement cohort, assigned 20 days ago, one
      started;
    - MANUAL: the rest from the coach level (then the advisor level), picked by their manager 40 days
      ago, MANUAL_OVERDUE of them already overdue.

    Progress is made as a learner makes it (modules.answer_check, modules.save_reflection), then
    back-dated. The module page measured is the last foundational module of the real content: in
    progress, its first check answered wrongly and then rightly, its reflection written.
    """
    membership = db.scalar(select(Membership).where(Membership.user_id == learner_id))
    user = db.get(User, learner_id)
    if membership is None or user is None:
        raise BenchmarkFailed("the benchmark learner has no membership")
    org = db.get(Organization, membership.org_id)
    assert org is not None
    now = utcnow()
    today = now.astimezone(ZoneInfo(org.time_zone)).date()
    days = dosing.effective_policy(db, org.id)[StakeholderRole.CLINICIAN.value]
    dose = db.execute(
        select(Assignment, Module)
        .join(Module, Module.id == Assignment.module_id)
        .where(Assignment.membership_id == membership.id, Assignment.cancelled_at.is_(None))
        .order_by(Module.position)
    ).all()
    by_level: dict[str, list[Module]] = {}
    for assignment, module in dose:
        assignment.assigned_at = now - timedelta(days=DOSE_ASSIGNED_DAYS_AGO)
        assignment.due_on = today - timedelta(days=DOSE_ASSIGNED_DAYS_AGO) + timedelta(days=days[module.dose])
        by_level.setdefault(module.dose, []).append(module)
    awareness, foundational = by_level.get("awareness", []), by_level.get("foundational", [])
    real = [m for m in foundational if not m.slug.startswith("gen-")]
    if len(awareness) <= AWARENESS_LEFT or len(foundational) < FOUNDATIONAL_DONE + 3 or not real:
        raise BenchmarkFailed(f"dosing gave the learner too few modules: {len(dose)}")
    measured = real[-1]
    if not measured.reflections or not measured.checks:
        raise BenchmarkFailed(f"module {measured.slug} has no check or no reflection")
    others = [m for m in foundational if m is not measured]

    extra = LEARNER_ASSIGNMENTS - len(dose)
    cohort = _unassigned(db, membership.id, "practitioner", min(COHORT_SIZE, extra))
    # Dosing by role leaves a clinician fewer dose modules than the coach level has: the manager's
    # picks go on into the advisor level when the coach level runs out.
    manual = _unassigned(db, membership.id, "coach", extra - len(cohort))
    manual += _unassigned(db, membership.id, "advisor", extra - len(cohort) - len(manual))
    if extra < 0 or len(cohort) + len(manual) != extra:
        raise BenchmarkFailed(f"cannot make {LEARNER_ASSIGNMENTS} assignments from {len(dose)} dose ones")
    for module in cohort:
        _assign(db, membership, module, AssignmentSource.COHORT, now, today, ago=20, due_in=70)
    for n, module in enumerate(manual):
        due_in = -5 if n < MANUAL_OVERDUE else 50
        _assign(db, membership, module, AssignmentSource.MANUAL, now, today, ago=40, due_in=due_in)
    db.commit()

    done = awareness[:-AWARENESS_LEFT] + others[:FOUNDATIONAL_DONE]
    started = [awareness[-AWARENESS_LEFT], *others[FOUNDATIONAL_DONE : FOUNDATIONAL_DONE + 2], cohort[0]]
    for n, module in enumerate(done):
        _complete(db, user, module, reflect=n % 2 == 0)
    for module in [*started, measured]:
        _start(db, user, module)
    for n, module in enumerate(done):  # completed over the 45 days, oldest first
        when = now - timedelta(
            days=DOSE_ASSIGNED_DAYS_AGO - 1 - n * (DOSE_ASSIGNED_DAYS_AGO - 2) // len(done)
        )
        _backdate(db, learner_id, module, started=when - timedelta(hours=1), completed=when)
    for module in started:
        _backdate(db, learner_id, module, started=now - timedelta(days=3), completed=None)
    _backdate(db, learner_id, measured, started=now - timedelta(days=1), completed=None)
    db.commit()

    facts = {
        "module": measured.slug,
        "module_title": str(escape(measured.title)),
        "module_reflection": str(escape(REFLECTIONS[0])),
        "assigned": frozenset(
            db.scalars(
                select(Module.slug)
                .join(Assignment, Assignment.module_id == Module.id)
                .where(Assignment.membership_id == membership.id, Assignment.cancelled_at.is_(None))
            )
        ),
    }
    mix = _mix(db, membership.id, learner_id, today)
    if mix["total"] != LEARNER_ASSIGNMENTS or len(facts["assigned"]) != LEARNER_ASSIGNMENTS:
        raise BenchmarkFailed(
            f"the learner holds {mix['total']} active assignments, not {LEARNER_ASSIGNMENTS}"
        )
    return facts, mix


def _unassigned(db: Session, membership_id: int, level: str, count: int) -> list[Module]:
    """The first `count` active modules of a level the person is not assigned, in module order."""
    held = select(Assignment.module_id).where(Assignment.membership_id == membership_id)
    return list(
        db.scalars(
            select(Module)
            .where(Module.dose == level, Module.retired_at.is_(None), Module.id.not_in(held))
            .order_by(Module.position)
            .limit(max(count, 0))
        )
    )


def _assign(
    db: Session,
    membership: Membership,
    module: Module,
    source: AssignmentSource,
    now: datetime,
    today: date,
    *,
    ago: int,
    due_in: int,
) -> None:
    db.add(
        Assignment(
            membership_id=membership.id,
            org_id=membership.org_id,
            user_id=membership.user_id,
            module_id=module.id,
            source=source,
            level=None,
            assigned_at=now - timedelta(days=ago),
            due_on=today + timedelta(days=due_in),
        )
    )


def _complete(db: Session, user: User, module: Module, *, reflect: bool) -> None:
    for check in module.checks:
        right = [i for i, option in enumerate(check["options"]) if option["correct"]]
        modules.answer_check(db, user, module.slug, check["key"], right)
    if reflect and module.reflections:
        modules.save_reflection(db, user, module.slug, module.reflections[0]["key"], REFLECTIONS[1])


def _start(db: Session, user: User, module: Module) -> None:
    """A wrong answer to the first check, then (when there is more than one check, so the module stays
    in progress) the right one; the first reflection written."""
    first = module.checks[0]
    wrong = next(i for i, option in enumerate(first["options"]) if not option["correct"])
    modules.answer_check(db, user, module.slug, first["key"], [wrong])
    if len(module.checks) > 1:
        right = [i for i, option in enumerate(first["options"]) if option["correct"]]
        modules.answer_check(db, user, module.slug, first["key"], right)
    if module.reflections:
        modules.save_reflection(db, user, module.slug, module.reflections[0]["key"], REFLECTIONS[0])


def _backdate(
    db: Session, user_id: int, module: Module, *, started: datetime, completed: datetime | None
) -> None:
    values: dict[str, Any] = {"started_at": started, "last_seen_at": completed or started}
    if completed is not None:
        values["completed_at"] = completed
    db.execute(
        update(Progress).where(Progress.user_id == user_id, Progress.module_id == module.id).values(**values)
    )


def _mix(db: Session, membership_id: int, user_id: int, today: date) -> dict[str, Any]:
    """The learner's active assignments by source and by dose level, and how many are done, started
    and overdue, read back from the database."""
    rows = db.execute(
        select(Assignment.source, Module.dose, Assignment.due_on, Progress.status)
        .join(Module, Module.id == Assignment.module_id)
        .outerjoin(Progress, (Progress.module_id == Module.id) & (Progress.user_id == user_id))
        .where(Assignment.membership_id == membership_id, Assignment.cancelled_at.is_(None))
    ).all()
    by_source: dict[str, int] = {}
    by_level: dict[str, int] = {}
    for source, level, _, _ in rows:
        by_source[source.value] = by_source.get(source.value, 0) + 1
        by_level[level] = by_level.get(level, 0) + 1
    return {
        "total": len(rows),
        "by_source": by_source,
        "by_level": by_level,
        "completed": sum(1 for r in rows if r.status is ProgressStatus.COMPLETED),
        "in_progress": sum(1 for r in rows if r.status is ProgressStatus.IN_PROGRESS),
        "overdue": sum(1 for r in rows if r.due_on < today and r.status is not ProgressStatus.COMPLETED),
    }
