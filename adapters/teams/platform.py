"""The Teams platform as the composition root sees it: its Messenger, its route, its clean-up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from adapters.teams.bot import TeamsBot
from adapters.teams.connector import BotConnector
from adapters.teams.endpoint import messages_handler
from adapters.teams.messenger import TeamsMessenger
from adapters.teams.options import TeamsOptions
from adapters.teams.references import ConversationStore, References
from adapters.teams.sdk import BotAuth, Credentials, TokenSource

if TYPE_CHECKING:
    from aiohttp import web

    from bot.bootstrap import App

log = logging.getLogger("huddlebot.teams")

ROUTE = "/api/messages"


class TeamsPlatform:
    """Microsoft Teams: ``POST /api/messages`` and a Messenger, on one Bot Connector session."""

    name = "teams"

    def __init__(
        self,
        options: TeamsOptions,
        *,
        store: ConversationStore | None = None,
        store_factory: Callable[[App], ConversationStore] | None = None,
        token_source: TokenSource | None = None,
    ) -> None:
        self.options = options
        self.tenant = options.tenant
        credentials = (
            Credentials(options.app_id, options.password, options.app_type, options.tenant_id)
            if options.app_id
            else None
        )
        self.auth = BotAuth(credentials)
        self.tokens = token_source or TokenSource(credentials)
        self.connector = BotConnector(token=self.tokens.token, on_unauthorized=self.tokens.invalidate)
        self.references = References(store)
        self._store_factory = store_factory
        self.messenger = TeamsMessenger(
            self.connector, self.references, interval=options.interval, tenant_rate=options.tenant_rate
        )
        self.bot: TeamsBot | None = None

    def install(self, web_app: web.Application, app: App) -> None:
        """Add ``POST /api/messages`` and the start-up that loads the token signing keys."""
        if self.references.store is None and self._store_factory is not None:
            self.references.store = self._store_factory(app)
        self.bot = TeamsBot(
            app.core,
            connector=self.connector,
            references=self.references,
            messenger=self.messenger,
            sign_in=getattr(app, "sign_in", None),
        )
        web_app.router.add_post(
            ROUTE,
            messages_handler(
                auth=self.auth, handle=self.bot.handle, allowed_tenants=self.options.allowed_tenants
            ),
        )

        async def start(_: web.Application) -> None:
            await self.auth.start()

        web_app.on_startup.append(start)
        if not self.options.authenticated:
            log.warning(
                "\n%s\nMICROSOFT TEAMS WITHOUT AUTHENTICATION: %s accepts activities from anyone.\n"
                "For development only. Set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD (see the README)."
                "\n%s",
                "!" * 100,
                ROUTE,
                "!" * 100,
            )
        else:
            log.info(
                "Microsoft Teams on %s (app %s, %s%s)",
                ROUTE,
                self.options.app_id,
                self.options.app_type,
                f", tenants {', '.join(sorted(self.options.allowed_tenants))}"
                if self.options.allowed_tenants
                else "",
            )

    async def close(self) -> None:
        """Stop the key refresher and close the Bot Connector session."""
        await self.auth.close()
        await self.connector.close()
