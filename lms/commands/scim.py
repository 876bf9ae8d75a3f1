"""`lms scim token create --org SLUG`: a bearer token for an organisation's identity provider.

It prints the token alone on its last line, so a script can take it with `| tail -1`.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from lms.commands import refused
from lms.db import get_db
from lms.services import Invalid, NotFound
from lms.services.access import org_by_slug
from lms.services.scim import tokens
from lms.services.scim.resources import PREFIX

scim_group = AppGroup("scim", help="SCIM provisioning from an identity provider.")
token_group = AppGroup("token", help="SCIM bearer tokens.")
scim_group.add_command(token_group)


@token_group.command("create")
@click.option("--org", "org_slug", required=True, help="The organisation's slug.")
@click.option("--name", default="Identity provider", show_default=True, help="Which provider it is for.")
@click.option(
    "--as",
    "email",
    help="The HR person or org admin it acts for (their permissions are its own); "
    "by default the organisation's first org admin.",
)
def token_create(org_slug: str, name: str, email: str | None) -> None:
    """Create a SCIM token for an organisation and print it alone on the last line."""
    db = get_db()
    try:
        org = org_by_slug(db, org_slug.strip().lower())
        actor = tokens.command_line_actor(db, org.id, email)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None
    try:
        secret = tokens.create(db, actor, name=name, by_operator=True)
    except Invalid as exc:
        raise refused("The token was not created", exc) from None
    click.echo(f"SCIM token {name!r} for {org.slug}, acting for {actor.user.email}.")
    click.echo(f"SCIM address: {current_app.config['BASE_URL']}{PREFIX}. The token is shown only this once:")
    click.echo(secret)


commands = [scim_group]
