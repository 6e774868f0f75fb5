"""When huddles happen: wall-clock times in each unit's IANA time zone, turned into instants.

A time that does not exist on a spring-forward day (02:30) happens at the same offset as before
the change (03:30 new time); a time that happens twice on a fall-back day happens the first time.
The claim key is the local date and time, so neither case skips or doubles a huddle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import HuddleSchedule, OrgConfig, Unit


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One scheduled huddle of one unit."""

    unit: Unit
    schedule: HuddleSchedule
    claim_key: str
    scheduled_for: datetime

    @property
    def closes_at(self) -> datetime:
        """When its window ends."""
        return self.scheduled_for + self.schedule.window


def occurrences_between(config: OrgConfig, unit: Unit, start: datetime, end: datetime) -> list[Occurrence]:
    """The unit's scheduled huddles with ``start < scheduled_for <= end``, in order."""
    zone = config.timezone_for(unit.id)
    first, last = start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date()
    found = []
    day = first
    while day <= last:
        for schedule in unit.huddles:
            if not schedule.runs_on(day.weekday()):
                continue
            instant = datetime.combine(day, schedule.at, tzinfo=zone).astimezone(UTC)
            if start < instant <= end:
                found.append(Occurrence(unit, schedule, claim_key(schedule, day), instant))
        day += timedelta(days=1)
    return sorted(found, key=lambda o: o.scheduled_for)


def claim_key(schedule: HuddleSchedule, day: date) -> str:
    """The unique key of a scheduled run: local time and local date."""
    return f"{schedule.at.strftime('%H:%M')}@{day.isoformat()}"
