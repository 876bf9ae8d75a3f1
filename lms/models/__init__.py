"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from lms.models.audit import AuditEvent
from lms.models.coverage import CoverageCell, CoverageFold, CoverageNeed, CoverageOpen
from lms.models.credential import (
    ApiToken,
    EmailChange,
    LoginAttempt,
    PasswordResetToken,
    RecoveryCode,
    UserSession,
)
from lms.models.learning import (
    Assignment,
    AssignmentSource,
    CheckAttempt,
    ContentRelease,
    DosePolicyOverride,
    Module,
    Progress,
    ProgressStatus,
    Reflection,
)
from lms.models.organization import Organization, OrgUnit, UnitKind
from lms.models.outbox import OutboxMessage
from lms.models.person import Invitation, Membership, Permission, User

__all__ = [
    "ApiToken",
    "Assignment",
    "AssignmentSource",
    "AuditEvent",
    "CheckAttempt",
    "ContentRelease",
    "CoverageCell",
    "CoverageFold",
    "CoverageNeed",
    "CoverageOpen",
    "DosePolicyOverride",
    "EmailChange",
    "Invitation",
    "LoginAttempt",
    "Membership",
    "Module",
    "OrgUnit",
    "Organization",
    "OutboxMessage",
    "PasswordResetToken",
    "Permission",
    "Progress",
    "ProgressStatus",
    "RecoveryCode",
    "Reflection",
    "UnitKind",
    "User",
    "UserSession",
]
