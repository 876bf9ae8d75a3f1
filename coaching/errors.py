"""The one error shape of the coaching core: a value that cannot be, named at the field to correct.

A form shows `message` next to the field called `field`; an API answers both. Each kind of setting has
its own subclass (coaching.cadence.CadenceError, ...), so a caller can tell them apart.
"""

from __future__ import annotations


class FieldError(ValueError):
    """`field` names the attribute (or the key) at fault, `message` says what to fix."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message
