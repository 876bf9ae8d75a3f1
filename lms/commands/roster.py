"""`lms roster import FILE --org SLUG [--dry-run]`: an organisation's roster from its HR system's file
(lms.services.roster; the file's columns are in docs/roster-import.md).

With --dry-run the preview is printed (what would change, every problem by row and column, how coverage
would move) and nothing changes; without it the file is applied, all or nothing, and the command commits
once at its end (lms.cli). Either way a file with a problem exits with status 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from lms.db import get_db
from lms.services import NotFound, roster
from lms.services.access import org_by_slug
from lms.services.tables import ImportProblems

roster_group = AppGroup("roster", help="An organisation's people, from its HR system's roster file.")


class _Bar:
    """click's progress bar over the rows read, made once the file says how many it has."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(
                length=max(total, done, 1), label="Reading the file", file=sys.stderr
            )
            self.bar.__enter__()
        self.bar.length = max(self.bar.length, done)
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.bar.length - self.shown)
            self.bar.__exit__(None, None, None)


@roster_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_slug", required=True, help="The organisation's slug.")
@click.option("--dry-run", is_flag=True, help="Show what importing would do, and change nothing.")
@click.option(
    "--welcome/--no-welcome",
    default=True,
    help="Email each new account a link to choose its password (the default).",
)
def roster_import(file: Path, org_slug: str, dry_run: bool, welcome: bool) -> None:
    """Import the organisation's roster: employee id, name, email, job code, unit, start date, status.

    All or nothing: every problem is listed by row and column, and nothing changes if there is one.
    Importing the same file again changes nothing; only an explicit status (inactive, left) deactivates."""
    db = get_db()
    try:
        org = org_by_slug(db, org_slug.strip().lower())
    except NotFound:
        raise click.ClickException(
            f"No organisation has the slug {org_slug!r} (see `lms org list`)."
        ) from None
    bar = _Bar()
    try:
        if dry_run:
            result = roster.preview(db, None, file.read_bytes(), org_id=org.id, progress=bar)
        else:
            result = roster.apply(db, None, file.read_bytes(), org_id=org.id, progress=bar, welcome=welcome)
    except ImportProblems as exc:
        bar.close()
        click.echo(f"Nothing was imported: {file.name} has problems.", err=True)
        for line in exc.problems:
            click.echo(f"  {line}", err=True)
        raise SystemExit(1) from None
    bar.close()
    _report(file.name, org.slug, result, dry_run)
    if dry_run:
        db.rollback()
    if result.problem_count:
        raise SystemExit(1)


def _report(name: str, slug: str, result: roster.Preview, dry_run: bool) -> None:
    verb = "Would import" if dry_run else "Imported"
    if result.problem_count:
        click.echo(f"Nothing would be imported: {name} has {result.problem_count} problem(s).", err=True)
        for line in result.problem_lines():
            click.echo(f"  {line}", err=True)
    click.echo(f"{verb} {name} into {slug}: {result.summary()}")
    for note in result.notes:
        click.echo(f"  note: {note}")
    if result.coverage:
        click.echo("Coverage would move (needed, completed, overdue: before -> after):")
        for move in result.coverage:
            click.echo(
                f"  {move.unit}, {move.role_label}, {move.level}: "
                f"{'/'.join(map(str, move.before))} -> {'/'.join(map(str, move.after))}"
            )


commands: list[click.Command] = [roster_group]
