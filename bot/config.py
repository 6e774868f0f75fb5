"""The organisation's configuration: one YAML file with units, tiers, channels, leaders, schedules and SLAs.

Every problem is reported with its file, line and field, and all of them at once, so a hospital IT admin
can fix a file in one pass rather than one error per restart.
"""

from __future__ import annotations

import bisect
import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

FieldPath = tuple[str | int, ...]
ChannelKind = Literal["unit", "leaders"]
_M = TypeVar("_M", bound=BaseModel)

_SEVERITIES = ("immediate", "high", "moderate", "low")
_DEFAULT_ACKNOWLEDGE_WITHIN = {
    "immediate": timedelta(minutes=15),
    "high": timedelta(hours=1),
    "moderate": timedelta(hours=24),
    "low": timedelta(hours=72),
}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_FULL_DAY_NAMES = {name.lower() for name in _DAY_NAMES}
_DAY_CHOICES = {"daily": range(7), "weekdays": range(5), "weekends": range(5, 7)}
_PLATFORMS = ("slack", "teams")
_MINUTES_PER_WEEK = 7 * 24 * 60


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every reason, one readable line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --- durations, times, days, names ------------------------------------------------------------------

_DURATION = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")


def parse_duration(text: str | int) -> timedelta:
    """Turn "30s", "15m", "1h", "2d" or "1h30m" (or an int of seconds) into a timedelta, else ValueError."""
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return timedelta(seconds=text)
    match = _DURATION.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(
            f"{text!r} is not a duration; write a number and a unit (s, m, h or d) with no spaces, "
            "such as 30s, 15m, 1h, 2d or 1h30m"
        )
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Write a timedelta the way the config file does, such as "1h30m", "2d" or "45s"."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _to_duration(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    return parse_duration(value)  # type: ignore[arg-type]  # parse_duration rejects other types kindly


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero")
    return value


def _to_time(value: object) -> object:
    if isinstance(value, time):
        return value
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip()) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"{value!r} is not a time of day; write 24-hour HH:MM such as 07:00 or 19:30")
    return time(int(match[1]), int(match[2]))


def _to_days(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in _DAY_CHOICES:
        return value.strip().lower()
    if isinstance(value, list | tuple) and value:
        names = [str(day).strip().lower() for day in value]
        days = [name[:3] if name in _FULL_DAY_NAMES else name for name in names]
        unknown = [day for day in days if day not in _DAYS]
        if unknown:
            raise ValueError(f"unknown day {unknown[0]!r}; use mon, tue, wed, thu, fri, sat or sun")
        return tuple(day for day in _DAYS if day in days)
    raise ValueError(
        f"{value!r} is not a choice of days; use daily, weekdays, weekends or a list such as [mon, wed, fri]"
    )


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as America/Chicago)") from None
    return name


def _check_slug(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", value):
        raise ValueError(
            f"{value!r} is not a valid id; use lower-case letters, digits, '-' and '_', "
            "starting with a letter or digit (such as 4west or dana)"
        )
    return value


def _check_severity(value: str) -> str:
    if value not in _SEVERITIES:
        raise ValueError(f"unknown severity {value!r}; use immediate, high, moderate or low")
    return value


Duration = Annotated[timedelta, BeforeValidator(_to_duration)]
"""A length of time written as "30s", "15m", "1h", "2d" or "1h30m" (a bare int counts seconds)."""
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
TimeOfDay = Annotated[time, BeforeValidator(_to_time)]
Days = Annotated[str | tuple[str, ...], BeforeValidator(_to_days)]
TimeZoneName = Annotated[str, AfterValidator(_check_zone)]
Slug = Annotated[str, AfterValidator(_check_slug)]
Severity = Annotated[str, AfterValidator(_check_severity)]
Text = Annotated[str, Field(min_length=1)]
# The languages of the families' page (adapters/web/locale): each needs its urgent-help text.
FAMILY_LANGUAGES = ("en", "es")


# --- the models -------------------------------------------------------------------------------------


class _Model(BaseModel):
    # Forbidding extra keys is what turns a typo such as `leadres:` into a reported problem.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organization(_Model):
    """The hospital or health system as a whole and its default time zone."""

    name: Text
    timezone: TimeZoneName
    # The families' page (issue 14): what to do when the patient is in danger now, per language.
    urgent_help: dict[str, Text] = Field(default_factory=dict)


class RoundingRhythm(_Model):
    """When a leader rounds on some units: local time in each unit's zone, on which days."""

    units: list[str] = Field(min_length=1)
    days: Days = "weekdays"
    at: TimeOfDay

    def runs_on(self, weekday: int) -> bool:
        """Say whether the leader rounds on `weekday` (0 is Monday)."""
        if isinstance(self.days, str):
            return weekday in _DAY_CHOICES[self.days]
        return _DAYS[weekday] in self.days


class Person(_Model):
    """Someone the bot must recognise by name, with their id on each chat platform."""

    name: Text
    slack: str | None = None
    teams: str | None = None
    email: str | None = None
    rounding: list[RoundingRhythm] = Field(default_factory=list)  # a leader's rounding rhythm


class AnonymousDelay(_Model):
    """How long anonymous concerns are held, a random time between min and max, so timing cannot identify."""

    min: Duration = timedelta(minutes=2)
    max: Duration = timedelta(minutes=10)

    @model_validator(mode="after")
    def _check_order(self) -> AnonymousDelay:
        if self.min > self.max:
            raise ValueError(
                f"min {format_duration(self.min)} is longer than max {format_duration(self.max)}"
            )
        return self


class EscalationSettings(_Model):
    """How soon each severity must be acknowledged before it escalates, and related timings."""

    acknowledge_within: dict[Severity, PositiveDuration] = Field(
        default_factory=lambda: dict(_DEFAULT_ACKNOWLEDGE_WITHIN)
    )
    anonymous_delay: AnonymousDelay = Field(default_factory=AnonymousDelay)
    nudge_open_after: PositiveDuration = timedelta(hours=48)

    @field_validator("acknowledge_within")
    @classmethod
    def _fill_defaults(cls, value: dict[str, timedelta]) -> dict[str, timedelta]:
        return {**_DEFAULT_ACKNOWLEDGE_WITHIN, **value}


class Channels(_Model):
    """A channel's id on each platform; a platform left out is not used for it."""

    slack: str | None = None
    teams: str | None = None

    def on(self, platform: str) -> str | None:
        """Return the channel id on `platform` ("slack" or "teams"), or None if there is none."""
        return getattr(self, platform, None) if platform in _PLATFORMS else None


class HuddleSchedule(_Model):
    """One recurring huddle of a unit: its local start time, the days it runs and how long it collects."""

    at: TimeOfDay
    days: Days = "daily"
    window: PositiveDuration = timedelta(minutes=30)

    @field_validator("window")
    @classmethod
    def _check_window(cls, value: timedelta) -> timedelta:
        # A bare number counts seconds, so `window: 30` is almost certainly a mistake for 30m.
        if value < timedelta(minutes=1):
            raise ValueError(f"a window of {format_duration(value)} is too short to answer in (at least 1m)")
        return value

    def runs_on(self, weekday: int) -> bool:
        """Say whether the huddle runs on `weekday` (0 is Monday, 6 is Sunday, as in date.weekday())."""
        if isinstance(self.days, str):
            return weekday in _DAY_CHOICES[self.days]
        return _DAYS[weekday] in self.days


class Questions(_Model):
    """The three prompts of a huddle."""

    look_back: Text = "Look back: anything in the last shift that went wrong or nearly did?"
    look_ahead: Text = (
        "Look ahead: what could go wrong today? (high-risk patients, procedures, staffing, equipment)"
    )
    follow_up: Text = "Follow up: what's still open from earlier huddles?"


class Unit(_Model):
    """A unit, department or executive group (tier 1, 2 or 3) with its leaders, channels and huddles."""

    id: Slug
    name: Text
    tier: Literal[1, 2, 3]
    parent: str | None = None
    timezone: TimeZoneName | None = None
    leaders: list[str] = Field(default_factory=list)
    channels: Channels = Field(default_factory=Channels)
    leaders_channel: Channels | None = None
    huddles: list[HuddleSchedule] = Field(default_factory=list)
    questions: Questions = Field(default_factory=Questions)
    family_page: bool = False  # the public /speak-up/<id> page for patients and families


class DigestSettings(_Model):
    """When the weekly digest goes to each unit's and department's leaders (organisation time zone)."""

    enabled: bool = True
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    at: TimeOfDay = time(8, 0)


class StoplightSettings(_Model):
    """When each unit's weekly stoplight report ("you said, we did") is posted (the unit's time zone)."""

    enabled: bool = True
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "fri"
    at: TimeOfDay = time(14, 0)


# The concern types offered when the organisation file names none. Labels may be renamed and types
# added there; a stored concern keeps its type's key, so nothing stored is ever invalidated.
DEFAULT_CONCERN_TYPES: dict[str, str] = {
    "falls": "Falls",
    "medication": "Medication",
    "equipment": "Equipment",
    "staffing": "Staffing",
    "infection": "Infection",
    "violence": "Violence",
    "respect": "Respect (disrespectful or abusive behaviour)",
    "other": "Other",
}


class OrgConfig(_Model):
    """The whole organisation: people, units in their tiers, escalation timings and huddle schedules."""

    organization: Organization
    people: dict[Slug, Person] = Field(default_factory=dict)
    safety_officers: list[str] = Field(default_factory=list)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    huddle_grace: Duration = timedelta(hours=2)
    huddle_reminder_before: PositiveDuration = timedelta(minutes=10)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    stoplight: StoplightSettings = Field(default_factory=StoplightSettings)
    concern_types: dict[Slug, Text] = Field(default_factory=lambda: dict(DEFAULT_CONCERN_TYPES))
    units: list[Unit]

    _units_by_id: dict[str, Unit] = PrivateAttr(default_factory=dict)
    _children: dict[str, list[Unit]] = PrivateAttr(default_factory=dict)  # in file order
    _channel_owner: dict[tuple[str, str], tuple[Unit, ChannelKind]] = PrivateAttr(default_factory=dict)
    _user_handle: dict[tuple[str, str], str] = PrivateAttr(default_factory=dict)

    @field_validator("units")
    @classmethod
    def _check_some_units(cls, value: list[Unit]) -> list[Unit]:
        if not value:
            raise ValueError("list at least one unit")
        return value

    @model_validator(mode="after")
    def _check_and_index(self) -> OrgConfig:
        issues = _cross_check(_Parts.of_config(self))
        if issues:
            raise _CrossFieldError(issues)
        for unit in self.units:
            self._units_by_id.setdefault(unit.id, unit)
            if unit.parent:
                self._children.setdefault(unit.parent, []).append(unit)
            kinds: tuple[tuple[ChannelKind, Channels | None], ...] = (
                ("unit", unit.channels),
                ("leaders", unit.leaders_channel),
            )
            for kind, channels in kinds:
                for platform in _PLATFORMS:
                    channel = channels.on(platform) if channels else None
                    if channel:
                        self._channel_owner[(platform, channel)] = (unit, kind)
        for handle, person in self.people.items():
            for platform in _PLATFORMS:
                user_id = getattr(person, platform)
                if user_id:
                    self._user_handle[(platform, user_id)] = handle
        return self

    @model_validator(mode="after")
    def _check_family_pages(self) -> OrgConfig:
        missing = [lang for lang in FAMILY_LANGUAGES if lang not in self.organization.urgent_help]
        issues = [
            _Issue(
                ("units", index, "family_page"),
                "a family page needs organization.urgent_help with a text for each of "
                f"{', '.join(FAMILY_LANGUAGES)} (missing: {', '.join(missing)}), e.g. "
                'en: "If you think the patient is in danger now, call Condition H: dial 555"',
            )
            for index, unit in enumerate(self.units)
            if unit.family_page and missing
        ]
        if issues:
            raise _CrossFieldError(issues[:1])
        return self

    @property
    def units_by_id(self) -> Mapping[str, Unit]:
        """Every unit by its id."""
        return types.MappingProxyType(self._units_by_id)

    def unit(self, unit_id: str) -> Unit | None:
        """Return the unit with this id, or None."""
        return self._units_by_id.get(unit_id)

    def _require(self, unit_id: str) -> Unit:
        unit = self._units_by_id.get(unit_id)
        if unit is None:
            raise KeyError(f"no unit {unit_id!r} in the configuration")
        return unit

    def ancestors(self, unit_id: str) -> list[Unit]:
        """Return the units above this one, parent first, up to the top; KeyError for an unknown id."""
        found: list[Unit] = []
        seen = {unit_id}
        unit = self._require(unit_id)
        while unit.parent and unit.parent not in seen and (parent := self.unit(unit.parent)):
            found.append(parent)
            seen.add(parent.id)
            unit = parent
        return found

    def descendants(self, unit_id: str) -> list[Unit]:
        """Return every unit below this one, each child followed by its own descendants, in file order."""
        self._require(unit_id)
        found: list[Unit] = []
        seen = {unit_id}  # by id: comparing the models field by field made a tree of 200 units slow

        def visit(parent_id: str) -> None:
            for unit in self._children.get(parent_id, []):
                if unit.id not in seen:
                    seen.add(unit.id)
                    found.append(unit)
                    visit(unit.id)

        visit(unit_id)
        return found

    def timezone_for(self, unit_id: str) -> ZoneInfo:
        """Return the unit's own time zone, else the organisation's; KeyError for an unknown id."""
        return ZoneInfo(self._require(unit_id).timezone or self.organization.timezone)

    def leader_handles(self, unit_id: str, *, include_ancestors: bool = True) -> list[str]:
        """Return the unit's leaders, then each ancestor's leaders (parent first), without repeats."""
        units = [self._require(unit_id)]
        if include_ancestors:
            units += self.ancestors(unit_id)
        return list(dict.fromkeys(handle for unit in units for handle in unit.leaders))

    def person(self, handle: str) -> Person | None:
        """Return the person with this handle, or None."""
        return self.people.get(handle)

    def handle_for(self, platform: str, user_id: str) -> str | None:
        """Return the handle of the person with `user_id` on "slack", "teams" or "console", or None."""
        if platform == "console":
            return user_id if user_id in self.people else None
        return self._user_handle.get((platform, user_id))

    def unit_for_channel(self, platform: str, channel: str) -> tuple[Unit, ChannelKind] | None:
        """Return the unit that owns `channel` and whether it is its "unit" or "leaders" channel, or None.

        On "console" the channels are named `<unit id>` and `<unit id>-leaders`.
        """
        if platform != "console":
            return self._channel_owner.get((platform, channel))
        if unit := self.unit(channel):
            return unit, "unit"
        if channel.endswith("-leaders") and (unit := self.unit(channel.removesuffix("-leaders"))):
            return unit, "leaders"
        return None

    def find_unit(self, text: str) -> Unit | None:
        """Return the unit whose id or name is `text`, ignoring case and surrounding spaces, or None."""
        wanted = text.strip().casefold()
        return next((u for u in self.units if wanted in (u.id.casefold(), u.name.casefold())), None)

    def type_labels(self) -> dict[str, str]:
        """The concern types a reporter may choose, key to label; "other" is always one of them."""
        return {**self.concern_types, "other": self.concern_types.get("other", "Other")}

    def type_label(self, key: str) -> str:
        """How to show a stored type: its label, or the key itself if the file no longer names it."""
        return self.type_labels().get(key) or key

    def acknowledge_within(self, severity: str) -> timedelta:
        """Return how soon a concern of this severity must be acknowledged; KeyError for an unknown one."""
        return self.escalation.acknowledge_within[severity]


# --- checks that span several fields ----------------------------------------------------------------


@dataclass(frozen=True)
class _Issue:
    path: FieldPath
    message: str


class _CrossFieldError(ConfigError):
    # Raised from inside validation (pydantic lets non-ValueErrors through) so that `parse_config` can
    # add line numbers; code that builds an OrgConfig directly still gets a ConfigError.
    def __init__(self, issues: list[_Issue]) -> None:
        super().__init__([f"{_dotted(issue.path)}: {issue.message}" for issue in issues])
        self.issues = issues


@dataclass
class _Parts:
    """The pieces the cross-field checks need, taken from a valid config or from whatever parts were valid."""

    people: dict[str, Person]
    handles: set[str]
    safety_officers: list[tuple[int, str]]
    units: list[tuple[int, Unit]]
    unit_ids: list[tuple[int, str]]

    @classmethod
    def of_config(cls, config: OrgConfig) -> _Parts:
        return cls(
            people=dict(config.people),
            handles=set(config.people),
            safety_officers=list(enumerate(config.safety_officers)),
            units=list(enumerate(config.units)),
            unit_ids=[(i, unit.id) for i, unit in enumerate(config.units)],
        )

    @classmethod
    def of_raw(cls, data: dict[str, Any]) -> _Parts:
        raw_people = data.get("people") if isinstance(data.get("people"), dict) else {}
        raw_units = data.get("units") if isinstance(data.get("units"), list) else []
        raw_officers = data.get("safety_officers") if isinstance(data.get("safety_officers"), list) else []
        return cls(
            people={
                h: p for h, entry in raw_people.items() if isinstance(h, str) and (p := _valid(Person, entry))
            },
            handles={handle for handle in raw_people if isinstance(handle, str)},
            safety_officers=[(i, h) for i, h in enumerate(raw_officers) if isinstance(h, str)],
            units=[(i, unit) for i, entry in enumerate(raw_units) if (unit := _valid(Unit, entry))],
            unit_ids=[
                (i, entry["id"])
                for i, entry in enumerate(raw_units)
                if isinstance(entry, dict) and isinstance(entry.get("id"), str)
            ],
        )


def _valid(model: type[_M], data: object) -> _M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _cross_check(parts: _Parts) -> list[_Issue]:
    issues = [
        *_check_unit_ids(parts),
        *_check_parents(parts),
        *_check_cycles(parts),
        *_check_someone_acknowledges(parts),
        *_check_handles(parts),
        *_check_user_ids(parts),
        *_check_channels(parts),
        *_check_rounding(parts),
    ]
    for index, unit in parts.units:
        issues += _check_huddles(index, unit)
    return issues


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _first_index_by_id(parts: _Parts) -> dict[str, int]:
    first: dict[str, int] = {}
    for index, unit_id in parts.unit_ids:
        first.setdefault(unit_id, index)
    return first


def _units_by_id(parts: _Parts) -> dict[str, Unit]:
    by_id: dict[str, Unit] = {}
    for _, unit in parts.units:
        by_id.setdefault(unit.id, unit)
    return by_id


def _check_unit_ids(parts: _Parts) -> list[_Issue]:
    first = _first_index_by_id(parts)
    return [
        _Issue(("units", index, "id"), f"duplicate unit id {unit_id!r}; units[{first[unit_id]}] has it")
        for index, unit_id in parts.unit_ids
        if first[unit_id] != index
    ]


def _check_parents(parts: _Parts) -> list[_Issue]:
    known, by_id = _first_index_by_id(parts), _units_by_id(parts)
    issues = []
    for index, unit in parts.units:
        if unit.parent is None:
            continue
        path = ("units", index, "parent")
        if unit.parent not in known:
            issues.append(_Issue(path, f"unknown unit {unit.parent!r}{_suggest(unit.parent, known)}"))
        elif (parent := by_id.get(unit.parent)) and parent is not unit and parent.tier <= unit.tier:
            issues.append(
                _Issue(
                    path,
                    f"parent {parent.id!r} is tier {parent.tier}, not above this unit's tier {unit.tier}; "
                    "a parent must have a higher tier (1 unit, 2 department, 3 executive)",
                )
            )
    return issues


def _check_cycles(parts: _Parts) -> list[_Issue]:
    first, by_id = _first_index_by_id(parts), _units_by_id(parts)
    issues = []
    seen: set[frozenset[str]] = set()
    for _, unit in parts.units:
        chain: list[str] = []
        current: str | None = unit.id
        while current in by_id and current not in chain:
            chain.append(current)
            current = by_id[current].parent
        if current is None or current not in chain:
            continue
        cycle = chain[chain.index(current) :]
        if frozenset(cycle) in seen:
            continue
        seen.add(frozenset(cycle))
        # Name the cycle from the unit that comes first in the file, and report it there.
        top = cycle.index(min(cycle, key=first.__getitem__))
        cycle = cycle[top:] + cycle[:top]
        issues.append(
            _Issue(
                ("units", first[cycle[0]], "parent"),
                f"parent cycle: {' → '.join([*cycle, cycle[0]])}; a unit cannot be above itself",
            )
        )
    return issues


def _check_someone_acknowledges(parts: _Parts) -> list[_Issue]:
    by_id = _units_by_id(parts)
    issues = []
    for index, unit in parts.units:
        line = [unit]
        while (parent := by_id.get(line[-1].parent or "")) and parent not in line:
            line.append(parent)
        # Only judge a complete line up to the top; a missing or invalid parent is reported elsewhere.
        if line[-1].parent is None and not any(u.leaders for u in line):
            issues.append(
                _Issue(
                    ("units", index, "leaders"),
                    f"unit {unit.id!r} has no leaders and neither has any unit above it, "
                    "so nobody could acknowledge its concerns",
                )
            )
    return issues


def _check_handles(parts: _Parts) -> list[_Issue]:
    def unknown(handle: str) -> str:
        return f"unknown person {handle!r}; add them under people:{_suggest(handle, parts.handles)}"

    issues = [
        _Issue(("units", index, "leaders", k), unknown(handle))
        for index, unit in parts.units
        for k, handle in enumerate(unit.leaders)
        if handle not in parts.handles
    ]
    issues += [
        _Issue(("safety_officers", k), unknown(handle))
        for k, handle in parts.safety_officers
        if handle not in parts.handles
    ]
    return issues


def _check_rounding(parts: _Parts) -> list[_Issue]:
    """A leader rounds only on units that exist and that they lead (themselves or from a tier above)."""
    units = dict(_units_by_id(parts))
    issues = []
    for handle, person in parts.people.items():
        for r, rhythm in enumerate(person.rounding):
            for k, unit_id in enumerate(rhythm.units):
                path = ("people", handle, "rounding", r, "units", k)
                if unit_id not in units:
                    issues.append(_Issue(path, f"unknown unit {unit_id!r}{_suggest(unit_id, units)}"))
                    continue
                leads, seen, unit = False, set(), units.get(unit_id)
                while unit is not None and unit.id not in seen:
                    seen.add(unit.id)
                    leads = leads or handle in unit.leaders
                    unit = units.get(unit.parent) if unit.parent else None
                if not leads:
                    issues.append(
                        _Issue(
                            path,
                            f"{handle!r} does not lead {unit_id!r} or a unit above it, so can't round there",
                        )
                    )
    return issues


def _check_user_ids(parts: _Parts) -> list[_Issue]:
    issues = []
    for platform in _PLATFORMS:
        owner: dict[str, str] = {}
        for handle, person in parts.people.items():
            user_id = getattr(person, platform)
            if user_id and user_id in owner:
                issues.append(
                    _Issue(
                        ("people", handle, platform),
                        f"{platform} id {user_id} is already {owner[user_id]}'s; each person needs their own",
                    )
                )
            elif user_id:
                owner[user_id] = handle
    return issues


def _check_channels(parts: _Parts) -> list[_Issue]:
    issues = []
    owner: dict[tuple[str, str], str] = {}
    for index, unit in parts.units:
        for field, kind, channels in (
            ("channels", "the unit channel", unit.channels),
            ("leaders_channel", "the leaders' channel", unit.leaders_channel),
        ):
            for platform in _PLATFORMS:
                channel = channels.on(platform) if channels else None
                if not channel:
                    continue
                if (platform, channel) in owner:
                    issues.append(
                        _Issue(
                            ("units", index, field, platform),
                            f"{platform} channel {channel} is already {owner[(platform, channel)]}; "
                            "each channel belongs to one unit and one purpose",
                        )
                    )
                else:
                    owner[(platform, channel)] = f"{kind} of {unit.id!r}"
    return issues


def _check_huddles(index: int, unit: Unit) -> list[_Issue]:
    issues = []
    schedules = unit.huddles
    for j, later in enumerate(schedules):
        for i, earlier in enumerate(schedules[:j]):
            shared = [_DAYS[d] for d in range(7) if earlier.runs_on(d) and later.runs_on(d)]
            if earlier.at == later.at and shared:
                issues.append(
                    _Issue(
                        ("units", index, "huddles", j, "at"),
                        f"huddles[{i}] already runs at {later.at:%H:%M} on {', '.join(shared)}",
                    )
                )
                break

    # Minutes since Monday 00:00 local wall-clock time of every start in the week.
    starts = sorted(
        {d * 1440 + s.at.hour * 60 + s.at.minute for s in schedules for d in range(7) if s.runs_on(d)}
    )
    for j, schedule in enumerate(schedules):
        minute_of_day = schedule.at.hour * 60 + schedule.at.minute
        for day in (d for d in range(7) if schedule.runs_on(d)):
            start = day * 1440 + minute_of_day
            after = bisect.bisect_right(starts, start)
            following = starts[after] if after < len(starts) else starts[0] + _MINUTES_PER_WEEK
            gap = timedelta(minutes=following - start)
            if schedule.window < gap:
                continue
            next_day, next_minute = divmod(following % _MINUTES_PER_WEEK, 1440)
            label = f"{next_minute // 60:02d}:{next_minute % 60:02d}"
            if gap > timedelta(days=1):
                label = f"{_DAY_NAMES[next_day]} {label}"
            comparison = "longer than" if schedule.window > gap else "as long as"
            issues.append(
                _Issue(
                    ("units", index, "huddles", j, "window"),
                    f"window {format_duration(schedule.window)} is {comparison} the {format_duration(gap)} "
                    f"gap to the next huddle ({label})",
                )
            )
            break
    return issues


# --- reading the file -------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML 1.1 without base-60 numbers, so an unquoted 19:00 stays the text "19:00" and is not 1140."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def bundled_example_path() -> Path:
    """Return the path of the example configuration shipped with the bot."""
    return Path(__file__).with_name("huddlebot.example.yaml")


def load_config(path: str | Path) -> OrgConfig:
    """Read and validate the organisation's YAML file; raise ConfigError listing every problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the configuration file: {exc}"]) from None
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "<config>") -> OrgConfig:
    """Validate the organisation's YAML text; raise ConfigError listing every problem with file and line."""
    data, lines, duplicate_keys = _read_yaml(text, source)
    if data is None:
        raise ConfigError([f"{source}: the file is empty; start from huddlebot.example.yaml"])
    if not isinstance(data, dict):
        raise ConfigError(
            [f"{source}:1: expected settings such as organization: and units: at the top level"]
        )

    issues = duplicate_keys
    try:
        config = OrgConfig.model_validate(data)
    except _CrossFieldError as exc:
        issues += exc.issues
    except ValidationError as exc:
        issues += [_explain(error) for error in exc.errors()]
        # Cross-field mistakes are worth reporting in the same pass, for the parts that did validate.
        issues += _cross_check(_Parts.of_raw(data))
    else:
        if not issues:
            return config

    def line_of(path: FieldPath) -> int:
        # The deepest part of the path that is written in the file; a missing key has no line of its own.
        return next((lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), 0)

    issues.sort(key=lambda issue: line_of(issue.path))
    raise ConfigError([_problem(source, line_of(issue.path), issue) for issue in issues])


def _read_yaml(text: str, source: str) -> tuple[Any, dict[FieldPath, int], list[_Issue]]:
    """Return the data, the line of every key and list item, and any keys written twice."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        # An unclosed bracket or quote is found at the end of the text, so the context's line matters too.
        last_line = max(1, len(text.splitlines()))
        where = f"{source}:{min(exc.problem_mark.line + 1, last_line)}" if exc.problem_mark else source
        context = (
            f" ({exc.context} that starts on line {exc.context_mark.line + 1})" if exc.context_mark else ""
        )
        raise ConfigError([f"{where}: not valid YAML: {exc.problem}{context}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: not valid YAML: {exc}"]) from None
    finally:
        loader.dispose()
    lines: dict[FieldPath, int] = {}
    duplicates: list[_Issue] = []
    if node is not None:
        _map_lines(node, (), lines, duplicates)
    return data, lines, duplicates


def _map_lines(
    node: yaml.Node, path: FieldPath, lines: dict[FieldPath, int], duplicates: list[_Issue]
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            # PyYAML silently keeps the last of two equal keys, which hides the first one's settings.
            if key in seen:
                duplicates.append(_Issue(child, f"key {key!r} appears twice here (also on line {seen[key]})"))
            seen[key] = key_node.start_mark.line + 1
            # The key's line rather than the value's, which for a block value is the line after.
            lines[child] = key_node.start_mark.line + 1
            _map_lines(value_node, child, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _map_lines(item, (*path, index), lines, duplicates)


def _explain(error: ErrorDetails) -> _Issue:
    path = tuple(part for part in error["loc"] if part != "[key]")
    kind = error["type"]
    if kind == "missing":
        return _Issue(path, "missing; this setting is required")
    if kind == "extra_forbidden":
        known = _known_keys(path[:-1])
        hint = _suggest(str(path[-1]), known) or (f" (allowed here: {', '.join(known)})" if known else "")
        return _Issue(path, f"unknown key {path[-1]!r}{hint}")
    if kind == "value_error" and "error" in error.get("ctx", {}):
        return _Issue(path, str(error["ctx"]["error"]))
    message = error["msg"][0].lower() + error["msg"][1:]
    value = error.get("input")
    if isinstance(value, str | int | float | bool) or value is None:
        message += f" (got {value!r})"
    return _Issue(path, message)


def _known_keys(path: FieldPath) -> list[str]:
    """Return the field names allowed at `path`, found by walking the models' annotations."""
    annotation: Any = OrgConfig
    for part in path:
        annotation = _model_in(annotation)
        if _is_model(annotation) and isinstance(part, str):
            field = annotation.model_fields.get(part)
            annotation = field.annotation if field else None
        else:
            # A list's items or a dict's values: the last type argument.
            args = typing.get_args(annotation)
            annotation = args[-1] if args else None
    annotation = _model_in(annotation)
    return list(annotation.model_fields) if _is_model(annotation) else []


def _is_model(annotation: Any) -> bool:
    return (
        typing.get_origin(annotation) is None
        and isinstance(annotation, type)
        and issubclass(annotation, BaseModel)
    )


def _model_in(annotation: Any) -> Any:
    # `Channels | None` stands for Channels when looking for the keys a mapping may have.
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        return next((arg for arg in typing.get_args(annotation) if arg is not type(None)), None)
    return annotation


def _dotted(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _problem(source: str, line: int, issue: _Issue) -> str:
    where = f"{source}:{line}" if line else source
    return f"{where}: {_dotted(issue.path)}: {issue.message}" if issue.path else f"{where}: {issue.message}"
