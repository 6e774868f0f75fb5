"""``POST /api/messages``: authenticate, check the tenant, hand the activity to the bot, answer.

Every authentication failure is a 401 (a tenant not on the allowlist a 403), whatever the SDK
raised; nothing is stored or logged from a request that failed them. A failure of our own is a 500
for a message (Teams sends it again, and the event key makes that harmless) but never for auth.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.teams.activity import read
from adapters.teams.bot import Outcome
from adapters.teams.sdk import AuthenticationFailed, BotAuth

log = logging.getLogger("huddlebot.teams.http")

Handler = Callable[[dict[str, Any]], Awaitable[Outcome]]


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def messages_handler(
    *, auth: BotAuth, handle: Handler, allowed_tenants: frozenset[str]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for ``POST /api/messages``."""

    async def messages(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return _problem(415, "expected application/json")
        try:
            activity = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return _problem(400, "the body is not JSON")
        if not isinstance(activity, dict) or not isinstance(activity.get("type"), str):
            return _problem(400, "the body is not an Activity")
        try:
            await auth.authenticate(activity, request.headers.get("Authorization"))
        except AuthenticationFailed as failure:
            log.warning("rejected a request to /api/messages: %s", failure.reason)
            return _problem(401, "unauthorized")
        except Exception as error:  # never a 500 for an authentication problem
            log.warning("rejected a request to /api/messages: authentication error %s", type(error).__name__)
            return _problem(401, "unauthorized")
        if allowed_tenants:
            tenant = read(activity).tenant
            if tenant not in allowed_tenants:
                log.warning(
                    "rejected an activity from tenant %s: not in HUDDLEBOT_TEAMS_TENANTS",
                    tenant[:64] or "(none)",
                )
                return _problem(403, "this organisation is not allowed to use this huddlebot")
        try:
            outcome = await handle(activity)
        except Exception:
            log.exception("a Teams %s activity failed", activity.get("type"))
            if activity.get("type") == "invoke":
                # Teams shows the person an error; the invoke is not retried.
                return web.json_response(
                    {
                        "statusCode": 500,
                        "type": "application/vnd.microsoft.error",
                        "value": {
                            "code": "InternalError",
                            "message": "Something went wrong. Please try again.",
                        },
                    }
                )
            return _problem(500, "internal error")
        if outcome.body is not None:
            return web.json_response(outcome.body, status=outcome.status, dumps=_dumps)
        return web.Response(status=outcome.status)

    return messages


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
