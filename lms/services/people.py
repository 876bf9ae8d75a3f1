"""People in an organisation: add, edit, set stakeholder role and permissions, deactivate, reactivate.

A person (User) may belong to several organisations (faculty do); what an organisation manages is their
Membership. Nobody with history is ever deleted: deactivating a membership keeps every record and signs
the person out when it was their last active organisation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from curricula.stakeholders import StakeholderRole, role_named
from lms.db import utcnow
from lms.models import AuditEvent, Invitation, Membership, OrgUnit, Permission, User
from lms.security import hash_password
from lms.services import Forbidden, Invalid, NotFound, accounts, audit, dosing, invitations, sessions, tokens
from lms.services.access import MANAGES_PEOPLE, Actor, membership_in_org
from lms.services.accounts import password_problems
from lms.services.search import contains

LIMITS = {"name": 120, "email": 254, "job_code": 32, "employee_id": 64}


@dataclass(frozen=True)
class PersonInput:
    """What HR types about a person. Blank optional fields mean "none"."""

    email: str
    name: str
    stakeholder_role: str
    unit_id: int | None = None
    job_code: str | None = None
    employee_id: str | None = None


PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 200


@dataclass(frozen=True)
class Page:
    items: list[Membership]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# --- reading ------------------------------------------------------------------------------------------


def list_people(
    db: Session,
    actor: Actor,
    *,
    q: str = "",
    role: str = "",
    unit_id: int | None = None,
    include_inactive: bool = False,
    page: int = 1,
    per_page: int = PER_PAGE_DEFAULT,
) -> Page:
    """People of the actor's organisation, by name; `unit_id` includes everyone below that unit."""
    actor.require(*MANAGES_PEOPLE)
    query: Select = (
        select(Membership).join(User, Membership.user_id == User.id).where(Membership.org_id == actor.org_id)
    )
    if not include_inactive:
        query = query.where(Membership.active.is_(True))
    if q.strip():
        text = q.strip().lower()
        query = query.where(
            or_(
                contains(func.lower(User.name), text),
                contains(func.lower(User.email), text),
                contains(func.lower(Membership.employee_id), text),
                contains(func.lower(Membership.job_code), text),
            )
        )
    if role:
        query = query.where(Membership.stakeholder_role == stakeholder_role(role, "role"))
    if unit_id is not None:
        unit = db.get(OrgUnit, unit_id)
        if unit is None or unit.org_id != actor.org_id:
            raise Invalid("Choose a unit of this organisation.", "unit_id")
        subtree = select(OrgUnit.id).where(OrgUnit.org_id == actor.org_id, OrgUnit.path.startswith(unit.path))
        query = query.where(Membership.unit_id.in_(subtree))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    per_page = min(max(1, per_page), PER_PAGE_MAX)
    items = db.scalars(
        query.options(contains_eager(Membership.user), selectinload(Membership.unit))
        .order_by(func.lower(User.name), Membership.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(items), total, page, per_page)


def get_person(db: Session, actor: Actor, membership_id: int) -> Membership:
    """A person of the actor's organisation, for HR and org admins; NotFound for anyone else's."""
    actor.require(*MANAGES_PEOPLE)
    return membership_in_org(db, actor, membership_id)


def person_history(db: Session, actor: Actor, membership_id: int, *, limit: int = 20) -> list[AuditEvent]:
    """The latest audit events about one person of the actor's organisation, newest first."""
    actor.require(*MANAGES_PEOPLE)
    membership = membership_in_org(db, actor, membership_id)
    return list(
        db.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.org_id == actor.org_id,
                AuditEvent.target_type == "membership",
                AuditEvent.target_id == membership.id,
            )
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )


# --- changing -----------------------------------------------------------------------------------------


def add_person(
    db: Session,
    actor: Actor | None,
    data: PersonInput,
    *,
    org_id: int | None = None,
    permissions: Iterable[Permission] = (),
    welcome: bool = True,
) -> Membership | Invitation:
    """Add a person to an organisation: a new account, or an invitation to an existing one.

    `actor` is HR or an org admin of the organisation; only org admins grant permissions, and only those
    they hold. `actor=None` is an operator at the command line (`lms user create`, the demo), who must name
    `org_id`. A new account is emailed a link to choose its password (unless `welcome=False`: an operator
    who sets the password, or the demo's made-up people). An email that already has an
    account (it is its person's) gets an invitation instead, which the person accepts while signed in.
    """
    permissions = frozenset(permissions)
    if actor is not None:
        actor.require(*MANAGES_PEOPLE)
        if permissions and not actor.can(Permission.ORG_ADMIN):
            raise Forbidden("Only an organisation administrator can grant permissions.")
        actor.require_grant(permissions)
        org_id = actor.org_id
    if org_id is None:
        raise ValueError("an operator must name the organisation")
    fields = _clean(db, org_id, data)
    user = db.scalar(select(User).where(User.email == fields["email"]))
    if user is not None and db.scalar(
        select(Membership.id).where(Membership.user_id == user.id, Membership.org_id == org_id)
    ):
        raise Invalid("Someone in this organisation already uses this email address.", "email")
    if user is not None:
        invitation = invitations.invite(db, actor, org_id, fields, permissions)
        db.flush()
        return invitation
    user = User(email=fields["email"], name=fields["name"])
    db.add(user)
    db.flush()
    membership = Membership(
        user_id=user.id,
        org_id=org_id,
        unit_id=fields["unit_id"],
        stakeholder_role=fields["stakeholder_role"],
        job_code=fields["job_code"],
        employee_id=fields["employee_id"],
        **{f"is_{p.value}": True for p in permissions},
    )
    db.add(membership)
    db.flush()
    audit.record(
        db,
        actor_id=actor.user.id if actor else None,
        org_id=org_id,
        action="person.added",
        target_type="membership",
        target_id=membership.id,
        changes={**_snapshot(membership, user), "permissions": sorted(p.value for p in permissions)},
    )
    dosing.plan_for(db, membership)  # a new person holds their dose assignments the moment they are added
    if welcome:
        accounts.send_welcome(db, user, org_name=membership.organization.name)
    db.flush()
    return membership


def update_person(db: Session, actor: Actor, membership_id: int, data: PersonInput) -> Membership:
    """Edit a person's details, stakeholder role and unit.

    Name and email belong to the person, not to one organisation: they can be edited here only while the
    account belongs to this organisation alone and nobody has taken it yet (see `identity_editable`). A
    new email gets a new link to choose a password; links sent to the old address stop working.
    """
    actor.require(*MANAGES_PEOPLE)
    membership = membership_in_org(db, actor, membership_id)
    actor.require_manage(membership)
    user = membership.user
    fields = _clean(db, actor.org_id, data, membership=membership)
    before = _snapshot(membership, user)
    new_email = fields["email"] != user.email
    if new_email or fields["name"] != user.name:
        if not identity_editable(membership):
            raise Invalid(
                f"{user.name} signs in with this account, so only they can change their name and email "
                "(from their profile).",
                "email" if new_email else "name",
            )
        if new_email and db.scalar(select(User.id).where(User.email == fields["email"])):
            raise Invalid("Another account already uses this email address.", "email")
        user.email, user.name = fields["email"], fields["name"]
    membership.unit_id = fields["unit_id"]
    membership.stakeholder_role = fields["stakeholder_role"]
    membership.job_code = fields["job_code"]
    membership.employee_id = fields["employee_id"]
    db.flush()
    changes = audit.diff(before, _snapshot(membership, user))
    if changes:
        action = "person.role_changed" if "stakeholder_role" in changes else "person.updated"
        audit.by(
            db,
            actor,
            action=action,
            target_type="membership",
            target_id=membership.id,
            changes=changes,
        )
    if "stakeholder_role" in changes or "unit_id" in changes:
        dosing.plan_for(db, membership)
    if "email" in changes:
        sessions.end_all(db, user.id)
        accounts.send_welcome(db, user, org_name=actor.org.name)
    db.flush()
    return membership


def identity_editable(membership: Membership) -> bool:
    """An organisation may edit an account's name and email only while the account belongs to it alone
    and nobody has taken it (chosen a password or signed in): an account is its person's."""
    user = membership.user
    return not user.claimed and all(m.id == membership.id for m in user.memberships)


def set_permissions(
    db: Session, actor: Actor, membership_id: int, permissions: Iterable[Permission]
) -> Membership:
    """Grant exactly these permissions. Org admins only; the last org admin cannot lose the role."""
    actor.require(Permission.ORG_ADMIN)
    membership = membership_in_org(db, actor, membership_id)
    wanted = frozenset(permissions)
    actor.require_manage(membership, granting=wanted)
    before = membership.permissions
    if Permission.ORG_ADMIN in before and Permission.ORG_ADMIN not in wanted:
        _keep_an_admin(db, membership)
    for p in Permission:
        setattr(membership, f"is_{p.value}", p in wanted)
    if wanted != before:
        audit.by(
            db,
            actor,
            action="person.permissions_changed",
            target_type="membership",
            target_id=membership.id,
            changes={"permissions": [sorted(p.value for p in before), sorted(p.value for p in wanted)]},
        )
    db.flush()
    return membership


def deactivate_person(db: Session, actor: Actor, membership_id: int) -> Membership:
    """End a person's membership. Records stay; the person can no longer act in this organisation."""
    actor.require(*MANAGES_PEOPLE)
    membership = membership_in_org(db, actor, membership_id)
    if membership.id == actor.membership.id:
        raise Invalid("You cannot deactivate yourself; ask another administrator.")
    if not membership.active:
        return membership
    actor.require_manage(membership)
    if membership.is_org_admin:
        _keep_an_admin(db, membership)
    membership.active = False
    membership.deactivated_at = utcnow()
    # Signed out everywhere; and with no organisation left, the account's API tokens are revoked too
    # (a person still active elsewhere keeps them, and they no longer reach this organisation).
    ended = sessions.end_all(db, membership.user_id)
    revoked = 0
    if not any(m.active for m in membership.user.memberships if m.id != membership.id):
        revoked = tokens.revoke_all(db, membership.user_id)
    audit.by(
        db,
        actor,
        action="person.deactivated",
        target_type="membership",
        target_id=membership.id,
        changes={"active": [True, False], "sessions_ended": ended, "tokens_revoked": revoked},
    )
    dosing.plan_for(db, membership)  # cancels their open dose assignments
    db.flush()
    return membership


def reactivate_person(db: Session, actor: Actor, membership_id: int) -> Membership:
    actor.require(*MANAGES_PEOPLE)
    membership = membership_in_org(db, actor, membership_id)
    if membership.active:
        return membership
    actor.require_manage(membership)
    if membership.unit is not None and not membership.unit.active:
        raise Invalid(f"{membership.unit.name} is archived: move the person to an active unit first.")
    membership.active = True
    membership.deactivated_at = None
    audit.by(
        db,
        actor,
        action="person.reactivated",
        target_type="membership",
        target_id=membership.id,
        changes={"active": [False, True]},
    )
    dosing.plan_for(db, membership)
    db.flush()
    return membership


# --- internals ----------------------------------------------------------------------------------------


def stakeholder_role(value: str, field: str = "stakeholder_role") -> StakeholderRole:
    """The role a person typed or picked, or Invalid on `field`."""
    role = role_named(value)
    if role is None:
        raise Invalid("Choose one of the seven stakeholder roles.", field)
    return role


def clean_email(value: str, field: str = "email") -> str:
    """An email address as accounts store it (normalised, lowercase), or Invalid on `field`."""
    value = value.strip()
    if not value:
        raise Invalid("Enter an email address.", field)
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(f"Enter a valid email address ({exc}).", field) from None


def _clean(db: Session, org_id: int, data: PersonInput, *, membership: Membership | None = None) -> dict:
    """Validate and normalise input; raise Invalid with every problem at once."""
    errors: dict[str, list[str]] = {}
    out: dict = {}
    for name in ("email", "name", "job_code", "employee_id"):
        value = " ".join((getattr(data, name) or "").split())
        if len(value) > LIMITS[name]:
            errors[name] = [f"Keep this to {LIMITS[name]} characters or fewer (it has {len(value)})."]
        out[name] = value or None
    if not out["name"]:
        errors.setdefault("name", ["Enter the person's name."])
    if "email" not in errors:
        try:
            out["email"] = clean_email(out["email"] or "")
        except Invalid as exc:
            errors.update(exc.errors)
    try:
        out["stakeholder_role"] = stakeholder_role(data.stakeholder_role)
    except Invalid as exc:
        errors.update(exc.errors)
    out["unit_id"] = None
    if data.unit_id is not None:
        unit = db.get(OrgUnit, data.unit_id)
        if unit is None or unit.org_id != org_id:
            errors["unit_id"] = ["Choose a unit of this organisation."]
        elif not unit.active and (membership is None or membership.unit_id != unit.id):
            errors["unit_id"] = [f"{unit.name} is archived: choose an active unit."]
        else:
            out["unit_id"] = unit.id
    if out["employee_id"] and "employee_id" not in errors:
        clash = select(Membership.id).where(
            Membership.org_id == org_id, Membership.employee_id == out["employee_id"]
        )
        if membership is not None:
            clash = clash.where(Membership.id != membership.id)
        invited = select(Invitation.id).where(
            Invitation.org_id == org_id, Invitation.employee_id == out["employee_id"], Invitation.open
        )
        if db.scalar(clash) is not None or db.scalar(invited) is not None:
            errors["employee_id"] = ["Another person in this organisation has this employee ID."]
    if errors:
        raise Invalid(errors)
    return out


def _snapshot(m: Membership, u: User) -> dict:
    return {
        "email": u.email,
        "name": u.name,
        "stakeholder_role": m.stakeholder_role.value if m.stakeholder_role else None,
        "unit_id": m.unit_id,
        "job_code": m.job_code,
        "employee_id": m.employee_id,
    }


def _keep_an_admin(db: Session, leaving: Membership) -> None:
    others = db.scalar(
        select(func.count()).where(
            Membership.org_id == leaving.org_id,
            Membership.is_org_admin.is_(True),
            Membership.active.is_(True),
            Membership.id != leaving.id,
        )
    )
    if not others:
        raise Invalid(
            "This is the organisation's last administrator: make someone else an administrator first."
        )


# --- operator tasks (the command line) ----------------------------------------------------------------


def set_password_as_operator(db: Session, user_id: int, password: str) -> User:
    """Set a person's password from the command line (`lms user create`); signs out their other sessions."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    errors = password_problems(password, password, email=user.email)
    if errors:
        raise Invalid(errors)
    user.password_hash = hash_password(password)
    accounts.cancel_password_links(db, user)
    sessions.end_all(db, user.id)
    audit.record(
        db,
        actor_id=None,
        org_id=None,
        action="password.set_by_operator",
        target_type="user",
        target_id=user.id,
    )
    db.flush()
    return user
