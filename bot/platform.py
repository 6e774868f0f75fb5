"""What the composition root needs from a chat platform adapter to serve it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.ports import Messenger

if TYPE_CHECKING:
    from aiohttp import web

    from bot.bootstrap import App


class Platform(Protocol):
    """A served platform: its Messenger, its tenant, and the routes it adds to the web app."""

    name: str  # "slack", "teams"
    tenant: str  # the Slack team id, the Teams tenant id ("" if it serves several)
    messenger: Messenger

    def install(self, web_app: web.Application, app: App) -> None:
        """Add the platform's routes (and start-up/clean-up hooks) to ``web_app``."""
        ...

    async def close(self) -> None:
        """Release sessions and connections."""
        ...
