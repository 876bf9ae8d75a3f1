"""`lms user create` and `lms token create`: accounts for operators at the command line.

`token create` prints the token alone on its last line, so a script can take it with `| tail -1`.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.db import get_db
from lms.models import Permission, User
from lms.services import Invalid, NotFound, people, tokens
from lms.services.access import org_by_slug
from lms.services.accounts import normalise_email, password_problems

# Service field names that differ from the option a person typed.
OPTION_FOR_FIELD = {"stakeholder_role": "--role", "": "error"}


def _fail(what: str, exc: Invalid) -> click.ClickException:
    """Each problem on its own line, named by the option to change."""
    lines = [
        f"  {OPTION_FOR_FIELD.get(field, '--' + field.replace('_', '-'))}: {message}"
        for field, messages in exc.errors.items()
        for message in messages
    ]
    return click.ClickException("\n".join([f"{what}:", *lines]))


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
@click.option("--no-password", is_flag=True, help="No password: the person sets one by a reset link.")
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
    """Add a person to an organisation, with a password unless --no-password."""
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
            raise _fail("The password cannot be used", Invalid(problems))
    data = people.PersonInput(
        email=email,
        name=name,
        stakeholder_role=role,
        unit_id=unit_id,
        job_code=job_code,
        employee_id=employee_id,
    )
    try:
        membership = people.add_person(
            db, None, data, org_id=org.id, permissions=[Permission(p) for p in permissions]
        )
        if password is not None:
            people.set_password_as_operator(db, membership.user_id, password)
    except Invalid as exc:
        raise _fail("The person was not added", exc) from None
    user = membership.user
    granted = ", ".join(sorted(p.value for p in membership.permissions)) or "none"
    click.echo(f"Added {user.name} <{user.email}> to {org.slug} as {role} (membership {membership.id}).")
    click.echo(f"Permissions: {granted}. Password: {'none (use a reset link)' if no_password else 'set'}.")


@token_group.command("create")
@click.option("--email", required=True, help="Whose token: it acts with their permissions.")
@click.option("--name", default="Command line", show_default=True, help="What the token is for.")
@click.option("--days", type=int, default=90, show_default=True, help="Days until it expires.")
def token_create(email: str, name: str, days: int) -> None:
    """Create a personal access token and print it alone on the last line."""
    db = get_db()
    user = db.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise click.ClickException(f"No account uses the email {email!r}.")
    if not user.is_active:
        raise click.ClickException(f"{user.email} is not active in any organisation: a token would not work.")
    try:
        secret = tokens.create_token(db, user, name=name, days=days)
    except Invalid as exc:
        raise _fail("The token was not created", exc) from None
    click.echo(f"Token {name!r} for {user.email}, valid for {days} days. It is shown only this once:")
    click.echo(secret)


commands: list[click.Command] = [user_group, token_group]
