"""The platform operator's tasks: organisations and who operates the platform (DESIGN.md section 6).

An operator (`User.is_operator`) creates organisations with their first administrator, renames them,
changes their time zone, archives and restores them. The flag gives no membership: an operator reads no
organisation's people, learning or coaching data, only each organisation's name, slug, time zone, how
many people it has and whether it is archived.

`operator=None` is the command line (`lms org create`, `lms org list`), where whoever runs the command
already holds the instance's database; a page passes the signed-in person, checked here.

An archived organisation is closed, not deleted: its members can no longer sign in to it or act in it
(Membership.usable), it leaves their organisation picker, and everything it holds is kept for a restore.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curricula.stakeholders import StakeholderRole
from lms.db import utcnow
from lms.models import Invitation, Membership, Organization, Permission, User
from lms.services import Invalid, NotFound, audit, organizations, people
from lms.services.access import require_operator
from lms.services.accounts import normalise_email

# The first administrator's stakeholder role unless another is given: the person who sets a hospital
# up is usually one of its leaders; they (or HR) change it from the People page.
FIRST_ADMIN_ROLE = StakeholderRole.EXECUTIVE


@dataclass(frozen=True)
class OrganizationRow:
    org: Organization
    people: int  # active memberships


@dataclass(frozen=True)
class Founded:
    org: Organization
    # The first administrator: a new account (emailed a link to choose a password), or, when the email
    # already has an account, an invitation its person accepts while signed in.
    admin: Membership | Invitation


def list_organizations(db: Session, operator: User | None) -> list[OrganizationRow]:
    """Every organisation, by name, with its number of active people."""
    _check(operator)
    counts = dict(
        db.execute(
            select(Membership.org_id, func.count())
            .where(Membership.active.is_(True))
            .group_by(Membership.org_id)
        ).all()
    )
    orgs = db.scalars(select(Organization).order_by(func.lower(Organization.name), Organization.id))
    return [OrganizationRow(org, counts.get(org.id, 0)) for org in orgs]


def get_organization(db: Session, operator: User | None, org_id: int) -> Organization:
    _check(operator)
    org = db.get(Organization, org_id)
    if org is None:
        raise NotFound("No such organisation.")
    return org


def found_organization(
    db: Session,
    operator: User | None,
    *,
    slug: str,
    name: str,
    time_zone: str,
    admin_email: str,
    admin_name: str = "",
    admin_role: str = FIRST_ADMIN_ROLE.value,
) -> Founded:
    """Create an organisation (with the root of its unit tree) and its first organisation administrator,
    who is emailed a link to choose a password (or an invitation, for an email that has an account).
    Every problem with the input is reported at once; nothing is created unless all is well."""
    _check(operator)
    errors: dict[str, list[str]] = {}
    try:
        organizations.check_organization(db, slug=slug, name=name, time_zone=time_zone)
    except Invalid as exc:
        errors.update(exc.errors)
    email = ""
    try:
        email = people.clean_email(admin_email, "admin_email")
    except Invalid as exc:
        errors.update(exc.errors)
    try:
        role = people.stakeholder_role(admin_role, "admin_role")
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    org = organizations.create_organization(
        db, slug=slug, name=name, time_zone=time_zone, by=operator.id if operator else None
    )
    root = organizations.root_unit(db, org.id)
    details = people.PersonInput(
        email=email,
        name=admin_name.strip() or name_from_email(email),
        stakeholder_role=role.value,
        unit_id=root.id,
    )
    try:
        admin = people.add_person(db, None, details, org_id=org.id, permissions=[Permission.ORG_ADMIN])
    except Invalid as exc:  # the name: the only field left that the checks above did not cover
        raise Invalid({f"admin_{k}" if k else k: v for k, v in exc.errors.items()}) from None
    return Founded(org, admin)


def update_organization(
    db: Session, operator: User | None, org_id: int, *, name: str, time_zone: str
) -> Organization:
    """Rename an organisation or change its time zone (its slug, part of every address, stays)."""
    org = get_organization(db, operator, org_id)
    fields = organizations.check_organization(
        db, slug=org.slug, name=name, time_zone=time_zone, exclude_id=org.id
    )
    changes = audit.diff(
        {"name": org.name, "time_zone": org.time_zone}, {"name": fields.name, "time_zone": fields.time_zone}
    )
    if changes:
        org.name, org.time_zone = fields.name, fields.time_zone
        _record(db, operator, org, "organization.updated", changes)
    db.flush()
    return org


def archive_organization(db: Session, operator: User | None, org_id: int) -> Organization:
    """Close an organisation: its members can no longer sign in to it; everything it holds is kept."""
    org = get_organization(db, operator, org_id)
    if org.archived_at is None:
        org.archived_at = utcnow()
        _record(db, operator, org, "organization.archived", {"name": org.name})
    db.flush()
    return org


def restore_organization(db: Session, operator: User | None, org_id: int) -> Organization:
    org = get_organization(db, operator, org_id)
    if org.archived_at is not None:
        org.archived_at = None
        _record(db, operator, org, "organization.restored", {"name": org.name})
    db.flush()
    return org


def set_operator(db: Session, email: str, *, on: bool) -> User:
    """Make an account a platform operator, or no longer one (the command line only: `lms user
    operator`). Recorded on the account's trail."""
    user = db.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"No account uses the email {email!r}.")
    if user.is_operator != on:
        user.is_operator = on
        audit.record(
            db,
            actor_id=None,
            org_id=None,
            action="operator.granted" if on else "operator.revoked",
            target_type="user",
            target_id=user.id,
            changes={"email": user.email},
        )
    db.flush()
    return user


def name_from_email(email: str) -> str:
    """A first administrator's name when none was given: "dana.whitfield@x" -> "Dana Whitfield" (they
    change it from their profile)."""
    local = email.split("@", 1)[0]
    words = local.replace(".", " ").replace("_", " ").replace("-", " ").split()
    return " ".join(w.capitalize() for w in words) or local


def _check(operator: User | None) -> None:
    if operator is not None:
        require_operator(operator)


def _record(db: Session, operator: User | None, org: Organization, action: str, changes: dict) -> None:
    audit.record(
        db,
        actor_id=operator.id if operator else None,
        org_id=org.id,
        action=action,
        target_type="organization",
        target_id=org.id,
        changes=changes,
    )
