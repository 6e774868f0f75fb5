"""Time is injected: the core never reads the system clock itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current instant (always timezone-aware, UTC)."""

    def now(self) -> datetime:
        """The current instant."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """Return the current UTC instant."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for the console, tests and replays."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        """Return the clock's current instant."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new instant."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._now += delta
        return self._now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant`` (must be timezone-aware)."""
        if instant.tzinfo is None:
            raise ValueError("instant must carry a time zone")
        self._now = instant.astimezone(UTC)


class FileClock:
    """A clock read from a file holding an ISO-8601 instant: for drills and multi-process tests.

    Every process pointed at the same file shares one simulated time; whoever writes the file moves
    it. It never goes back: an unreadable or older instant leaves it where it was.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._last: datetime | None = None

    def now(self) -> datetime:
        """The instant in the file (UTC), or the last one read."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                instant = datetime.fromisoformat(handle.read().strip().replace("Z", "+00:00"))
            if instant.tzinfo is None:
                raise ValueError("no offset")
            instant = instant.astimezone(UTC)
            self._last = instant if self._last is None else max(self._last, instant)
        except (OSError, ValueError):
            if self._last is None:
                self._last = datetime.now(UTC)
        return self._last
