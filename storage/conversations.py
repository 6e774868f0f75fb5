"""Teams conversation references: where the bot is installed and how to reach it proactively.

A small store on the engine, used by the Teams adapter only (the composition root hands it over).
Each call is its own short transaction: never call it while a core transaction is open on SQLite,
which has one pooled connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import teams_conversations as t


@dataclass(frozen=True, slots=True)
class TeamsConversation:
    """One stored conversation reference."""

    conversation_id: str
    kind: str
    tenant_id: str
    service_url: str
    bot_id: str
    team_id: str | None = None
    name: str | None = None
    user_id: str | None = None
    installed_at: datetime | None = None
    updated_at: datetime | None = None


def _load(row: sa.Row) -> TeamsConversation:
    return TeamsConversation(**row._mapping)


class TeamsConversations:
    """Reads and writes ``teams_conversations``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def save(
        self,
        *,
        conversation_id: str,
        kind: str,
        tenant_id: str,
        service_url: str,
        bot_id: str,
        team_id: str | None = None,
        name: str | None = None,
        user_id: str | None = None,
    ) -> bool:
        """Insert or refresh a reference; True if it was not known before (a new installation)."""
        now = datetime.now(UTC)
        values = {
            "conversation_id": conversation_id,
            "kind": kind,
            "tenant_id": tenant_id,
            "service_url": service_url,
            "bot_id": bot_id,
            "team_id": team_id,
            "name": name,
            "user_id": user_id,
            "installed_at": now,
            "updated_at": now,
        }
        async with self.engine.begin() as conn:
            inserted = await conn.execute(
                self._insert(t).values(**values).on_conflict_do_nothing().returning(t.c.conversation_id)
            )
            if inserted.first() is not None:
                return True
            changes: dict[str, object] = {"service_url": service_url, "bot_id": bot_id, "updated_at": now}
            # What one event does not carry (a channel's name, the team) is kept, not erased.
            for column, value in (("team_id", team_id), ("name", name), ("user_id", user_id)):
                if value is not None:
                    changes[column] = value
            await conn.execute(sa.update(t).where(t.c.conversation_id == conversation_id).values(**changes))
        return False

    async def get(self, conversation_id: str) -> TeamsConversation | None:
        """The reference of one conversation."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.conversation_id == conversation_id))).first()
        return _load(row) if row else None

    async def personal(self, *, user_id: str, tenant_id: str | None = None) -> TeamsConversation | None:
        """The person's own chat with the bot, if they opened one."""
        query = sa.select(t).where(t.c.user_id == user_id, t.c.kind == "personal")
        if tenant_id:
            query = query.where(t.c.tenant_id == tenant_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query.order_by(t.c.updated_at.desc()).limit(1))).first()
        return _load(row) if row else None

    async def latest_in_tenant(self, tenant_id: str | None) -> TeamsConversation | None:
        """The most recently seen reference in ``tenant_id`` (any tenant if None): its service URL."""
        query = sa.select(t).order_by(t.c.updated_at.desc()).limit(1)
        if tenant_id:
            query = query.where(t.c.tenant_id == tenant_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _load(row) if row else None

    async def tenants(self) -> list[str]:
        """Every tenant the bot is installed in."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(t.c.tenant_id).distinct().order_by(t.c.tenant_id))
        return [row[0] for row in rows]

    async def all(self) -> list[TeamsConversation]:
        """Every reference, for an administrator's listing."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(t).order_by(t.c.kind, t.c.team_id, t.c.name))
        return [_load(row) for row in rows]

    async def forget(self, conversation_id: str) -> int:
        """Drop one reference (the bot was removed from that chat)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(sa.delete(t).where(t.c.conversation_id == conversation_id))
        return result.rowcount

    async def forget_team(self, team_id: str) -> int:
        """Drop every channel of a team (the bot was removed from the team)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(sa.delete(t).where(t.c.team_id == team_id))
        return result.rowcount
