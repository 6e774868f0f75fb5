"""``POST /slack/events``: commands, interactivity and events on one URL, as Bolt serves them.

The signature is checked on the raw bytes first (``signature.py``); only then does Bolt's aiohttp
adapter (two translation functions) turn the request into a Bolt request and the answer back.
A request that fails the check gets a 401 and one log line naming why, never its body.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from adapters.slack.signature import SignatureCheck

log = logging.getLogger("huddlebot.slack")

PATH = "/slack/events"


def events_handler(bolt: AsyncApp, check: SignatureCheck):
    """The aiohttp handler for ``PATH``."""

    async def slack_events(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        problem = check.problem(body, request.headers)
        if problem is not None:
            log.info("slack: refused a request to %s: %s", PATH, problem)
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = await to_bolt_request(request)
        except Exception as error:  # signed, yet unreadable (not UTF-8, a broken payload): never a 500
            log.warning("slack: a signed request could not be read (%s)", type(error).__name__)
            return web.json_response({"error": "unreadable request"}, status=400)
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return slack_events
