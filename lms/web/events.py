"""The audit trail read as sentences: "Ada Admin changed Ben Okafor's permissions: added HR".

A `Trail` is made per page from the names the events refer to (lms.services.audit.names_for): each event
becomes a sentence of parts (text, or text with a link to the person, unit or policy page), the lines of
what changed that the sentence does not already say, and a time in the organisation's time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import url_for

from curricula.stakeholders import LABELS, StakeholderRole
from lms.models import AuditEvent, OrgUnit
from lms.services.access import Actor
from lms.services.audit import ACTIONS, Names
from lms.web.admin_forms import PERMISSION_LABELS

Part = tuple[str, str | None]  # words, and the address they link to (or None)

FIELD_LABELS = {
    "email": "Email",
    "name": "Name",
    "stakeholder_role": "Stakeholder role",
    "unit_id": "Unit",
    "job_code": "Job code",
    "employee_id": "Employee ID",
    "permissions": "Permissions",
    "active": "Active",
    "parent": "Parent",
    "kind": "Level",
    "slug": "Slug",
    "root_unit": "Root unit",
    "role": "Stakeholder role",
    "levels": "Dose levels (days to complete)",
    "extra_level": "Extra dose level",
    "extra_level_days": "Days to complete the extra level",
    "overridden": "Organisation's own policy",
    "sessions_ended": "Sessions ended",
    "tokens_revoked": "Tokens revoked",
}

# "Ada Admin set Cal Coach as coach of Erin Executive.": what each coaching change says after the actor's
# name, and whether the coachee's name follows (the coachee acting names no one else).
COACHING = {
    "coaching.created": ("set {coach} as coach of ", True),
    "coaching.proposed": ("proposed to coach ", True),
    "coaching.accepted": ("accepted {coach} as their coach.", False),
    "coaching.declined": ("declined {coach}'s proposal to coach them.", False),
    "coaching.withdrawn": ("withdrew {coach}'s proposal to coach ", True),
    "coaching.ended": ("ended {coach}'s coaching of ", True),
}

# What each kind of event says in its sentence, so its detail lines do not say it again.
SAID = {
    "person.invited": {"email", "name"},
    "person.permissions_changed": {"permissions"},
    "person.deactivated": {"active"},
    "person.reactivated": {"active"},
    "invitation.accepted": {"email", "name"},
    "invitation.declined": {"email"},
    "invitation.cancelled": {"email"},
    "unit.added": {"name", "parent"},
    "unit.renamed": {"name"},
    "unit.moved": {"parent"},
    "unit.archived": {"name"},
    "unit.restored": {"name"},
    "dosing.policy_changed": {"role"},
    "organization.created": {"name", "slug", "root_unit"},
    "organization.second_factor_required": {"second_factor_required"},
    **{action: {"coach", "relationship"} for action in COACHING},
}

ROLE_VALUES = frozenset(r.value for r in StakeholderRole)


def zone_label(time_zone: str) -> str:
    """ "America/New_York" -> "New York": how people name the time of a place."""
    return time_zone.rsplit("/", 1)[-1].replace("_", " ")


def time_formatter(actor: Actor) -> Callable[[datetime], str]:
    """A moment as "25 Nov 2026, 14:05" in the organisation's time zone."""
    zone = ZoneInfo(actor.org.time_zone)

    def local_time(moment: datetime) -> str:
        local = moment.astimezone(zone)
        return f"{local.day} {local:%b %Y, %H:%M}"

    return local_time


class Trail:
    """Sentences, details and times for the events of one page."""

    def __init__(self, actor: Actor, names: Names, units: list[OrgUnit] | None = None) -> None:
        self.actor = actor
        self.names = names
        self.unit_names = {u.id: u.name for u in units or []} | {i: u.name for i, u in names.units.items()}
        self.local_time = time_formatter(actor)
        self.time_zone = zone_label(actor.org.time_zone)

    # -- the sentence --

    def who(self, event: AuditEvent) -> Part:
        if event.actor is None:
            return ("An operator (command line)", None)
        membership_id = self.names.membership_of_user.get(event.actor.id)
        return (event.actor.name, self._person_url(membership_id) if membership_id else None)

    def _person_url(self, membership_id: int) -> str:
        return url_for("admin.person", org=self.actor.org.slug, membership_id=membership_id)

    def _target_person(self, event: AuditEvent, possessive: bool = False) -> Part:
        name = self.names.people.get(event.target_id or 0)
        if name is None:
            return ("someone no longer in this organisation", None)
        return (f"{name}'s" if possessive else name, self._person_url(event.target_id or 0))

    def _target_unit(self, event: AuditEvent, name: str | None = None) -> Part:
        unit = self.names.units.get(event.target_id or 0)
        shown = name or (unit.name if unit else event.changes.get("name") or "a unit")
        if unit is None:
            return (str(shown), None)
        return (str(shown), url_for("admin.unit", org=self.actor.org.slug, unit_id=unit.id))

    def sentence(self, event: AuditEvent) -> list[Part]:
        c = event.changes
        who = self.who(event)
        action = event.action
        if action == "person.added":
            return [who, (" added ", None), self._target_person(event), (".", None)]
        if action == "person.invited":
            return [who, (f" invited {c.get('name', '')} ({c.get('email', '')}) to join.", None)]
        if action in ("person.updated", "person.role_changed"):
            what = "stakeholder role and details" if action == "person.role_changed" else "details"
            return [who, (" changed ", None), self._target_person(event, True), (f" {what}.", None)]
        if action == "person.permissions_changed":
            change = self._permission_change(event.changes.get("permissions"))
            return [
                who,
                (" changed ", None),
                self._target_person(event, True),
                (f" permissions: {change}.", None),
            ]
        if action == "person.extra_level_changed":
            pair = c.get("extra_level")
            words = " an extra dose level." if _is_pair(pair) and pair[1] else " extra dose level away."
            verb = " gave " if _is_pair(pair) and pair[1] else " took "
            return [
                who,
                (verb, None),
                self._target_person(event, not (_is_pair(pair) and pair[1])),
                (words, None),
            ]
        if action in ("person.deactivated", "person.reactivated"):
            verb = "deactivated" if action == "person.deactivated" else "reactivated"
            return [who, (f" {verb} ", None), self._target_person(event), (".", None)]
        if action == "invitation.accepted":
            return [who, (" accepted the invitation and joined.", None)]
        if action == "invitation.declined":
            return [who, (" declined the invitation to join.", None)]
        if action == "invitation.cancelled":
            return [who, (f" withdrew the invitation to {c.get('email', 'someone')}.", None)]
        if action == "unit.added":
            return [
                who,
                (" added the unit ", None),
                self._target_unit(event),
                (f" under {c.get('parent')}.", None),
            ]
        if action == "unit.renamed" and _is_pair(c.get("name")):
            old, new = c["name"]
            return [who, (f" renamed {old} to ", None), self._target_unit(event, new), (".", None)]
        if action == "unit.moved" and _is_pair(c.get("parent")):
            old, new = c["parent"]
            return [who, (" moved ", None), self._target_unit(event), (f" from {old} to {new}.", None)]
        if action in ("unit.archived", "unit.restored"):
            verb = action.split(".")[1]
            return [who, (f" {verb} ", None), self._target_unit(event), (".", None)]
        if action == "dosing.policy_changed":
            role = c.get("role")
            label = LABELS[StakeholderRole(role)] if role in ROLE_VALUES else str(role)
            page = url_for("policy.page", org=self.actor.org.slug)
            return [who, (" changed the ", None), ("dosing policy", page), (f" for {label}.", None)]
        if action == "organization.created":
            return [who, (f" created {c.get('name', self.actor.org.name)}.", None)]
        if action == "organization.second_factor_required":
            pair = c.get("second_factor_required")
            if _is_pair(pair) and pair[1]:
                return [who, (" required two-step sign-in for administrators, HR and coaches.", None)]
            return [who, (" made two-step sign-in up to each person.", None)]
        if action in COACHING:
            words, names_coachee = COACHING[action]
            said = [who, (" " + words.format(coach=c.get("coach", "a coach")), None)]
            return [*said, self._target_person(event), (".", None)] if names_coachee else said
        return [who, (f": {ACTIONS.get(action, action.replace('.', ' ').replace('_', ' '))}.", None)]

    # -- what changed --

    def details(self, event: AuditEvent) -> list[str]:
        """Lines of what changed that the sentence does not say: "Unit: Ward 4B → Ward 5C"."""
        said = SAID.get(event.action, set())
        return [
            self.describe_change(key, value)
            for key, value in event.changes.items()
            if key not in said and not (key in ("sessions_ended", "tokens_revoked") and not value)
        ]

    def _permission_change(self, value: Any) -> str:
        if not (_is_pair(value) and all(isinstance(side, list) for side in value)):
            return f"now {self._shown('permissions', value) or 'none'}"
        old, new = set(value[0]), set(value[1])
        added = [label for p, label in PERMISSION_LABELS.items() if p.value in new - old]
        removed = [label for p, label in PERMISSION_LABELS.items() if p.value in old - new]
        parts = ([f"added {', '.join(added)}"] if added else []) + (
            [f"removed {', '.join(removed)}"] if removed else []
        )
        return "; ".join(parts) or "no change"

    def describe_change(self, key: str, value: Any) -> str:
        label = FIELD_LABELS.get(key, key.replace("_", " ").capitalize())
        if _is_old_and_new(key, value):
            old, new = value
            return f"{label}: {self._shown(key, old)} → {self._shown(key, new)}"
        return f"{label}: {self._shown(key, value)}"

    def _shown(self, key: str, value: Any) -> str:
        if value is None or value == []:
            return "none"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if key in ("unit_id", "root_unit") and isinstance(value, int):
            return self.unit_names.get(value, f"unit {value}")
        if key == "levels" and isinstance(value, dict):
            return ", ".join(f"{level.capitalize()} {days} days" for level, days in value.items()) or "none"
        if key in ("stakeholder_role", "role") and value in ROLE_VALUES:
            return LABELS[StakeholderRole(value)]
        if key == "permissions" and isinstance(value, list):
            return ", ".join(label for p, label in PERMISSION_LABELS.items() if p.value in value)
        return str(value)


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2


def _is_old_and_new(key: str, value: Any) -> bool:
    """Changes are stored as [old, new]; a permission list is a pair only when both sides are lists."""
    if not _is_pair(value):
        return False
    return key != "permissions" or all(isinstance(side, list) for side in value)


def trail_context(trail: Trail) -> Mapping[str, Any]:
    """What admin/_events.html needs."""
    return {"trail": trail, "time_zone": trail.time_zone, "local_time": trail.local_time}
