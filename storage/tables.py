"""The tables. Column names equal the core records' field names, so mapping is by name."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on PostgreSQL (timestamptz) and SQLite (text) alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite only autoincrements INTEGER keys
Json = sa.JSON().with_variant(JSONB(), "postgresql")

concerns = sa.Table(
    "concerns",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("unit_id", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("concern_type", sa.String(32), nullable=False),
    sa.Column("anonymity", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reporter_platform", sa.String(16)),
    sa.Column("reporter_tenant", sa.String(128)),
    sa.Column("reporter_user_id", sa.String(128)),
    sa.Column("reporter_name", sa.String(200)),
    sa.Column("reporter_handle", sa.String(64)),
    sa.Column("receipt_hash", sa.String(200)),
    sa.Column("notify_sealed", sa.Boolean, nullable=False, default=False),
    sa.Column("phi_flagged", sa.Boolean, nullable=False, default=False),
    sa.Column("acknowledged_at", UTCDateTime),
    sa.Column("acknowledged_by", sa.String(200)),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("resolved_by", sa.String(200)),
    sa.Column("resolution", sa.Text),
    sa.Column("escalation_level", sa.Integer, nullable=False, default=0),
    sa.Column("next_escalation_at", UTCDateTime),
    sa.Column("nudge_at", UTCDateTime),
    sa.Column("policy", Json, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime),
    sa.Column("idempotency_key", sa.String(200), unique=True),
    sa.Column("title", sa.String(200)),
    sa.Column("share_words", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("not_possible_at", UTCDateTime),
    sa.Column("not_possible_by", sa.String(200)),
    sa.Column("not_possible_reason", sa.Text),
    sa.Column("involves_leader", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Index("ix_concerns_unit_status_created", "unit_id", "status", "created_at"),
    sa.Index("ix_concerns_reporter", "reporter_platform", "reporter_tenant", "reporter_user_id"),
    # The escalation scan reads only unacknowledged concerns: a partial index keeps it small.
    sa.Index(
        "ix_concerns_due_escalation",
        "next_escalation_at",
        postgresql_where=sa.text("acknowledged_at IS NULL"),
        sqlite_where=sa.text("acknowledged_at IS NULL"),
    ),
    # Likewise for nudges: only acknowledged concerns that are still open carry a due nudge.
    sa.Index(
        "ix_concerns_due_nudge",
        "nudge_at",
        postgresql_where=sa.text("status IN ('acknowledged', 'in_progress')"),
        sqlite_where=sa.text("status IN ('acknowledged', 'in_progress')"),
    ),
)

concern_messages = sa.Table(
    "concern_messages",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("concern_id", Id, sa.ForeignKey("concerns.id"), nullable=False, index=True),
    sa.Column("author_role", sa.String(16), nullable=False),
    sa.Column("author_name", sa.String(200)),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

sealed_addresses = sa.Table(
    "sealed_addresses",
    metadata,
    sa.Column("concern_id", Id, sa.ForeignKey("concerns.id"), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("token", sa.Text, nullable=False),
)

huddle_runs = sa.Table(
    "huddle_runs",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("unit_id", sa.String(64), nullable=False),
    sa.Column("claim_key", sa.String(64), nullable=False),
    sa.Column("scheduled_for", UTCDateTime, nullable=False),
    sa.Column("closes_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("opened_at", UTCDateTime),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("opened_by", sa.String(200)),
    sa.UniqueConstraint("unit_id", "claim_key"),
    sa.Index("ix_huddle_runs_unit_scheduled", "unit_id", "scheduled_for"),
    sa.Index(
        "ix_huddle_runs_open_closes",
        "closes_at",
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    ),
)

huddle_responses = sa.Table(
    "huddle_responses",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("run_id", Id, sa.ForeignKey("huddle_runs.id"), nullable=False, index=True),
    sa.Column("answer", sa.String(16), nullable=False),
    sa.Column("text", sa.Text),
    sa.Column("responder_key", sa.String(200), nullable=False),
    sa.Column("responder_name", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

good_catches = sa.Table(
    "good_catches",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("unit_id", sa.String(64), nullable=False),
    sa.Column("giver_name", sa.String(200), nullable=False),
    sa.Column("recipient_label", sa.String(200), nullable=False),
    sa.Column("recipient_handle", sa.String(64)),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_good_catches_unit_created", "unit_id", "created_at"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("concern_id", Id, index=True),
    sa.Column("run_id", Id),
    sa.Column("detail", Json, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("op", sa.String(8), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("view", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("platform", sa.String(16)),
    sa.Column("tenant", sa.String(128)),
    sa.Column("channel", sa.String(200)),
    sa.Column("user_id", sa.String(128)),
    sa.Column("thread_key", sa.String(300)),
    sa.Column("thread_ref", sa.String(200)),
    sa.Column("msg_key", sa.String(300), unique=True),
    sa.Column("ref_key", sa.String(300)),
    sa.Column("target", sa.String(400)),
    sa.Column("concern_id", Id),
    sa.Column("run_id", Id),
    sa.Column("sealed", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.String(300)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("message_ref", sa.String(200)),
    sa.Column("message_channel", sa.String(200)),
    sa.Column("sent_at", UTCDateTime),
    sa.Index(
        "ix_outbox_pending_due",
        "due_at",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    ),
    # The claim's "is an earlier row of this conversation held?" look-up.
    sa.Index(
        "ix_outbox_pending_target",
        "target",
        "id",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    ),
    sa.Index("ix_outbox_message_ref", "platform", "message_channel", "message_ref"),
    sa.Index("ix_outbox_concern_role", "concern_id", "role"),
    sa.Index("ix_outbox_run_role", "run_id", "role"),
    sa.Index("ix_outbox_ref_key", "ref_key"),
    sa.Index("ix_outbox_status", "status"),
)

processed_events = sa.Table(
    "processed_events",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Microsoft Teams conversation references: where the bot was installed (a team's channels, a group
# chat, a person's chat with the bot) and the service URL to reach it. Proactive messages need them.
# ``user_id`` is set only for a personal chat the person opened with the bot themselves.
teams_conversations = sa.Table(
    "teams_conversations",
    metadata,
    sa.Column("conversation_id", sa.String(400), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # channel | personal | groupChat
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("service_url", sa.String(500), nullable=False),
    sa.Column("bot_id", sa.String(200), nullable=False),
    sa.Column("team_id", sa.String(200)),
    sa.Column("name", sa.String(300)),
    sa.Column("user_id", sa.String(200)),
    sa.Column("installed_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_teams_conversations_tenant_user", "tenant_id", "user_id"),
    sa.Index("ix_teams_conversations_team_id", "team_id"),
)

# --- the dashboard (issue 12) -------------------------------------------------------------------

# Sign-in links handed out in chat: only a SHA-256 of the random token is kept; a link is used once
# (``used_at`` is set by a conditional update) and only until ``expires_at``.
sign_in_links = sa.Table(
    "sign_in_links",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("tenant", sa.String(128), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
    sa.Column("used_at", UTCDateTime),
)

# The read side's indexes (migration 0005): the overview and the concerns list read by time across
# every unit (a safety officer) or by unit; the huddles page and good catches by time across units.
sa.Index(
    "ix_concerns_created_unit",
    concerns.c.created_at,
    concerns.c.unit_id,
    concerns.c.category,
    concerns.c.concern_type,
    concerns.c.status,
)
sa.Index("ix_concerns_status_created", concerns.c.status, concerns.c.created_at)
sa.Index("ix_huddle_runs_scheduled", huddle_runs.c.scheduled_for)
sa.Index("ix_good_catches_created", good_catches.c.created_at)

# The overview and the lists at scale (migration 0008, bench/dashboard.py at 1,000,000 concerns).
# Open concerns, by unit and time, with what the list filters on: the open table, the overdue tile
# and a leader's list read only these. The predicate is written out the same way in the queries.
OPEN_CONCERNS = "status IN ('open', 'acknowledged', 'in_progress')"
sa.Index(
    "ix_concerns_open",
    concerns.c.unit_id,
    concerns.c.created_at,
    concerns.c.severity,
    concerns.c.status,
    postgresql_where=sa.text(OPEN_CONCERNS),
    sqlite_where=sa.text(OPEN_CONCERNS),
)
# Twelve weeks of concerns in one index-only scan (PostgreSQL): every column the overview's counts and
# response times read, the deadline (in ``policy``) included, so no row is fetched from the table.
sa.Index(
    "ix_concerns_window",
    concerns.c.created_at,
    postgresql_include=[
        "unit_id",
        "category",
        "concern_type",
        "severity",
        "status",
        "escalation_level",
        "acknowledged_at",
        "resolved_at",
        "policy",
    ],
)
# The stoplight report (migration 0010): what a week resolved or closed as not possible now, by unit,
# without reading every resolved concern of the unit's history.
sa.Index(
    "ix_concerns_resolved",
    concerns.c.unit_id,
    concerns.c.resolved_at,
    postgresql_where=sa.text("status = 'resolved'"),
    sqlite_where=sa.text("status = 'resolved'"),
)
sa.Index(
    "ix_concerns_not_possible",
    concerns.c.unit_id,
    concerns.c.not_possible_at,
    postgresql_where=sa.text("status = 'not_possible'"),
    sqlite_where=sa.text("status = 'not_possible'"),
)
# A viewer's own concerns raised under their directory handle (the list's "own" branch).
sa.Index(
    "ix_concerns_reporter_handle",
    concerns.c.reporter_handle,
    postgresql_where=sa.text("reporter_handle IS NOT NULL"),
    sqlite_where=sa.text("reporter_handle IS NOT NULL"),
)
# Huddle answers by run, index-only: who answered and how, without reading the answers' rows.
sa.Index(
    "ix_huddle_responses_run_answer",
    huddle_responses.c.run_id,
    huddle_responses.c.answer,
    huddle_responses.c.responder_key,
)

# --- patients and families speak up (issue 14) --------------------------------------------------

# What a family member sent from a unit's public page, beside its concern: their words and the room
# (never posted to chat), how soon, the page's language, and their contact details sealed (Fernet).
family_concerns = sa.Table(
    "family_concerns",
    metadata,
    sa.Column("concern_id", Id, sa.ForeignKey("concerns.id"), primary_key=True),
    sa.Column("unit_id", sa.String(64), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("urgency", sa.String(8), nullable=False),
    sa.Column("words", sa.Text, nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("room", sa.String(16)),
    sa.Column("contact_sealed", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_family_concerns_unit_created", "unit_id", "created_at"),
)

# --- leaders' rounds (issue 13) ------------------------------------------------------------------

# One row a round a leader logged, and one an issue heard on it with the concern it became: the digest
# and the dashboard count rounds done against the rhythm in the organisation file, and what became of
# the issues, in two grouped queries.
rounds = sa.Table(
    "rounds",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("unit_id", sa.String(64), nullable=False),
    sa.Column("leader", sa.String(200), nullable=False),
    sa.Column("logged_at", UTCDateTime, nullable=False),
    sa.Column("staff", sa.Integer, nullable=False),
    sa.Column("patients", sa.Integer, nullable=False),
    sa.Column("families", sa.Integer, nullable=False),
    sa.Column("wins", sa.Integer, nullable=False),
    sa.Column("barriers", Json, nullable=False),
    sa.Column("heard", Json, nullable=False),
    sa.Index("ix_rounds_unit_id_logged_at", "unit_id", "logged_at"),
    sa.Index("ix_rounds_leader_unit_id_logged_at", "leader", "unit_id", "logged_at"),
)
round_issues = sa.Table(
    "round_issues",
    metadata,
    sa.Column("round_id", Id, sa.ForeignKey("rounds.id"), primary_key=True),
    sa.Column("concern_id", Id, sa.ForeignKey("concerns.id"), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
)
