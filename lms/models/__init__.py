"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from lms.models.audit import AuditEvent
from lms.models.credential import ApiToken, LoginAttempt, PasswordResetToken
from lms.models.organization import Organization, OrgUnit, UnitKind
from lms.models.outbox import OutboxMessage
from lms.models.person import Membership, Permission, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "LoginAttempt",
    "Membership",
    "OrgUnit",
    "Organization",
    "OutboxMessage",
    "PasswordResetToken",
    "Permission",
    "UnitKind",
    "User",
]
