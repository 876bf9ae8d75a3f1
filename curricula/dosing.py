"""Who is assigned a module: the one statement of dosing by role within a level (pure).

The dosing policy (content/dosing.yaml, or an organisation's override) says which dose levels each
stakeholder role needs and in how many days each is due. A module has one dose level and names, in its
front matter, the roles it is for. The rule:

- a person requires a module when its level is among their role's levels AND it is for their role (it
  names their role in `roles`; a module naming no role is for every role); it is due that level's days;
- a person may also be given one extra level (HR: a clinician who leads projects gets the practitioner
  level without changing their role): then they require every module of that level, whichever roles it
  names, due the days given with it; a module their role already requires keeps the role's days.

The planning of one person (lms.services.dosing._decide), the set-based query that finds whose
assignments differ (lms.services.dosing_bulk) and `lms content check` all read the rule from here.
`disagreements` is what `lms content check` reports: a module naming a role the policy never doses to the
module's level (no person of that role would be assigned it by their role: the text speaks to people who
never receive it). The policy page counts, per role and level, the modules a level gives (a level with
none for a role assigns that role nothing).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Dosed(Generic[K]):
    """A module as dosing reads it: its key (a database id, a module id), level and roles."""

    key: K
    level: str
    roles: tuple[str, ...] = ()


def is_for(roles: Collection[str], role: str | None) -> bool:
    """A module is for the roles it names; a module naming none is for every role."""
    return not roles or (role is not None and role in roles)


@dataclass(frozen=True, slots=True)
class Extra:
    """A level given to one person on top of their role's: every module of it, due in `days`."""

    level: str
    days: int


def required(
    modules: Iterable[Dosed[K]],
    levels: Mapping[str, int],
    role: str | None,
    extra: Extra | None = None,
) -> dict[K, tuple[str, int]]:
    """What one person requires: module key -> (level, days), for a person of `role` whose role's policy
    is `levels` ({level: days}), given `extra` or not (module docstring)."""
    out: dict[K, tuple[str, int]] = {}
    for module in modules:
        if module.level in levels and is_for(module.roles, role):
            out[module.key] = (module.level, levels[module.level])
        elif extra is not None and module.level == extra.level:
            out[module.key] = (module.level, extra.days)
    return out


def by_role(
    modules: Iterable[Dosed[K]], policy: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[K, tuple[str, int]]]:
    """`required` for every role of `policy` without an extra level: role -> {key: (level, days)}."""
    modules = list(modules)
    return {role: required(modules, levels, role) for role, levels in policy.items()}


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A module and the policy do not agree: the module (its key) names `role`, which the policy never
    doses to the module's `level`; with a message to the author."""

    module: Hashable
    role: str
    level: str
    message: str


def disagreements(
    modules: Iterable[Dosed[K]], policy: Mapping[str, Mapping[str, int]]
) -> Iterator[Disagreement]:
    """Where the modules' `roles` and the policy disagree (module docstring), in the modules' order. A
    role the policy leaves out needs no level. Nothing is said of an empty policy (a dosing.yaml that
    could not be read has problems of its own)."""
    if not policy:
        return
    for module in modules:
        for role in module.roles:
            if module.level not in policy.get(role, {}):
                yield Disagreement(
                    module.key,
                    role,
                    module.level,
                    f"roles names '{role}', but the dosing policy never gives {role} the "
                    f"'{module.level}' level: no {role} would be assigned this module",
                )
