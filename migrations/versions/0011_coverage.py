"""coverage: per-person needs and per-subtree aggregates (needed, completed, overdue)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'coverage_need',
        sa.Column('membership_id', sa.Integer(), nullable=False),
        sa.Column('dose_level', sa.String(length=32), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('stakeholder_role', sa.String(length=32), nullable=False),
        sa.Column('open_due', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_coverage_need_membership_id_membership')),
        sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_coverage_need_org_id_organization')),
        sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_coverage_need_unit_id_org_unit')),
        sa.PrimaryKeyConstraint('membership_id', 'dose_level', name=op.f('pk_coverage_need')),
    )
    with op.batch_alter_table('coverage_need', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_need_org_level', ['org_id', 'dose_level', 'stakeholder_role', 'unit_id'], unique=False)
        batch_op.create_index('ix_coverage_need_user', ['user_id'], unique=False)

    op.create_table(
        'coverage_cell',
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('stakeholder_role', sa.String(length=32), nullable=False),
        sa.Column('dose_level', sa.String(length=32), nullable=False),
        sa.Column('needed', sa.Integer(), nullable=False),
        sa.Column('completed', sa.Integer(), nullable=False),
        sa.Column('overdue', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('org_id', 'unit_id', 'stakeholder_role', 'dose_level', name=op.f('pk_coverage_cell')),
    )
    op.create_table(
        'coverage_open',
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('stakeholder_role', sa.String(length=32), nullable=False),
        sa.Column('dose_level', sa.String(length=32), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('people', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('org_id', 'unit_id', 'stakeholder_role', 'dose_level', 'due_on', name=op.f('pk_coverage_open')),
    )
    with op.batch_alter_table('coverage_open', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_open_due', ['org_id', 'due_on'], unique=False)

    op.create_table(
        'coverage_fold',
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('folded_before', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_coverage_fold_org_id_organization')),
        sa.PrimaryKeyConstraint('org_id', name=op.f('pk_coverage_fold')),
    )


def downgrade() -> None:
    op.drop_table('coverage_fold')
    with op.batch_alter_table('coverage_open', schema=None) as batch_op:
        batch_op.drop_index('ix_coverage_open_due')
    op.drop_table('coverage_open')
    op.drop_table('coverage_cell')
    with op.batch_alter_table('coverage_need', schema=None) as batch_op:
        batch_op.drop_index('ix_coverage_need_user')
        batch_op.drop_index('ix_coverage_need_org_level')
    op.drop_table('coverage_need')
