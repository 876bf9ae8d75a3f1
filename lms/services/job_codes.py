"""An organisation's job codes and the stakeholder role each means: the mapping HR edits on the Job codes
page, read by the roster import and by SCIM (lms.services.scim.meaning.role_for_job_code).

- A job code is compared without case or extra spaces ("rn-icu " is "RN-ICU"); one mapping per code.
- A job code with a mapping means its role; one without means the role whose own name it is
  ("clinician"); any other is unknown, and is reported where it arrives (the roster file, SCIM), never
  guessed.
- Mapping a code (or mapping it to another role) changes the stakeholder role of the organisation's
  active people who hold that code, audited person by person, and plans their dose assignments at once.
  A role change never deletes learning: completed modules stay completed (and their assignments stay
  held); only open assignments the new role does not need are cancelled, and re-opened if it needs them
  again.
- Removing a mapping changes nobody's role: the code becomes unknown for what arrives next.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curricula.stakeholders import StakeholderRole, role_named
from lms.db import utcnow
from lms.models import JobCodeRole, Membership
from lms.services import Invalid, NotFound, audit, dosing
from lms.services.access import MANAGES_PEOPLE, Actor
from lms.services.people import LIMITS, stakeholder_role


def key_of(job_code: str) -> str:
    """A job code as mappings compare it: no case, single spaces, none at the ends."""
    return " ".join(job_code.split()).casefold()


def mappings(db: Session, actor: Actor) -> list[JobCodeRole]:
    actor.require(*MANAGES_PEOPLE)
    return list(
        db.scalars(
            select(JobCodeRole).where(JobCodeRole.org_id == actor.org_id).order_by(JobCodeRole.job_key)
        )
    )


def holders(db: Session, actor: Actor) -> dict[str, int]:
    """How many active people hold each job code (by key), for the page."""
    actor.require(*MANAGES_PEOPLE)
    counts: dict[str, int] = {}
    for code, n in db.execute(
        select(Membership.job_code, func.count())
        .where(
            Membership.org_id == actor.org_id, Membership.active.is_(True), Membership.job_code.is_not(None)
        )
        .group_by(Membership.job_code)
    ):
        counts[key_of(code)] = counts.get(key_of(code), 0) + n
    return counts


def roles_by_key(db: Session, org_id: int) -> dict[str, StakeholderRole]:
    """Every mapping of the organisation, by key (the roster import reads them once)."""
    return dict(
        db.execute(
            select(JobCodeRole.job_key, JobCodeRole.stakeholder_role).where(JobCodeRole.org_id == org_id)
        ).all()
    )


def role_for(
    db: Session, org_id: int, job_code: str, known: Mapping[str, StakeholderRole] | None = None
) -> StakeholderRole | None:
    """The role a job code means in the organisation (its mapping, else the role it names), or None.
    `known` is roles_by_key's answer, for a caller that looks up many codes."""
    key = key_of(job_code)
    if known is not None:
        role = known.get(key)
    else:
        role = db.scalar(
            select(JobCodeRole.stakeholder_role).where(
                JobCodeRole.org_id == org_id, JobCodeRole.job_key == key
            )
        )
    return role or role_named(key)


def add(db: Session, actor: Actor, job_code: str, role: str) -> JobCodeRole:
    actor.require(*MANAGES_PEOPLE)
    code = " ".join(job_code.split())
    errors: dict[str, list[str]] = {}
    if not code:
        errors["job_code"] = ["Enter the job code as your HR system writes it."]
    elif len(code) > LIMITS["job_code"]:
        errors["job_code"] = [f"Keep this to {LIMITS['job_code']} characters or fewer (it has {len(code)})."]
    elif db.scalar(
        select(JobCodeRole.id).where(JobCodeRole.org_id == actor.org_id, JobCodeRole.job_key == key_of(code))
    ):
        errors["job_code"] = [f"The job code {code} is mapped already: change its role in the list."]
    try:
        chosen = stakeholder_role(role)
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    mapping = JobCodeRole(org_id=actor.org_id, job_code=code, job_key=key_of(code), stakeholder_role=chosen)
    db.add(mapping)
    db.flush()
    audit.by(
        db,
        actor,
        action="job_code.mapped",
        target_type="job_code_role",
        target_id=mapping.id,
        changes={"job_code": code, "stakeholder_role": chosen.value},
    )
    _apply(db, actor, mapping)
    return mapping


def change(db: Session, actor: Actor, mapping_id: int, role: str) -> JobCodeRole:
    mapping = _get(db, actor, mapping_id)
    chosen = stakeholder_role(role)
    if chosen is mapping.stakeholder_role:
        return mapping
    audit.by(
        db,
        actor,
        action="job_code.changed",
        target_type="job_code_role",
        target_id=mapping.id,
        changes={
            "job_code": mapping.job_code,
            "stakeholder_role": [mapping.stakeholder_role.value, chosen.value],
        },
    )
    mapping.stakeholder_role, mapping.updated_at = chosen, utcnow()
    db.flush()
    _apply(db, actor, mapping)
    return mapping


def remove(db: Session, actor: Actor, mapping_id: int) -> JobCodeRole:
    mapping = _get(db, actor, mapping_id)
    audit.by(
        db,
        actor,
        action="job_code.removed",
        target_type="job_code_role",
        target_id=mapping.id,
        changes={"job_code": mapping.job_code, "stakeholder_role": mapping.stakeholder_role.value},
    )
    db.delete(mapping)
    db.flush()
    return mapping


def _get(db: Session, actor: Actor, mapping_id: int) -> JobCodeRole:
    actor.require(*MANAGES_PEOPLE)
    mapping = db.get(JobCodeRole, mapping_id)
    if mapping is None or mapping.org_id != actor.org_id:
        raise NotFound("No such job code.")
    return mapping


def _apply(db: Session, actor: Actor, mapping: JobCodeRole) -> int:
    """Give the active people who hold the code its role; their dose assignments follow at once."""
    people = [
        m
        for m in db.scalars(
            select(Membership).where(
                Membership.org_id == actor.org_id,
                Membership.active.is_(True),
                Membership.job_code.is_not(None),
                Membership.stakeholder_role != mapping.stakeholder_role,
            )
        )
        if m.job_code and key_of(m.job_code) == mapping.job_key
    ]
    for m in people:
        audit.by(
            db,
            actor,
            action="person.role_changed",
            target_type="membership",
            target_id=m.id,
            changes={
                "stakeholder_role": [m.stakeholder_role.value, mapping.stakeholder_role.value],
                "job_code": m.job_code,
            },
        )
        m.stakeholder_role = mapping.stakeholder_role
    db.flush()
    if people:
        # Set-based: only the people whose assignments differ from the policy are planned (the coverage
        # aggregates follow the membership and assignment writes by themselves).
        dosing.plan_role(db, actor.org_id, mapping.stakeholder_role.value)
    return len(people)
