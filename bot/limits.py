"""Slowing down guessing: a per-person count of failed attempts, kept in memory only.

It lives in memory on purpose: persisting it would write down who tried to follow up on an
anonymous concern. Keys are keyed hashes, so not even a memory dump holds plain user ids.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import deque
from datetime import datetime, timedelta


class AttemptLimiter:
    """Allows ``limit`` failures per ``window`` per key."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit = limit
        self.window = window
        self._salt = secrets.token_bytes(16)
        self._failures: dict[str, deque[datetime]] = {}

    def _key(self, who: str) -> str:
        return hmac.new(self._salt, who.encode(), hashlib.sha256).hexdigest()

    def blocked_until(self, who: str, now: datetime) -> datetime | None:
        """When ``who`` may try again, or None if they may try now."""
        failures = self._failures.get(self._key(who))
        if not failures:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(failures) < self.limit:
            return None
        return failures[0] + self.window

    def failed(self, who: str, now: datetime) -> None:
        """Count one failed attempt."""
        self._failures.setdefault(self._key(who), deque()).append(now)

    def succeeded(self, who: str) -> None:
        """Forget the failures of ``who``."""
        self._failures.pop(self._key(who), None)
