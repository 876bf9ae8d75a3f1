"""Who is acting, in which organisation, and what they may do (DESIGN.md section 6).

Every org-scoped service takes an Actor. `actor_for` answers NotFound for an organisation the user does
not belong to, so a stranger cannot even learn that an organisation exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.models import Membership, Organization, Permission, User
from lms.services import Forbidden, NotFound


@dataclass(frozen=True, slots=True)
class Actor:
    user: User
    membership: Membership
    # What the membership may do, read once: navigation asks on every page, several times.
    permissions: frozenset[Permission] = field(init=False)

    def __post_init__(self) -> None:
        held = self.membership.permissions if self.membership.active else frozenset()
        object.__setattr__(self, "permissions", held)

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
            raise Forbidden("You do not have permission to do that in this organisation.")


def actor_for(user: User, org_slug: str) -> Actor:
    """The user's active membership in the organisation named by slug, or NotFound."""
    for membership in user.memberships:
        if membership.active and membership.organization.slug == org_slug:
            return Actor(user, membership)
    raise NotFound("No such organisation.")


def default_actor(user: User) -> Actor | None:
    """The first active membership: the organisation a signed-in person lands in."""
    for membership in user.memberships:
        if membership.active:
            return Actor(user, membership)
    return None


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
