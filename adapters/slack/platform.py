"""Slack, wired: one Web API client on one HTTP session, the Bolt app, HTTP or Socket Mode.

``connect(settings)`` checks the token (``auth.test``, which also names the workspace: the tenant);
``SlackPlatform.install`` adds ``POST /slack/events`` to the one aiohttp app and, when
``SLACK_APP_TOKEN`` is set, opens a Socket Mode connection instead of waiting for Slack's HTTP calls.
Every Web API call goes to ``SLACK_API_URL`` (Slack's by default; GovSlack or a proxy otherwise).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.endpoint import PATH, events_handler
from adapters.slack.listeners import SlackListeners
from adapters.slack.messenger import SlackMessenger
from adapters.slack.signature import SignatureCheck
from bot.settings import Settings

if TYPE_CHECKING:
    from aiohttp import web

    from adapters.slack.socket_mode import CheckedSocketModeHandler
    from bot.bootstrap import App

log = logging.getLogger("huddlebot.slack")

# Bolt and the SDK log request and response bodies at DEBUG (and a few at INFO and WARNING).
# A concern's text must never reach a log, so their loggers stay at WARNING and a filter cuts what
# is left of a payload from the few lines that would carry one.
_PAYLOAD_LINES = (
    "Unhandled request",
    "A global middleware",
    "Invalid request signature",
    "Unsuccessful Bolt execution",
    "Failed to run listener function",
    "Failed to run a middleware function",
    "Failed to run a request listener",
    "Failed to run a message listener",
    "Failed to process a message",
)


class _NoPayloads(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return False
        message = record.getMessage()
        if message.startswith("As you gave `client`"):  # Bolt also read SLACK_BOT_TOKEN; the client has it
            return False
        for prefix in _PAYLOAD_LINES:
            if message.startswith(prefix):
                kind = type(record.exc_info[1]).__name__ if record.exc_info and record.exc_info[1] else ""
                record.msg = f"{prefix} (details withheld: they may carry personal data) {kind}".rstrip()
                record.args, record.exc_info, record.exc_text = (), None, None
        return True


def bolt_logger() -> logging.Logger:
    """The logger handed to Bolt (and copied by Bolt onto its own): WARNING and above, no payloads."""
    logger = logging.getLogger("huddlebot.slack.bolt")
    logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _NoPayloads) for f in logger.filters):
        logger.addFilter(_NoPayloads())
    for name in ("slack_bolt", "slack_sdk"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return logger


def web_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    """The Web API client: ``SLACK_API_URL``, the shared session, retries for dropped connections and 5xx.

    No rate-limit handler: a 429 reaches the outbox, which paces that channel (see ``messenger``).
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    web_logger = logging.getLogger("huddlebot.slack.web")
    # At INFO, the SDK neither builds nor logs its DEBUG lines (which hold the whole request).
    web_logger.setLevel(max(logging.INFO, web_logger.getEffectiveLevel()))
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        session=session,
        logger=web_logger,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def http_session() -> aiohttp.ClientSession:
    """The one HTTP session for every Slack call of the process (proxies from the environment apply)."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=15, connect=5),
        connector=aiohttp.TCPConnector(limit=64, ttl_dns_cache=300),
        trust_env=True,
    )


class SlackPlatform:
    """One Slack workspace, served over HTTP (``/slack/events``) or Socket Mode."""

    name = "slack"

    def __init__(
        self,
        *,
        settings: Settings,
        session: aiohttp.ClientSession,
        client: AsyncWebClient,
        tenant: str,
        bot_user_id: str | None = None,
        process_before_response: bool = True,
    ) -> None:
        self.settings, self.session, self.client = settings, session, client
        self.tenant, self.bot_user_id = tenant, bot_user_id
        self.process_before_response = process_before_response
        self.messenger = SlackMessenger(client, tenant_rate=settings.slack_workspace_rate)
        self.bolt: AsyncApp | None = None
        self.listeners: SlackListeners | None = None
        self._socket: CheckedSocketModeHandler | None = None

    def build_bolt(self, app: App) -> AsyncApp:
        """The Bolt app with every listener (``install`` calls it; benchmarks and tests may too)."""
        secret = self.settings.slack_signing_secret
        self.bolt = AsyncApp(
            name="slack_bolt.huddlebot",  # Bolt names a per-request logger after the app: keep it Bolt's
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else "",
            request_verification_enabled=False,  # checked before Bolt sees the request: signature.py
            process_before_response=self.process_before_response,
            logger=bolt_logger(),
        )
        self.listeners = SlackListeners(
            core=app.core, client=self.client, tenant=self.tenant, sign_in=getattr(app, "sign_in", None)
        )
        self.listeners.register(self.bolt)
        return self.bolt

    def install(self, web_app: web.Application, app: App) -> None:
        """Add ``POST /slack/events`` (and, with an app token, the Socket Mode connection)."""
        bolt = self.build_bolt(app)
        secret = self.settings.slack_signing_secret
        if secret:
            web_app.router.add_post(
                PATH, events_handler(bolt, SignatureCheck(secret.get_secret_value()), self.tenant)
            )
        if self.settings.slack_app_token:
            web_app.on_startup.append(self._connect_socket)
            web_app.on_cleanup.append(self._close_socket)

    async def _connect_socket(self, _web_app: web.Application) -> None:
        from adapters.slack.socket_mode import CheckedSocketModeHandler  # the socket client only when used

        assert self.bolt is not None and self.settings.slack_app_token is not None
        self._socket = CheckedSocketModeHandler(
            self.bolt,
            app_token=self.settings.slack_app_token.get_secret_value(),
            logger=bolt_logger(),
            web_client=self.client,
        )
        self._socket.tenant = self.tenant
        await self._socket.connect_async()
        log.info("slack: connected in Socket Mode (workspace %s)", self.tenant)

    async def _close_socket(self, _web_app: web.Application) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None

    async def close(self) -> None:
        """Finish background work, close Socket Mode and the HTTP session."""
        if self.listeners is not None:
            await self.listeners.drain()
        await self._close_socket(None)  # type: ignore[arg-type]
        if not self.session.closed:
            await self.session.close()


class SlackSetupError(Exception):
    """Slack cannot be served with these settings; the message says what to fix."""


async def connect(settings: Settings, *, process_before_response: bool = True) -> SlackPlatform:
    """Check the token with ``auth.test`` and return the platform for its workspace."""
    if not settings.slack_bot_token or not (settings.slack_signing_secret or settings.slack_app_token):
        raise SlackSetupError(
            "Slack needs SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode)."
        )
    bolt_logger()
    session = http_session()
    client = web_client(settings, session)
    try:
        auth = await client.auth_test()
    except (aiohttp.ClientConnectionError, TimeoutError, OSError) as error:
        await session.close()
        raise SlackSetupError(
            f"could not reach Slack at {settings.slack_api_url} ({type(error).__name__}): check the network, "
            "the proxy (HTTPS_PROXY) and SLACK_API_URL. The token was not checked."
        ) from None
    except Exception as error:
        await session.close()
        code = getattr(getattr(error, "response", None), "get", lambda _k: None)("error")
        raise SlackSetupError(
            f"Slack did not accept SLACK_BOT_TOKEN at {settings.slack_api_url} "
            f"({code or type(error).__name__}). Check the token (it starts with xoxb-) and SLACK_API_URL."
        ) from None
    tenant = str(auth.get("team_id") or "")
    mode = "Socket Mode" if settings.slack_app_token else f"HTTP at {PATH}"
    log.info("slack: workspace %s, bot user %s, %s", tenant, auth.get("user_id"), mode)
    return SlackPlatform(
        settings=settings,
        session=session,
        client=client,
        tenant=tenant,
        bot_user_id=auth.get("user_id"),
        process_before_response=process_before_response,
    )
