"""Who is acting, in which organisation, and what they may do (DESIGN.md section 6).

Every org-scoped service takes an Actor. `actor_for` answers NotFound for an organisation the user does
not belong to, so a stranger cannot even learn that an organisation exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.models import Membership, Organization, Permission, User
from lms.services import Forbidden, NotFound

# Who may manage people (the roster, roles, units): one named set, used by every people service.
MANAGES_PEOPLE = (Permission.ORG_ADMIN, Permission.HR)
# Who reads coverage (by unit, role and dose level, down to each person's assignments and progress):
# HR and the organisation's administrators, of their own organisation only.
READS_COVERAGE = (Permission.HR, Permission.ORG_ADMIN)
# Permissions an organisation may require a second factor for (Organization.second_factor_required).
NEEDS_SECOND_FACTOR = frozenset({Permission.ORG_ADMIN, Permission.HR, Permission.COACH})


def outranks(held: frozenset[Permission], wanted: Iterable[Permission]) -> bool:
    """True when `held` includes every permission in `wanted`. An organisation administrator holds
    every permission the organisation can give, so may manage HR, coaches and other administrators."""
    return Permission.ORG_ADMIN in held or frozenset(wanted) <= held


@dataclass(frozen=True, slots=True)
class Actor:
    user: User
    membership: Membership
    # What the membership may do, read once: navigation asks on every page, several times.
    permissions: frozenset[Permission] = field(init=False)
    # Held but not usable until the person turns on the second factor their organisation requires.
    withheld: frozenset[Permission] = field(init=False)

    def __post_init__(self) -> None:
        held = self.membership.permissions if self.membership.usable else frozenset()
        withheld: frozenset[Permission] = frozenset()
        if self.membership.organization.second_factor_required and not self.user.second_factor_on:
            withheld = held & NEEDS_SECOND_FACTOR
        object.__setattr__(self, "permissions", held - withheld)
        object.__setattr__(self, "withheld", withheld)

    @property
    def org(self) -> Organization:
        return self.membership.organization

    @property
    def org_id(self) -> int:
        return self.membership.org_id

    def can(self, *permissions: Permission) -> bool:
        return not self.permissions.isdisjoint(permissions)

    def require(self, *permissions: Permission) -> None:
        """Raise Forbidden unless the actor holds one of the permissions."""
        if not self.can(*permissions):
            if self.withheld.intersection(permissions):
                raise Forbidden(
                    f"{self.org.name} requires two-step sign-in for this. Turn it on from your profile."
                )
            raise Forbidden("You do not have permission to do that in this organisation.")

    def may_manage(self, target: Membership) -> bool:
        """Nobody manages someone who holds more than they do (DESIGN.md section 6)."""
        return outranks(self.permissions, target.permissions)

    def require_manage(self, target: Membership, *, granting: Iterable[Permission] = ()) -> None:
        """Raise Forbidden unless the actor holds every permission the target holds and every permission
        being granted: the one rule for changing another person's identity, permissions, role, unit or
        active state."""
        if not self.may_manage(target):
            raise Forbidden(
                "This person holds permissions you do not have, so only someone who holds them can "
                "change their details, role, unit, permissions or status."
            )
        self.require_grant(granting)

    def require_grant(self, granting: Iterable[Permission]) -> None:
        """Nobody grants a permission they lack."""
        if not outranks(self.permissions, granting):
            raise Forbidden("You cannot grant a permission you do not hold.")


def actor_for(user: User, org_slug: str) -> Actor:
    """The user's active membership in the organisation named by slug, or NotFound."""
    for membership in user.memberships:
        if membership.usable and membership.organization.slug == org_slug:
            return Actor(user, membership)
    raise NotFound("No such organisation.")


def default_actor(user: User) -> Actor | None:
    """The first active membership: the organisation a signed-in person lands in."""
    for membership in user.memberships:
        if membership.usable:
            return Actor(user, membership)
    return None


def require_operator(user: User | None) -> User:
    """The platform operator's own pages and commands (`User.is_operator`): NotFound for anyone else, so a
    person who is not an operator cannot tell the pages exist (DESIGN.md section 6: a wrong id is 404)."""
    if user is None or not user.is_operator or not user.active:
        raise NotFound("Not found.")
    return user


def org_by_slug(db: Session, slug: str) -> Organization:
    org = db.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound("No such organisation.")
    return org


def membership_in_org(db: Session, actor: Actor, membership_id: int) -> Membership:
    """A membership of the actor's organisation by id, or NotFound (never another org's)."""
    membership = db.get(Membership, membership_id)
    if membership is None or membership.org_id != actor.org_id:
        raise NotFound("No such person in this organisation.")
    return membership
