"""The one aiohttp app: ``/healthz``, ``/metrics``, the dashboard; each chat platform adds its own route."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from adapters.http.parser_errors import quiet_parser_errors
from adapters.web.app import install as install_dashboard
from adapters.web.speak_up import install as install_speak_up
from bot.bootstrap import App
from bot.failure_log import FailureLog
from bot.metrics import CONTENT_TYPE

log = logging.getLogger("huddlebot.http")

# Monitoring asks every few seconds: a database that is down for an hour must not write a line each time.
_DATABASE_FAILURES = FailureLog("health check: reaching the database", logger=log)

APP_KEY: web.AppKey[App] = web.AppKey("huddlebot", App)
SCHEDULER_KEY: web.AppKey[Any] = web.AppKey("scheduler", object)


async def _outbox_health(app: App) -> tuple[float, int]:
    """Seconds the oldest due row (of a platform this process delivers to) has waited, and dead letters.

    A row's due time stays when it first fell due through every retry, so this is the real wait.
    """
    async with app.core.uow() as tx:
        oldest, dead = await tx.outbox_stats(now=app.core.now(), platforms=list(app.dispatcher.messengers))
    waited = max(0.0, (app.core.now() - oldest).total_seconds()) if oldest else 0.0
    return waited, dead


async def healthz(request: web.Request) -> web.Response:
    """200 when this replica can do its job; 503 with the reasons when it cannot.

    It cannot when the database does not answer, when (in a serving process) the scheduler or the
    delivery loop is not running, or when the oldest due message has waited longer than
    ``HUDDLEBOT_HEALTH_MAX_LAG`` seconds: accepted concerns are then not reaching their leaders.
    """
    app = request.app[APP_KEY]
    jobs = request.app.get(SCHEDULER_KEY)
    problems: list[str] = []
    body: dict[str, Any] = {}
    if jobs is not None:
        body["scheduler_running"] = bool(jobs.running)
        body["delivery_running"] = app.dispatcher.running
        if not jobs.running:
            problems.append("the scheduler is not running")
        if not app.dispatcher.running:
            problems.append("the delivery loop is not running")
    try:
        waited, dead = await _outbox_health(app)
    except Exception as error:  # the database is down or unreachable
        _DATABASE_FAILURES.failed(error)
        problems.append("the database is unreachable")
        body["database"] = "unreachable"
    else:
        _DATABASE_FAILURES.worked()
        max_lag = app.settings.huddlebot_health_max_lag
        body.update({"database": "ok", "oldest_due_outbox_seconds": round(waited, 1), "dead_letters": dead})
        if waited > max_lag:
            problems.append(f"the oldest due message has waited {waited:.0f} s (limit {max_lag:.0f} s)")
    if problems:
        return web.json_response({"status": "unavailable", "problems": problems, **body}, status=503)
    return web.json_response({"status": "ok", **body})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format: the process's counters and histograms, and the outbox gauges."""
    app = request.app[APP_KEY]
    try:
        waited, dead = await _outbox_health(app)
        app.core.metrics.outbox_oldest_due.set(waited)
        app.core.metrics.dead_letters.set(dead)
    except Exception as error:
        _DATABASE_FAILURES.failed(error)
    return web.Response(body=app.core.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def make_web_app(app: App) -> web.Application:
    """The web application serving ``app``."""
    quiet_parser_errors()
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app[APP_KEY] = app
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
    install_dashboard(web_app, app)
    install_speak_up(web_app, app)
    return web_app
