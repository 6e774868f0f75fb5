"""leaders' rounds: a row a round and a row an issue heard, for rounds planned against done

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
        sa.Column("barriers", Json, nullable=False),
        sa.Column("heard", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
    )
    op.create_index("ix_rounds_unit_id_logged_at", "rounds", ["unit_id", "logged_at"])
    op.create_index("ix_rounds_leader_unit_id_logged_at", "rounds", ["leader", "unit_id", "logged_at"])
    op.create_table(
        "round_issues",
        sa.Column("round_id", Id, nullable=False),
        sa.Column("concern_id", Id, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_round_issues_round_id_rounds")),
        sa.ForeignKeyConstraint(
            ["concern_id"], ["concerns.id"], name=op.f("fk_round_issues_concern_id_concerns")
        ),
        sa.PrimaryKeyConstraint("round_id", "concern_id", name=op.f("pk_round_issues")),
    )
    _copy_logged_rounds()


def _copy_logged_rounds() -> None:
    """Rounds logged before these tables existed are in the audit log (``round.logged``): copy them."""
    audit = sa.table(
        "audit_events",
        sa.column("at", UTCDateTime()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("detail", Json),
    )
    rounds = sa.table(
        "rounds",
        sa.column("id", Id),
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
                ("barriers", Json),
                ("heard", Json),
            )
        ),
    )
    issues = sa.table(
        "round_issues", sa.column("round_id", Id), sa.column("concern_id", Id), sa.column("kind")
    )
    concerns = sa.table("concerns", sa.column("id", Id))
    bind = op.get_bind()
    logged = bind.execute(
        sa.select(audit.c.at, audit.c.actor, audit.c.detail).where(audit.c.action == "round.logged")
    ).all()
    for at, actor, detail in logged:
        round_id = bind.execute(
            sa.insert(rounds)
            .values(
                unit_id=detail.get("unit", ""),
                leader=actor,
                logged_at=at,
                staff=int(detail.get("staff", 0)),
                patients=int(detail.get("patients", 0)),
                families=int(detail.get("families", 0)),
                wins=int(detail.get("wins", 0)),
                barriers=list(detail.get("barriers", [])),
                heard=[],
            )
            .returning(rounds.c.id)
        ).scalar_one()
        for kind, key in (("raised", "concerns"), ("tracked", "tracked")):
            for ref in detail.get(key, []):
                concern_id = _id(ref)
                exists = (
                    concern_id is not None
                    and bind.execute(sa.select(concerns.c.id).where(concerns.c.id == concern_id)).first()
                )
                if exists:
                    bind.execute(
                        sa.insert(issues).values(round_id=round_id, concern_id=concern_id, kind=kind)
                    )


def _id(ref: str) -> int | None:
    # The reference scheme of bot.model at the time of writing: C-<1000 + id>.
    raw = str(ref).strip().upper().removeprefix("C").removeprefix("-")
    return int(raw) - 1000 if raw.isdigit() and int(raw) > 1000 else None


def downgrade() -> None:
    op.drop_table("round_issues")
    op.drop_index("ix_rounds_leader_unit_id_logged_at", table_name="rounds")
    op.drop_index("ix_rounds_unit_id_logged_at", table_name="rounds")
    op.drop_table("rounds")
