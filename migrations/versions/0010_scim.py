"""scim: organisations' SCIM bearer tokens and what their identity provider wrote about each person

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 15:45:32.726222
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scim_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', lms.db.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', lms.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['membership.id'], name=op.f('fk_scim_token_created_by_id_membership')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_scim_token_org_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_scim_token_token_hash'))
    )
    with op.batch_alter_table('scim_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_token_org_id'), ['org_id'], unique=False)

    op.create_table('scim_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=True),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('user_name', sa.String(length=254), nullable=False),
    sa.Column('external_id', sa.String(length=254), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', lms.db.UTCDateTime(), nullable=False),
    sa.Column('deleted_at', lms.db.UTCDateTime(), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_scim_record_invitation_id_invitation')),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_scim_record_membership_id_membership')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_scim_record_org_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_record')),
    sa.UniqueConstraint('invitation_id', name=op.f('uq_scim_record_invitation_id')),
    sa.UniqueConstraint('membership_id', name=op.f('uq_scim_record_membership_id'))
    )
    with op.batch_alter_table('scim_record', schema=None) as batch_op:
        batch_op.create_index('ix_scim_record_org_email', ['org_id', 'email'], unique=False)
        batch_op.create_index('ix_scim_record_org_external_id', ['org_id', 'external_id'], unique=False)
        batch_op.create_index('ix_scim_record_org_user_name', ['org_id', 'user_name'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scim_record', schema=None) as batch_op:
        batch_op.drop_index('ix_scim_record_org_user_name')
        batch_op.drop_index('ix_scim_record_org_external_id')
        batch_op.drop_index('ix_scim_record_org_email')

    op.drop_table('scim_record')
    with op.batch_alter_table('scim_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_token_org_id'))

    op.drop_table('scim_token')
