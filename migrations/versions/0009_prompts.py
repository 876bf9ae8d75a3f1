"""prompts: reflection prompt schedules, deliveries, calendar tokens

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 15:28:39.505324
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', lms.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_calendar_token_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_token_token_hash'))
    )
    with op.batch_alter_table('calendar_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_token_user_id'), ['user_id'], unique=False)

    op.create_table('prompt_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', sa.Time(), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('weekdays', sa.String(length=20), nullable=False),
    sa.Column('day_of_month', sa.Integer(), nullable=True),
    sa.Column('nth', sa.Integer(), nullable=True),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.Column('anchor', sa.Date(), nullable=True),
    sa.Column('tags', sa.String(length=400), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=False),
    sa.Column('consented_at', lms.db.UTCDateTime(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('next_due_at', lms.db.UTCDateTime(), nullable=True),
    sa.Column('rotation', sa.Text(), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', lms.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_prompt_schedule_org_id_organization')),
    sa.ForeignKeyConstraint(['set_by_id'], ['user_account.id'], name=op.f('fk_prompt_schedule_set_by_id_user_account')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_prompt_schedule_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prompt_schedule'))
    )
    with op.batch_alter_table('prompt_schedule', schema=None) as batch_op:
        batch_op.create_index('ix_prompt_schedule_due', ['next_due_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prompt_schedule_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prompt_schedule_user_id'), ['user_id'], unique=False)

    op.create_table('prompt_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('due_at', lms.db.UTCDateTime(), nullable=False),
    sa.Column('prompt_key', sa.String(length=120), nullable=False),
    sa.Column('prompt_text', sa.Text(), nullable=False),
    sa.Column('delivered_at', lms.db.UTCDateTime(), nullable=False),
    sa.Column('answered_at', lms.db.UTCDateTime(), nullable=True),
    sa.Column('journal_entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entry.id'], name=op.f('fk_prompt_delivery_journal_entry_id_journal_entry')),
    sa.ForeignKeyConstraint(['schedule_id'], ['prompt_schedule.id'], name=op.f('fk_prompt_delivery_schedule_id_prompt_schedule')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_prompt_delivery_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prompt_delivery')),
    sa.UniqueConstraint('schedule_id', 'due_at', name=op.f('uq_prompt_delivery_schedule_id_due_at'))
    )
    with op.batch_alter_table('prompt_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_prompt_delivery_inbox', ['user_id', 'answered_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('prompt_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_prompt_delivery_inbox')

    op.drop_table('prompt_delivery')
    with op.batch_alter_table('prompt_schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prompt_schedule_user_id'))
        batch_op.drop_index(batch_op.f('ix_prompt_schedule_org_id'))
        batch_op.drop_index('ix_prompt_schedule_due')

    op.drop_table('prompt_schedule')
    with op.batch_alter_table('calendar_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_token_user_id'))

    op.drop_table('calendar_token')
