"""The Bot Connector REST API, spoken directly over one aiohttp session for the life of the process.

Why not the SDK's ``ConnectorClient``: it is built on msrest, whose per-call pipeline setup is most
of ``CloudAdapter``'s ~7 ms of CPU per message (and ``CloudAdapter`` builds a new client, hence a new
TCP connection, for every turn); its retry policy sleeps inside the call on 429. Here every call is
one request on a pooled keep-alive connection, and a failure comes back as ``ConnectorError`` with the
status, the error code and ``Retry-After``, so the outbox (not a hidden retry loop) decides what next.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from adapters.teams import wire

log = logging.getLogger("huddlebot.teams.connector")

TokenGetter = Callable[[], Awaitable[str | None]]


class ConnectorError(Exception):
    """The Bot Connector refused or failed a call. Never carries message content or personal data."""

    def __init__(
        self, status: int, code: str | None, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {code or ''} {message}".strip())
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


async def _no_token() -> str | None:
    return None


class BotConnector:
    """Send, reply, update, create conversations and list a team's channels."""

    def __init__(
        self,
        *,
        token: TokenGetter = _no_token,
        on_unauthorized: Callable[[], None] | None = None,
        timeout: float = 15.0,
        connections: int = 100,
    ) -> None:
        self._token = token
        self._on_unauthorized = on_unauthorized
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The one HTTP session (made on first use, inside the running event loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=60),
                headers={"User-Agent": "huddlebot (Microsoft Teams)"},
                json_serialize=wire.dumps,  # the bytes a card is measured in are the bytes sent
            )
        return self._session

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, service_url: str, conversation_id: str, activity: dict[str, Any]) -> str:
        """Post ``activity`` to a conversation (a channel id starts a new thread); returns its id."""
        body = await self._call(
            "POST", service_url, f"v3/conversations/{_q(conversation_id)}/activities", activity
        )
        return str((body or {}).get("id") or "")

    async def reply(
        self, service_url: str, conversation_id: str, reply_to_id: str, activity: dict[str, Any]
    ) -> str:
        """Reply to an activity (the Bot Framework's reply-to-activity call); returns the new id."""
        path = f"v3/conversations/{_q(conversation_id)}/activities/{_q(reply_to_id)}"
        body = await self._call("POST", service_url, path, {**activity, "replyToId": reply_to_id})
        return str((body or {}).get("id") or "")

    async def update(
        self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any]
    ) -> None:
        """Replace a message the bot posted (update-activity)."""
        path = f"v3/conversations/{_q(conversation_id)}/activities/{_q(activity_id)}"
        await self._call("PUT", service_url, path, {**activity, "id": activity_id})

    async def create_conversation(self, service_url: str, parameters: dict[str, Any]) -> str:
        """Create (or find: Teams answers with the existing one) a conversation; returns its id."""
        body = await self._call("POST", service_url, "v3/conversations", parameters)
        return str((body or {}).get("id") or "")

    async def team_channels(self, service_url: str, team_id: str) -> list[dict[str, Any]]:
        """The channels of a team the bot is installed in (``id`` and ``name``; General has no name)."""
        body = await self._call("GET", service_url, f"v3/teams/{_q(team_id)}/conversations", None)
        channels = (body or {}).get("conversations")
        return (
            [c for c in channels if isinstance(c, dict) and c.get("id")] if isinstance(channels, list) else []
        )

    async def _call(
        self, method: str, service_url: str, path: str, payload: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        url = URL(service_url.rstrip("/") + "/" + path, encoded=True)
        headers = {}
        token = await self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self.session.request(method, url, json=payload, headers=headers) as response:
                raw = await response.read()
                if response.status < 300:
                    return _json(raw)
                error = _error(response.status, raw, response.headers.get("Retry-After"))
        except aiohttp.ClientError as exc:
            raise ConnectorError(0, "network", type(exc).__name__) from None
        except TimeoutError:
            raise ConnectorError(0, "timeout", "no answer in time") from None
        if error.status == 401 and self._on_unauthorized is not None:
            self._on_unauthorized()  # a revoked or expired token: the next call fetches a new one
        raise error


def _q(part: str) -> str:
    return quote(part, safe="")


def _json(raw: bytes) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _error(status: int, raw: bytes, retry_after: str | None) -> ConnectorError:
    body = _json(raw) or {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    code = error.get("code") if isinstance(error.get("code"), str) else None
    # The message is the service's own wording (no message content); keep it short for the logs.
    message = str(error.get("message") or "")[:160].replace("\n", " ")
    return ConnectorError(status, code, message, retry_after=_retry_after(retry_after))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
