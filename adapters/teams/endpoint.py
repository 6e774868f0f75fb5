"""``POST /api/messages``: read, authenticate, check the shape, check the tenant, hand the activity to
the bot, answer.

Every authentication failure is a 401 (a tenant not on the allowlist a 403), whatever the SDK
raised; nothing is stored from a request that failed them. A body that is too large (413), not JSON,
nested too deep, or an activity whose shape is not what huddlebot reads (``payloads``) is a 400 and
one log line naming the kind and the field, never a value; an invoke gets Teams' error response. A
failure of our own is a 500 for a message (Teams sends it again, and the event key makes that
harmless), never for bad input.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from adapters.teams import payloads
from adapters.teams.activity import read
from adapters.teams.bot import Outcome
from adapters.teams.payloads import Problem
from adapters.teams.sdk import AuthenticationFailed, BotAuth

log = logging.getLogger("huddlebot.teams.http")

Handler = Callable[[dict[str, Any]], Awaitable[Outcome]]


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _refused(problem: Problem) -> web.Response:
    """A wrong shape: one log line (kind and field, no value), a 4xx; for an invoke, Teams' error body."""
    log.warning("refused a Teams %s: %s", problem.kind, problem.describe())
    if problem.invoke:
        return web.json_response(
            {
                "statusCode": problem.status,
                "type": "application/vnd.microsoft.error",
                "value": {
                    "code": "BadRequest",
                    "message": "huddlebot could not read this request. Nothing was changed.",
                },
            },
            status=problem.status,
        )
    return _problem(problem.status, f"{problem.kind}: {problem.describe()}")


def messages_handler(
    *, auth: BotAuth, handle: Handler, allowed_tenants: frozenset[str]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for ``POST /api/messages``."""

    async def messages(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return _problem(415, "expected application/json")
        if (request.content_length or 0) > payloads.MAX_BODY_BYTES:
            return _refused(Problem("request", "", "is too large", status=413))
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refused(Problem("request", "", "is too large", status=413))
        except RequestPayloadError:  # e.g. a Content-Encoding its body is not in
            # Answered and the connection closed here: aiohttp would otherwise read the rest of the broken
            # body after us, and log the same failure as an unhandled exception.
            response = _refused(Problem("request", "", "could not be decoded"))
            await response.prepare(request)
            await response.write_eof()
            request.protocol.force_close()
            return response
        activity = payloads.parse(body)
        if isinstance(activity, Problem):
            return _refused(activity)
        try:
            await auth.authenticate(activity, request.headers.get("Authorization"))
        except AuthenticationFailed as failure:
            log.warning("rejected a request to /api/messages: %s", failure.reason)
            return _problem(401, "unauthorized")
        except Exception as error:  # never a 500 for an authentication problem
            log.warning("rejected a request to /api/messages: authentication error %s", type(error).__name__)
            return _problem(401, "unauthorized")
        problem = payloads.check(activity)
        if problem is not None:
            return _refused(problem)
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
            log.exception("a Teams %s activity failed", payloads.kind_of(activity))
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
