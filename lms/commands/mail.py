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
@with_appcontext
def scheduler() -> None:
    """Run the background jobs (email outbox) until stopped: one such process per installation."""
    from lms.scheduler import run_forever

    run_forever(current_app._get_current_object())  # type: ignore[attr-defined]


commands: list[click.Command] = [mail, scheduler]
