"""Everything huddlebot takes from the Bot Framework SDK (botbuilder), and the only module importing it.

The SDK is archived upstream (its successor is the Microsoft 365 Agents SDK), so what we use of it is
kept small and behind two plain classes:

* ``BotAuth`` checks the JWT Teams sends with every activity, with the SDK's own validation
  (``ConfigurationBotFrameworkAuthentication``, the object ``CloudAdapter`` uses) for MultiTenant,
  SingleTenant and UserAssignedMSI registrations. Its failures, whatever the SDK raises, are
  ``AuthenticationFailed``: a 401, never a 500. The signing keys are fetched with aiohttp in the
  background, so the SDK's blocking ``requests`` refresh never runs on the event loop.
* ``TokenSource`` gets the bot's outbound access token from the SDK's credential factory (MSAL, a
  blocking call, run in a thread and cached until shortly before it expires).

Everything else (the Activity protocol, the Bot Connector REST calls) huddlebot speaks itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
import jwt
from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity, ChannelAccount
from botframework.connector.auth import AuthenticationConstants, JwtTokenExtractor

log = logging.getLogger("huddlebot.teams.auth")

KEY_REFRESH_SECONDS = 6 * 3600
KEY_RETRY_SECONDS = 30
UNKNOWN_KEY_REFRESH_SECONDS = 300  # an unknown key id refreshes the keys at most this often


class AuthenticationFailed(Exception):
    """The request is not from the Bot Framework for this bot. ``reason`` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Credentials:
    """The Azure Bot registration's credentials (``MICROSOFT_APP_*``)."""

    app_id: str
    password: str | None
    app_type: str  # MultiTenant | SingleTenant | UserAssignedMSI
    tenant_id: str | None


def _sdk_configuration(credentials: Credentials | None) -> SimpleNamespace:
    if credentials is None:
        return SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant", APP_TENANTID=None)
    return SimpleNamespace(
        APP_ID=credentials.app_id,
        APP_PASSWORD=credentials.password or "",
        APP_TYPE=credentials.app_type,
        APP_TENANTID=credentials.tenant_id,
    )


def metadata_urls() -> list[str]:
    """The OpenID metadata documents whose keys sign tokens to a bot (read at call time: tests patch them)."""
    return [
        AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
        AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
    ]


class BotAuth:
    """Authenticates inbound activities with the SDK; ``None`` credentials means development, no auth."""

    def __init__(self, credentials: Credentials | None) -> None:
        self.credentials = credentials
        self._sdk = ConfigurationBotFrameworkAuthentication(_sdk_configuration(credentials))
        self._last_unknown_key_refresh = 0.0
        self._refresher: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def disabled(self) -> bool:
        """True when running without credentials (development only)."""
        return self.credentials is None

    async def authenticate(self, activity: dict[str, Any], authorization: str | None) -> dict[str, Any]:
        """The token's claims; ``AuthenticationFailed`` for anything that is not a valid token for us."""
        if self.disabled:
            return {}
        if not authorization:
            raise AuthenticationFailed("no Authorization header")
        recipient = activity.get("recipient") if isinstance(activity.get("recipient"), dict) else {}
        probe = Activity(
            type=str(activity.get("type") or ""),
            channel_id=str(activity.get("channelId") or ""),
            service_url=str(activity.get("serviceUrl") or ""),
            recipient=ChannelAccount(id=str(recipient.get("id") or ""), role=recipient.get("role")),
        )
        try:
            try:
                result = await self._sdk.authenticate_request(probe, authorization)
            except IndexError:  # the SDK's way of saying "no such key id": keys rotate, look once more
                if not await self._refresh_for_unknown_key():
                    raise
                result = await self._sdk.authenticate_request(probe, authorization)
        except PermissionError as error:
            raise AuthenticationFailed(_first_line(error)) from None
        except IndexError:
            raise AuthenticationFailed("token signed with an unknown key") from None
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("token expired") from None
        except Exception as error:  # the SDK raises bare Exceptions for bad algorithms and endorsements
            raise AuthenticationFailed(
                f"token rejected ({type(error).__name__}: {_first_line(error)})"
            ) from None
        identity = result.claims_identity
        if identity is None or not identity.is_authenticated:
            raise AuthenticationFailed("token not authenticated")
        return dict(identity.claims or {})

    # --- signing keys -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the signing keys and keep them fresh (nothing to do without credentials)."""
        if self.disabled or self._refresher is not None:
            return
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        await self.refresh_keys()
        self._refresher = asyncio.create_task(self._refresh_forever(), name="teams-signing-keys")

    async def close(self) -> None:
        """Stop refreshing keys."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def refresh_keys(self) -> bool:
        """Fetch every metadata document's keys into the SDK's cache; False if one failed."""
        ok = True
        for url in metadata_urls():
            metadata = JwtTokenExtractor.get_open_id_metadata(url)
            try:
                metadata.keys = await self._fetch_keys(url)
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
                ok = False
                log.error("could not load Bot Framework signing keys from %s (%s)", url, type(error).__name__)
            # Marked fresh either way: the SDK would otherwise refetch with blocking I/O on the event loop.
            metadata.last_updated = datetime.now()
        return ok

    async def _fetch_keys(self, url: str) -> list[dict[str, Any]]:
        session = self._session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        try:
            async with session.get(url) as response:
                response.raise_for_status()
                jwks_uri = (await response.json(content_type=None))["jwks_uri"]
            async with session.get(jwks_uri) as response:
                response.raise_for_status()
                keys = (await response.json(content_type=None))["keys"]
        finally:
            if session is not self._session:
                await session.close()
        if not isinstance(keys, list):
            raise ValueError("keys is not a list")
        return keys

    async def _refresh_forever(self) -> None:
        delay = KEY_REFRESH_SECONDS
        while True:
            await asyncio.sleep(delay)
            delay = KEY_REFRESH_SECONDS if await self.refresh_keys() else KEY_RETRY_SECONDS

    async def _refresh_for_unknown_key(self) -> bool:
        """Keys rotate: an unknown key id may be a new key. Look again, but not on every bad token."""
        now = time.monotonic()
        if now - self._last_unknown_key_refresh < UNKNOWN_KEY_REFRESH_SECONDS:
            return False
        self._last_unknown_key_refresh = now
        return await self.refresh_keys()


class TokenSource:
    """The bot's outbound access token for the Bot Connector; None in development (no credentials)."""

    def __init__(self, credentials: Credentials | None) -> None:
        self.credentials = credentials
        self._factory = (
            ConfigurationServiceClientCredentialFactory(_sdk_configuration(credentials))
            if credentials is not None
            else None
        )
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str | None:
        """A valid token, refreshed five minutes before it expires."""
        if self._factory is None or self.credentials is None:
            return None
        if self._token and time.time() < self._expires - 300:
            return self._token
        async with self._lock:
            if self._token and time.time() < self._expires - 300:
                return self._token
            sdk_credentials = await self._factory.create_credentials(
                self.credentials.app_id,
                AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
                AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX,
                True,
            )
            token = await asyncio.to_thread(sdk_credentials.get_access_token)
            self._token, self._expires = token, _expiry(token)
            return token

    def invalidate(self) -> None:
        """Forget the cached token (the Bot Connector said 401)."""
        self._token, self._expires = None, 0.0


def _expiry(token: str) -> float:
    try:
        return float(jwt.decode(token, options={"verify_signature": False}).get("exp", 0))
    except jwt.PyJWTError:
        return time.time() + 600


def _first_line(error: BaseException) -> str:
    text = str(error.args[0]) if error.args else type(error).__name__
    return text.splitlines()[0][:200] if text else type(error).__name__
