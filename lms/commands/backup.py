"""`lms backup DEST` and `lms restore SOURCE`: a consistent copy of a SQLite instance, and back again.

A backup is a folder, not an archive: the database (copied with SQLite's online backup API, so it is
consistent while `lms run` keeps writing), the secret key, the LMS_* settings in force, any other file
of the instance, and RESTORE.txt saying how to restore. A folder can be read without tools, checked
(`sqlite3 DEST/lms.sqlite3 'PRAGMA integrity_check'`), and handed to the backup tool a hospital already
runs (restic, borg, rsync), which compresses and deduplicates better than one tarball per night would.

PostgreSQL is backed up with its own tools: the command prints the pg_dump line to run.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import URL, make_url

from lms import config

DATABASE = "lms.sqlite3"
SETTINGS = "settings.env"
INSTRUCTIONS = "RESTORE.txt"
# The database's own files (its write-ahead log) are never copied as files: the backup API copies them.
SKIPPED = {DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}-journal"}


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup(dest: Path) -> None:
    """Write a consistent copy of the SQLite database, the secret key and the settings into the folder
    DEST (new or empty). On PostgreSQL, print the pg_dump command to use instead."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    dest = dest.resolve()
    url = make_url(app.config["DATABASE_URL"])
    instance = Path(app.config["INSTANCE_PATH"])
    if url.get_backend_name() != "sqlite":
        click.echo(
            f"PostgreSQL is backed up with pg_dump: {pg_dump_command(url, dest)} "
            f"(and keep {instance / config.SECRET_KEY_FILE} or LMS_SECRET_KEY with it).",
            err=True,
        )
        raise SystemExit(1)
    if not Path(url.database or "").is_file():
        raise click.ClickException(f"No database at {url.database}: there is nothing to back up.")
    if dest.exists() and any(dest.iterdir()):
        raise click.ClickException(f"{dest} is not empty: give a new folder, for example {dest}-{_stamp()}.")
    if dest.is_relative_to(instance):
        raise click.ClickException(f"{dest} is inside the instance {instance}: back up to another folder.")
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    source = sqlite3.connect(f"{Path(url.database).resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(dest / DATABASE)
    try:
        with target:
            source.backup(target)
        (ok,) = target.execute("PRAGMA integrity_check").fetchone()
    finally:
        target.close()
        source.close()
    if ok != "ok":
        raise click.ClickException(f"The copy in {dest} failed SQLite's integrity check: {ok}")
    for item in instance.iterdir():
        if item.name not in SKIPPED:
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, dest / item.name)
    if os.environ.get("LMS_SECRET_KEY"):
        _private(dest / config.SECRET_KEY_FILE, os.environ["LMS_SECRET_KEY"])
    _private(dest / SETTINGS, _settings())
    (dest / INSTRUCTIONS).write_text(_instructions(instance, dest))
    size = (dest / DATABASE).stat().st_size
    click.echo(f"Backed up {url.database} ({size:,} bytes) and the secret key into {dest}.")
    click.echo(f"Keep it private: it holds the secret key. To restore: lms restore {dest}")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore(source: Path) -> None:
    """Restore a backup made by `lms backup` into the instance (LMS_INSTANCE_PATH, or ./instance), which
    must not hold a database; then migrate it to this version's schema."""
    if os.environ.get("LMS_DATABASE_URL", "sqlite").split(":", 1)[0].split("+", 1)[0] != "sqlite":
        raise click.ClickException("LMS_DATABASE_URL is not SQLite: restore PostgreSQL with pg_restore.")
    if not (source / DATABASE).is_file():
        raise click.ClickException(f"{source} holds no {DATABASE}: give the folder `lms backup` wrote.")
    instance = config.instance_path()
    if (instance / DATABASE).exists():
        raise click.ClickException(
            f"{instance} already holds a database: move the instance folder away first, then restore."
        )
    instance.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name in (SETTINGS, INSTRUCTIONS) or (item.name in SKIPPED and item.name != DATABASE):
            continue
        target = instance / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)
    if (instance / config.SECRET_KEY_FILE).exists():
        os.chmod(instance / config.SECRET_KEY_FILE, 0o600)

    from lms import create_app, migrate

    app = create_app(create_instance=False)
    migrate.upgrade(app)
    click.echo(f"Restored {source} into {instance}; the database is at the latest schema.")
    if (source / SETTINGS).exists():
        click.echo(f"The settings in force at backup time are in {source / SETTINGS}.")


def pg_dump_command(url: URL, dest: Path) -> str:
    """The pg_dump line for this database (the password stays out: PGPASSWORD or ~/.pgpass)."""
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string(hide_password=False)
    return (
        f"pg_dump --format=custom --file={shlex.quote(str(dest / 'lms.dump'))} --dbname={shlex.quote(plain)}"
    )


def _private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _settings() -> str:
    """The LMS_* settings in force, one `NAME=value` a line (as a systemd EnvironmentFile reads them)."""
    names = [s.env for s in config.SETTINGS if s.env in os.environ]
    return "".join(f"{name}={os.environ[name]}\n" for name in names)


def _instructions(instance: Path, dest: Path) -> str:
    return (
        f"Backup of the Lead with Quality instance {instance}, made {_stamp()} UTC.\n\n"
        "To restore, with the platform stopped:\n"
        f"  1. move the broken instance folder away (mv {instance} {instance}.broken);\n"
        f"  2. LMS_INSTANCE_PATH={instance} lms restore {dest}\n"
        "  3. start the platform again (lms run, or the services).\n"
        f"{SETTINGS} lists the LMS_* settings in force when the backup was made.\n"
    )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%MZ")


commands: list[click.Command] = [backup, restore]
