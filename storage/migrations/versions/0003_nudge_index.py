"""index the due nudges of acknowledged, still-open concerns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_OPEN = "status IN ('acknowledged', 'in_progress')"


def upgrade() -> None:
    with op.batch_alter_table("concerns", schema=None) as batch_op:
        batch_op.create_index(
            "ix_concerns_due_nudge", ["nudge_at"], unique=False,
            postgresql_where=sa.text(_OPEN), sqlite_where=sa.text(_OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("concerns", schema=None) as batch_op:
        batch_op.drop_index("ix_concerns_due_nudge", postgresql_where=sa.text(_OPEN), sqlite_where=sa.text(_OPEN))
