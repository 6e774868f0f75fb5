"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.tables
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('concern_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_concern_id'), ['concern_id'], unique=False)

    op.create_table('concerns',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('concern_type', sa.String(length=32), nullable=False),
    sa.Column('anonymity', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reporter_platform', sa.String(length=16), nullable=True),
    sa.Column('reporter_tenant', sa.String(length=128), nullable=True),
    sa.Column('reporter_user_id', sa.String(length=128), nullable=True),
    sa.Column('reporter_name', sa.String(length=200), nullable=True),
    sa.Column('reporter_handle', sa.String(length=64), nullable=True),
    sa.Column('receipt_hash', sa.String(length=200), nullable=True),
    sa.Column('notify_sealed', sa.Boolean(), nullable=False),
    sa.Column('phi_flagged', sa.Boolean(), nullable=False),
    sa.Column('acknowledged_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
    sa.Column('resolved_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('next_escalation_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('nudge_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('policy', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_concerns')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_concerns_idempotency_key'))
    )
    with op.batch_alter_table('concerns', schema=None) as batch_op:
        batch_op.create_index('ix_concerns_due_escalation', ['next_escalation_at'], unique=False, postgresql_where=sa.text('acknowledged_at IS NULL'), sqlite_where=sa.text('acknowledged_at IS NULL'))
        batch_op.create_index('ix_concerns_reporter', ['reporter_platform', 'reporter_tenant', 'reporter_user_id'], unique=False)
        batch_op.create_index('ix_concerns_unit_status_created', ['unit_id', 'status', 'created_at'], unique=False)

    op.create_table('good_catches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('giver_name', sa.String(length=200), nullable=False),
    sa.Column('recipient_label', sa.String(length=200), nullable=False),
    sa.Column('recipient_handle', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_good_catches'))
    )
    with op.batch_alter_table('good_catches', schema=None) as batch_op:
        batch_op.create_index('ix_good_catches_unit_created', ['unit_id', 'created_at'], unique=False)

    op.create_table('huddle_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('claim_key', sa.String(length=64), nullable=False),
    sa.Column('scheduled_for', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closes_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opened_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_huddle_runs')),
    sa.UniqueConstraint('unit_id', 'claim_key', name=op.f('uq_huddle_runs_unit_id_claim_key'))
    )
    with op.batch_alter_table('huddle_runs', schema=None) as batch_op:
        batch_op.create_index('ix_huddle_runs_open_closes', ['closes_at'], unique=False, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.create_index('ix_huddle_runs_unit_scheduled', ['unit_id', 'scheduled_for'], unique=False)

    op.create_table('meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_meta'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('op', sa.String(length=8), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('view', sa.Text(), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=True),
    sa.Column('tenant', sa.String(length=128), nullable=True),
    sa.Column('channel', sa.String(length=200), nullable=True),
    sa.Column('user_id', sa.String(length=128), nullable=True),
    sa.Column('thread_key', sa.String(length=300), nullable=True),
    sa.Column('thread_ref', sa.String(length=200), nullable=True),
    sa.Column('msg_key', sa.String(length=300), nullable=True),
    sa.Column('ref_key', sa.String(length=300), nullable=True),
    sa.Column('target', sa.String(length=400), nullable=True),
    sa.Column('concern_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('sealed', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('lease_until', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('message_ref', sa.String(length=200), nullable=True),
    sa.Column('message_channel', sa.String(length=200), nullable=True),
    sa.Column('sent_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('msg_key', name=op.f('uq_outbox_msg_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_concern_role', ['concern_id', 'role'], unique=False)
        batch_op.create_index('ix_outbox_message_ref', ['platform', 'message_channel', 'message_ref'], unique=False)
        batch_op.create_index('ix_outbox_pending_due', ['due_at'], unique=False, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_outbox_ref_key', ['ref_key'], unique=False)
        batch_op.create_index('ix_outbox_run_role', ['run_id', 'role'], unique=False)
        batch_op.create_index('ix_outbox_status', ['status'], unique=False)

    op.create_table('processed_events',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_processed_events'))
    )
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_events_at'), ['at'], unique=False)

    op.create_table('concern_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('concern_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('author_role', sa.String(length=16), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['concern_id'], ['concerns.id'], name=op.f('fk_concern_messages_concern_id_concerns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_concern_messages'))
    )
    with op.batch_alter_table('concern_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_concern_messages_concern_id'), ['concern_id'], unique=False)

    op.create_table('huddle_responses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('answer', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('responder_key', sa.String(length=200), nullable=False),
    sa.Column('responder_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['huddle_runs.id'], name=op.f('fk_huddle_responses_run_id_huddle_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_huddle_responses'))
    )
    with op.batch_alter_table('huddle_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_huddle_responses_run_id'), ['run_id'], unique=False)

    op.create_table('sealed_addresses',
    sa.Column('concern_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['concern_id'], ['concerns.id'], name=op.f('fk_sealed_addresses_concern_id_concerns')),
    sa.PrimaryKeyConstraint('concern_id', name=op.f('pk_sealed_addresses'))
    )
    


def downgrade() -> None:
    
    op.drop_table('sealed_addresses')
    with op.batch_alter_table('huddle_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_huddle_responses_run_id'))

    op.drop_table('huddle_responses')
    with op.batch_alter_table('concern_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_concern_messages_concern_id'))

    op.drop_table('concern_messages')
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_events_at'))

    op.drop_table('processed_events')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status')
        batch_op.drop_index('ix_outbox_run_role')
        batch_op.drop_index('ix_outbox_ref_key')
        batch_op.drop_index('ix_outbox_pending_due', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_outbox_message_ref')
        batch_op.drop_index('ix_outbox_concern_role')

    op.drop_table('outbox')
    op.drop_table('meta')
    with op.batch_alter_table('huddle_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_huddle_runs_unit_scheduled')
        batch_op.drop_index('ix_huddle_runs_open_closes', postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))

    op.drop_table('huddle_runs')
    with op.batch_alter_table('good_catches', schema=None) as batch_op:
        batch_op.drop_index('ix_good_catches_unit_created')

    op.drop_table('good_catches')
    with op.batch_alter_table('concerns', schema=None) as batch_op:
        batch_op.drop_index('ix_concerns_unit_status_created')
        batch_op.drop_index('ix_concerns_reporter')
        batch_op.drop_index('ix_concerns_due_escalation', postgresql_where=sa.text('acknowledged_at IS NULL'), sqlite_where=sa.text('acknowledged_at IS NULL'))

    op.drop_table('concerns')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_concern_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))

    op.drop_table('audit_events')
    
