"""`lms org create`, `lms org list` and `lms units import`: a hospital's own organisation."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from curricula.stakeholders import StakeholderRole
from lms.commands import refused
from lms.db import get_db
from lms.models import Invitation
from lms.services import Invalid, NotFound, platform
from lms.services.access import org_by_slug
from lms.services.units_import import ImportProblems, import_units

org_group = AppGroup("org", help="Organisations (a hospital, a health system).")
units_group = AppGroup("units", help="An organisation's unit tree.")


@org_group.command("create")
@click.option(
    "--slug", required=True, help="Short name used in addresses: lowercase letters, digits, hyphens."
)
@click.option("--name", required=True, help="The organisation's name, as people know it.")
@click.option("--time-zone", required=True, help="Where it works, such as Europe/London.")
@click.option(
    "--admin-email", required=True, help="Its first administrator, emailed a link to choose a password."
)
@click.option("--admin-name", default="", help="The administrator's name (default: from the email).")
@click.option(
    "--admin-role",
    default=platform.FIRST_ADMIN_ROLE.value,
    show_default=True,
    type=click.Choice([r.value for r in StakeholderRole]),
    help="The administrator's stakeholder role.",
)
def org_create(
    slug: str, name: str, time_zone: str, admin_email: str, admin_name: str, admin_role: str
) -> None:
    """Create an organisation, the root of its unit tree, and its first organisation administrator."""
    try:
        founded = platform.found_organization(
            get_db(),
            None,
            slug=slug,
            name=name,
            time_zone=time_zone,
            admin_email=admin_email,
            admin_name=admin_name,
            admin_role=admin_role,
        )
    except Invalid as exc:
        raise refused("The organisation was not created", exc) from None
    org, admin = founded.org, founded.admin
    click.echo(f"Created {org.name} ({org.slug}, {org.time_zone}).")
    if isinstance(admin, Invitation):
        click.echo(
            f"{admin.email} already has an account, so it is theirs: an invitation to administer {org.name} "
            "was emailed to them. They sign in as usual and accept it on their home page."
        )
    else:
        click.echo(
            f"Its administrator {admin.user.name} <{admin.user.email}> was emailed a link to choose a "
            "password (valid 7 days); it is sent by the scheduler in `lms run`, or now by `lms mail send`."
        )


@org_group.command("list")
def org_list() -> None:
    """Every organisation: slug, name, time zone, active people, archived or not."""
    rows = platform.list_organizations(get_db(), None)
    if not rows:
        click.echo("No organisations yet: `lms org create` makes one (or `lms demo` the demo).")
        return
    table = [("SLUG", "NAME", "TIME ZONE", "PEOPLE", "STATUS")] + [
        (r.org.slug, r.org.name, r.org.time_zone, str(r.people), "archived" if r.org.archived else "active")
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


@units_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_slug", required=True, help="The organisation's slug.")
def units_import(file: Path, org_slug: str) -> None:
    """Import the unit tree from a CSV file with the columns code, name, level, parent code.

    All or nothing: every problem is listed by row and column, and nothing changes if there is one.
    Importing the same file again changes nothing; units the file does not mention are left alone."""
    db = get_db()
    try:
        org = org_by_slug(db, org_slug.strip().lower())
    except NotFound:
        raise click.ClickException(
            f"No organisation has the slug {org_slug!r} (see `lms org list`)."
        ) from None
    try:
        report = import_units(db, None, file.read_bytes(), org_id=org.id)
    except ImportProblems as exc:
        click.echo(f"Nothing was imported: {file.name} has {len(exc.problems)} problem(s).", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1) from None
    click.echo(f"Imported {file.name} into {org.slug}: {report.summary()}")


commands: list[click.Command] = [org_group, units_group]
