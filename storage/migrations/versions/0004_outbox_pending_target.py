"""index pending outbox rows by conversation, for claims that keep each conversation's order

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PENDING = "status = 'pending'"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_pending_target", ["target", "id"], unique=False,
            postgresql_where=sa.text(_PENDING), sqlite_where=sa.text(_PENDING),
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_pending_target", postgresql_where=sa.text(_PENDING), sqlite_where=sa.text(_PENDING)
        )
