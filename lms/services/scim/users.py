"""SCIM Users: an organisation's people as its identity provider reads and writes them.

A User is a membership (its id is the membership's), or an invitation (`invited-<id>`) when the provider
adds an email whose account belongs to someone already: as on the People page, the person is invited
and joins by accepting; until then the organisation holds only what it typed. Every change goes through
the people services (lms.services.people): the same checks (nobody manages someone who holds more), the
same audit events and the same dose planning, acting as the token's creator.

What the provider sends is kept verbatim on a ScimRecord and read back as sent. What it means here:
- email: the primary address in `emails` (or the work one, or the first), else `userName` when it is an
  address. It and the name change the account only while the organisation may edit them
  (people.identity_editable); otherwise the account keeps its person's and the record says why.
- title is the job code; the job code's stakeholder role is taken when one is mapped (`role_for_job_code`);
  a job code without one is reported on the record (and the SCIM page), never guessed. A new person whose
  role nothing names starts as a clinician (point-of-care staff), reported likewise.
- enterprise employeeNumber (else externalId) is the employee id; department names the unit, by its code
  or its name.
- An attribute the provider leaves out changes nothing here: Okta replaces a whole record by PUT, and a
  missing `active`, title or department must not suspend anyone or clear what HR set.
- DELETE deactivates the membership (history kept) and removes the SCIM resource: 404 until the provider
  creates the person again, which reactivates the same membership.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scim2_models import (
    Context,
    InvalidValueException,
    Meta,
    NotFoundException,
    PatchOp,
    SCIMException,
    UniquenessException,
)
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from lms.db import utcnow
from lms.models import Invitation, Membership, ScimRecord
from lms.models import User as Account
from lms.services import Invalid, audit, invitations, people
from lms.services.access import MANAGES_PEOPLE, Actor
from lms.services.scim import filters
from lms.services.scim.meaning import Wanted, wanted_from
from lms.services.scim.resources import POLICY, PREFIX, Email, EnterpriseUser, Name, User

INVITED = "invited-"


@dataclass
class Target:
    """The person a resource id names: a membership, or an invitation nobody has accepted yet."""

    membership: Membership | None
    invitation: Invitation | None
    record: ScimRecord | None

    @property
    def resource_id(self) -> str:
        if self.membership is not None:
            return str(self.membership.id)
        assert self.invitation is not None
        return f"{INVITED}{self.invitation.id}"


# --- reading ------------------------------------------------------------------------------------------


def get_user(db: Session, actor: Actor, resource_id: str, base_url: str) -> User:
    actor.require(*MANAGES_PEOPLE)
    return resource(_find(db, actor, resource_id), base_url)


def list_users(
    db: Session, actor: Actor, *, filter_text: str | None, start_index: int, count: int, base_url: str
) -> tuple[int, list[User]]:
    """(total, the page): members by id, then people invited and not yet joined."""
    actor.require(*MANAGES_PEOPLE)
    _follow_accepted_invitations(db, actor.org_id)
    condition = filters.condition(filter_text) if filter_text else None
    members: Select = (
        select(Membership, ScimRecord)
        .join(Account, Account.id == Membership.user_id)
        .outerjoin(ScimRecord, ScimRecord.membership_id == Membership.id)
        .where(Membership.org_id == actor.org_id, ScimRecord.deleted_at.is_(None))
    )
    invited: Select = (
        select(Invitation, ScimRecord)
        .join(ScimRecord, ScimRecord.invitation_id == Invitation.id)
        .outerjoin(Membership, Membership.id == ScimRecord.membership_id)
        .outerjoin(Account, Account.id == Membership.user_id)
        .where(
            ScimRecord.org_id == actor.org_id,
            ScimRecord.membership_id.is_(None),
            ScimRecord.deleted_at.is_(None),
        )
    )
    if condition is not None:
        members, invited = members.where(condition), invited.where(condition)
    member_total = db.scalar(select(func.count()).select_from(members.subquery())) or 0
    invited_total = db.scalar(select(func.count()).select_from(invited.subquery())) or 0
    offset = start_index - 1
    page: list[User] = []
    if count and offset < member_total:
        rows = db.execute(
            members.options(contains_eager(Membership.user), selectinload(Membership.unit))
            .order_by(Membership.id)
            .offset(offset)
            .limit(count)
        ).all()
        page += [resource(Target(m, None, r), base_url) for m, r in rows]
    left = count - len(page)
    if left > 0:
        rows = db.execute(
            invited.order_by(Invitation.id).offset(max(0, offset - member_total)).limit(left)
        ).all()
        page += [resource(Target(None, i, r), base_url) for i, r in rows]
    return member_total + invited_total, page


def resource(target: Target, base_url: str) -> User:
    """The SCIM User for a person: as the provider last wrote it, with the state that is this platform's
    own (active, id, meta); a person the provider never wrote reads from their membership."""
    record, member = target.record, target.membership
    user = User.model_validate(record.attributes) if record is not None else User()
    if member is not None and record is None:
        account = member.user
        unit = member.unit
        user.user_name = account.email
        user.emails = [Email(value=account.email, type="work", primary=True)]
        user.name = Name(formatted=account.name)
        user.display_name = account.name
        user.title = member.job_code
        if member.employee_id or unit is not None:
            user[EnterpriseUser] = EnterpriseUser(
                employee_number=member.employee_id, department=(unit.code or unit.name) if unit else None
            )
    if target.invitation is not None and member is None:
        user.user_name = user.user_name or target.invitation.email
    user.id = target.resource_id
    user.external_id = record.external_id if record is not None else None
    user.active = member.active if member is not None else False
    created = (member.created_at if member is not None else None) or (record.created_at if record else None)
    user.meta = Meta(
        resource_type="User",
        created=created,
        last_modified=record.updated_at if record is not None else created,
        location=f"{base_url}{PREFIX}/Users/{user.id}",
    )
    return user


# --- changing -----------------------------------------------------------------------------------------


def create_user(db: Session, actor: Actor, payload: Any, base_url: str) -> User:
    """POST /Users: a new person, an invitation to an existing account, or a person the provider had
    deleted, back (the same membership, reactivated)."""
    actor.require(*MANAGES_PEOPLE)
    want = _validated(payload, Context.RESOURCE_CREATION_REQUEST)
    wanted = wanted_from(db, actor, want, None)
    member = db.scalar(
        select(Membership)
        .join(Account, Account.id == Membership.user_id)
        .where(Membership.org_id == actor.org_id, Account.email == wanted.email)
    )
    if member is not None:
        record = _record_of(db, member)
        if record is None or record.deleted_at is None:
            raise UniquenessException(detail="Someone in this organisation already has this email address.")
        record.deleted_at = None
        if wanted.active is None:
            wanted.active = True
        target = Target(member, None, record)
        _change(db, actor, target, want, wanted)
        return resource(target, base_url)
    _check_unique(db, actor, want, wanted, None)
    made = _through_people(
        lambda: people.add_person(
            db,
            actor,
            people.PersonInput(
                email=wanted.email,
                name=wanted.name,
                stakeholder_role=wanted.role.value,
                unit_id=wanted.unit_id,
                job_code=wanted.job_code,
                employee_id=wanted.employee_id,
            ),
        )
    )
    record = ScimRecord(org_id=actor.org_id, user_name=(want.user_name or wanted.email).lower()[:254])
    if isinstance(made, Membership):
        record.membership_id = made.id
        target = Target(made, None, record)
    else:
        record.invitation_id = made.id
        target = Target(None, made, record)
    db.add(record)
    _store(record, want, wanted)
    if isinstance(made, Membership) and wanted.active is False:
        _through_people(lambda: people.deactivate_person(db, actor, made.id))
    db.flush()
    return resource(target, base_url)


def replace_user(db: Session, actor: Actor, resource_id: str, payload: Any, base_url: str) -> User:
    """PUT /Users/<id>: the provider's whole record (a missing attribute changes nothing here)."""
    actor.require(*MANAGES_PEOPLE)
    target = _find(db, actor, resource_id)
    want = _validated(payload, Context.RESOURCE_REPLACEMENT_REQUEST)
    _change(db, actor, target, want, wanted_from(db, actor, want, target))
    return resource(target, base_url)


def patch_user(db: Session, actor: Actor, resource_id: str, payload: Any, base_url: str) -> User:
    """PATCH /Users/<id>: the operations applied to the User as it reads now, then written as a PUT."""
    actor.require(*MANAGES_PEOPLE)
    target = _find(db, actor, resource_id)
    current = resource(target, base_url)
    was_active = current.active
    try:
        patch = PatchOp[User].model_validate(
            payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
        patch.patch(current, scim_policy=POLICY)
    except SCIMException:
        raise
    except ValueError as exc:  # pydantic's ValidationError, carrying scim2-models' own when it has one
        raise refusal(exc) from None
    wanted = wanted_from(db, actor, current, target)
    if current.active == was_active:
        wanted.active = None  # the operations did not change it (an invitation reads inactive until accepted)
    _change(db, actor, target, current, wanted)
    return resource(target, base_url)


def delete_user(db: Session, actor: Actor, resource_id: str) -> None:
    """DELETE /Users/<id>: the membership is deactivated, its history kept; the resource is gone."""
    actor.require(*MANAGES_PEOPLE)
    target = _find(db, actor, resource_id)
    record = target.record
    if record is None:
        assert target.membership is not None
        record = ScimRecord(
            org_id=actor.org_id,
            membership_id=target.membership.id,
            user_name=target.membership.user.email,
            email=target.membership.user.email,
            attributes=resource(target, "").model_dump(),
        )
        db.add(record)
    if target.membership is not None and target.membership.active:
        _through_people(lambda: people.deactivate_person(db, actor, target.membership.id))
    elif target.invitation is not None and target.invitation.open:
        invitations.cancel(db, actor, target.invitation.id)
    record.deleted_at = utcnow()
    db.flush()


# --- internals ----------------------------------------------------------------------------------------


def _change(db: Session, actor: Actor, target: Target, want: User, wanted: Wanted) -> None:
    """Write what the provider wants through the people services, and keep its record."""
    _check_unique(db, actor, want, wanted, target)
    record = target.record
    if record is None:
        record = ScimRecord(
            org_id=actor.org_id,
            membership_id=target.membership.id if target.membership else None,
            user_name=(want.user_name or wanted.email).lower()[:254],
        )
        db.add(record)
        target.record = record
    member = target.membership
    if member is None:
        assert target.invitation is not None
        _change_invitation(db, actor, target.invitation, wanted)
    else:
        account = member.user
        email, name = wanted.email, wanted.name
        if (email, name) != (account.email, account.name) and not people.identity_editable(member):
            wanted.problems.append(
                "The account is its person's (they have signed in, or belong to another organisation too): "
                "only they change the name and email they use, so the account's are kept."
            )
            email, name = account.email, account.name
        elif email != account.email and db.scalar(select(Account.id).where(Account.email == email)):
            raise UniquenessException(detail="Another account already uses this email address.")
        data = people.PersonInput(
            email=email,
            name=name,
            stakeholder_role=wanted.role.value,
            unit_id=wanted.unit_id,
            job_code=wanted.job_code,
            employee_id=wanted.employee_id,
        )
        now = (
            account.email,
            account.name,
            member.stakeholder_role,
            member.unit_id,
            member.job_code,
            member.employee_id,
        )
        if now != (email, name, wanted.role, wanted.unit_id, wanted.job_code, wanted.employee_id):
            _through_people(lambda: people.update_person(db, actor, member.id, data))
        if wanted.active is False and member.active:
            _through_people(lambda: people.deactivate_person(db, actor, member.id))
        elif wanted.active is True and not member.active:
            _through_people(lambda: people.reactivate_person(db, actor, member.id))
    _store(record, want, wanted)
    db.flush()


def _change_invitation(db: Session, actor: Actor, invitation: Invitation, wanted: Wanted) -> None:
    """An invitation nobody has answered: the organisation's typed details change; its address does not
    (that would invite someone else)."""
    if wanted.email != invitation.email:
        raise InvalidValueException(
            detail=f"The invitation went to {invitation.email}: delete this user and create it again to "
            "invite another address."
        )
    if wanted.active is False:
        if invitation.open:
            invitations.cancel(db, actor, invitation.id)
        return
    if not invitation.open:
        raise InvalidValueException(
            detail="This invitation was declined or withdrawn: create the user again."
        )
    before = _invited_details(invitation)
    invitation.name = wanted.name
    invitation.job_code = wanted.job_code
    invitation.employee_id = wanted.employee_id
    invitation.stakeholder_role = wanted.role
    invitation.unit_id = wanted.unit_id
    changes = audit.diff(before, _invited_details(invitation))
    if changes:
        audit.by(
            db,
            actor,
            action="invitation.updated",
            target_type="invitation",
            target_id=invitation.id,
            changes=changes,
        )


def _invited_details(invitation: Invitation) -> dict[str, Any]:
    return {
        "name": invitation.name,
        "job_code": invitation.job_code,
        "employee_id": invitation.employee_id,
        "stakeholder_role": invitation.stakeholder_role.value,
        "unit_id": invitation.unit_id,
    }


def _check_unique(db: Session, actor: Actor, want: User, wanted: Wanted, target: Target | None) -> None:
    """409 (uniqueness) for a userName, email or employee id another person of the organisation has."""
    member_id = target.membership.id if target and target.membership else None
    record_id = target.record.id if target and target.record and target.record.id else None
    user_name = (want.user_name or "").lower()
    records = select(ScimRecord.id).where(
        ScimRecord.org_id == actor.org_id, ScimRecord.user_name == user_name, ScimRecord.deleted_at.is_(None)
    )
    if record_id is not None:
        records = records.where(ScimRecord.id != record_id)
    unrecorded = (
        select(Membership.id)
        .join(Account, Account.id == Membership.user_id)
        .outerjoin(ScimRecord, ScimRecord.membership_id == Membership.id)
        .where(Membership.org_id == actor.org_id, ScimRecord.id.is_(None), Account.email == user_name)
    )
    if member_id is not None:
        unrecorded = unrecorded.where(Membership.id != member_id)
    if db.scalar(records.limit(1)) or db.scalar(unrecorded.limit(1)):
        raise UniquenessException(detail="Another person of this organisation has this userName.")
    same_email = (
        select(Membership.id)
        .join(Account, Account.id == Membership.user_id)
        .where(Membership.org_id == actor.org_id, Account.email == wanted.email)
    )
    if member_id is not None:
        same_email = same_email.where(Membership.id != member_id)
    if (target is None or target.membership is not None) and db.scalar(same_email.limit(1)):
        raise UniquenessException(detail="Someone in this organisation already has this email address.")
    if wanted.employee_id:
        same_id = select(Membership.id).where(
            Membership.org_id == actor.org_id, Membership.employee_id == wanted.employee_id
        )
        if member_id is not None:
            same_id = same_id.where(Membership.id != member_id)
        invited = select(Invitation.id).where(
            Invitation.org_id == actor.org_id, Invitation.employee_id == wanted.employee_id, Invitation.open
        )
        if target is not None and target.invitation is not None:
            invited = invited.where(Invitation.id != target.invitation.id)
        if db.scalar(same_id.limit(1)) or db.scalar(invited.limit(1)):
            raise UniquenessException(detail="Another person of this organisation has this employee id.")


def _store(record: ScimRecord, want: User, wanted: Wanted) -> None:
    """Keep what the provider sent, as sent (what is this platform's own is not kept: id, meta, active)."""
    kept = want.model_copy(deep=True)
    kept.id = None
    kept.meta = None
    kept.active = None
    kept.external_id = None
    record.attributes = kept.model_dump()
    record.user_name = (want.user_name or wanted.email).lower()[:254]
    record.external_id = (want.external_id or None) and want.external_id[:254]
    record.email = wanted.email
    record.problems = wanted.problems
    record.updated_at = utcnow()


def _find(db: Session, actor: Actor, resource_id: str) -> Target:
    """The person a resource id names in the actor's organisation, or 404 (never another's)."""
    _follow_accepted_invitations(db, actor.org_id)
    missing = NotFoundException(detail=f"No user {resource_id} in this organisation.")
    if resource_id.startswith(INVITED):
        number = _number(resource_id.removeprefix(INVITED))
        invitation = db.get(Invitation, number) if number else None
        if invitation is None or invitation.org_id != actor.org_id:
            raise missing
        record = db.scalar(select(ScimRecord).where(ScimRecord.invitation_id == invitation.id))
        if record is None or record.deleted_at is not None:
            raise missing
        member = db.get(Membership, record.membership_id) if record.membership_id else None
        return Target(member, None if member else invitation, record)
    number = _number(resource_id)
    member = db.get(Membership, number) if number else None
    if member is None or member.org_id != actor.org_id:
        raise missing
    record = _record_of(db, member)
    if record is not None and record.deleted_at is not None:
        raise missing
    return Target(member, None, record)


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _record_of(db: Session, member: Membership) -> ScimRecord | None:
    return db.scalar(select(ScimRecord).where(ScimRecord.membership_id == member.id))


def _follow_accepted_invitations(db: Session, org_id: int) -> None:
    """The record of an invitation the person has accepted moves to their membership (one query when
    there is none to move)."""
    rows = db.execute(
        select(ScimRecord, Invitation.membership_id)
        .join(Invitation, Invitation.id == ScimRecord.invitation_id)
        .where(
            ScimRecord.org_id == org_id,
            ScimRecord.membership_id.is_(None),
            Invitation.membership_id.is_not(None),
        )
    ).all()
    for record, membership_id in rows:
        if db.scalar(select(ScimRecord.id).where(ScimRecord.membership_id == membership_id)) is None:
            record.membership_id = membership_id
    if rows:
        db.flush()


def _validated(payload: Any, context: Context) -> User:
    if not isinstance(payload, dict):
        raise InvalidValueException(detail="Send a User as a JSON object.")
    try:
        return User.model_validate(payload, scim_ctx=context, scim_policy=POLICY)
    except SCIMException:
        raise
    except ValueError as exc:
        raise refusal(exc) from None


def refusal(exc: ValueError) -> SCIMException:
    """A pydantic refusal as the SCIM error scim2-models put in it, or invalidValue saying what is wrong."""
    for problem in getattr(exc, "errors", lambda: [])():
        cause = (problem.get("ctx") or {}).get("error")
        if isinstance(cause, SCIMException):
            return cause
    problems = getattr(exc, "errors", lambda: [])()
    said = "; ".join(
        f"{'.'.join(str(p) for p in problem.get('loc', ())) or 'the body'}: {problem.get('msg')}"
        for problem in problems[:5]
    )
    return InvalidValueException(detail=said or str(exc))


def _through_people(change: Any) -> Any:
    """Call a people service; its refusal (Invalid) is a SCIM invalidValue saying the same."""
    try:
        return change()
    except Invalid as exc:
        raise InvalidValueException(detail=str(exc)) from None
