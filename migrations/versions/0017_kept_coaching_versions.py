"""kept coaching versions: a membership's journal version and an organisation's follow-up version

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25 18:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.add_column(sa.Column("journal_version", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_up_version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_column("follow_up_version")
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_column("journal_version")
