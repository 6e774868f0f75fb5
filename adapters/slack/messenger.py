"""The Slack Messenger: renders core views as Block Kit and delivers them with ``chat.postMessage``.

Pacing and retrying belong to the outbox dispatcher, which knows every channel's queue: a 429
becomes ``TransientDeliveryError(retry_after=…)`` for that channel only, instead of the SDK's
rate-limit handler sleeping inside the call (which keeps no per-channel state and reorders messages).
The SDK's own handlers still retry a dropped connection and a 5xx once or twice, inside the call.

A message Slack refuses for its size or layout (``msg_blocks_too_long``, ``invalid_blocks``...) will be
refused again tomorrow: it is sent once more, at once, in its compact form (``blocks.compact``); if
that is refused too, the error is permanent and the outbox dead-letters the row instead of retrying
it for a day.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import compact, fallback_text, render
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.model import Address
from bot.ports import Delivered
from bot.views import View

log = logging.getLogger("huddlebot.slack")

# Errors that will not go away by themselves: the message is dead-lettered and an admin told.
PERMANENT = {
    "not_in_channel": "the bot is not a member of the channel: invite it with /invite @huddlebot",
    "channel_not_found": "the channel does not exist or the bot cannot see it: check the channel id",
    "is_archived": "the channel is archived: unarchive it or change the organisation file",
    "account_inactive": "the bot's account or the workspace is deactivated",
    "user_not_found": "the person is not in this workspace any more",
    "user_disabled": "the person's account is deactivated",
    "cannot_dm_bot": "the person is a bot",
    "restricted_action": "a workspace setting forbids the bot to post there",
    "message_not_found": "the message to update is gone (deleted?)",
    "cant_update_message": "the message cannot be updated",
    "thread_not_found": "the thread's first message is gone (deleted?)",
    "no_text": "the message was empty (a huddlebot bug: please report it)",
}
# Slack refused the message itself (too long, malformed): sent again once in compact form, then dead.
LAYOUT = {
    "msg_blocks_too_long",
    "msg_too_long",
    "invalid_blocks",
    "invalid_blocks_format",
    "invalid_arguments",
    "too_many_attachments",
}
# The bot's own credentials: fixing them resumes delivery, so these stay due (and loud) rather than dead.
CREDENTIALS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "missing_scope",
    "no_permission",
}
MIN_INTERVAL = 1.0  # chat.postMessage: about one message per second per channel


def _code(error: SlackApiError) -> str:
    """Slack's error code (``channel_not_found``), or ``http_<status>`` when the body had none."""
    if error.response is None:
        return "unknown"
    status = getattr(error.response, "status_code", 0) or 0
    return str(error.response.get("error") or f"http_{status}")


def _where(channel: str | None) -> str:
    """A channel as a log may name it: its id, but never a person's user id."""
    return f"channel {channel}" if channel and channel[:1] in "CGD" else "a direct message"


def delivery_error(error: Exception, *, method: str, channel: str | None) -> Exception:
    """The outbox's view of a failed Web API call: transient (try again later) or permanent."""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 0) or 0
        code = _code(error)
        if status == 429 or code in ("ratelimited", "rate_limited"):
            return TransientDeliveryError(f"slack {method}: rate limited", retry_after=_retry_after(error))
        if code in PERMANENT:
            log.warning("slack: cannot deliver to %s: %s (%s)", _where(channel), code, PERMANENT[code])
            return PermanentDeliveryError(f"slack {method}: {code}: {PERMANENT[code]}")
        if code in CREDENTIALS:
            log.error("slack: %s failed with %s: check SLACK_BOT_TOKEN and the app's scopes", method, code)
            return TransientDeliveryError(f"slack {method}: {code}")
        return TransientDeliveryError(f"slack {method}: {code}")
    if isinstance(error, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return TransientDeliveryError(f"slack {method}: network: {type(error).__name__}")
    return error


def _retry_after(error: SlackApiError) -> float:
    headers = getattr(error.response, "headers", None) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(1.0, float(raw))
    except (TypeError, ValueError):
        return 30.0


class SlackMessenger:
    """Delivers views to Slack channels, threads and direct messages."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient, *, tenant_rate: float | None = None) -> None:
        self.client = client
        # The workspace-wide pace (messages a second) the outbox keeps to, on top of 1/s per channel.
        self.tenant_rate = tenant_rate

    async def post(self, address: Address, view: View) -> Delivered:
        # A user id as the channel posts to the app's direct message with that person (chat:write only).
        channel = address.channel or address.user
        if not channel:
            raise PermanentDeliveryError("no channel or person to post to")
        arguments: dict[str, Any] = {"channel": channel, "unfurl_links": False, "unfurl_media": False}
        if address.thread:
            arguments["thread_ts"] = address.thread
        response = await self._send(
            self.client.chat_postMessage, "chat.postMessage", arguments, view, log_channel=address.channel
        )
        return Delivered(message_ref=str(response["ts"]), channel=str(response["channel"]))

    async def update(self, channel: str, message_ref: str, view: View) -> None:
        arguments: dict[str, Any] = {"channel": channel, "ts": message_ref}
        await self._send(self.client.chat_update, "chat.update", arguments, view, log_channel=channel)

    async def _send(
        self,
        call: Callable[..., Awaitable[Any]],
        method: str,
        arguments: dict[str, Any],
        view: View,
        *,
        log_channel: str | None,
    ) -> Any:
        """One Web API call with the view rendered in full; if Slack refuses the message itself, once
        more at once in compact form; if that is refused too, a permanent error (a dead letter)."""
        try:
            return await call(**arguments, text=fallback_text(view), blocks=render(view))
        except SlackApiError as error:
            code = _code(error)
            if code not in LAYOUT:
                raise delivery_error(error, method=method, channel=log_channel) from None
        except Exception as error:
            raise delivery_error(error, method=method, channel=log_channel) from None
        # Only the method, the code and where: never the message's text (it may be a concern).
        log.warning(
            "slack: %s refused a %s to %s (%s); sending its compact form",
            method,
            type(view).__name__,
            _where(log_channel),
            code,
        )
        try:
            return await call(**arguments, text=fallback_text(view), blocks=compact(view))
        except SlackApiError as error:
            again = _code(error)
            if again not in LAYOUT:
                raise delivery_error(error, method=method, channel=log_channel) from None
            raise PermanentDeliveryError(
                f"slack {method}: {code}, and {again} for its compact form too: Slack refused the "
                "message itself (a huddlebot bug: please report it)"
            ) from None
        except Exception as error:
            raise delivery_error(error, method=method, channel=log_channel) from None

    def min_interval(self, address: Address) -> float:
        return MIN_INTERVAL
