"""organisations: platform operators, archived organisations, unit codes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 13:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_operator', sa.Boolean(), server_default='0', nullable=False))

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', lms.db.UTCDateTime(), nullable=True))

    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_org_unit_org_id_code'), ['org_id', 'code'])


def downgrade() -> None:
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_org_unit_org_id_code'), type_='unique')
        batch_op.drop_column('code')

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('archived_at')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('is_operator')
