"""The `lms` command: every operational task (database, demo, serving, people, tokens)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup


def _create_app() -> Flask:
    from lms import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
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
    from lms.commands import accounts, content, demo, mail, serve

    for module in (serve, demo, accounts, mail, content):
        for command in module.commands:
            main.add_command(command)
    _each_in_one_transaction(main)


_register()
