"""module build: the version of the build a module row was written by (a sync rebuilds older rows)

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-25 15:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('module', schema=None) as batch_op:
        batch_op.add_column(sa.Column('built_with', sa.String(length=32), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('module', schema=None) as batch_op:
        batch_op.drop_column('built_with')
