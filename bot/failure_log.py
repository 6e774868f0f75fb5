"""Logging a failure that repeats (the database away for an hour) without flooding the log."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("huddlebot")


class FailureLog:
    """Says once that something keeps failing, then at most once a minute with a count, then when over.

    A database that is down for an hour writes a few lines, not thousands of tracebacks.
    """

    def __init__(self, what: str, *, logger: logging.Logger | None = None, every: float = 60.0) -> None:
        self.what, self.every = what, every
        self.log = logger or log
        self.failures = 0
        self._since = 0.0
        self._said = 0.0
        self._counted = 0

    def failed(self, error: BaseException, *, traceback: bool = False) -> None:
        """Count a failure; log it if it is the first (with its traceback if asked) or first in a minute.

        Engines hide statement parameters, so a traceback carries no concern text.
        """
        now = time.monotonic()
        self.failures += 1
        # The type only: a database error's text can carry the statement's parameters (a concern).
        kind = type(error).__name__
        if self.failures == 1:
            self._since = self._said = now
            self._counted = 0
            self.log.warning(
                "%s failed (%s); retrying until it works",
                self.what,
                kind,
                exc_info=error if traceback else None,
            )
        elif now - self._said >= self.every:
            self.log.warning(
                "%s still failing (%s): %d failures in the last %.0f s",
                self.what,
                kind,
                self.failures - self._counted,
                now - self._said,
            )
            self._said, self._counted = now, self.failures

    def worked(self) -> None:
        """It works (again): say so if it had failed."""
        if self.failures:
            self.log.warning(
                "%s works again after %d failure(s) over %.1f s",
                self.what,
                self.failures,
                time.monotonic() - self._since,
            )
        self.failures = 0
