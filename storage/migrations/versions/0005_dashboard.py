"""the dashboard: sign-in links (stored hashed) and the read side's indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_links",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_sign_in_links")),
    )
    op.create_index(op.f("ix_sign_in_links_expires_at"), "sign_in_links", ["expires_at"], unique=False)
    op.create_index(
        "ix_concerns_created_unit",
        "concerns",
        ["created_at", "unit_id", "category", "concern_type", "status"],
        unique=False,
    )
    op.create_index("ix_concerns_status_created", "concerns", ["status", "created_at"], unique=False)
    op.create_index("ix_huddle_runs_scheduled", "huddle_runs", ["scheduled_for"], unique=False)
    op.create_index("ix_good_catches_created", "good_catches", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_good_catches_created", table_name="good_catches")
    op.drop_index("ix_huddle_runs_scheduled", table_name="huddle_runs")
    op.drop_index("ix_concerns_status_created", table_name="concerns")
    op.drop_index("ix_concerns_created_unit", table_name="concerns")
    op.drop_index(op.f("ix_sign_in_links_expires_at"), table_name="sign_in_links")
    op.drop_table("sign_in_links")
