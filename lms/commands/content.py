"""`lms content ...`: check (and publish) the curricula written in content/.

`content` is an AppGroup: a command added to it with `@content.command(...)` runs in an application
context, as `sync` needs. `check` reads only files, so it runs without one (no database, no config).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

import lms
from coaching.library import CoachingContent, has_coaching, load_coaching
from curricula.corpus import load_corpus
from curricula.model import Corpus
from lms import migrate
from lms.db import commit_each, unit_of_work
from lms.services import content as publishing
from lms.services import dosing

DEFAULT_ROOT = Path(lms.__file__).resolve().parent.parent / "content"


@click.group("content", cls=AppGroup)
def content() -> None:
    """The curricula and coaching content in content/: check them, publish the curricula."""


def root_argument(command: click.Command) -> click.Command:
    """The optional PATH argument of the content commands: the content folder (default: content/)."""
    return click.argument(
        "path",
        required=False,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=DEFAULT_ROOT,
    )(command)


def summary(corpus: Corpus, coaching: CoachingContent | None = None) -> str:
    """'N modules in M curricula[, and the coaching content]; K problems' (or '; no problems'), then
    '; W warnings' if any. The problems counted are the corpus's and the coaching content's."""
    modules = len(corpus.modules)
    curricula = len({m.curriculum for m in corpus.modules})
    problems = len(corpus.problems) + (len(coaching.problems) if coaching else 0)
    counted = f"{modules} module{'' if modules == 1 else 's'} in {curricula} "
    counted += "curriculum" if curricula == 1 else "curricula"
    if coaching is not None:
        counted += f"; {coaching.summary()}"
    counted += f"; {problems} problem{'' if problems == 1 else 's'}" if problems else "; no problems"
    warnings = len(corpus.warnings)
    if warnings:
        counted += f"; {warnings} warning{'' if warnings == 1 else 's'}"
    return counted


def report(root: Path, corpus: Corpus, coaching: CoachingContent | None = None) -> None:
    """Each problem (the modules', then the coaching content's), then each warning, as `path:line: message`
    (the path as the folder was named), then the summary."""
    coaching_problems = coaching.problems if coaching else ()
    for problem in (*corpus.problems, *coaching_problems, *corpus.warnings):
        click.echo(f"{(root / problem.path).as_posix()}:{problem.line}: {problem.message}")
    click.echo(summary(corpus, coaching))


@content.command("check", with_appcontext=False)
@root_argument
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too (checks that can be guessed).")
def check(path: Path, strict: bool) -> None:
    """Check every module and vocabulary in PATH, and its coaching/ folder (question sets, prompts) when it
    has one; print each problem and warning; exit 1 if there is any problem (or, with --strict, any
    warning). Warnings do not stop `sync`."""
    corpus = load_corpus(path)
    coaching = load_coaching(path) if has_coaching(path) else None
    report(path, corpus, coaching)
    if corpus.problems or (coaching and coaching.problems) or (strict and corpus.warnings):
        raise SystemExit(1)


@content.command("sync")
@root_argument
def sync(path: Path) -> None:
    """Check PATH and publish it (nothing if there is any problem), then re-plan dose assignments.

    Publishing is one transaction; re-planning follows, one transaction per organisation, so a big
    organisation does not hold the publication open (the nightly reconcile would finish an interrupted one).
    """
    corpus = load_corpus(path)
    if corpus.problems:
        report(path, corpus)
        click.echo("Nothing was published.")
        raise SystemExit(1)
    migrate.upgrade(current_app)  # as `lms run` and `lms demo` do: a fresh database gets its tables
    with unit_of_work() as db:
        published = publishing.sync(db, corpus)
    click.echo(f"Published {len(corpus.modules)} modules: {published}.")
    for slug, counts in commit_each(dosing.reconcile_all(db)):
        click.echo(f"Dose assignments in {slug}: {counts}.")


commands: list[click.Command] = [content]
