"""The one aiohttp app: ``/healthz`` and ``/metrics``; each chat platform adds its own route to it."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.bootstrap import App
from bot.metrics import CONTENT_TYPE

log = logging.getLogger("huddlebot.http")

APP_KEY: web.AppKey[App] = web.AppKey("huddlebot", App)
SCHEDULER_KEY: web.AppKey[Any] = web.AppKey("scheduler", object)


async def _outbox_health(app: App) -> tuple[float, int]:
    """Seconds the oldest due row has waited, and the number of dead letters."""
    async with app.core.uow() as tx:
        oldest, dead = await tx.outbox_stats(now=app.core.now())
    waited = max(0.0, (app.core.now() - oldest).total_seconds()) if oldest else 0.0
    return waited, dead


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers (503 when not); the body says how scheduling and delivery are doing."""
    app = request.app[APP_KEY]
    scheduler = request.app.get(SCHEDULER_KEY)
    body: dict[str, Any] = {"scheduler_running": bool(scheduler and scheduler.running)}
    try:
        waited, dead = await _outbox_health(app)
    except Exception as error:  # the database is down or unreachable
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return web.json_response({"status": "unavailable", **body, "database": "unreachable"}, status=503)
    body.update({"database": "ok", "oldest_due_outbox_seconds": round(waited, 1), "dead_letters": dead})
    return web.json_response({"status": "ok", **body})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format: the process's counters and histograms, and the outbox gauges."""
    app = request.app[APP_KEY]
    try:
        waited, dead = await _outbox_health(app)
        app.core.metrics.outbox_oldest_due.set(waited)
        app.core.metrics.dead_letters.set(dead)
    except Exception as error:
        log.warning("metrics: database unreachable (%s)", type(error).__name__)
    return web.Response(body=app.core.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def make_web_app(app: App) -> web.Application:
    """The web application serving ``app``."""
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app[APP_KEY] = app
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
    return web_app
