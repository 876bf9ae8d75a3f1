"""The demo health system: one organisation with a unit tree, ~200 people across the seven stakeholder
roles, and six accounts that can sign in. Seeded by `lms demo`, once.

The curricula in content/ are published first (the same `sync` as `lms content sync`), so each person
receives their dose assignments as they are added; then a few people have worked through some modules
(answered through the learner's own service), so dashboards have something to show.

Everything goes through the same services HR and administrators use (so the audit trail of the demo
reads like a real one): the operator creates the organisation and its first administrator, and that
administrator adds the units and the people. The data is deterministic (a fixed random seed), so two
fresh demos look the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curricula.model import Corpus
from curricula.stakeholders import StakeholderRole
from lms.demo_coaching import seed_coaching
from lms.demo_gemba import seed_gemba
from lms.demo_prompts import seed_prompts
from lms.models import (
    Assignment,
    Membership,
    Module,
    Organization,
    OrgUnit,
    Permission,
    Progress,
    ProgressStatus,
    User,
)
from lms.security import hash_password
from lms.services import audit, dosing, job_codes, modules, sessions
from lms.services.access import Actor
from lms.services.content import SyncReport, sync
from lms.services.organizations import add_unit, create_organization
from lms.services.people import PersonInput, add_person

SLUG = "demo"
NAME = "Riverbend Health"
TIME_ZONE = "America/New_York"
DOMAIN = "demo.example"
DEFAULT_PASSWORD = "quality-demo"  # noqa: S105 - the documented demo password
SEED = 20240917
PEOPLE = 200

# facility -> department -> units. The quality office is a department like any other.
TREE: dict[str, dict[str, list[str]]] = {
    "Riverbend General Hospital": {
        "Medicine": ["4 West", "5 East", "Acute Care for Elders"],
        "Surgery": ["Operating Rooms", "Post-Anaesthesia Care", "Surgical Ward 6"],
        "Emergency": ["Adult Emergency", "Paediatric Emergency"],
        "Women and Children": ["Labour and Delivery", "Neonatal Intensive Care", "Paediatrics"],
        "Quality and Patient Safety": ["Improvement Office", "Patient Safety"],
    },
    "Northside Community Hospital": {
        "Medicine": ["Ward 2A", "Ward 2B"],
        "Emergency": ["Emergency Department", "Urgent Care"],
        "Rehabilitation": ["Inpatient Rehabilitation", "Outpatient Therapy"],
    },
}

# Point-of-care job codes and how common each is among clinicians.
CLINICIAN_JOBS = (("RN", 60), ("MD", 18), ("NP", 6), ("PT", 8), ("RT", 5), ("PHARM", 3))

# Other groups: (role, job code, how many, where they sit). Unit and department leaders get one each.
FIXED_GROUPS = (
    (StakeholderRole.QUALITY_STAFF, "QI", 8, "quality"),
    (StakeholderRole.EXECUTIVE, "EXEC", 6, "system"),
    (StakeholderRole.BOARD, "BRD", 6, "system"),
    (StakeholderRole.PATIENT_FAMILY_PARTNER, "PFA", 6, "system"),
)

FIRST_NAMES = (  # noqa: SIM905 - names read better as one string
    "Aisha Amir Ana Ben Carmen Chen Daniel Deepa Elena Emeka Fatima Grace Hana Hugo Imani Isaac Jamal "
    "Jin Kai Keisha Laura Liam Lucia Malik Maria Mateo Maya Nadia Noah Olu Omar Priya Rafael Rosa Ruth "
    "Sam Sara Sofia Tariq Tomas Uma Victor Wei Yara Yusuf Zoe"
).split()
LAST_NAMES = (  # noqa: SIM905
    "Abebe Alvarez Bauer Brooks Castillo Chowdhury Cohen Daley Diaz Edwards Fischer Garcia Gupta Hall "
    "Hansen Ibrahim Jensen Kim Kowalski Lee Lopez Mensah Miller Morales Nakamura Nguyen Novak Okafor "
    "Olsen Patel Perez Quinn Reyes Rossi Santos Schmidt Singh Sullivan Tanaka Torres Walker Wang Yilmaz"
).split()


@dataclass(frozen=True)
class DemoAccount:
    """One of the six accounts that sign in with the demo password."""

    local_part: str
    name: str
    role: StakeholderRole
    job_code: str
    permissions: frozenset[Permission]
    can: str
    unit: str  # "system", "quality" or a unit name from TREE

    @property
    def email(self) -> str:
        return f"{self.local_part}@{DOMAIN}"


ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        "admin",
        "Dana Whitfield",
        StakeholderRole.EXECUTIVE,
        "EXEC",
        frozenset({Permission.ORG_ADMIN}),
        "organisation administrator: units, people, permissions, audit trail",
        "system",
    ),
    DemoAccount(
        "hr",
        "Marcus Bell",
        StakeholderRole.QUALITY_STAFF,
        "HRBP",
        frozenset({Permission.HR}),
        "HR: people, stakeholder roles, the dosing policy, the audit trail",
        "quality",
    ),
    DemoAccount(
        "faculty",
        "Ingrid Solberg",
        StakeholderRole.QUALITY_STAFF,
        "QI",
        frozenset({Permission.FACULTY}),
        "faculty (cohorts are coming): learns as any learner",
        "quality",
    ),
    DemoAccount(
        "coach",
        "Tomasz Wrona",
        StakeholderRole.QUALITY_STAFF,
        "QI",
        frozenset({Permission.COACH}),
        "coach of the executive: reads what she shares from her journal and comments on it",
        "quality",
    ),
    DemoAccount(
        "executive",
        "Helen Okonkwo",
        StakeholderRole.EXECUTIVE,
        "EXEC",
        frozenset(),
        "executive learner with a coach: a journal, reflection prompts, gemba walks and follow-ups",
        "system",
    ),
    DemoAccount(
        "learner",
        "Jordan Reyes",
        StakeholderRole.CLINICIAN,
        "RN",
        frozenset(),
        "clinician learner on 4 West: modules for their role",
        "4 West",
    ),
)


@dataclass(frozen=True)
class DemoResult:
    created: bool  # False: the demo organisation already existed and nothing was added
    passwords_reset: bool
    org: Organization
    units: int
    people: int
    accounts: tuple[DemoAccount, ...] = ACCOUNTS
    published: SyncReport | None = None  # what publishing content/ changed, when a corpus was given


def seed_demo(
    db: Session,
    password: str = DEFAULT_PASSWORD,
    *,
    reset_passwords: bool = False,
    corpus: Corpus | None = None,
) -> DemoResult:
    """Publish `corpus` (the curricula of content/), then create the demo organisation unless it exists.

    When it exists nothing changes, except that `reset_passwords` sets the six demo accounts' password
    to `password` again (for a demo whose password someone changed or forgot), and that content changed
    since is published and the demo people's assignments follow it. A corpus with problems raises
    ContentProblems before anything is written.
    """
    published = sync(db, corpus) if corpus is not None else None
    org = db.scalar(select(Organization).where(Organization.slug == SLUG))
    if org is not None:
        if published is not None and published.changed_anything:
            dosing.reconcile(db, org.id)
        if reset_passwords:
            _reset_passwords(db, org, password)
        return DemoResult(False, reset_passwords, org, *_counts(db, org), published=published)

    rng = random.Random(SEED)
    org = create_organization(db, slug=SLUG, name=NAME, time_zone=TIME_ZONE)
    system = db.scalar(select(OrgUnit).where(OrgUnit.org_id == org.id, OrgUnit.parent_id.is_(None)))
    assert system is not None
    admin_spec, *other_accounts = ACCOUNTS
    admin = add_person(
        db,
        None,
        _input(admin_spec.email, admin_spec.name, admin_spec.role, system.id, admin_spec.job_code, 1),
        org_id=org.id,
        permissions=admin_spec.permissions,
        welcome=False,
    )
    assert isinstance(admin, Membership)  # a new database: every demo email is new
    actor = Actor(admin.user, admin)
    places = _add_units(db, actor, system)
    _map_job_codes(db, actor)
    employee_ids = iter(range(2, 10_000))
    for spec in other_accounts:
        add_person(
            db,
            actor,
            _input(spec.email, spec.name, spec.role, places[spec.unit], spec.job_code, next(employee_ids)),
            permissions=spec.permissions,
            welcome=False,
        )
    used_emails = {spec.email for spec in ACCOUNTS}
    for role, job_code, unit_id in _staff(rng, places, PEOPLE - len(ACCOUNTS)):
        name, email = _new_name(rng, used_emails)
        add_person(db, actor, _input(email, name, role, unit_id, job_code, next(employee_ids)), welcome=False)
    _set_passwords(db, org, password)
    _learn_something(db, org)
    _fall_behind(db, org)
    seed_coaching(db, org, domain=DOMAIN)
    seed_gemba(db, org)
    seed_prompts(db, org)
    return DemoResult(True, False, org, *_counts(db, org), published=published)


# --- the tree and the staff ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Places:
    """Where people sit: unit ids by name, plus the kinds of place the groups use."""

    by_name: dict[str, int]
    units: list[int]
    departments: list[int]

    def __getitem__(self, name: str) -> int:
        return self.by_name[name]


def _add_units(db: Session, actor: Actor, system: OrgUnit) -> _Places:
    by_name: dict[str, int] = {"system": system.id}
    units: list[int] = []
    departments: list[int] = []
    for facility_name, department_tree in TREE.items():
        facility = add_unit(db, actor, parent_id=system.id, name=facility_name)
        for department_name, unit_names in department_tree.items():
            department = add_unit(db, actor, parent_id=facility.id, name=department_name)
            departments.append(department.id)
            for unit_name in unit_names:
                unit = add_unit(db, actor, parent_id=department.id, name=unit_name)
                by_name.setdefault(unit_name, unit.id)
                units.append(unit.id)
            if department_name == "Quality and Patient Safety":
                by_name["quality"] = department.id
    return _Places(by_name, units, departments)


def _staff(rng: random.Random, places: _Places, count: int) -> list[tuple[StakeholderRole, str, int]]:
    """(role, job code, unit id) for `count` people: leaders for every unit and department, the fixed
    groups, and clinicians for the rest, spread over the units at random."""
    staff = [(StakeholderRole.UNIT_LEADER, "UM", unit_id) for unit_id in places.units]
    staff += [(StakeholderRole.DEPARTMENTAL_LEADER, "DIR", dept_id) for dept_id in places.departments]
    for role, job_code, how_many, where in FIXED_GROUPS:
        staff += [(role, job_code, places[where])] * how_many
    codes, weights = zip(*CLINICIAN_JOBS, strict=True)
    for _ in range(count - len(staff)):
        staff.append((StakeholderRole.CLINICIAN, rng.choices(codes, weights)[0], rng.choice(places.units)))
    return staff


def _new_name(rng: random.Random, used_emails: set[str]) -> tuple[str, str]:
    while True:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}@{DOMAIN}".lower()
        n = 2
        while email in used_emails:
            email = f"{first}.{last}{n}@{DOMAIN}".lower()
            n += 1
        used_emails.add(email)
        return f"{first} {last}", email


def _input(email: str, name: str, role: StakeholderRole, unit_id: int, job_code: str, n: int) -> PersonInput:
    return PersonInput(
        email=email,
        name=name,
        stakeholder_role=role.value,
        unit_id=unit_id,
        job_code=job_code,
        employee_id=f"RB{n:05d}",
    )


# The HR system's job codes the demo uses, mapped as HR would map them (the Job codes page): a roster file
# or a SCIM client sending them gives each person their role.
JOB_CODES = {
    **{code: StakeholderRole.CLINICIAN for code, _ in CLINICIAN_JOBS},
    "UM": StakeholderRole.UNIT_LEADER,
    "DIR": StakeholderRole.DEPARTMENTAL_LEADER,
    **{job_code: role for role, job_code, _, _ in FIXED_GROUPS},
    **{account.job_code: account.role for account in ACCOUNTS},
}


def _map_job_codes(db: Session, actor: Actor) -> None:
    for code, role in JOB_CODES.items():
        job_codes.add(db, actor, code, role.value)


# --- some learning done -------------------------------------------------------------------------------

LEARNER_COMPLETES = 2  # the demo learner completed their first two modules and started the third
CLINICIANS_EVERY = 3  # one clinician in three completed their first awareness module...
CLINICIANS_ALL_AWARENESS_EVERY = 6  # ...and one in six every awareness module


LEADER_PRESENCE = "wsq-leader-presence"  # the executive's module of leader presence at the point of care


def _learn_something(db: Session, org: Organization) -> None:
    """Progress for a few demo people, made as a learner makes it: answering checks (right at the first
    attempt) and writing a reflection. Nobody else has started anything."""
    learner = db.scalar(
        select(Membership).join(User).where(Membership.org_id == org.id, User.email == f"learner@{DOMAIN}")
    )
    assert learner is not None
    first, second, third = _assigned(db, learner)[:3]
    for module in (first, second):
        _complete(db, learner.user, module)
    modules.save_reflection(
        db, learner.user, third.slug, third.reflections[0]["key"], "We could test a new handover on 4 West."
    )
    executive = db.scalar(
        select(Membership).join(User).where(Membership.org_id == org.id, User.email == f"executive@{DOMAIN}")
    )
    assert executive is not None
    # Her role's practitioner level gives her leader presence (the gemba walks she makes in the demo):
    # she has started it with a reflection, which her record lists under My reflections.
    presence = next((m for m in _assigned(db, executive) if m.slug == LEADER_PRESENCE), None)
    if presence is not None:
        modules.save_reflection(
            db,
            executive.user,
            presence.slug,
            presence.reflections[0]["key"],
            "I walk two units a week now. Next I will ask each huddle what got in their way, and come back "
            "with an answer.",
        )
    clinicians = db.scalars(
        select(Membership)
        .where(
            Membership.org_id == org.id,
            Membership.stakeholder_role == StakeholderRole.CLINICIAN,
            Membership.id != learner.id,
        )
        .order_by(Membership.id)
    ).all()
    for n, clinician in enumerate(clinicians):
        if n % CLINICIANS_EVERY:
            continue
        awareness = [m for m in _assigned(db, clinician) if m.dose == "awareness"]
        for module in awareness if n % CLINICIANS_ALL_AWARENESS_EVERY == 0 else awareness[:1]:
            _complete(db, clinician.user, module)


BEHIND_EVERY = 4  # one clinician in four of those who have not started was assigned weeks ago...
BEHIND_DAYS = 40  # ...so their awareness modules (due in 30 days) are overdue: HR's overdue list


def _fall_behind(db: Session, org: Organization) -> None:
    """Some clinicians who have completed nothing were assigned their awareness modules BEHIND_DAYS ago,
    each due as the policy says from that day, so the overdue list and the numbers have people in them.
    (The demo accounts are not among them.)"""
    zone = ZoneInfo(org.time_zone)
    done = select(Progress.user_id).where(Progress.status == ProgressStatus.COMPLETED)
    idle = db.scalars(
        select(Membership)
        .join(User)
        .where(
            Membership.org_id == org.id,
            Membership.stakeholder_role == StakeholderRole.CLINICIAN,
            Membership.user_id.not_in(done),
            User.email.not_in([a.email for a in ACCOUNTS]),
        )
        .order_by(Membership.id)
    ).all()
    behind = [m.id for n, m in enumerate(idle) if n % BEHIND_EVERY == 0]
    for assignment in db.scalars(
        select(Assignment).where(
            Assignment.membership_id.in_(behind),
            Assignment.level == "awareness",
            Assignment.cancelled_at.is_(None),
        )
    ):
        days = assignment.due_on - assignment.assigned_at.astimezone(zone).date()
        assignment.assigned_at -= timedelta(days=BEHIND_DAYS)
        assignment.due_on = assignment.assigned_at.astimezone(zone).date() + days
    db.flush()


def _assigned(db: Session, membership: Membership) -> list[Module]:
    """The person's open assignments' modules, prerequisites first."""
    return list(
        db.scalars(
            select(Module)
            .join(Assignment, Assignment.module_id == Module.id)
            .where(Assignment.membership_id == membership.id, Assignment.cancelled_at.is_(None))
            .order_by(Module.position)
        )
    )


def _complete(db: Session, user: User, module: Module) -> None:
    for check in module.checks:
        right = [i for i, option in enumerate(check["options"]) if option["correct"]]
        modules.answer_check(db, user, module.slug, check["key"], right)


# --- passwords and counts -----------------------------------------------------------------------------


def _demo_users(db: Session) -> list[User]:
    return list(db.scalars(select(User).where(User.email.in_([a.email for a in ACCOUNTS]))))


def _set_passwords(db: Session, org: Organization, password: str) -> None:
    """Only the six demo accounts get a password; everyone else would use a reset link."""
    for user in _demo_users(db):
        user.password_hash = hash_password(password)  # one hash each: a salt of its own
        user.time_zone = org.time_zone
    db.flush()


def _reset_passwords(db: Session, org: Organization, password: str) -> None:
    for user in _demo_users(db):
        user.password_hash = hash_password(password)
        sessions.end_all(db, user.id)  # a new password signs out every old session
        audit.record(
            db,
            actor_id=None,
            org_id=org.id,
            action="person.password_reset",
            target_type="user",
            target_id=user.id,
            changes={"by": "lms demo --password"},
        )
    db.flush()


def _counts(db: Session, org: Organization) -> tuple[int, int]:
    units = db.scalar(select(func.count()).where(OrgUnit.org_id == org.id)) or 0
    people = db.scalar(select(func.count()).where(Membership.org_id == org.id)) or 0
    return units, people
