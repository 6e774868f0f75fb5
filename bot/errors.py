"""Errors the core raises, each carrying a message fit to show the person who caused it."""

from __future__ import annotations


class Refusal(Exception):
    """The request was understood but not carried out; nothing changed.

    ``message`` is kind, plain language for the person; ``code`` is a stable token for logs
    and metrics (it never carries personal data).
    """

    def __init__(self, message: str, *, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class NotFound(Refusal):
    """The thing referred to does not exist (or the person may not know it exists)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="not_found")


class NotAllowed(Refusal):
    """The person is not allowed to do this."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="not_allowed")


class Conflict(Exception):
    """A commit lost a race on a unique key: a twin request (a retry, a double click) committed first.

    Nothing of the losing transaction was stored; running the command again sees the twin's rows.
    """


class DeliveryError(Exception):
    """A Messenger could not deliver a view."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class TransientDeliveryError(DeliveryError):
    """Worth trying again later (rate limit, server error, network)."""


class PermanentDeliveryError(DeliveryError):
    """Will never succeed as addressed (bot removed from channel, channel gone): dead-letter it."""
