"""patients and families speak up: the family's words, room, urgency and sealed contact

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import Id, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "family_concerns",
        sa.Column("concern_id", Id, nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("urgency", sa.String(8), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("room", sa.String(16), nullable=True),
        sa.Column("contact_sealed", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id"], ["concerns.id"], name=op.f("fk_family_concerns_concern_id_concerns")
        ),
        sa.PrimaryKeyConstraint("concern_id", name=op.f("pk_family_concerns")),
    )
    op.create_index(
        "ix_family_concerns_unit_created", "family_concerns", ["unit_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_family_concerns_unit_created", table_name="family_concerns")
    op.drop_table("family_concerns")
