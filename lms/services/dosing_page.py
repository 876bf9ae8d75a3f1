"""The dosing policy page's reading (HR, org admins): every role's levels and days, default and override
side by side, and how many modules of each level the role gets (curricula.dosing: within a level, the
modules that name the role). Changes are lms.services.dosing's set_override and clear_override."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from curricula import dosing as rule
from curricula.stakeholders import LABELS, StakeholderRole
from lms.models import Module, Permission
from lms.services.access import Actor
from lms.services.catalogue import vocabulary
from lms.services.dosing import default_policy, overrides


@dataclass(frozen=True, slots=True)
class RolePolicy:
    role: str
    label: str
    levels: dict[str, int]  # what applies now
    default: dict[str, int]
    overridden: bool
    modules: dict[str, int] = field(default_factory=dict)  # level -> modules of it written for the role


@dataclass(frozen=True, slots=True)
class PolicyOverview:
    levels: list[tuple[str, str]]  # (id, title), in order
    roles: list[RolePolicy]

    @property
    def published(self) -> bool:
        return bool(self.levels)

    def level_title(self, level: str) -> str:
        return next((title for lid, title in self.levels if lid == level), level)


def overview(db: Session, actor: Actor) -> PolicyOverview:
    """The organisation's dosing for every role, default and overrides side by side (HR, org admins)."""
    actor.require(Permission.HR, Permission.ORG_ADMIN)
    levels = [(level.id, level.title) for level in vocabulary(db).levels]
    default = default_policy(db)
    overridden = overrides(db, actor.org_id)
    modules = [
        rule.Dosed(module_id, dose, tuple(roles or ()))
        for module_id, dose, roles in db.execute(
            select(Module.id, Module.dose, Module.roles).where(Module.retired_at.is_(None))
        )
    ]
    everything = {m.level: 1 for m in modules}  # every level, to count what the role would get
    roles = [
        RolePolicy(
            role.value,
            LABELS[role],
            dict(overridden[role.value].levels) if role.value in overridden else default.get(role.value, {}),
            default.get(role.value, {}),
            role.value in overridden,
            _count_by_level(rule.required(modules, everything, role.value)),
        )
        for role in StakeholderRole
    ]
    return PolicyOverview(levels, roles)


def _count_by_level(required: Mapping[int, tuple[str, int]]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for level, _ in required.values():
        counts[level] += 1
    return dict(counts)
