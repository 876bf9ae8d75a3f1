"""Organisations and their unit tree: create, list, add, rename, move, archive, restore.

The tree has four fixed levels (system > facility > department > unit). Each unit keeps a materialised
path of ids ("/1/4/9/"), so a subtree is one prefix query and a move rewrites the subtree in one UPDATE.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from zoneinfo import available_timezones

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.models import Membership, Organization, OrgUnit, Permission, UnitKind
from lms.services import Invalid, NotFound, audit
from lms.services.access import Actor

NAME_MAX = 120
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


# --- organisations (operator tasks: the CLI and the demo) ---------------------------------------------


ORG_NAME_MAX = 200


@dataclass(frozen=True)
class OrganizationFields:
    """An organisation's slug, name and time zone as cleaned by `check_organization`."""

    slug: str
    name: str
    time_zone: str


def check_organization(
    db: Session, *, slug: str, name: str, time_zone: str, exclude_id: int | None = None
) -> OrganizationFields:
    """The one home of the rules for an organisation's slug, name and time zone: the cleaned values, or
    Invalid with every problem at once (fields "slug", "name", "time_zone")."""
    errors: dict[str, list[str]] = {}
    slug = (slug or "").strip().lower()
    name = " ".join((name or "").split())
    time_zone = (time_zone or "").strip()
    if not SLUG_RE.match(slug):
        errors["slug"] = [
            "Use 1 to 64 lowercase letters, digits and hyphens, not starting or ending with one."
        ]
    else:
        clash = select(Organization.id).where(Organization.slug == slug)
        if exclude_id is not None:
            clash = clash.where(Organization.id != exclude_id)
        if db.scalar(clash) is not None:
            errors["slug"] = [f"An organisation with the slug {slug!r} already exists."]
    if not name or len(name) > ORG_NAME_MAX:
        errors["name"] = [f"Give the organisation a name of 1 to {ORG_NAME_MAX} characters."]
    if time_zone not in available_timezones():
        errors["time_zone"] = [f"{time_zone!r} is not a time zone name such as Europe/London."]
    if errors:
        raise Invalid(errors)
    return OrganizationFields(slug, name, time_zone)


def create_organization(
    db: Session,
    *,
    slug: str,
    name: str,
    time_zone: str = "UTC",
    system_name: str | None = None,
    by: int | None = None,
) -> Organization:
    """Create an organisation with its root system unit. Operators only: the CLI, the demo and the
    Organisations page (lms.services.platform), which checked who `by` (the operator's user id) is."""
    fields = check_organization(db, slug=slug, name=name, time_zone=time_zone)
    org = Organization(slug=fields.slug, name=fields.name, time_zone=fields.time_zone)
    db.add(org)
    db.flush()
    root = new_unit(db, org.id, None, UnitKind.SYSTEM, system_name or fields.name)
    audit.record(
        db,
        actor_id=by,
        org_id=org.id,
        action="organization.created",
        target_type="organization",
        target_id=org.id,
        changes={
            "slug": fields.slug,
            "name": fields.name,
            "time_zone": fields.time_zone,
            "root_unit": root.id,
        },
    )
    db.flush()
    return org


def root_unit(db: Session, org_id: int) -> OrgUnit:
    """The organisation's system unit, the root of its tree."""
    root = db.scalar(select(OrgUnit).where(OrgUnit.org_id == org_id, OrgUnit.parent_id.is_(None)))
    if root is None:
        raise NotFound("This organisation has no unit tree.")
    return root


# --- reading the tree ---------------------------------------------------------------------------------


@dataclass
class UnitNode:
    unit: OrgUnit
    people: int = 0
    children: list[UnitNode] = field(default_factory=list)


def list_units(db: Session, actor: Actor, *, include_archived: bool = True) -> list[OrgUnit]:
    """Every unit of the actor's organisation, parents before children. HR and org admins."""
    actor.require(Permission.ORG_ADMIN, Permission.HR)
    q = select(OrgUnit).where(OrgUnit.org_id == actor.org_id).order_by(OrgUnit.path)
    if not include_archived:
        q = q.where(OrgUnit.archived_at.is_(None))
    return list(db.scalars(q))


def unit_tree(db: Session, actor: Actor, *, include_archived: bool = True) -> list[UnitNode]:
    """The tree as nested nodes, siblings by name, with the number of active people in each unit."""
    units = list_units(db, actor, include_archived=include_archived)
    counts = dict(
        db.execute(
            select(Membership.unit_id, func.count())
            .where(Membership.org_id == actor.org_id, Membership.active.is_(True))
            .group_by(Membership.unit_id)
        ).all()
    )
    nodes = {u.id: UnitNode(u, counts.get(u.id, 0)) for u in units}
    roots: list[UnitNode] = []
    for node in nodes.values():
        parent = nodes.get(node.unit.parent_id) if node.unit.parent_id else None
        (parent.children if parent else roots).append(node)
    for node in nodes.values():
        node.children.sort(key=lambda n: n.unit.name.lower())
    return roots


def get_unit(db: Session, actor: Actor, unit_id: int) -> OrgUnit:
    """A unit of the actor's organisation, or NotFound (also for another organisation's unit)."""
    actor.require(Permission.ORG_ADMIN, Permission.HR)
    return _unit_in_org(db, actor.org_id, unit_id)


def possible_parents(db: Session, actor: Actor, unit: OrgUnit) -> list[OrgUnit]:
    """Active units one level above `unit`, outside its own subtree: where it may move."""
    if unit.kind is UnitKind.SYSTEM:
        return []
    above = list(UnitKind)[unit.kind.depth - 1]
    return [
        u
        for u in list_units(db, actor, include_archived=False)
        if u.kind is above and not u.path.startswith(unit.path)
    ]


# --- changing the tree --------------------------------------------------------------------------------


def add_unit(db: Session, actor: Actor, *, parent_id: int, name: str) -> OrgUnit:
    actor.require(Permission.ORG_ADMIN)
    parent = _unit_in_org(db, actor.org_id, parent_id, field="parent_id")
    if not parent.active:
        raise Invalid(f"{parent.name} is archived: restore it before adding units to it.", "parent_id")
    kind = parent.kind.child_kind
    if kind is None:
        raise Invalid(f"{parent.name} is a unit, the lowest level: it cannot hold other units.", "parent_id")
    name = check_unit_name(db, actor.org_id, parent, name)
    unit = new_unit(db, actor.org_id, parent, kind, name)
    audit.by(
        db,
        actor,
        action="unit.added",
        target_type="org_unit",
        target_id=unit.id,
        changes={"name": name, "kind": kind.value, "parent": parent.name},
    )
    db.flush()
    return unit


def rename_unit(db: Session, actor: Actor, unit_id: int, *, name: str) -> OrgUnit:
    actor.require(Permission.ORG_ADMIN)
    unit = _unit_in_org(db, actor.org_id, unit_id)
    old = unit.name
    unit.name = check_unit_name(db, actor.org_id, unit.parent, name, exclude_id=unit.id)
    if unit.name != old:
        audit.by(
            db,
            actor,
            action="unit.renamed",
            target_type="org_unit",
            target_id=unit.id,
            changes={"name": [old, unit.name]},
        )
    db.flush()
    return unit


def move_unit(db: Session, actor: Actor, unit_id: int, *, new_parent_id: int) -> OrgUnit:
    """Move a unit and everything below it under another parent one level up."""
    actor.require(Permission.ORG_ADMIN)
    unit = _unit_in_org(db, actor.org_id, unit_id)
    if unit.kind is UnitKind.SYSTEM:
        raise Invalid("The system is the root of the tree and cannot move.", "parent_id")
    new_parent = _unit_in_org(db, actor.org_id, new_parent_id, field="parent_id")
    if new_parent.path.startswith(unit.path):
        raise Invalid(f"{unit.name} cannot move under itself or one of its own units.", "parent_id")
    if new_parent.kind.child_kind is not unit.kind:
        above = list(UnitKind)[unit.kind.depth - 1].value
        raise Invalid(
            f"A {unit.kind.value} sits under a {above}; {new_parent.name} is a {new_parent.kind.value}.",
            "parent_id",
        )
    if not new_parent.active:
        raise Invalid(f"{new_parent.name} is archived: restore it first.", "parent_id")
    if new_parent.id == unit.parent_id:
        return unit
    name = check_unit_name(db, actor.org_id, new_parent, unit.name, exclude_id=unit.id)
    old_parent = unit.parent
    unit.name = name
    relocate_subtree(db, unit, new_parent)
    audit.by(
        db,
        actor,
        action="unit.moved",
        target_type="org_unit",
        target_id=unit.id,
        changes={"parent": [old_parent.name if old_parent else None, new_parent.name]},
    )
    db.flush()
    return unit


def relocate_subtree(db: Session, unit: OrgUnit, new_parent: OrgUnit) -> None:
    """Put `unit` and everything below it under `new_parent` (the caller checked levels and cycles):
    one UPDATE rewrites the materialised paths of the subtree."""
    old_prefix, new_prefix = unit.path, f"{new_parent.path}{unit.id}/"
    unit.parent_id = new_parent.id
    db.flush()
    db.execute(
        update(OrgUnit)
        .where(OrgUnit.org_id == unit.org_id, OrgUnit.path.startswith(old_prefix, autoescape=True))
        .values(path=literal(new_prefix) + func.substr(OrgUnit.path, len(old_prefix) + 1))
        .execution_options(synchronize_session=False)
    )
    db.expire_all()  # paths of the subtree changed in SQL


def archive_unit(db: Session, actor: Actor, unit_id: int) -> OrgUnit:
    """Archive an empty unit. Its history stays; it disappears from pickers."""
    actor.require(Permission.ORG_ADMIN)
    unit = _unit_in_org(db, actor.org_id, unit_id)
    if unit.kind is UnitKind.SYSTEM:
        raise Invalid("The system is the root of the tree and cannot be archived.")
    if not unit.active:
        return unit
    children = db.scalar(
        select(func.count()).where(OrgUnit.parent_id == unit.id, OrgUnit.archived_at.is_(None))
    )
    if children:
        raise Invalid(f"{unit.name} still holds {children} active unit(s): move or archive them first.")
    people = db.scalar(select(func.count()).where(Membership.unit_id == unit.id, Membership.active.is_(True)))
    if people:
        raise Invalid(f"{people} active person(s) belong to {unit.name}: move them to another unit first.")
    unit.archived_at = utcnow()
    audit.by(
        db,
        actor,
        action="unit.archived",
        target_type="org_unit",
        target_id=unit.id,
        changes={"name": unit.name},
    )
    db.flush()
    return unit


def restore_unit(db: Session, actor: Actor, unit_id: int) -> OrgUnit:
    actor.require(Permission.ORG_ADMIN)
    unit = _unit_in_org(db, actor.org_id, unit_id)
    if unit.active:
        return unit
    if unit.parent is not None and not unit.parent.active:
        raise Invalid(f"Restore {unit.parent.name} first: {unit.name} sits under it.")
    check_unit_name(db, actor.org_id, unit.parent, unit.name, exclude_id=unit.id)
    unit.archived_at = None
    audit.by(
        db,
        actor,
        action="unit.restored",
        target_type="org_unit",
        target_id=unit.id,
        changes={"name": unit.name},
    )
    db.flush()
    return unit


# --- internals ----------------------------------------------------------------------------------------


def _unit_in_org(db: Session, org_id: int, unit_id: int, *, field: str = "") -> OrgUnit:
    unit = db.get(OrgUnit, unit_id)
    if unit is None or unit.org_id != org_id:
        if field:
            raise Invalid("Choose a unit of this organisation.", field)
        raise NotFound("No such unit in this organisation.")
    return unit


def check_unit_name(
    db: Session, org_id: int, parent: OrgUnit | None, name: str, *, exclude_id: int | None = None
) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("Give the unit a name.", "name")
    if len(name) > NAME_MAX:
        raise Invalid(f"Keep the name to {NAME_MAX} characters or fewer (it has {len(name)}).", "name")
    q = select(OrgUnit.id).where(
        OrgUnit.org_id == org_id,
        OrgUnit.parent_id == (parent.id if parent else None),
        func.lower(OrgUnit.name) == name.lower(),
        OrgUnit.archived_at.is_(None),
    )
    if exclude_id is not None:
        q = q.where(OrgUnit.id != exclude_id)
    if db.scalar(q) is not None:
        where = parent.name if parent else "the top of the tree"
        raise Invalid(f"{where} already has a unit named {name!r}.", "name")
    return name


def new_unit(db: Session, org_id: int, parent: OrgUnit | None, kind: UnitKind, name: str) -> OrgUnit:
    unit = OrgUnit(
        org_id=org_id,
        parent_id=parent.id if parent else None,
        kind=kind,
        name=name,
        path=f"/pending-{secrets.token_hex(8)}/",
    )
    db.add(unit)
    db.flush()  # the id makes the path
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit
