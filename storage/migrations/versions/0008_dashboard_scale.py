"""the dashboard at scale: open concerns, a covering index for twelve weeks, huddle answers by run

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OPEN = "status IN ('open', 'acknowledged', 'in_progress')"
_HANDLE = "reporter_handle IS NOT NULL"
_WINDOW = [
    "unit_id",
    "category",
    "concern_type",
    "severity",
    "status",
    "escalation_level",
    "acknowledged_at",
    "resolved_at",
    "policy",
]


def upgrade() -> None:
    op.create_index(
        "ix_concerns_open",
        "concerns",
        ["unit_id", "created_at", "severity", "status"],
        unique=False,
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )
    op.create_index("ix_concerns_window", "concerns", ["created_at"], unique=False, postgresql_include=_WINDOW)
    op.create_index(
        "ix_concerns_reporter_handle",
        "concerns",
        ["reporter_handle"],
        unique=False,
        postgresql_where=sa.text(_HANDLE),
        sqlite_where=sa.text(_HANDLE),
    )
    op.create_index(
        "ix_huddle_responses_run_answer",
        "huddle_responses",
        ["run_id", "answer", "responder_key"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_huddle_responses_run_answer", table_name="huddle_responses")
    op.drop_index("ix_concerns_reporter_handle", table_name="concerns")
    op.drop_index("ix_concerns_window", table_name="concerns")
    op.drop_index("ix_concerns_open", table_name="concerns")
