"""the stoplight report, "not possible now", respect concerns routed around a leader

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("concerns") as batch:
        batch.add_column(sa.Column("title", sa.String(200), nullable=True))
        batch.add_column(sa.Column("share_words", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("not_possible_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("not_possible_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("not_possible_reason", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("involves_leader", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("concerns") as batch:
        for name in (
            "involves_leader",
            "not_possible_reason",
            "not_possible_by",
            "not_possible_at",
            "share_words",
            "title",
        ):
            batch.drop_column(name)
