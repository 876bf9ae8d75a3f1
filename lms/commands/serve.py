"""`lms run`: the whole platform in one process on one machine (web server and scheduler)."""

from __future__ import annotations

import signal
from types import FrameType

import click
import waitress
from flask import Flask, current_app
from flask.cli import with_appcontext

from lms import migrate

OFF = {"off", "0", "false", "no"}


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256), help="Worker threads.")
@with_appcontext
def run(host: str, port: int, threads: int) -> None:
    """Migrate the database, then serve the platform with waitress (and the scheduler, unless
    LMS_SCHEDULER=off). For several workers or machines, see the README's PostgreSQL section."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(
        f"Instance: {app.config['INSTANCE_PATH']} "
        f"(database {app.extensions['lms.engine'].url.render_as_string(hide_password=True)})"
    )
    migrate.upgrade(app)
    try:
        server = waitress.create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="lms",
            # Proxy headers have one home, the app's ProxyFix (LMS_TRUSTED_PROXIES, lms.create_app), as
            # under gunicorn. Waitress would clear X-Forwarded-* before the app sees them, so it passes
            # them through when proxies are trusted, and clears them (as by default) when none are.
            clear_untrusted_proxy_headers=not app.config["TRUSTED_PROXIES"],
        )
    except OSError as exc:  # typically: the port is taken
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    scheduler = _start_scheduler(app)
    # `kill` (SIGTERM) stops as cleanly as Ctrl-C: waitress closes its sockets on SystemExit.
    signal.signal(signal.SIGTERM, _exit)
    click.echo(f"Lead with Quality on http://{_display_host(host)}:{port} (Ctrl-C to stop)")
    try:
        server.run()
    finally:
        if scheduler is not None:
            scheduler.shutdown()  # lets a job that is running finish
        click.echo("Stopped.")


def _start_scheduler(app: Flask):
    """The background jobs run in this process unless LMS_SCHEDULER=off (e.g. when a separate
    `lms scheduler` runs, or in tests)."""
    if str(app.config.get("SCHEDULER", "")).strip().lower() in OFF:
        click.echo("Scheduler off (LMS_SCHEDULER=off): run `lms scheduler` for email and other jobs.")
        return None
    from lms.scheduler import start_in_process

    return start_in_process(app)


def _display_host(host: str) -> str:
    if host in {"0.0.0.0", "::"}:  # noqa: S104 - only naming the wildcard, not binding to it
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _exit(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


commands: list[click.Command] = [run]
