"""coaching journal: coaching relationships, journal entries and comments, shared reflections

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 15:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coaching_relationship',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('coach_id', sa.Integer(), nullable=False),
    sa.Column('coachee_id', sa.Integer(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', lms.db.UTCDateTime(), nullable=False),
    sa.Column('accepted_at', lms.db.UTCDateTime(), nullable=True),
    sa.Column('ended_at', lms.db.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['coach_id'], ['membership.id'], name=op.f('fk_coaching_relationship_coach_id_membership')),
    sa.ForeignKeyConstraint(['coachee_id'], ['membership.id'], name=op.f('fk_coaching_relationship_coachee_id_membership')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_coaching_relationship_org_id_organization')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'], name=op.f('fk_coaching_relationship_proposed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_relationship'))
    )
    with op.batch_alter_table('coaching_relationship', schema=None) as batch_op:
        batch_op.create_index('ix_coaching_relationship_coach', ['coach_id', 'ended_at'], unique=False)
        batch_op.create_index('ix_coaching_relationship_coachee', ['coachee_id', 'ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_coaching_relationship_org_id'), ['org_id'], unique=False)

    op.create_table('journal_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('source', sa.Enum('entry', 'prompt', name='journalsource', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('shared_at', lms.db.UTCDateTime(), nullable=True),
    sa.Column('shared_relationship_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', lms.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_journal_entry_org_id_organization')),
    sa.ForeignKeyConstraint(['shared_relationship_id'], ['coaching_relationship.id'], name=op.f('fk_journal_entry_shared_relationship_id_coaching_relationship')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_journal_entry_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entry'))
    )
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.create_index('ix_journal_entry_author', ['user_id', 'org_id', 'created_at'], unique=False)
        batch_op.create_index('ix_journal_entry_shared', ['shared_relationship_id', 'shared_at'], unique=False)

    with op.batch_alter_table('reflection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shared_at', lms.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('shared_relationship_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_reflection_shared_relationship_id_coaching_relationship'), 'coaching_relationship', ['shared_relationship_id'], ['id'])

    op.create_table('journal_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('reflection_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('(entry_id IS NULL) <> (reflection_id IS NULL)', name=op.f('ck_journal_comment_on_entry_or_reflection')),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_journal_comment_author_id_user_account')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entry.id'], name=op.f('fk_journal_comment_entry_id_journal_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reflection_id'], ['reflection.id'], name=op.f('fk_journal_comment_reflection_id_reflection'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_comment'))
    )
    with op.batch_alter_table('journal_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_comment_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_journal_comment_reflection_id'), ['reflection_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('journal_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_comment_reflection_id'))
        batch_op.drop_index(batch_op.f('ix_journal_comment_entry_id'))
    op.drop_table('journal_comment')

    with op.batch_alter_table('reflection', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reflection_shared_relationship_id_coaching_relationship'), type_='foreignkey')
        batch_op.drop_column('shared_relationship_id')
        batch_op.drop_column('shared_at')

    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_journal_entry_shared')
        batch_op.drop_index('ix_journal_entry_author')
    op.drop_table('journal_entry')

    with op.batch_alter_table('coaching_relationship', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coaching_relationship_org_id'))
        batch_op.drop_index('ix_coaching_relationship_coachee')
        batch_op.drop_index('ix_coaching_relationship_coach')
    op.drop_table('coaching_relationship')
