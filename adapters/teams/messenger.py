"""The Teams Messenger: renders core views as Adaptive Cards and delivers them through the Bot Connector.

Where things go:
* a channel: the stored reference of that channel (the bot must be installed in its team, else the
  row is dead-lettered with a configuration error naming the channel);
* a thread: the conversation id ``<channel>;messageid=<root activity id>``;
* a person: their chat with the bot (stored when they opened it, else created and stored, except the
  chat of a sealed nudge to an anonymous reporter, which is kept nowhere).

``Delivered`` is (the activity id, the base conversation id): exactly what an inbound reply in that
thread carries (``conversation.id = <base>;messageid=<activity id>``), so the core maps it back.

Pacing: one message per conversation every ``interval`` seconds (0.6 s: at most 50 in 30 s, under
Teams' 60/30 s, and 1.7/s, under 7/s), a rolling hour capped under Teams' 1,800, and a per-tenant
token bucket under the ~30 requests/s an app may make in one tenant. 429/412/5xx are transient
(``Retry-After`` honoured); 403 (not in the roster, blocked, disabled) and 404 are permanent.

Size: every activity is rendered to fit Teams' ~28 KB as sent (``cards.message``, measured by
``wire``). A card Teams refuses all the same (400 bad card, 413 too large) is sent once more, in the
same call, as ``cards.compact``; refused again, it is a ``PermanentDeliveryError`` (dead-lettered at
once, never retried for a day).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from adapters.teams import cards
from adapters.teams.activity import thread_conversation
from adapters.teams.connector import BotConnector, ConnectorError
from adapters.teams.references import References, Target
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.model import Address
from bot.ports import Delivered
from bot.views import ReporterUpdate, View

log = logging.getLogger("huddlebot.teams.messenger")

PLATFORM = "teams"
HOURLY_CAP = 1_700  # Teams allows 1,800 messages an hour in one conversation
TRANSIENT_STATUSES = {0, 408, 412, 429, 500, 502, 503, 504}
REFUSED_CONTENT = {400, 413}  # a bad card, a message too large: the same tomorrow, so never retried as such
T = TypeVar("T")


def _where(target: Target | None) -> str:
    """Where a message went, for a log line: a channel by its id; never a person or a chat's id."""
    if target is not None and target.kind == "channel":
        return f"channel {target.conversation_id[:120]}"
    return "a personal or group chat"


def _is_chat(conversation_id: str) -> bool:
    """A personal chat (``a:…``) or a group chat (``19:…@thread.v2``), as opposed to a team's channel."""
    return conversation_id.startswith(("a:", "8:")) or conversation_id.endswith("@thread.v2")


class _TenantBucket:
    """A token bucket per tenant: ``rate`` requests a second, bursts of ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens: dict[str, float] = {}
        self._stamp: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def take(self, tenant: str) -> None:
        if self.rate <= 0:
            return
        async with self._locks[tenant]:
            now = time.monotonic()
            tokens = min(
                self.rate,
                self._tokens.get(tenant, self.rate) + (now - self._stamp.get(tenant, now)) * self.rate,
            )
            if tokens < 1.0:
                await asyncio.sleep((1.0 - tokens) / self.rate)
                now = time.monotonic()
                tokens = 1.0
            self._tokens[tenant], self._stamp[tenant] = tokens - 1.0, now


class TeamsMessenger:
    """Delivers views to Teams."""

    platform = PLATFORM

    def __init__(
        self,
        connector: BotConnector,
        references: References,
        *,
        interval: float = 0.6,
        tenant_rate: float = 25.0,
    ) -> None:
        self.connector = connector
        self.references = references
        self.interval = interval
        self._tenants = _TenantBucket(tenant_rate)
        self._sent: dict[str, deque[float]] = defaultdict(deque)

    # --- the Messenger port -----------------------------------------------------------------------

    async def post(self, address: Address, view: View) -> Delivered:
        target = await self._resolve(address, view)
        conversation = target.conversation_id
        if address.thread and target.kind == "channel":
            conversation = thread_conversation(target.conversation_id, address.thread)
        # A personal or group chat has no threads: a "thread reply" there is simply the next message.

        async def send(activity: dict[str, Any]) -> str:
            return await self.connector.send(target.service_url, conversation, activity)

        message_ref = await self._deliver("post", target, view, send, conversation=conversation)
        if not message_ref:
            raise TransientDeliveryError("Teams accepted the message but returned no id")
        return Delivered(message_ref=message_ref, channel=target.conversation_id)

    async def update(self, channel: str, message_ref: str, view: View) -> None:
        target = await self._conversation(channel, tenant="")

        async def replace(activity: dict[str, Any]) -> None:
            await self.connector.update(target.service_url, target.conversation_id, message_ref, activity)

        await self._deliver(
            "update", target, view, replace, conversation=target.conversation_id, activity_id=message_ref
        )

    def min_interval(self, address: Address) -> float:
        key = address.channel or f"@{address.user}"
        sent = self._sent.get(key)
        if not sent:
            return self.interval
        now = time.monotonic()
        while sent and now - sent[0] > 3600:
            sent.popleft()
        if len(sent) >= HOURLY_CAP:
            return max(self.interval, sent[0] + 3600 - now)
        return self.interval

    # --- where -------------------------------------------------------------------------------------

    async def _resolve(self, address: Address, view: View) -> Target:
        if address.channel:
            return await self._conversation(address.channel, tenant=address.tenant)
        if address.user:
            return await self._personal(address.tenant, address.user, view)
        raise PermanentDeliveryError("the message has no channel and no person to go to")

    async def _conversation(self, conversation_id: str, *, tenant: str) -> Target:
        target = await self.references.conversation(conversation_id)
        if target is not None:
            return target
        if _is_chat(conversation_id):
            # A chat the bot opened itself (not stored) or a store that lost it: the tenant's service URL
            # reaches it as well.
            base = await self.references.tenant_base(tenant)
            if base is not None:
                kind = "personal" if conversation_id.startswith(("a:", "8:")) else "groupChat"
                return Target(conversation_id, base.service_url, base.bot_id, base.tenant_id, kind)
            raise PermanentDeliveryError("no Teams installation is known for this chat's organisation")
        log.error(
            "Teams configuration error: huddlebot is not installed in the team of channel %s, so it cannot "
            "post there. Add the huddlebot app to that team, or fix the channel id in the organisation file.",
            conversation_id,
        )
        raise PermanentDeliveryError(
            f"huddlebot is not installed in the team of channel {conversation_id[:120]} (configuration error)"
        )

    async def _personal(self, tenant: str, user_id: str, view: View) -> Target:
        found = await self.references.personal(tenant_id=tenant, user_id=user_id)
        if found is not None:
            return found
        base = await self.references.tenant_base(tenant)
        if base is None:
            raise PermanentDeliveryError(
                "no Teams installation is known in this person's organisation: install huddlebot in a team "
                "or set MICROSOFT_APP_TENANT_ID / HUDDLEBOT_TEAMS_TENANTS"
            )
        tenant_id = tenant or base.tenant_id
        parameters = {
            "isGroup": False,
            "bot": {"id": base.bot_id},
            "members": [{"id": user_id}],
            "tenantId": tenant_id,
            "channelData": {"tenant": {"id": tenant_id}},
        }
        await self._tenants.take(tenant_id)
        try:
            conversation_id = await self.connector.create_conversation(base.service_url, parameters)
        except ConnectorError as error:
            raise self._failure(error, None, "open a chat") from None
        if not conversation_id:
            raise TransientDeliveryError("Teams created a chat but returned no id")
        target = Target(conversation_id, base.service_url, base.bot_id, tenant_id, "personal")
        if not (isinstance(view, ReporterUpdate) and view.event == "nudge"):
            # A sealed nudge's chat is kept nowhere: it would tie the anonymous reporter to this moment.
            await self.references.opened(tenant_id=tenant, user_id=user_id, target=target)
        return target

    # --- pacing and failures ----------------------------------------------------------------------

    def _activity(
        self,
        view: View,
        target: Target,
        conversation: str,
        *,
        activity_id: str | None = None,
        compact: bool = False,
    ) -> dict[str, Any]:
        threaded = target.kind == "channel"  # a personal or group chat has no threads
        return cards.message(
            cards.compact(view, threaded=threaded) if compact else cards.render(view, threaded=threaded),
            summary=cards.summary_of(view),
            more=cards.where_to_read(view),
            envelope=cards.envelope(
                bot_id=target.bot_id, conversation_id=conversation, activity_id=activity_id
            ),
        )

    async def _deliver(
        self,
        doing: str,
        target: Target,
        view: View,
        call: Callable[[dict[str, Any]], Awaitable[T]],
        *,
        conversation: str,
        activity_id: str | None = None,
    ) -> T:
        """Send the view; if Teams refuses its card (400, 413), once more in compact form, then give up.

        Those refusals would come back the same tomorrow: retrying them as transient would only delay
        the dead letter the admin needs to see.
        """
        await self._tenants.take(target.tenant_id)
        try:
            result = await call(self._activity(view, target, conversation, activity_id=activity_id))
        except ConnectorError as error:
            if error.status not in REFUSED_CONTENT:
                raise self._failure(error, target, doing) from None
            refused = error
        else:
            self._count(target.conversation_id)
            return result
        # Kinds, statuses and channel ids only: never the message's text or a person.
        log.warning(
            "Teams refused a %s on %s to %s (%s %s): sending a compact version instead",
            getattr(view, "kind", "message"),
            doing,
            _where(target),
            refused.status,
            refused.code or "no code",
        )
        await self._tenants.take(target.tenant_id)
        try:
            result = await call(
                self._activity(view, target, conversation, activity_id=activity_id, compact=True)
            )
        except ConnectorError as error:
            if error.status not in REFUSED_CONTENT:
                raise self._failure(error, target, doing) from None
            log.warning(
                "Teams admin: cannot %s %s: Teams refused the message and its compact version (%s %s)",
                doing,
                _where(target),
                error.status,
                error.code or "no code",
            )
            raise PermanentDeliveryError(
                f"Teams {refused.status} ({refused.code or 'no code'}) on {doing} to {_where(target)}, "
                f"and {error.status} ({error.code or 'no code'}) for its compact version: Teams refuses "
                "this message (too large or not a card it accepts)"
            ) from None
        self._count(target.conversation_id)
        return result

    def _count(self, conversation_id: str) -> None:
        sent = self._sent[conversation_id]
        sent.append(time.monotonic())
        if len(sent) > HOURLY_CAP:
            sent.popleft()

    def _failure(
        self, error: ConnectorError, target: Target | None, doing: str
    ) -> TransientDeliveryError | PermanentDeliveryError:
        where = _where(target)
        what = f"Teams {error.status or error.code} ({error.code or 'no code'}) on {doing} to {where}"
        if error.status in TRANSIENT_STATUSES:
            return TransientDeliveryError(what, retry_after=error.retry_after)
        if error.status == 401:
            log.error(
                "Teams rejected huddlebot's token (401): check MICROSOFT_APP_ID / MICROSOFT_APP_PASSWORD / "
                "MICROSOFT_APP_TYPE / MICROSOFT_APP_TENANT_ID"
            )
            return TransientDeliveryError(what)
        advice = {
            "BotNotInConversationRoster": "huddlebot was removed from there; add the app again",
            "ConversationBlockedByUser": "the person blocked huddlebot",
            "BotDisabledByAdmin": "an administrator disabled huddlebot in Teams",
        }.get(error.code or "", "not found" if error.status == 404 else "refused")
        log.warning("Teams admin: cannot %s %s: %s (%s, %s)", doing, where, advice, error.status, error.code)
        return PermanentDeliveryError(f"{what}: {advice}")
