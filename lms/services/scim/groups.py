"""SCIM Groups: the organisation's units, read only.

Units are kept on the Units page and by `lms units import`; a person's unit comes with their User (the
enterprise `department`, by the unit's code or name). A Group carries the unit's name (displayName) and
code (externalId), not its members: a unit may hold thousands, and the User already says where each is.
"""

from __future__ import annotations

from scim2_models import Meta, NotFoundException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.models import OrgUnit
from lms.services.access import MANAGES_PEOPLE, Actor
from lms.services.scim import filters
from lms.services.scim.resources import PREFIX, Group


def list_groups(
    db: Session, actor: Actor, *, filter_text: str | None, start_index: int, count: int, base_url: str
) -> tuple[int, list[Group]]:
    actor.require(*MANAGES_PEOPLE)
    units = select(OrgUnit).where(OrgUnit.org_id == actor.org_id, OrgUnit.archived_at.is_(None))
    if filter_text:
        units = units.where(filters.condition(filter_text, filters.GROUP_COLUMNS))
    total = db.scalar(select(func.count()).select_from(units.subquery())) or 0
    page = db.scalars(units.order_by(OrgUnit.id).offset(start_index - 1).limit(count)) if count else []
    return total, [group(unit, base_url) for unit in page]


def get_group(db: Session, actor: Actor, resource_id: str, base_url: str) -> Group:
    actor.require(*MANAGES_PEOPLE)
    number = (
        int(resource_id) if resource_id.isascii() and resource_id.isdigit() and len(resource_id) < 10 else 0
    )
    unit = db.get(OrgUnit, number) if number else None
    if unit is None or unit.org_id != actor.org_id or not unit.active:
        raise NotFoundException(detail=f"No group {resource_id} in this organisation.")
    return group(unit, base_url)


def group(unit: OrgUnit, base_url: str) -> Group:
    return Group(
        id=str(unit.id),
        external_id=unit.code,
        display_name=unit.name,
        meta=Meta(
            resource_type="Group",
            created=unit.created_at,
            last_modified=unit.created_at,
            location=f"{base_url}{PREFIX}/Groups/{unit.id}",
        ),
    )
