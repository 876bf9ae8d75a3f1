"""The seven Whole System Quality stakeholder groups.

Every person in an organisation belongs to exactly one group; HR maps job codes to them and the dosing
policy decides, per group, which levels of improvement knowledge a person needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StakeholderRole(StrEnum):
    PATIENT_FAMILY_PARTNER = "patient-family-partner"
    CLINICIAN = "clinician"
    UNIT_LEADER = "unit-leader"
    QUALITY_STAFF = "quality-staff"
    DEPARTMENTAL_LEADER = "departmental-leader"
    EXECUTIVE = "executive"
    BOARD = "board"


def role_named(value: object) -> StakeholderRole | None:
    """The stakeholder role whose value `value` is, or None: the one rule for what a valid role is.
    Callers say what a wrong one means to them (a field to correct, a page that does not exist)."""
    try:
        return StakeholderRole(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class StakeholderGroup:
    role: StakeholderRole
    label: str
    summary: str


GROUPS: tuple[StakeholderGroup, ...] = (
    StakeholderGroup(
        StakeholderRole.PATIENT_FAMILY_PARTNER,
        "Patient and family partner",
        "Patients and families who co-design care and sit on improvement teams and councils.",
    ),
    StakeholderGroup(
        StakeholderRole.CLINICIAN,
        "Clinician (point-of-care staff)",
        "Nurses, physicians, therapists and others who deliver care and test changes where they work.",
    ),
    StakeholderGroup(
        StakeholderRole.UNIT_LEADER,
        "Unit leader",
        "Managers of a unit or clinic who run daily huddles, standard work and local improvement.",
    ),
    StakeholderGroup(
        StakeholderRole.QUALITY_STAFF,
        "Quality staff",
        "Quality and improvement specialists who coach teams, build capability and design measures.",
    ),
    StakeholderGroup(
        StakeholderRole.DEPARTMENTAL_LEADER,
        "Departmental leader",
        "Directors and service-line leaders who connect units to system priorities.",
    ),
    StakeholderGroup(
        StakeholderRole.EXECUTIVE,
        "Executive",
        "Senior leaders who set direction, allocate resources and model leader standard work.",
    ),
    StakeholderGroup(
        StakeholderRole.BOARD,
        "Board",
        "Trustees who hold the organisation accountable for quality and equity.",
    ),
)

LABELS: dict[StakeholderRole, str] = {g.role: g.label for g in GROUPS}
