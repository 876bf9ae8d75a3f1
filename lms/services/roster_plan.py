"""The roster import's plan: each row of the file compared with the organisation's people, as the steps
applying it would take (add, invite, change, deactivate, reactivate) and the problems that stop it. The
rules are in lms.services.roster's docstring; the file's cells are read by lms.services.roster_file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from curricula.stakeholders import StakeholderRole
from lms.models import Invitation, Membership, Permission, User
from lms.services.access import Actor, outranks
from lms.services.roster_file import RosterRow, read_rows
from lms.services.tables import MAX_PROBLEMS, Table

Progress = Callable[[int, int], None]  # (rows read, rows in the file at most)


@dataclass(slots=True)
class Held:
    """A person of the organisation as the import compares them (read once, one small row each)."""

    membership_id: int
    user_id: int
    employee_id: str | None
    email: str
    name: str
    job_code: str | None
    role: StakeholderRole
    unit_id: int | None
    active: bool
    editable: bool  # name and email may be written (people.identity_editable)
    permissions: frozenset[Permission]


@dataclass(slots=True)
class Step:
    """What applying one row does."""

    kind: str  # add, invite, change, deactivate, reactivate
    row: RosterRow
    held: Held | None = None
    changes: dict[str, list] = field(default_factory=dict)  # field: [before, after]


@dataclass
class Preview:
    rows: int = 0
    counts: Counter[str] = field(
        default_factory=Counter
    )  # add, invite, change, deactivate, reactivate, unchanged
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # the first MAX_PROBLEMS
    problem_count: int = 0
    notes: list[str] = field(default_factory=list)  # what is applied otherwise than written (the first ones)
    note_count: int = 0
    coverage: list = field(default_factory=list)  # roster.CoverageMove, for a file with no problem
    steps: list[Step] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(n for kind, n in self.counts.items() if kind != "unchanged")

    def summary(self) -> str:
        c = self.counts
        return (
            f"{self.rows} row(s): {c['add']} to add, {c['invite']} to invite, {c['change']} to change, "
            f"{c['deactivate']} to deactivate, {c['reactivate']} to reactivate, {c['unchanged']} unchanged; "
            f"{self.problem_count} problem(s)."
        )

    def problem_lines(self, *, more: bool = True) -> list[str]:
        lines = [
            f"row {n}, column {column}: {text}" if column else f"row {n}: {text}"
            for n, column, text in self.problems
        ]
        if more and self.problem_count > len(lines):
            lines.append(f"... and {self.problem_count - len(lines)} more problems.")
        return lines


def make_plan(
    db: Session, actor: Actor | None, org_id: int, table: Table, progress: Progress | None
) -> Preview:
    plan = Preview()
    problems: list[tuple[int, str, str]] = []

    def problem(number: int, column: str, text: str) -> None:
        plan.problem_count += 1
        if len(problems) < MAX_PROBLEMS:
            problems.append((number, column, text))

    def note(text: str) -> None:
        plan.note_count += 1
        if len(plan.notes) < MAX_PROBLEMS:
            plan.notes.append(text)

    people = _people(db, org_id)
    by_employee = {h.employee_id.casefold(): h for h in people if h.employee_id}
    by_email = {h.email: h for h in people}
    accounts = _accounts_elsewhere(db, org_id)
    invited = _open_invitations(db, org_id)
    employee_rows: dict[str, int] = {}
    email_rows: dict[str, int] = {}
    for row in read_rows(db, org_id, table, problem):
        plan.rows += 1
        if progress is not None and plan.rows % 500 == 0:
            progress(plan.rows, table.total)
        flawed = plan.problem_count
        key = row.employee_id.casefold()
        if key:
            if key in employee_rows:
                problem(
                    row.number,
                    "employee id",
                    f"the employee id {row.employee_id} is on row {employee_rows[key]} too.",
                )
            else:
                employee_rows[key] = row.number
        if row.email:
            if row.email in email_rows:
                problem(row.number, "email", f"the email {row.email} is on row {email_rows[row.email]} too.")
            else:
                email_rows[row.email] = row.number
        if plan.problem_count > flawed or not key or not row.email:
            continue  # a row with a problem of its own is not compared with the people
        step = _step(row, by_employee.get(key), by_email, accounts, invited, employee_rows, problem, note)
        if step is None:
            plan.counts["unchanged"] += 1
            continue
        if step.held is not None and actor is not None:
            _check_actor(actor, step, problem)
        plan.counts[step.kind] += 1
        plan.steps.append(step)
    if progress is not None:
        progress(plan.rows, plan.rows)
    _keep_an_admin(people, plan, problem)
    plan.problems = sorted(problems)
    return plan


def _step(
    row: RosterRow,
    held: Held | None,
    by_email: dict[str, Held],
    accounts: dict[str, int],
    invited: set[str],
    employee_rows: dict[str, int],
    problem,
    note: Callable[[str], None],
) -> Step | None:
    owner = by_email.get(row.email)
    if held is None and owner is not None:
        if owner.employee_id and owner.employee_id.casefold() in employee_rows:
            problem(
                row.number,
                "email",
                f"{row.email} is {owner.name}'s, whose employee id {owner.employee_id} is on row "
                f"{employee_rows[owner.employee_id.casefold()]}.",
            )
            return None
        held = owner  # the person, found by email: their employee id is set from the file
    if held is None:
        if not row.active:
            note(
                f"row {row.number}: {row.name} is marked as a leaver but is not in the organisation; skipped."
            )
            return None
        if row.email in invited:
            note(f"row {row.number}: {row.email} has been invited already and has not answered yet.")
            return None
        return Step("invite" if row.email in accounts else "add", row)
    if owner is not None and owner.membership_id != held.membership_id:
        problem(
            row.number, "email", f"{row.email} is {owner.name}'s (employee id {owner.employee_id or 'none'})."
        )
        return None
    if not row.active:
        return Step("deactivate", row, held, {"active": [True, False]}) if held.active else None
    changes: dict[str, list] = {}
    wanted = {
        "employee_id": row.employee_id,
        "job_code": row.job_code,
        "stakeholder_role": row.role,
        "unit_id": row.unit_id,
    }
    for name, value in wanted.items():
        before = getattr(held, "role" if name == "stakeholder_role" else name)
        if before != value:
            changes[name] = [before, value]
    for name, value in (("name", row.name), ("email", row.email)):
        before = getattr(held, name)
        if before != value:
            if held.editable and not (name == "email" and value in accounts):
                changes[name] = [before, value]
            elif name == "email" and value in accounts and held.editable:
                problem(row.number, "email", f"another account uses {value}.")
                return None
            else:
                note(
                    f"row {row.number}: {held.name} signs in with this account, so their {name} stays "
                    f"{before!r} (only they change it)."
                )
    if not held.active:
        return Step("reactivate", row, held, {"active": [False, True], **changes})
    return Step("change", row, held, changes) if changes else None


def _check_actor(actor: Actor, step: Step, problem) -> None:
    held = step.held
    assert held is not None
    if not outranks(actor.permissions, held.permissions):
        problem(
            step.row.number,
            "",
            f"{held.name} holds permissions you do not have: only someone who holds them can change them.",
        )
    elif step.kind == "deactivate" and held.membership_id == actor.membership.id:
        problem(step.row.number, "status", "you cannot deactivate yourself; ask another administrator.")


def _keep_an_admin(people: list[Held], plan: Preview, problem) -> None:
    admins = {h.membership_id for h in people if h.active and Permission.ORG_ADMIN in h.permissions}
    leaving = [s for s in plan.steps if s.kind == "deactivate" and s.held and s.held.membership_id in admins]
    if admins and len(leaving) == len(admins):
        problem(
            leaving[-1].row.number,
            "status",
            "this would deactivate the organisation's last administrator: make someone else an "
            "administrator first.",
        )


def _people(db: Session, org_id: int) -> list[Held]:
    other = aliased(Membership)
    shared = exists().where(other.user_id == Membership.user_id, other.id != Membership.id)
    claimed = User.password_hash.is_not(None) | User.last_login_at.is_not(None)
    rows = db.execute(
        select(
            Membership.id,
            Membership.user_id,
            Membership.employee_id,
            User.email,
            User.name,
            Membership.job_code,
            Membership.stakeholder_role,
            Membership.unit_id,
            Membership.active,
            ~(claimed | shared),
            Membership.is_hr,
            Membership.is_coach,
            Membership.is_faculty,
            Membership.is_org_admin,
        )
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org_id)
    )
    return [
        Held(
            *r[:9],
            editable=bool(r[9]),
            permissions=frozenset(
                p
                for p, on in zip(
                    (Permission.HR, Permission.COACH, Permission.FACULTY, Permission.ORG_ADMIN),
                    r[10:],
                    strict=True,
                )
                if on
            ),
        )
        for r in rows
    ]


def _accounts_elsewhere(db: Session, org_id: int) -> dict[str, int]:
    """Emails of accounts with no membership in this organisation (a row with one is an invitation)."""
    member = exists().where(Membership.user_id == User.id, Membership.org_id == org_id)
    return dict(db.execute(select(User.email, User.id).where(~member)).all())


def _open_invitations(db: Session, org_id: int) -> set[str]:
    return set(db.scalars(select(Invitation.email).where(Invitation.org_id == org_id, Invitation.open)))
