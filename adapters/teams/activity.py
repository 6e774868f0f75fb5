"""Reading an inbound Activity (JSON, as Teams sends it): who, where, in which thread, and what text.

Plain functions on the dict, so nothing here depends on an SDK's object model.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any

from bot.model import Address, Person

PLATFORM = "teams"
THREAD_MARK = ";messageid="

_AT_TAG = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def split_conversation(conversation_id: str) -> tuple[str, str | None]:
    """``19:x@thread.tacv2;messageid=123`` → (``19:x@thread.tacv2``, ``123``); a chat id has no thread."""
    base, mark, root = conversation_id.partition(THREAD_MARK)
    return base, (root or None) if mark else None


def thread_conversation(base: str, root: str) -> str:
    """The conversation id that replies under ``root`` in channel ``base``."""
    return f"{base}{THREAD_MARK}{root}"


@dataclass(frozen=True, slots=True)
class Inbound:
    """What huddlebot needs from one activity, read once."""

    raw: dict[str, Any]
    type: str
    name: str | None
    id: str
    service_url: str
    channel_id: str
    tenant: str
    conversation_id: str  # as sent, thread mark included
    base_conversation: str  # without the thread mark: the channel or chat
    thread_root: str | None  # the root message of the thread this was said in (None at top level)
    kind: str  # channel | personal | groupChat
    team_id: str | None
    bot_id: str
    user_id: str
    user_name: str
    reply_to_id: str | None

    @property
    def person(self) -> Person:
        """Who did it, as the core knows people."""
        return Person(PLATFORM, self.tenant, self.user_id, self.user_name)

    @property
    def where(self) -> Address:
        """The channel (and thread) or chat it happened in."""
        return Address(PLATFORM, self.tenant, channel=self.base_conversation, thread=self.thread_root)

    @property
    def value(self) -> dict[str, Any]:
        """The ``value`` of an invoke or a card submit."""
        return _dict(self.raw.get("value"))

    @property
    def channel_data(self) -> dict[str, Any]:
        """Teams' ``channelData``."""
        return _dict(self.raw.get("channelData"))

    def event_key(self) -> str:
        """The dedupe key for ``Core.handle``.

        Invoke and event ids are random (``f:<guid>``) and identify nobody: ``teams:<id>``. A message id
        is a millisecond timestamp, unique only within its conversation, so the conversation is part of
        the key (hashed, to stay short). Messages are never anonymous, so that links nothing.
        """
        if not self.id.isdigit():
            return f"teams:{self.id}"[:255]
        digest = hashlib.sha256(self.base_conversation.encode()).hexdigest()[:20]
        return f"teams:{digest}:{self.id}"


def read(activity: dict[str, Any]) -> Inbound:
    """Read the fields huddlebot uses; missing ones become empty strings, never an exception."""
    conversation = _dict(activity.get("conversation"))
    channel_data = _dict(activity.get("channelData"))
    sender = _dict(activity.get("from"))
    recipient = _dict(activity.get("recipient"))
    conversation_id = _str(conversation.get("id")) or ""
    base, root = split_conversation(conversation_id)
    activity_id = _str(activity.get("id")) or ""
    kind = _str(conversation.get("conversationType")) or ("channel" if base.startswith("19:") else "personal")
    if root is not None and root == activity_id:
        root = None  # a new post at the top of a channel: Teams names its own thread after it
    tenant = _str(_dict(channel_data.get("tenant")).get("id")) or _str(conversation.get("tenantId")) or ""
    return Inbound(
        raw=activity,
        type=_str(activity.get("type")) or "",
        name=_str(activity.get("name")),
        id=activity_id,
        service_url=_str(activity.get("serviceUrl")) or "",
        channel_id=_str(activity.get("channelId")) or "",
        tenant=tenant,
        conversation_id=conversation_id,
        base_conversation=base,
        thread_root=root,
        kind=kind,
        team_id=_str(_dict(channel_data.get("team")).get("id")),
        bot_id=_str(recipient.get("id")) or "",
        user_id=_str(sender.get("id")) or "",
        user_name=(_str(sender.get("name")) or "")[:200],
        reply_to_id=_str(activity.get("replyToId")),
    )


def mentions(activity: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``mention`` entities: ``{"mentioned": {"id", "name"}, "text": "<at>…</at>"}``."""
    entities = activity.get("entities")
    if not isinstance(entities, list):
        return []
    return [e for e in entities if isinstance(e, dict) and e.get("type") == "mention"]


def quoted_message(inbound: Inbound) -> str | None:
    """The bot message a person answered with Teams' "Reply" (a quoted reply), else ``replyToId``."""
    entities = inbound.raw.get("entities")
    for entity in entities if isinstance(entities, list) else []:
        if isinstance(entity, dict) and entity.get("type") == "quotedReply":
            message_id = _str(_dict(entity.get("quotedReply")).get("messageId"))
            if message_id:
                return message_id
    return inbound.reply_to_id


def mentions_bot(inbound: Inbound) -> bool:
    """True if the message @mentions the bot."""
    return any(_dict(m.get("mentioned")).get("id") == inbound.bot_id for m in mentions(inbound.raw))


def people_mentioned(inbound: Inbound) -> list[tuple[str, str, str]]:
    """Other people @mentioned: (user id, name, the ``<at>`` text), in order."""
    out = []
    for mention in mentions(inbound.raw):
        who = _dict(mention.get("mentioned"))
        user_id, text = _str(who.get("id")), _str(mention.get("text"))
        if user_id and user_id != inbound.bot_id and text:
            out.append((user_id, _str(who.get("name")) or "", text))
    return out


def plain_text(inbound: Inbound, *, keep: tuple[str, ...] = ()) -> str:
    """The message text without the bot's @mention, without markup, entities decoded.

    ``keep`` lists ``<at>…</at>`` texts (other people's mentions) to leave in place as ``@Name``.
    """
    text = _str(inbound.raw.get("text")) or ""
    for mention in mentions(inbound.raw):
        at = _str(mention.get("text"))
        if at and at not in keep:
            text = text.replace(at, " ")
    text = _AT_TAG.sub(lambda m: "@" + m.group(1) if m.group(0) in keep else " ", text)
    text = html.unescape(_TAG.sub(" ", text.replace("<br>", "\n").replace("<br/>", "\n")))
    text = text.replace("\u00a0", " ")
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines()).strip()
