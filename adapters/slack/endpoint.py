"""``POST /slack/events``: commands, interactivity and events on one URL, as Bolt serves them.

In order, and each step only once the one before said yes: the signature, on the raw bytes
(``signature.py``: a 401 and one log line naming why); the payload's shape (``payloads.py``: a 400, or a
kind answer where a person waits, and one log line naming the field); then Bolt, given the payload that
was checked. Nothing here logs a body.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack.payloads import Verdict, check_http
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


def events_handler(bolt: AsyncApp, check: SignatureCheck):
    """The aiohttp handler for ``PATH``."""

    async def slack_events(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        problem = check.problem(body, request.headers)
        if problem is not None:
            log.info("slack: refused a request to %s: %s", PATH, problem)
            return web.json_response({"error": "invalid request"}, status=401)
        verdict = check_http(body, request.headers.get("Content-Type"))
        if not verdict.accepted:
            return answer(verdict)
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request(verdict, request)))

    return slack_events


# aiohttp refuses a request it cannot parse (a duplicate Content-Type, a broken header) with a 400 before
# any route sees it, and logs the parser's exception with its traceback at ERROR: anybody could write
# tracebacks into the log. One line at INFO, naming the parser's complaint only when it names a header.
_HEADER = re.compile(r"Duplicate '([A-Za-z0-9-]{1,64})' header found\.")


class _QuietParserErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        named = _HEADER.search(str(getattr(error, "message", "")))
        what = f"duplicate {named.group(1)} header" if named else "malformed request"
        record.msg, record.args = (
            "http: refused a request aiohttp could not parse (400): %s (%s)",
            (
                what,
                type(error).__name__,
            ),
        )
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def quiet_parser_errors() -> None:
    """Install the filter on aiohttp's server logger (once)."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _QuietParserErrors) for f in logger.filters):
        logger.addFilter(_QuietParserErrors())
