"""Use cases. Each public function checks access (DESIGN.md section 6), changes what it must, records audit
events and flushes; it never commits: the request, the `lms` command or the scheduler job that calls it
owns the transaction (lms.db: `finish_request`, `finish_command`, `unit_of_work`), so two services called
in one request commit together or not at all. Views and jobs call these and nothing else."""

from __future__ import annotations


class ServiceError(Exception):
    """Base for errors a caller turns into a response."""


class NotFound(ServiceError):
    """No such object for this actor: also raised for another organisation's objects (answer 404)."""


class Forbidden(ServiceError):
    """The actor may see the organisation but not do this (answer 403)."""


class Invalid(ServiceError):
    """Input that breaks a rule. `errors` maps a field name (or "" for the whole form) to messages."""

    def __init__(self, errors: dict[str, list[str]] | str, field: str = "") -> None:
        if isinstance(errors, str):
            errors = {field: [errors]}
        self.errors = errors
        super().__init__("; ".join(m for msgs in errors.values() for m in msgs))


class Throttled(ServiceError):
    """Too many attempts in a short time (answer 429); `retry_after_minutes` says when to try again."""

    def __init__(self, message: str, retry_after_minutes: int) -> None:
        self.retry_after_minutes = retry_after_minutes
        super().__init__(message)
