"""A coaching circle for the journal tests: an author with a coach, everyone else who must not read the
author's private journal, and a module reflection to write."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from curricula.stakeholders import StakeholderRole
from lms.models import Membership, Module, User
from lms.services import coaching, modules
from lms.services.access import Actor


def actor_of(membership: Membership) -> Actor:
    return Actor(membership.user, membership)


@dataclass
class Circle:
    author: Membership
    coach: Membership
    other_coach: Membership
    hr: Membership
    faculty: Membership
    admin: Membership
    other_admin: Membership  # another organisation's
    operator: User
    module: Module

    def reflect(self, db: Session, text: str):
        return modules.save_reflection(db, self.author.user, self.module.slug, "what-matters", text)


def build_circle(db: Session, make, tree, other_tree, lib) -> Circle:
    """Every role of the privacy table, the author coached by `coach` (made by the org admin)."""
    author = make.person(tree, StakeholderRole.EXECUTIVE, name="Erin Executive", email="erin@alpha.test")
    coach = make.person(
        tree, StakeholderRole.QUALITY_STAFF, name="Cal Coach", email="cal@alpha.test", coach=True
    )
    other_coach = make.person(tree, name="Olga Othercoach", email="olga@alpha.test", coach=True)
    hr = make.person(tree, name="Hana HR", email="hana@alpha.test", hr=True)
    faculty = make.person(tree, name="Fay Faculty", email="fay@alpha.test", faculty=True)
    admin = make.person(tree, name="Ada Admin", email="ada@alpha.test", org_admin=True)
    other_admin = make.person(other_tree, name="Bo Betaadmin", email="bo@beta.test", org_admin=True)
    operator = User(email="op@platform.test", name="Opal Operator", is_operator=True)
    db.add(operator)
    db.flush()
    module = lib.module("leading-rounds", title="Leading rounds", component="set-direction")
    coaching.create(db, actor_of(admin), coach_id=coach.id, coachee_id=author.id)
    db.commit()
    return Circle(author, coach, other_coach, hr, faculty, admin, other_admin, operator, module)
