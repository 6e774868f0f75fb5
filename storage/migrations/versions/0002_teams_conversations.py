"""teams conversation references

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams_conversations",
        sa.Column("conversation_id", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("service_url", sa.String(length=500), nullable=False),
        sa.Column("bot_id", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("installed_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_teams_conversations")),
    )
    with op.batch_alter_table("teams_conversations", schema=None) as batch_op:
        batch_op.create_index("ix_teams_conversations_tenant_user", ["tenant_id", "user_id"], unique=False)
        batch_op.create_index("ix_teams_conversations_team_id", ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("teams_conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_teams_conversations_team_id")
        batch_op.drop_index("ix_teams_conversations_tenant_user")
    op.drop_table("teams_conversations")
