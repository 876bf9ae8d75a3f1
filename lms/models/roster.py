"""The roster's vocabulary: an organisation's mapping from its HR system's job codes to stakeholder roles.

HR (and org admins) edit it on the Job codes page. The roster import and SCIM read a person's stakeholder
role from it (a job code that is a role's own name maps to that role without a row here); a job code
with no mapping is reported, never guessed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from curricula.stakeholders import StakeholderRole
from lms.db import Base, utcnow
from lms.models.person import _stakeholder_role_column


class JobCodeRole(Base):
    __tablename__ = "job_code_role"
    __table_args__ = (UniqueConstraint("org_id", "job_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    job_code: Mapped[str] = mapped_column(String(32))  # as HR typed it
    # The code compared without case or extra spaces ("rn-icu" is "RN-ICU"): one mapping per code.
    job_key: Mapped[str] = mapped_column(String(32))
    stakeholder_role: Mapped[StakeholderRole] = _stakeholder_role_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
