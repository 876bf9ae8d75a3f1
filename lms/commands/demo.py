"""`lms demo`: a demo health system to explore the platform with."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from curricula.corpus import load_corpus
from lms import migrate
from lms.commands.content import DEFAULT_ROOT, report
from lms.db import unit_of_work
from lms.demo import DEFAULT_PASSWORD, DemoResult, seed_demo


@click.command("demo")
@click.option(
    "--password",
    default=None,
    help=f"Password of the six demo accounts (default {DEFAULT_PASSWORD!r}). "
    "Given when the demo already exists, it resets their password to this one.",
)
@with_appcontext
def demo(password: str | None) -> None:
    """Create the database if needed, publish the curricula in content/ and seed the demo organisation,
    once; print its accounts."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    migrate.upgrade(app)
    corpus = load_corpus(DEFAULT_ROOT)
    if corpus.problems:
        report(DEFAULT_ROOT, corpus)
        click.echo("The content has problems: nothing was published or seeded.")
        raise SystemExit(1)
    # One transaction for the whole seed: interrupted, it leaves no half-built organisation behind.
    with unit_of_work() as db:
        result = seed_demo(
            db, password or DEFAULT_PASSWORD, reset_passwords=password is not None, corpus=corpus
        )
    if result.published is not None:
        click.echo(f"Published the curricula in content/: {result.published}.")
    click.echo(_summary(result))
    click.echo(_accounts_table(result, password or DEFAULT_PASSWORD))
    click.echo("\nStart the platform with `lms run`, then open http://127.0.0.1:5000 and sign in.")


def _summary(result: DemoResult) -> str:
    org = f"{result.org.name} ({result.units} units, {result.people} people)"
    if result.created:
        return f"Created the demo organisation {org}."
    if result.passwords_reset:
        return f"The demo organisation {org} already exists; reset the six demo accounts' password."
    return (
        f"The demo organisation {org} already exists; nothing changed. "
        "(`lms demo --password P` resets the demo accounts' password.)"
    )


def _accounts_table(result: DemoResult, password: str) -> str:
    # The password is only known for sure when this run set it.
    shown = password if result.created or result.passwords_reset else "(unchanged)"
    rows = [("Email", "Can", "Password")]
    rows += [(a.email, a.can, shown) for a in result.accounts]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n" + "\n".join(line.rstrip() for line in lines)


commands: list[click.Command] = [demo]
