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
from lms.models.gemba import (
    FollowUp,
    FollowUpEvent,
    FollowUpEventKind,
    FollowUpStatus,
    GembaSettings,
    GembaWalk,
)
from lms.models.journal import CoachingRelationship, JournalComment, JournalEntry, JournalSource
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
from lms.models.prompts import CalendarToken, PromptDelivery, PromptSchedule
from lms.models.roster import JobCodeRole
from lms.models.scim import ScimRecord, ScimToken

__all__ = [
    "ApiToken",
    "Assignment",
    "AssignmentSource",
    "AuditEvent",
    "CalendarToken",
    "CheckAttempt",
    "CoachingRelationship",
    "ContentRelease",
    "CoverageCell",
    "CoverageFold",
    "CoverageNeed",
    "CoverageOpen",
    "DosePolicyOverride",
    "EmailChange",
    "FollowUp",
    "FollowUpEvent",
    "FollowUpEventKind",
    "FollowUpStatus",
    "GembaSettings",
    "GembaWalk",
    "Invitation",
    "JobCodeRole",
    "JournalComment",
    "JournalEntry",
    "JournalSource",
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
    "PromptDelivery",
    "PromptSchedule",
    "RecoveryCode",
    "Reflection",
    "ScimRecord",
    "ScimToken",
    "UnitKind",
    "User",
    "UserSession",
]
