"""gemba walk: the next step the leader expects (what a Kata prompt later asks about)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gemba_walk', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expected_next', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('gemba_walk', schema=None) as batch_op:
        batch_op.drop_column('expected_next')
