"""`lms coverage rebuild --org SLUG`: recompute an organisation's coverage from the raw records.

The numbers are kept exact as things change (lms.services.coverage_upkeep); a rebuild is for after a bulk
write made outside the application (a restore, a data fix in SQL) and is always safe: it gives the same
numbers a recount gives. The command commits once at its end (lms.cli).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from lms.db import get_db
from lms.services import NotFound, coverage
from lms.services.access import org_by_slug


@click.group("coverage", cls=AppGroup)
def coverage_group() -> None:
    """Coverage of dose levels by unit and stakeholder role."""


@coverage_group.command("rebuild")
@click.option("--org", "org_slug", required=True, help="The organisation's slug.")
def rebuild(org_slug: str) -> None:
    """Recompute the organisation's coverage from its assignments, progress and people."""
    db = get_db()
    try:
        org = org_by_slug(db, org_slug.strip().lower())
    except NotFound:
        raise click.ClickException(
            f"No organisation has the slug {org_slug!r} (see `lms org list`)."
        ) from None
    coverage.refresh(db, org.id)
    counted = sum(
        needed
        for (unit, _role, level), (needed, _done, _late) in coverage.stored(db, org.id).items()
        if unit == coverage.WHOLE_ORGANISATION and level == coverage.STAFF
    )
    click.echo(f"Coverage of {org.slug} rebuilt: {counted} active people counted.")


commands: list[click.Command] = [coverage_group]
