"""job code roles: an organisation's mapping from its HR system's job codes to stakeholder roles

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 18:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_code_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("job_code", sa.String(length=32), nullable=False),
        sa.Column("job_key", sa.String(length=32), nullable=False),
        sa.Column(
            "stakeholder_role",
            sa.Enum(
                "patient-family-partner",
                "clinician",
                "unit-leader",
                "quality-staff",
                "departmental-leader",
                "executive",
                "board",
                name="stakeholderrole",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", lms.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", lms.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_job_code_role_org_id_organization")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_code_role")),
        sa.UniqueConstraint("org_id", "job_key", name=op.f("uq_job_code_role_org_id_job_key")),
    )
    with op.batch_alter_table("job_code_role", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_code_role_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_code_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_code_role_org_id"))

    op.drop_table("job_code_role")
