"""leaders' rounds: one row a round, for rounds planned against done and what came of them

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import Id, Json, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("leader", sa.String(200), nullable=False),
        sa.Column("logged_at", UTCDateTime(), nullable=False),
        sa.Column("staff", sa.Integer(), nullable=False),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("families", sa.Integer(), nullable=False),
        sa.Column("wins", sa.Integer(), nullable=False),
        sa.Column("raised", Json, nullable=False),
        sa.Column("tracked", Json, nullable=False),
        sa.Column("barriers", Json, nullable=False),
        sa.Column("heard", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
    )
    op.create_index("ix_rounds_unit_id_logged_at", "rounds", ["unit_id", "logged_at"])
    op.create_index("ix_rounds_leader_unit_id_logged_at", "rounds", ["leader", "unit_id", "logged_at"])
    _copy_logged_rounds()


def _copy_logged_rounds() -> None:
    """Rounds logged before this table existed are in the audit log (``round.logged``): copy them."""
    audit = sa.table(
        "audit_events",
        sa.column("at", UTCDateTime()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("detail", Json),
    )
    rounds = sa.table(
        "rounds",
        *(
            sa.column(name, kind)
            for name, kind in (
                ("unit_id", sa.String()),
                ("leader", sa.String()),
                ("logged_at", UTCDateTime()),
                ("staff", sa.Integer()),
                ("patients", sa.Integer()),
                ("families", sa.Integer()),
                ("wins", sa.Integer()),
                ("raised", Json),
                ("tracked", Json),
                ("barriers", Json),
                ("heard", Json),
            )
        ),
    )
    bind = op.get_bind()
    logged = bind.execute(
        sa.select(audit.c.at, audit.c.actor, audit.c.detail).where(audit.c.action == "round.logged")
    )
    rows = []
    for at, actor, detail in logged:
        raised = [_id(ref) for ref in detail.get("concerns", [])]
        tracked = [_id(ref) for ref in detail.get("tracked", [])]
        rows.append(
            {
                "unit_id": detail.get("unit", ""),
                "leader": actor,
                "logged_at": at,
                "staff": int(detail.get("staff", 0)),
                "patients": int(detail.get("patients", 0)),
                "families": int(detail.get("families", 0)),
                "wins": int(detail.get("wins", 0)),
                "raised": [i for i in raised if i is not None],
                "tracked": [i for i in tracked if i is not None],
                "barriers": list(detail.get("barriers", [])),
                "heard": [],
            }
        )
    if rows:
        bind.execute(sa.insert(rounds), rows)


def _id(ref: str) -> int | None:
    # The reference scheme of bot.model at the time of writing: C-<1000 + id>.
    raw = str(ref).strip().upper().removeprefix("C").removeprefix("-")
    return int(raw) - 1000 if raw.isdigit() and int(raw) > 1000 else None


def downgrade() -> None:
    op.drop_index("ix_rounds_leader_unit_id_logged_at", table_name="rounds")
    op.drop_index("ix_rounds_unit_id_logged_at", table_name="rounds")
    op.drop_table("rounds")
