"""Importing an organisation's roster from its HR system: a CSV or XLSX file of employee id, name, email,
job code, unit, start date and status (columns and their other names: docs/roster-import.md; reading
the cells: lms.services.roster_file).

`preview` says what applying the file would do: the people to add (a new account, or an invitation to an
account that is someone's already), to change, to deactivate and to reactivate; every problem by row and
column; and, for a file with no problem, how each unit's coverage would move (coverage.what_if runs the
import in a savepoint and rolls it back). `apply` does it, all or nothing, in the caller's transaction
(the service flushes; the request, command or job commits once).

- A row is its person by employee id, else by email (then the employee id is set). Importing the same
  file again changes nothing.
- Only an explicit status deactivates (inactive, left, terminated...): a person the file leaves out is
  left as they are, so a file of one hospital, or a file of this month's starters, can be imported
  without the rest. Deactivating keeps every record (people.deactivate_person's rules: signed out, API
  tokens revoked when no organisation is left, open assignments cancelled, completed learning kept).
- A person's name and email belong to them: for an account they have taken (or that another organisation
  shares) a different name or email in the file is noted and left as it is, never written.
- Every change is audited (person.added, person.invited, person.updated, person.role_changed,
  person.deactivated, person.reactivated, and roster.imported with the counts); dose assignment follows at
  once (dosing.reconcile, set-based), and the coverage aggregates are rebuilt once at the end.
- An HR actor changes only people they may manage (never someone holding permissions they lack), never
  deactivates themself nor the organisation's last administrator. `actor=None` is an operator at the
  command line, who names the organisation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from curricula.stakeholders import LABELS, StakeholderRole
from lms.models import OrgUnit
from lms.models.coverage import WHOLE_ORGANISATION
from lms.services import coverage
from lms.services.access import MANAGES_PEOPLE, Actor
from lms.services.roster_plan import Preview, Progress, make_plan
from lms.services.roster_write import write
from lms.services.tables import ImportProblems, read_table

__all__ = ["CoverageMove", "ImportProblems", "Preview", "Progress", "apply", "preview"]


@dataclass(frozen=True, slots=True)
class CoverageMove:
    """One unit subtree, role and dose level: needed, completed and overdue before and after."""

    unit: str
    role: str
    level: str
    before: tuple[int, int, int]
    after: tuple[int, int, int]

    @property
    def role_label(self) -> str:
        return LABELS[StakeholderRole(self.role)]

    @staticmethod
    def percent(numbers: tuple[int, int, int]) -> int | None:
        return numbers[1] * 100 // numbers[0] if numbers[0] else None


def preview(
    db: Session,
    actor: Actor | None,
    data: bytes | str,
    *,
    org_id: int | None = None,
    progress: Progress | None = None,
    with_coverage: bool = True,
) -> Preview:
    """What importing the file would do; nothing changes. ImportProblems for a file that cannot be read
    as a roster at all (no header, not CSV or XLSX); row problems are in the answer."""
    org_id = _org(actor, org_id)
    plan = make_plan(db, actor, org_id, read_table(data), progress)
    if with_coverage and not plan.problem_count and plan.changed:
        moved = coverage.what_if(db, org_id, lambda: write(db, actor, org_id, plan, welcome=False))
        plan.coverage = _moves(db, org_id, moved)
    return plan


def apply(
    db: Session,
    actor: Actor | None,
    data: bytes | str,
    *,
    org_id: int | None = None,
    progress: Progress | None = None,
    welcome: bool = True,
) -> Preview:
    """Import the file, all or nothing (the caller commits): ImportProblems, and nothing changed, if any
    row has a problem. `welcome` emails each new account a link to choose its password."""
    org_id = _org(actor, org_id)
    plan = make_plan(db, actor, org_id, read_table(data), progress)
    if plan.problem_count:
        raise ImportProblems(plan.problem_lines(more=False), plan.problem_count)
    write(db, actor, org_id, plan, welcome=welcome)
    return plan


def _org(actor: Actor | None, org_id: int | None) -> int:
    if actor is not None:
        actor.require(*MANAGES_PEOPLE)
        return actor.org_id
    if org_id is None:
        raise ValueError("an operator must name the organisation")
    return org_id


def _moves(db: Session, org_id: int, moved: coverage.Change) -> list[CoverageMove]:
    """The cells the import moves, by unit (the whole organisation first, then the tree's order)."""
    units = dict(db.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.org_id == org_id)).all())
    names = dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.org_id == org_id)).all())

    def place(key: tuple[int, str, str]) -> tuple:
        unit = key[0]
        return ("" if unit == WHOLE_ORGANISATION else units.get(unit, ""), key[1], key[2])

    return [
        CoverageMove(
            "Whole organisation" if key[0] == WHOLE_ORGANISATION else names.get(key[0], "?"),
            key[1],
            key[2],
            before,
            after,
        )
        for key, (before, after) in sorted(moved.items(), key=lambda item: place(item[0]))
    ]
