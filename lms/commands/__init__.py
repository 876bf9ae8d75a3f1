"""`lms` sub-commands, one module per operational area. Each module exposes `commands`."""

from __future__ import annotations

import click

from lms.services import Invalid

# Service field names that differ from the option a person typed.
OPTION_FOR_FIELD = {"stakeholder_role": "--role", "": "error"}


def refused(what: str, exc: Invalid) -> click.ClickException:
    """A service's refusal at the command line: each problem on its own line, named by the option to
    change (a field `time_zone` is the option `--time-zone`)."""
    lines = [
        f"  {OPTION_FOR_FIELD.get(field, '--' + field.replace('_', '-'))}: {message}"
        for field, messages in exc.errors.items()
        for message in messages
    ]
    return click.ClickException("\n".join([f"{what}:", *lines]))
