"""`lms mail send` and `lms scheduler`: outgoing email and the background jobs."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from lms.db import commit_each, get_db
from lms.mail import transport_from_url
from lms.services import outbox


@click.group("mail", cls=AppGroup)
def mail() -> None:
    """Outgoing email (the outbox)."""


@mail.command("send")
@click.option("--batch", default=500, show_default=True, help="Send at most this many messages.")
def send(batch: int) -> None:
    """Send the email that is due now (the scheduler does this every 15 seconds)."""
    transport = transport_from_url(current_app.config["SMTP_URL"])
    # Committed after each message, as the scheduler job does: a crash never resends one.
    delivery = outbox.Delivery.of(commit_each(outbox.deliveries(get_db(), transport, batch=batch)))
    click.echo(f"Sent {delivery.sent} message(s).")
    if delivery.failed:
        click.echo(f"{delivery.failed} message(s) failed and will be retried; the log says why.", err=True)
        raise SystemExit(1)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run what is due once, print each job's counts, and exit.")
@with_appcontext
def scheduler(once: bool) -> None:
    """Run the background jobs (prompts, email outbox, dose assignments) until stopped: one such process
    per installation. With --once: run each job once, print one line per job, exit (1 if one failed)."""
    from lms.scheduler import run_forever, run_once

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not once:
        run_forever(app)
        return
    failed = False
    for name, counts in run_once(app):
        if counts is None:
            failed = True
            click.echo(f"{name}: failed (the log says why)", err=True)
        else:
            click.echo(", ".join(f"{label}: {count}" for label, count in counts.items()))
    if failed:
        raise SystemExit(1)


commands: list[click.Command] = [mail, scheduler]
