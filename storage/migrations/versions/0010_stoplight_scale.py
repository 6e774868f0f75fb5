"""the stoplight report at scale: a week's resolved and not-possible concerns by unit

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_CLOSED = (("ix_concerns_resolved", "resolved_at", "resolved"), ("ix_concerns_not_possible", "not_possible_at", "not_possible"))


def upgrade() -> None:
    for name, column, status in _CLOSED:
        where = sa.text(f"status = '{status}'")
        op.create_index(
            name, "concerns", ["unit_id", column], unique=False, postgresql_where=where, sqlite_where=where
        )


def downgrade() -> None:
    for name, _column, _status in _CLOSED:
        op.drop_index(name, table_name="concerns")
