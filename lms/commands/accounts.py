"""`lms user create` and `lms token create`: accounts for operators at the command line.

`token create` prints the token alone on its last line, so a script can take it with `| tail -1`.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.commands import refused
from lms.db import get_db
from lms.models import Invitation, Permission, User
from lms.services import Invalid, NotFound, people, platform, tokens
from lms.services.access import org_by_slug
from lms.services.accounts import normalise_email, password_problems

user_group = AppGroup("user", help="People who sign in.")
token_group = AppGroup("token", help="Personal access tokens for the JSON API.")


@user_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--org", "org_slug", required=True, help="The organisation's slug.")
@click.option("--role", required=True, type=click.Choice([r.value for r in StakeholderRole]))
@click.option("--unit-id", type=int, help="Id of the unit the person works in.")
@click.option("--job-code")
@click.option("--employee-id")
@click.option(
    "--permission",
    "permissions",
    multiple=True,
    type=click.Choice([p.value for p in Permission]),
    help="Repeat for several.",
)
@click.option("--password", help="The password; asked for (hidden, twice) when not given.")
@click.option(
    "--no-password", is_flag=True, help="No password: the person is emailed a link to choose their own."
)
def user_create(
    email: str,
    name: str,
    org_slug: str,
    role: str,
    unit_id: int | None,
    job_code: str | None,
    employee_id: str | None,
    permissions: tuple[str, ...],
    password: str | None,
    no_password: bool,
) -> None:
    """Add a person to an organisation, with a password, or with --no-password an emailed link to choose
    one. An email that already has an account is sent an invitation instead, which its person accepts."""
    if password is not None and no_password:
        raise click.UsageError("Give --password or --no-password, not both.")
    db = get_db()
    try:
        org = org_by_slug(db, org_slug.strip().lower())
    except NotFound:
        raise click.ClickException(f"No organisation has the slug {org_slug!r}.") from None
    if not no_password:
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        problems = password_problems(password, password, email=normalise_email(email))
        if problems:
            raise refused("The password cannot be used", Invalid(problems))
    data = people.PersonInput(
        email=email,
        name=name,
        stakeholder_role=role,
        unit_id=unit_id,
        job_code=job_code,
        employee_id=employee_id,
    )
    try:
        added = people.add_person(
            db,
            None,
            data,
            org_id=org.id,
            permissions=[Permission(p) for p in permissions],
            welcome=password is None,
        )
        if isinstance(added, Invitation):
            click.echo(
                f"{added.email} already has an account, so it is theirs: an invitation to join {org.slug} "
                "was emailed to them, and shows on their home page. They join when they accept it."
            )
            return
        if password is not None:
            people.set_password_as_operator(db, added.user_id, password)
    except Invalid as exc:
        raise refused("The person was not added", exc) from None
    user = added.user
    granted = ", ".join(sorted(p.value for p in added.permissions)) or "none"
    click.echo(f"Added {user.name} <{user.email}> to {org.slug} as {role} (membership {added.id}).")
    if password is None:
        click.echo(f"Permissions: {granted}. An invitation to choose a password was emailed to {user.email}.")
    else:
        click.echo(f"Permissions: {granted}. Password: set.")


@user_group.command("operator")
@click.argument("email")
@click.option("--off", is_flag=True, help="Take the role away instead.")
def user_operator(email: str, off: bool) -> None:
    """Make the account of EMAIL a platform operator (the Organisations page: create, rename, archive
    organisations), or with --off no longer one. An operator reads no organisation's data."""
    try:
        user = platform.set_operator(get_db(), email, on=not off)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None
    if user.is_operator:
        click.echo(
            f"{user.email} is a platform operator: the Organisations page is at /operator/organisations."
        )
    else:
        click.echo(f"{user.email} is no longer a platform operator.")


@token_group.command("create")
@click.option("--email", required=True, help="Whose token: it acts with their permissions.")
@click.option("--name", default="Command line", show_default=True, help="What the token is for.")
@click.option("--days", type=int, default=90, show_default=True, help="Days until it expires.")
def token_create(email: str, name: str, days: int) -> None:
    """Create a personal access token and print it alone on the last line."""
    db = get_db()
    user = _user_by_email(email)
    if not user.is_active:
        raise click.ClickException(f"{user.email} is not active in any organisation: a token would not work.")
    try:
        secret = tokens.create_token(db, user, name=name, days=days)
    except Invalid as exc:
        raise refused("The token was not created", exc) from None
    click.echo(f"Token {name!r} for {user.email}, valid for {days} days. It is shown only this once:")
    click.echo(secret)


@token_group.command("list")
@click.option("--email", required=True, help="Whose tokens.")
def token_list(email: str) -> None:
    """List a person's tokens that still work: id, name, created, last used, expires."""
    db = get_db()
    user = _user_by_email(email)
    found = tokens.tokens_of(db, user)
    if not found:
        click.echo(f"{user.email} has no tokens that work.")
    for t in found:
        click.echo(
            f"{t.id}\t{t.name}\tcreated {_when(t.created_at)}\tlast used {_when(t.last_used_at)}"
            f"\texpires {_when(t.expires_at)}"
        )


@token_group.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1), required=False)
@click.option("--email", help="With --all: whose tokens.")
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every token of --email.")
def token_revoke(token_id: int | None, email: str | None, revoke_all: bool) -> None:
    """Revoke one token by its id (see `lms token list`), or all of a person's with --email and --all."""
    db = get_db()
    if revoke_all == (token_id is not None) or revoke_all != (email is not None):
        raise click.UsageError("Give a TOKEN_ID, or --email E --all.")
    if token_id is not None:
        try:
            token = tokens.revoke(db, token_id, owner=None)
        except NotFound:
            raise click.ClickException(f"No token has the id {token_id}.") from None
        click.echo(f"Revoked token {token.id} ({token.name!r}).")
        return
    assert email is not None
    user = _user_by_email(email)
    count = tokens.revoke_all(db, user.id)
    click.echo(f"Revoked {count} token{'s' if count != 1 else ''} of {user.email}.")


def _user_by_email(email: str) -> User:
    user = get_db().scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise click.ClickException(f"No account uses the email {email!r}.")
    return user


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


commands: list[click.Command] = [user_group, token_group]
