"""aiohttp refuses a request it cannot parse (a duplicate Content-Type, a broken header) with a 400 before
any route sees it, and logs the parser's exception with its traceback at ERROR: anybody could write
tracebacks into the log. This turns that into one line at INFO, for every route of the one web app.
"""

from __future__ import annotations

import logging
import re

from aiohttp.http_exceptions import HttpProcessingError

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
