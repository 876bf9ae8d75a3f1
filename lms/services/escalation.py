"""Escalating overdue follow-ups: an unkept follow-up climbs the unit tree until someone acts on it.

The policy (how many days overdue moves a follow-up to the department, the facility, the executive) is
coaching.escalation's, with the organisation's own days where it set them (lms.services.gemba). "Today"
is the organisation's date. Who leads each level comes from memberships: a unit leader with their unit at
the unit, a departmental leader at the department, an executive at the facility or the system.

`escalate_overdue` is idempotent: a follow-up is moved only when the tier its lateness calls for is above
the tier it holds, so a second run (or a second scheduler at once: rows are claimed with FOR UPDATE SKIP
LOCKED on PostgreSQL) changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from coaching.escalation import EscalationPolicy, Tier, UnitNode, leader_for
from lms.db import utcnow
from lms.models import FollowUp, FollowUpEventKind, FollowUpStatus, Membership, Organization, OrgUnit
from lms.services import follow_ups
from lms.services.gemba import escalation_policy

TIER_NAMES = {
    Tier.UNIT: "unit",
    Tier.DEPARTMENT: "department",
    Tier.FACILITY: "facility",
    Tier.EXECUTIVE: "executive",
}


def chain_of(db: Session, unit: OrgUnit) -> list[UnitNode]:
    """The unit and its ancestors up to the system, each with the membership ids of its leaders (the
    stakeholder role that leads that kind of node, with their unit there), oldest membership first."""
    lineage = list(reversed(unit.lineage))
    ids = [node.id for node in lineage]
    rows = db.execute(
        select(Membership.unit_id, Membership.id, Membership.stakeholder_role)
        .where(Membership.org_id == unit.org_id, Membership.active, Membership.unit_id.in_(ids))
        .order_by(Membership.id)
    ).all()
    leaders: dict[int, list[int]] = {node_id: [] for node_id in ids}
    kinds = {node.id: node.kind.value for node in lineage}
    for unit_id, membership_id, role in rows:
        if follow_ups.LEADER_ROLE_BY_KIND.get(kinds[unit_id]) == role:
            leaders[unit_id].append(membership_id)
    return [UnitNode(node.id, node.kind.value, tuple(leaders[node.id])) for node in lineage]


def _overdue(db: Session, now: datetime) -> list[FollowUp]:
    """Open follow-ups below the top tier, due before today somewhere on Earth (the latest date any zone
    is in), claimed in one statement: a second run at once skips them rather than moving them twice."""
    latest_today = (now + timedelta(hours=14)).date()
    return list(
        db.scalars(
            select(FollowUp)
            .where(
                FollowUp.status == FollowUpStatus.OPEN,
                FollowUp.due_on < latest_today,
                FollowUp.tier < int(Tier.EXECUTIVE),
            )
            .order_by(FollowUp.id)
            .with_for_update(skip_locked=True)
        )
    )


def escalate_overdue(db: Session, now: datetime | None = None) -> int:
    """Move each overdue open follow-up up to the tier its lateness calls for, to that level's leader;
    record the event and email the leader. Returns how many follow-ups moved."""
    now = now or utcnow()
    moved = 0
    policies: dict[int, EscalationPolicy] = {}
    for follow_up in _overdue(db, now):
        org = db.get(Organization, follow_up.org_id)
        assert org is not None
        if org.id not in policies:
            policies[org.id] = escalation_policy(db, org.id)
        wanted = policies[org.id].tier_for(follow_up.due_on, follow_ups.local_today(org, now))
        if wanted <= follow_up.tier:
            continue
        _escalate(db, follow_up, Tier(wanted), now)
        moved += 1
    db.flush()
    return moved


def _escalate(db: Session, follow_up: FollowUp, tier: Tier, now: datetime) -> None:
    leader_id = leader_for(tier, chain_of(db, follow_up.unit))
    leader = db.get(Membership, leader_id) if leader_id is not None else None
    before = Tier(follow_up.tier)
    follow_up.tier = int(tier)
    follow_up.updated_at = now
    detail: dict[str, object] = {"tier": [TIER_NAMES[before], TIER_NAMES[tier]]}
    if leader is not None and leader.id != follow_up.escalated_to_id:
        follow_up.escalated_to_id = leader.id
        detail["to"] = leader.user.name
    elif leader is None:
        detail["to"] = None  # nobody leads that level yet: the tier is recorded, the leader stays
    event = follow_ups.record_event(follow_up, FollowUpEventKind.ESCALATED, detail)
    event.at = now
    db.flush()
    if leader is not None:
        late = (follow_ups.local_today(follow_up.unit.organization, now) - follow_up.due_on).days
        follow_ups.tell(
            db,
            leader,
            follow_up,
            f"Overdue follow-up escalated to you: {follow_up.title}",
            why=(
                f"This follow-up, owned by {follow_up.owner.user.name}, is "
                f"{late} day{'s' if late != 1 else ''} overdue, so it has moved "
                f"to the {TIER_NAMES[tier]} level: to you."
            ),
        )
