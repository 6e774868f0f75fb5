"""``POST /slack/events``: commands, interactivity and events on one URL, as Bolt serves them.

In order, and each step only once the one before said yes: the signature, on the raw bytes
(``signature.py``: a 401 and one log line naming why); the payload's shape (``payloads.py``: a 400, or a
kind answer where a person waits, and one log line naming the field); then Bolt, given the payload that
was checked. Nothing here logs a body.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack.payloads import Verdict, check_http, for_this_workspace
from adapters.slack.signature import SignatureCheck

log = logging.getLogger("huddlebot.slack")

PATH = "/slack/events"


def bolt_request(verdict: Verdict, request: web.Request) -> AsyncBoltRequest:
    """The checked payload as Bolt's request: Bolt dispatches the very dict that was checked, not its own
    second reading of the body (which takes a command whose text says "payload" for an empty body)."""
    assert verdict.payload is not None
    # Bolt takes a body already read only in its Socket Mode shape; ``mode`` is read by nothing else here
    # (its signature check is off, there are no lazy listeners), so the request is then said to be HTTP.
    bolt = AsyncBoltRequest(
        body=verdict.payload, query=request.query_string, headers=dict(request.headers), mode="socket_mode"
    )
    bolt.mode = "http"
    return bolt


def answer(verdict: Verdict) -> web.Response:
    """The response to a payload that was not dispatched (refused, answered kindly, or nothing to do)."""
    if verdict.answer is None:
        return web.Response(status=verdict.status)
    return web.json_response(verdict.answer, status=verdict.status)


def events_handler(bolt: AsyncApp, check: SignatureCheck, tenant: str = ""):
    """The aiohttp handler for ``PATH``."""

    async def slack_events(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        problem = check.problem(body, request.headers)
        if problem is not None:
            log.info("slack: refused a request to %s: %s", PATH, problem)
            return web.json_response({"error": "invalid request"}, status=401)
        verdict = for_this_workspace(check_http(body, request.headers.get("Content-Type")), tenant)
        if not verdict.accepted:
            return answer(verdict)
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request(verdict, request)))

    return slack_events
