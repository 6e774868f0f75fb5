"""Conversation references: where huddlebot can post in Teams, and which service URL reaches it.

Teams gives a bot a conversation reference only when it is installed somewhere (``conversationUpdate``)
or spoken to. They are kept in the database by a store the composition root provides (the adapter
never imports storage), with a small cache in front so a message does not cost a write.

Privacy: a personal chat's reference names its person. The one chat never written down is the one
opened to deliver a sealed "you have a reply" nudge to an anonymous reporter: it stays in no table
and no cache, so nothing ties that person to that moment.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from adapters.teams.activity import Inbound


class ConversationRecord(Protocol):
    """One stored reference (the store's own record type)."""

    conversation_id: str
    kind: str
    tenant_id: str
    service_url: str
    bot_id: str
    team_id: str | None
    name: str | None
    user_id: str | None


class ConversationStore(Protocol):
    """Where references are kept (``storage.conversations.TeamsConversations``)."""

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
    ) -> bool: ...

    async def get(self, conversation_id: str) -> ConversationRecord | None: ...

    async def personal(self, *, user_id: str, tenant_id: str | None = None) -> ConversationRecord | None: ...

    async def latest_in_tenant(self, tenant_id: str | None) -> ConversationRecord | None: ...

    async def tenants(self) -> list[str]: ...

    async def forget(self, conversation_id: str) -> int: ...

    async def forget_team(self, team_id: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Target:
    """Where one message goes: a conversation, on a service URL, as a bot, in a tenant."""

    conversation_id: str
    service_url: str
    bot_id: str
    tenant_id: str
    kind: str
    team_id: str | None = None


def _target(record: ConversationRecord) -> Target:
    return Target(
        conversation_id=record.conversation_id,
        service_url=record.service_url,
        bot_id=record.bot_id,
        tenant_id=record.tenant_id,
        kind=record.kind,
        team_id=record.team_id,
    )


class _Lru(OrderedDict[str, Target]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: Target) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)

    def find(self, key: str) -> Target | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


class References:
    """The cache and the store together."""

    def __init__(self, store: ConversationStore | None = None, *, cache_size: int = 10_000) -> None:
        self.store = store
        self._by_conversation = _Lru(cache_size)
        self._personal = _Lru(cache_size)

    def _require_store(self) -> ConversationStore:
        if self.store is None:
            raise RuntimeError("the Teams adapter has no conversation store (it is wired at install)")
        return self.store

    async def remember(
        self,
        inbound: Inbound,
        *,
        conversation_id: str | None = None,
        kind: str | None = None,
        name: str | None = None,
        user_id: str | None = None,
    ) -> bool:
        """Keep the reference of where ``inbound`` came from (or of a sibling channel); True if new."""
        conversation_id = conversation_id or inbound.base_conversation
        kind = kind or inbound.kind
        if not conversation_id or not inbound.service_url:
            return False
        known = self._by_conversation.find(conversation_id)
        if (
            known is not None
            and known.service_url == inbound.service_url
            and name is None
            and (user_id is None or self._personal.find(f"{inbound.tenant}|{user_id}") is not None)
        ):
            return False  # seen, unchanged: no write on the message path
        target = Target(
            conversation_id=conversation_id,
            service_url=inbound.service_url,
            bot_id=inbound.bot_id,
            tenant_id=inbound.tenant,
            kind=kind,
            team_id=inbound.team_id if kind == "channel" else None,
        )
        new = await self._require_store().save(
            conversation_id=conversation_id,
            kind=kind,
            tenant_id=inbound.tenant,
            service_url=inbound.service_url,
            bot_id=inbound.bot_id,
            team_id=target.team_id,
            name=name,
            user_id=user_id if kind == "personal" else None,
        )
        self._by_conversation.put(conversation_id, target)
        if kind == "personal" and user_id:
            self._personal.put(f"{inbound.tenant}|{user_id}", target)
        return new

    async def conversation(self, conversation_id: str) -> Target | None:
        """The reference of a conversation (a channel, a group chat, a personal chat)."""
        found = self._by_conversation.find(conversation_id)
        if found is not None:
            return found
        record = await self._require_store().get(conversation_id)
        if record is None:
            return None
        target = _target(record)
        self._by_conversation.put(conversation_id, target)
        return target

    async def personal(self, *, tenant_id: str, user_id: str) -> Target | None:
        """The person's chat with the bot, if known."""
        found = self._personal.find(f"{tenant_id}|{user_id}")
        if found is not None:
            return found
        record = await self._require_store().personal(user_id=user_id, tenant_id=tenant_id or None)
        if record is None:
            return None
        target = _target(record)
        self._personal.put(f"{record.tenant_id}|{user_id}", target)
        if tenant_id != record.tenant_id:
            self._personal.put(f"{tenant_id}|{user_id}", target)
        return target

    async def opened(self, *, tenant_id: str, user_id: str, target: Target) -> None:
        """Keep a personal chat the bot opened itself to deliver a message."""
        await self._require_store().save(
            conversation_id=target.conversation_id,
            kind="personal",
            tenant_id=target.tenant_id,
            service_url=target.service_url,
            bot_id=target.bot_id,
            user_id=user_id,
        )
        self._personal.put(f"{tenant_id}|{user_id}", target)
        self._by_conversation.put(target.conversation_id, target)

    async def tenant_base(self, tenant_id: str) -> Target | None:
        """Any reference in the tenant (or the only tenant, if ``tenant_id`` is empty): its service URL."""
        store = self._require_store()
        if not tenant_id:
            tenants = await store.tenants()
            if len(tenants) != 1:
                return None
            tenant_id = tenants[0]
        record = await store.latest_in_tenant(tenant_id)
        return _target(record) if record is not None else None

    async def forget(self, conversation_id: str) -> None:
        """The bot was removed from a chat."""
        self._by_conversation.pop(conversation_id, None)
        for key, target in list(self._personal.items()):
            if target.conversation_id == conversation_id:
                self._personal.pop(key, None)
        await self._require_store().forget(conversation_id)

    async def forget_team(self, team_id: str) -> None:
        """The bot was removed from a team (or the team was deleted)."""
        for key, target in list(self._by_conversation.items()):
            if target.team_id == team_id:
                self._by_conversation.pop(key, None)
        await self._require_store().forget_team(team_id)
