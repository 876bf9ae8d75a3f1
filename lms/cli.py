"""The `lms` command: every operational task (database, demo, serving, people, tokens)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

# Commands that may start a new instance (folder, secret key, database): the others need one, and say
# so in one line when they are run from another folder or before the database exists.
CREATES_INSTANCE = frozenset({("db", "upgrade"), ("demo",), ("run",)})
# Commands that need no database at the latest schema: those that migrate it themselves, and `backup`,
# which copies whatever the database holds (and on PostgreSQL only prints the pg_dump command).
NO_SCHEMA_CHECK = CREATES_INSTANCE | {("content", "sync"), ("backup",)}


def command_path() -> tuple[str, ...]:
    """The sub-command being run, e.g. ("token", "create")."""
    ctx = click.get_current_context(silent=True)
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.command.name or "")
        ctx = ctx.parent
    return tuple(reversed(names))


def _create_app() -> Flask:
    """The app for the command being run. The instance path is resolved once, here (lms.config)."""
    from lms import create_app, migrate
    from lms.config import MissingInstance

    path = command_path()
    try:
        app = create_app(create_instance=path in CREATES_INSTANCE)
    except MissingInstance as exc:
        raise click.ClickException(str(exc)) from None
    if path not in NO_SCHEMA_CHECK:
        try:
            migrate.require_current(app)
        except migrate.NotReady as exc:
            raise click.ClickException(str(exc)) from None
    return app


class LmsGroup(AppGroup):
    """The `lms` command. Not Flask's FlaskGroup: its options (--env-file, --app) and its discovery of
    other apps' commands are not ours; the one thing kept is how commands find the app (ScriptInfo)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("obj", ScriptInfo(create_app=_create_app, set_debug_flag=False))
        return super().main(*args, **kwargs)


@click.group(cls=LmsGroup)
def main() -> None:
    """Lead with Quality: learning and coaching for leading quality in health care."""


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or migrate the database to the latest schema."""
    from lms import migrate

    migrate.upgrade(current_app, revision)
    click.echo(f"Database at {revision}: {current_app.extensions['lms.engine'].url.render_as_string()}")


@db.command("check")
def db_check() -> None:
    """Fail if the models have changes no migration records."""
    from lms import migrate

    migrate.check(current_app)
    click.echo("Models and migrations agree.")


def init_app(app: Flask) -> None:
    """Commands are registered on the group above; nothing to attach to the app itself."""


def _one_transaction(callback: Callable[..., Any]) -> Callable[..., Any]:
    """A command is a boundary: what its session changed commits when it returns, rolls back when it
    raises (lms.db.finish_command). A command that works in steps commits each itself (lms.db.commit_each)."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        from lms.db import finish_command

        try:
            result = callback(*args, **kwargs)
        except BaseException:
            finish_command(succeeded=False)
            raise
        finish_command(succeeded=True)
        return result

    return run


def _each_in_one_transaction(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _each_in_one_transaction(sub)
    elif command.callback is not None:
        command.callback = _one_transaction(command.callback)


def _register() -> None:
    from lms.commands import (
        accounts,
        backup,
        content,
        coverage,
        demo,
        mail,
        organizations,
        roster,
        scim,
        serve,
    )

    for module in (serve, demo, organizations, accounts, mail, content, backup, scim, coverage, roster):
        for command in module.commands:
            main.add_command(command)
    _each_in_one_transaction(main)


_register()
