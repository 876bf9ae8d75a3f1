"""What a provider's SCIM User means for a person here: their email, name, job code and its stakeholder
role, employee id, unit and state (the rules are listed in lms.services.scim.users)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scim2_models import InvalidValueException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curricula.stakeholders import StakeholderRole
from lms.models import OrgUnit
from lms.models import User as Account
from lms.services import Invalid, job_codes, people
from lms.services.access import Actor
from lms.services.scim.resources import EnterpriseUser, User

if TYPE_CHECKING:
    from lms.services.scim.users import Target

NEW_PERSON_ROLE = StakeholderRole.CLINICIAN
LIMITS = people.LIMITS


@dataclass
class Wanted:
    """What a provider's User means for a person here."""

    email: str
    name: str
    job_code: str | None
    employee_id: str | None
    role: StakeholderRole
    unit_id: int | None
    active: bool | None
    problems: list[str] = field(default_factory=list)


def role_for_job_code(db: Session, org_id: int, job_code: str) -> StakeholderRole | None:
    """The stakeholder role a job code is mapped to in the organisation (HR's Job codes page first, then a
    role's own name), or None when none is: an unknown code is reported, never guessed."""
    return job_codes.role_for(db, org_id, job_code)


def wanted_from(db: Session, actor: Actor, want: User, target: Target | None) -> Wanted:
    member = target.membership if target is not None else None
    invitation = target.invitation if target is not None and member is None else None
    problems: list[str] = []
    email = _email_of(db, want, member.user.email if member else invitation.email if invitation else None)
    name = _name_of(want) or (member.user.name if member else None) or (want.user_name or "")
    name = " ".join(name.split())
    enterprise = want[EnterpriseUser]
    job_code = _text(want.title)
    if job_code is not None and len(job_code) > LIMITS["job_code"]:
        problems.append(
            f"The title {job_code!r} is too long to be a job code ({LIMITS['job_code']} at most)."
        )
        job_code = None
    employee_id = _text(enterprise.employee_number if enterprise else None) or _text(want.external_id)
    if employee_id is not None and len(employee_id) > LIMITS["employee_id"]:
        raise InvalidValueException(
            detail=f"employeeNumber (or externalId) is at most {LIMITS['employee_id']} characters."
        )
    current_role = member.stakeholder_role if member else invitation.stakeholder_role if invitation else None
    role = role_for_job_code(db, actor.org_id, job_code) if job_code else None
    if role is None:
        role = current_role or NEW_PERSON_ROLE
        kept = "stays as it is" if current_role else f"starts as {NEW_PERSON_ROLE.value}"
        if job_code:
            problems.append(f"No stakeholder role is mapped to the job code {job_code!r}: the role {kept}.")
        elif current_role is None:
            problems.append(f"No job code was sent: the role {kept} until one is.")
    current_unit = member.unit_id if member else invitation.unit_id if invitation else None
    unit_id = current_unit
    department = _text(enterprise.department if enterprise else None)
    if department is not None:
        unit = _unit_named(db, actor.org_id, department)
        if unit is None:
            problems.append(f"No active unit has the code or name {department!r}: the unit is unchanged.")
        else:
            unit_id = unit.id
    return Wanted(
        email=email,
        name=name,
        job_code=job_code if job_code is not None else (member.job_code if member else None),
        employee_id=employee_id if employee_id is not None else (member.employee_id if member else None),
        role=role,
        unit_id=unit_id,
        active=want.active,
        problems=problems,
    )


def _email_of(db: Session, want: User, current: str | None) -> str:
    """The address the provider means. One an account already has is taken as it is stored (an address
    kept from before today's checks must not stop every other change)."""
    emails = [e for e in want.emails or [] if e.value]
    chosen = next((e for e in emails if e.primary), None) or next(
        (e for e in emails if (e.type or "").lower() == "work"), None
    )
    value = (chosen or (emails[0] if emails else None)).value if emails else want.user_name
    stored = (value or "").strip().lower()
    if stored and (stored == current or db.scalar(select(Account.id).where(Account.email == stored))):
        return stored
    try:
        return people.clean_email(value or "")
    except Invalid as exc:
        raise InvalidValueException(
            detail=f"Send the person's email address in emails or userName: {exc}"
        ) from None


def _name_of(want: User) -> str | None:
    if want.name is not None:
        if _text(want.name.formatted):
            return want.name.formatted
        parts = [_text(want.name.given_name), _text(want.name.family_name)]
        if any(parts):
            return " ".join(p for p in parts if p)
    return _text(want.display_name)


def _text(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None


def _unit_named(db: Session, org_id: int, text: str) -> OrgUnit | None:
    active = (OrgUnit.org_id == org_id, OrgUnit.archived_at.is_(None))
    unit = db.scalar(select(OrgUnit).where(*active, OrgUnit.code == text))
    if unit is not None:
        return unit
    named = list(
        db.scalars(select(OrgUnit).where(*active, func.lower(OrgUnit.name) == text.lower()).limit(2))
    )
    return named[0] if len(named) == 1 else None
