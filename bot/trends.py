"""The overview's twelve-week figures, and the snapshots that keep slow ones at hand.

Raised by aim, type and unit, escalations, good catches, time to acknowledge and to resolve, huddle
participation and leaders' rounds cover the last twelve weeks; a minute changes them by a concern or
two. Across a large organisation they take several hundred milliseconds to count (percentiles need
every duration, participation a distinct count), which is too slow for a page a safety officer opens
many times a day.

So a scope whose figures took longer than ``snapshot_after`` to count keeps them as a *snapshot*:
the next viewers of that scope get it while it is younger than ``max_age``, and the dashboard's job
(``keep_warm``, every ``max_age / 2``) counts it again in the background while someone has looked at it
in the last ``forget_after``. The officers' scope (every unit) is counted at start. The
page says how old the figures are. Figures that are fast to count are never kept: a ward leader always
sees them as of now. What "now" means on the page — open concerns, acknowledgements overdue — is always
counted per request.

Snapshots are per process (each replica keeps its own): at worst two replicas count the same scope
once a minute each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import rounding
from bot.model import ConcernType
from bot.read_side import Scope
from bot.rounding import RoundingLine
from bot.visibility import hidden_units

if TYPE_CHECKING:
    from bot.core import Core
    from bot.ports import ReadSide

log = logging.getLogger("huddlebot.dashboard")

WEEKS = 12
RAISED_BY = ("category", "concern_type", "escalated", "unit_id")


@dataclass(frozen=True, slots=True)
class Trends:
    """One scope's twelve-week figures as counted at ``made_at`` (``weeks``: its period bounds)."""

    made_at: datetime
    weeks: list[datetime]
    raised: dict[str, list[tuple[int, str, int]]]
    catches: dict[int, int]
    times: dict[int, Any]
    huddles: list[Any]
    rounds: list[RoundingLine]
    took: float  # seconds the counting took
    kept: bool = False  # True when it comes from (or became) a snapshot


@dataclass(slots=True)
class _Snapshot:
    trends: Trends
    used: datetime  # when a page last asked for it


ScopeKey = tuple[tuple[str, ...] | None, tuple[str, ...]]


class TrendSnapshots:
    """Counts a scope's twelve-week figures, keeping those that are slow to count as snapshots."""

    def __init__(
        self,
        core: Core,
        reads: ReadSide,
        *,
        snapshot_after: float = 0.1,
        max_age: timedelta = timedelta(seconds=60),
        forget_after: timedelta = timedelta(minutes=15),
    ) -> None:
        self.core, self.reads = core, reads
        self.snapshot_after, self.max_age, self.forget_after = snapshot_after, max_age, forget_after
        self._kept: dict[ScopeKey, _Snapshot] = {}
        self._started = False

    @staticmethod
    def key(units: Sequence[str] | None, hidden: Sequence[str]) -> ScopeKey:
        """The snapshot key of a scope (the units the figures cover, the units hidden from the viewer)."""
        return (None if units is None else tuple(units), tuple(sorted(hidden)))

    async def get(self, units: Sequence[str] | None, hidden: Sequence[str], weeks: list[datetime]) -> Trends:
        """The figures of a scope: a snapshot younger than ``max_age``, or counted now."""
        now = self.core.now()
        key = self.key(units, hidden)
        kept = self._kept.get(key)
        if kept is not None and timedelta(0) <= now - kept.trends.made_at <= self.max_age:
            kept.used = now
            return kept.trends
        return await self._count(key, weeks, used=now)

    async def keep_warm(self) -> int:
        """Count again the snapshots someone looked at lately that are half their age; forget the rest.

        At the first call, count the officers' scopes (every unit) too, so the first officer waits for
        nothing. Returns how many scopes were counted.
        """
        now = self.core.now()
        counted = 0
        if not self._started:
            self._started = True
            officers = {self.key(None, hidden_units(self.core, h)) for h in self.core.config.safety_officers}
            for key in sorted(officers, key=repr):
                await self._count(key, week_bounds(now), used=now)
                counted += 1
        for key, kept in list(self._kept.items()):
            if now - kept.used > self.forget_after:
                del self._kept[key]
            elif now - kept.trends.made_at >= self.max_age / 2:
                await self._count(key, week_bounds(now), used=kept.used)
                counted += 1
        return counted

    async def _count(self, key: ScopeKey, weeks: list[datetime], *, used: datetime) -> Trends:
        units, hidden = key
        scope = Scope(unit_ids=units, hidden_units=hidden)
        start = time.perf_counter()
        raised = await self.reads.raised_counts(
            scope=scope, weeks=weeks, by=RAISED_BY, values={"concern_type": counted_types(self.core)}
        )
        catches = dict(await self.reads.good_catches_by_week(unit_ids=units, weeks=weeks))
        times = {w.week: w for w in await self.reads.response_times(scope=scope, weeks=weeks, now=weeks[0])}
        huddles = await self.reads.huddles_by_unit(unit_ids=units, start=weeks[-1], end=weeks[0])
        async with self.core.uow() as tx:
            rounds = await rounding.summary(self.core, tx, units, start=weeks[-1], end=weeks[0])
        took = time.perf_counter() - start
        slow = took >= self.snapshot_after
        trends = Trends(
            made_at=weeks[0],
            weeks=weeks,
            raised=raised,
            catches=catches,
            times=times,
            huddles=huddles,
            rounds=rounds,
            took=took,
            kept=slow,
        )
        if slow:
            self._kept[key] = _Snapshot(trends, used=used)
        else:
            self._kept.pop(key, None)  # fast again (data removed, a quieter hour): count per request
        return trends


def counted_types(core: Core) -> list[str]:
    """The concern types figures are given for: the organisation's own, then built-in ones it dropped.

    Stored concerns keep their type when the organisation file renames or removes it.
    """
    own = list(core.config.type_labels())
    return [*own, *(str(t) for t in ConcernType if str(t) not in own)]


def week_bounds(now: datetime, weeks: int = WEEKS) -> list[datetime]:
    """Boundaries of the last ``weeks`` periods of seven days ending now, newest first."""
    return [now - timedelta(days=7 * i) for i in range(weeks + 1)]
