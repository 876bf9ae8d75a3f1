"""membership extra level: a dose level HR gives one person on top of their role's, and its days

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25 18:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extra_level', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('extra_level_days', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_column('extra_level_days')
        batch_op.drop_column('extra_level')
