"""The aiohttp app: ``/healthz`` now; the Slack and Teams adapters add their routes to it."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.bootstrap import App
from bot.model import OutboxStatus

log = logging.getLogger("huddlebot.http")

APP_KEY: web.AppKey[App] = web.AppKey("huddlebot", App)
SCHEDULER_KEY: web.AppKey[Any] = web.AppKey("scheduler", object)


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers; the body says how delivery is doing."""
    app = request.app[APP_KEY]
    scheduler = request.app.get(SCHEDULER_KEY)
    body: dict[str, Any] = {"scheduler_running": bool(scheduler and scheduler.running)}
    try:
        async with app.core.uow() as tx:
            pending = await tx.outbox_items(status=OutboxStatus.PENDING, limit=1)
            dead = await tx.outbox_items(status=OutboxStatus.DEAD, limit=10_000)
    except Exception as error:  # the database is down or unreachable
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return web.json_response({**body, "database": "unreachable"}, status=503)
    now = app.core.now()
    oldest = (
        max(0.0, (now - pending[0].due_at).total_seconds()) if pending and pending[0].due_at <= now else 0.0
    )
    body.update({"database": "ok", "oldest_due_outbox_seconds": round(oldest, 1), "dead_letters": len(dead)})
    return web.json_response({"status": "ok", **body})


def make_web_app(app: App) -> web.Application:
    """The web application serving ``app``."""
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app[APP_KEY] = app
    web_app.router.add_get("/healthz", healthz)
    return web_app
