"""The dashboard's rules and pages, as data: who sees what, what is suppressed, what each page shows.

Visibility is decided here, once, for every page, chart and export:

- a patient-safety officer sees every unit;
- a leader sees the units they lead and every unit below them (``policy.is_leader``);
- everyone sees their own named and confidential concerns, and other staff nothing else;
- an anonymous reporter is never shown, and a confidential reporter's name only to officers;
- a concern still waiting to be posted is counted and listed nowhere;
- every figure resting on fewer than ``smallest_group`` concerns or people is shown as "fewer than",
  and enough other cells with it that a total cannot give it away.

Actions taken on a page are the chat's own commands, run through ``Core.handle``.
"""

from __future__ import annotations

import dataclasses
import operator
from collections import namedtuple
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot import stoplight
from bot.commands import (
    AcknowledgeConcern,
    MarkNotPossible,
    ReplyToConcern,
    ResolveConcern,
    SetConcernStatus,
)
from bot.digest import SMALLEST_GROUP
from bot.errors import NotAllowed, NotFound
from bot.family import FAMILY, FAMILY_SOURCES, PATIENT, PATIENT_OR_FAMILY
from bot.model import (
    CLOSED_STATUSES,
    Anonymity,
    Answer,
    AuditEvent,
    Concern,
    ConcernStatus,
    Person,
    QualityAim,
    RunStatus,
    Severity,
    concern_reference,
    parse_reference,
)
from bot.policy import duration_label, handle_of, is_leader, name_of
from bot.present import STATUS_LABELS
from bot.publish import record
from bot.read_side import STAFF_SOURCE, ConcernFilter, RunLine, Scope
from bot.reply import Reply
from bot.trends import WEEKS, TrendSnapshots, counted_types, week_bounds
from bot.visibility import hidden_units

if TYPE_CHECKING:
    from bot.config import Unit
    from bot.core import Core
    from bot.ports import ReadSide
    from bot.views import Stoplight

PAGE_SIZE = 50
# Who raised a concern: staff in chat, or a patient or family member on the unit's public page
# (``patient_family``: from the page before it asked which of the two was writing).
SOURCE_LABELS = {
    STAFF_SOURCE: "Staff",
    PATIENT: "Patient",
    FAMILY: "Family member",
    PATIENT_OR_FAMILY: "Patient or family",
}
# The filter's choices: staff, or anyone from the public page. The second is named by the value every
# family concern had before the form asked, so an address saved with it keeps its meaning.
SOURCES = (STAFF_SOURCE, PATIENT_OR_FAMILY)
SOURCE_CHOICES = {STAFF_SOURCE: "Staff", PATIENT_OR_FAMILY: "Patients and families"}
_FILTERED = {STAFF_SOURCE: (STAFF_SOURCE,), PATIENT_OR_FAMILY: FAMILY_SOURCES}
AGES = (timedelta(days=1), timedelta(days=7), timedelta(days=30))
AGE_LABELS = ("Under a day", "1 to 7 days", "7 to 30 days", "Over 30 days")
SEVERITIES = [Severity.IMMEDIATE, Severity.HIGH, Severity.MODERATE, Severity.LOW]
STATUSES = [
    ConcernStatus.OPEN,
    ConcernStatus.ACKNOWLEDGED,
    ConcernStatus.IN_PROGRESS,
    ConcernStatus.RESOLVED,
    ConcernStatus.NOT_POSSIBLE,  # counted apart from resolved
]
_HISTORY = {
    "concern.raised": "Raised",
    "concern.acknowledged": "Acknowledged",
    "concern.in_progress": "In progress",
    "concern.resolved": "Resolved",
    "concern.not_possible": "Not possible now",
    "concern.reopened": "Reopened",
    "concern.escalated": "Escalated",
}


# --- who is looking -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in person and what they may see, worked out from the organisation file each time."""

    person: Person
    handle: str | None
    name: str
    officer: bool
    led: tuple[str, ...]  # the units whose concerns they may see and act on (theirs and below)
    around: tuple[str, ...] = ()  # units whose concerns about their leaders they never see (their own)

    @property
    def role(self) -> str:
        """``safety officer``, ``leader`` or ``staff``."""
        return "safety officer" if self.officer else "leader" if self.led else "staff"

    @property
    def sees_figures(self) -> bool:
        """Leaders and officers see the organisation's figures; other staff see only their own concerns."""
        return self.officer or bool(self.led)

    def scope(self, *, own: bool = True) -> Scope:
        """The concerns this viewer may see (with ``own``, their own named and confidential ones too)."""
        if self.officer:
            return Scope(unit_ids=None, hidden_units=self.around)
        reporter = (self.person.platform, self.person.tenant, self.person.user_id) if own else None
        return Scope(
            unit_ids=self.led,
            reporter=reporter,
            reporter_handle=self.handle if own else None,
            hidden_units=self.around,
        )

    def figures_units(self) -> tuple[str, ...] | None:
        """The units the figures cover (None: all of them)."""
        return None if self.officer else self.led

    def is_reporter_of(self, concern: Concern) -> bool:
        """True if this viewer raised ``concern`` with their name (named or confidential)."""
        if concern.is_anonymous:
            return False
        same_account = (
            concern.reporter_platform == self.person.platform
            and concern.reporter_tenant == self.person.tenant
            and concern.reporter_user_id == self.person.user_id
        )
        return same_account or (self.handle is not None and concern.reporter_handle == self.handle)

    def can_see(self, concern: Concern) -> bool:
        """True if this viewer may open ``concern``'s page."""
        if concern.involves_leader and concern.unit_id in self.around:  # bot.visibility
            return False
        return self.officer or concern.unit_id in self.led or self.is_reporter_of(concern)

    @property
    def actor(self) -> str:
        """How the audit log names this viewer."""
        return self.handle or f"{self.person.platform}:{self.person.user_id}"


def viewer_for(core: Core, person: Person) -> Viewer:
    """The ``Viewer`` for a signed-in ``person``."""
    handle = handle_of(core, person)
    officer = handle is not None and handle in core.config.safety_officers
    led = tuple(u.id for u in core.config.units if is_leader(core, person, u))
    return Viewer(
        person=person,
        handle=handle,
        name=name_of(core, person),
        officer=officer,
        led=led,
        around=hidden_units(core, handle),
    )


def reporter_shown(viewer: Viewer, concern: Concern) -> str:
    """Who raised ``concern``, as far as ``viewer`` may know."""
    if concern.anonymity == Anonymity.ANONYMOUS:
        return "Anonymous"
    if concern.anonymity == Anonymity.CONFIDENTIAL:
        if viewer.officer or viewer.is_reporter_of(concern):
            return f"{concern.reporter_name} (confidential)"
        return "Confidential"
    return concern.reporter_name or "A member of staff"


# --- suppression --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """One figure. ``value`` is None when it is suppressed (or does not apply); ``text`` is shown."""

    text: str
    value: float | None = None
    suppressed: bool = False


@dataclass(slots=True)
class Table:
    """A table of figures; each chart is drawn from one, and shown with it."""

    key: str
    title: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]
    note: str = ""
    chart: str = "bars"  # bars: the first column per row; columns: the totals row, one bar per column

    def as_data(self) -> dict[str, Any]:
        """The table as JSON-ready data (the page's data twin)."""
        return {
            "key": self.key,
            "title": self.title,
            "columns": self.columns,
            "rows": [
                {"label": label, "cells": [{"text": c.text, "value": c.value} for c in cells]}
                for label, cells in self.rows
            ],
            "note": self.note,
        }


def suppress_counts(matrix: list[list[int]], smallest: int) -> list[list[bool]]:
    """Which cells of a table of counts to hide.

    Every count from 1 to ``smallest - 1`` (primary); then, in any row or column with exactly one
    hidden cell, its smallest other cell too, so that a total shown elsewhere cannot give it away.
    """
    hidden = [[0 < n < smallest for n in row] for row in matrix]
    changed = True
    while changed:
        changed = False
        lines = [[(r, c) for c in range(len(row))] for r, row in enumerate(matrix)]
        if matrix:
            lines += [[(r, c) for r in range(len(matrix))] for c in range(len(matrix[0]))]
        for line in lines:
            shown = [(matrix[r][c], r, c) for r, c in line if not hidden[r][c]]
            if sum(1 for r, c in line if hidden[r][c]) == 1 and shown:
                _, r, c = min(shown)
                hidden[r][c] = True
                changed = True
    return hidden


def count_cells(matrix: list[list[int]], smallest: int) -> list[list[Cell]]:
    """Cells for a table of counts, suppressed as ``suppress_counts`` says."""
    hidden = suppress_counts(matrix, smallest)
    return [
        [
            (
                Cell(text=f"fewer than {smallest}" if 0 < n < smallest else "not shown", suppressed=True)
                if hide
                else Cell(text=f"{n:,}", value=n)
            )
            for n, hide in zip(row, hidden_row, strict=True)
        ]
        for row, hidden_row in zip(matrix, hidden, strict=True)
    ]


def change_cell(now: Cell, before: Cell) -> Cell:
    """Week-over-week change between two shown counts (suppressed if either is)."""
    if now.value is None or before.value is None:
        return Cell(text="not shown", suppressed=True)
    delta = int(now.value - before.value)
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
    return Cell(text=f"{arrow} {delta:+,}" if delta else "= no change", value=delta)


# --- the overview -------------------------------------------------------------------------------


@dataclass(slots=True)
class Tile:
    """A headline number with its week-over-week change."""

    label: str
    value: Cell
    change: Cell | None = None
    hint: str = ""


@dataclass(slots=True)
class Overview:
    """Everything on the overview page (and in its JSON twin)."""

    scope_label: str
    weeks: list[str]
    tiles: list[Tile] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures_as_of: str | None = None  # the twelve weeks' figures are a snapshot made then

    def as_data(self) -> dict[str, Any]:
        """The overview as JSON-ready data."""
        return {
            "scope": self.scope_label,
            "weeks": self.weeks,
            "figures_as_of": self.figures_as_of,
            "tiles": [
                {
                    "label": t.label,
                    "value": t.value.value,
                    "text": t.value.text,
                    "change": None if t.change is None else t.change.value,
                }
                for t in self.tiles
            ],
            "tables": [t.as_data() for t in self.tables],
        }


# --- concerns -----------------------------------------------------------------------------------


@dataclass(slots=True)
class FilterForm:
    """The concerns filter as the person filled it in, with any errors (GOV.UK error summary)."""

    unit: str = ""
    statuses: list[str] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    aims: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    raised_from: str = ""
    raised_to: str = ""
    words: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def query(self, *, with_words: bool = False) -> list[tuple[str, str]]:
        """The filter as query parameters (never the words unless asked: they stay out of URLs)."""
        pairs = [("unit", self.unit)] if self.unit else []
        pairs += [("status", s) for s in self.statuses]
        pairs += [("severity", s) for s in self.severities]
        pairs += [("aim", s) for s in self.aims]
        pairs += [("type", s) for s in self.types]
        pairs += [("source", s) for s in self.sources]
        if self.raised_from:
            pairs.append(("from", self.raised_from))
        if self.raised_to:
            pairs.append(("to", self.raised_to))
        if with_words and self.words:
            pairs.append(("q", self.words))
        return pairs


@dataclass(slots=True)
class ConcernLine:
    """One row of the concerns list and of its exports, already as the viewer may see it."""

    ref: str
    unit_id: str
    unit: str
    severity: str
    aim: str
    concern_type: str
    status: str
    anonymity: str
    source: str  # SOURCE_LABELS: "staff", "patient", "family" or (older) "patient_family"
    reporter: str
    raised: str
    raised_at: str
    acknowledged_at: str
    acknowledged_by: str
    resolved_at: str
    resolved_by: str
    escalation_level: int
    text: str
    resolution: str


EXPORT_FIELDS = [f.name for f in dataclasses.fields(ConcernLine)]
_EXPORTED = operator.attrgetter(*EXPORT_FIELDS)

# What ``Dashboard.line`` reads of a concern: all an export selects (``ReadSide.stream_concern_rows``).
LINE_FIELDS = (
    "id",
    "unit_id",
    "severity",
    "category",
    "concern_type",
    "status",
    "anonymity",
    "reporter_platform",
    "reporter_tenant",
    "reporter_user_id",
    "reporter_name",
    "reporter_handle",
    "created_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "escalation_level",
    "text",
    "resolution",
    "source",  # not a column of concerns: the family table's, by its key (``stream_concern_rows``)
)


class _Selected(namedtuple("_Selected", LINE_FIELDS)):  # type: ignore[misc]
    """A concern as an export selects it: ``LINE_FIELDS`` only, a row as it comes.

    Enough for ``Dashboard.line``, which applies the same rules as on every page, without building a
    whole ``Concern`` per row.
    """

    __slots__ = ()

    @property
    def ref(self) -> str:
        return concern_reference(self.id)

    @property
    def is_anonymous(self) -> bool:
        return bool(self.anonymity == Anonymity.ANONYMOUS)


@dataclass(slots=True)
class ThreadLine:
    """A message in a concern's conversation, with its author as the viewer may see them."""

    author: str
    role: str
    text: str
    at: str


@dataclass(slots=True)
class ConcernPage:
    """A concern's page: the concern, its thread, its status history, its audit trail, what can be done."""

    line: ConcernLine
    summary_status: str
    thread: list[ThreadLine]
    history: list[tuple[str, str, str]]  # when, what, who
    audit: list[tuple[str, str, str, str]] | None  # when, who, action, detail (leaders and officers)
    can_acknowledge: bool
    can_reply: bool
    can_resolve: bool
    deadline: str
    can_mark_in_progress: bool = False  # and "not possible now": a leader's other closings

    def as_data(self) -> dict[str, Any]:
        """The page as JSON-ready data."""
        return {
            "concern": dataclasses.asdict(self.line),
            "thread": [dataclasses.asdict(m) for m in self.thread],
            "history": [{"at": a, "what": b, "who": c} for a, b, c in self.history],
            "audit": None
            if self.audit is None
            else [{"at": a, "actor": b, "action": c, "detail": d} for a, b, c, d in self.audit],
        }


class Dashboard:
    """The pages' use cases over the read side; the web adapter renders what these return."""

    def __init__(
        self,
        core: Core,
        reads: ReadSide,
        *,
        smallest_group: int = SMALLEST_GROUP,
        snapshot_after: float = 0.1,
    ) -> None:
        self.core, self.reads = core, reads
        self.smallest = smallest_group
        self.trends = TrendSnapshots(core, reads, snapshot_after=snapshot_after)
        self._zones: dict[str, ZoneInfo] = {}
        self._names: dict[str, str] = {}
        self._names_of: Any = None

    # --- labels -----------------------------------------------------------------------------------

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.core.config.organization.timezone)

    def _unit_name(self, unit_id: str) -> str:
        config = self.core.config
        if self._names_of is not config:  # looked up once per unit (an export asks for every row)
            self._names, self._names_of = {}, config
        name = self._names.get(unit_id)
        if name is None:
            unit = config.unit(unit_id)
            name = self._names[unit_id] = unit.name if unit else unit_id
        return name

    def _unit_zone(self, unit_id: str) -> ZoneInfo:
        zone = self._zones.get(unit_id)
        if zone is None:
            unit = self.core.config.unit(unit_id)
            zone = self._zones[unit_id] = self.core.config.timezone_for(unit_id) if unit else self._zone()
        return zone

    def _when(self, unit_id: str, instant: datetime | None, *, day_only: bool = False) -> str:
        if instant is None:
            return ""
        local = instant.astimezone(self._unit_zone(unit_id))
        return local.strftime("%a %d %b %Y") if day_only else local.strftime("%a %d %b %Y %H:%M %Z")

    def _when_org(self, instant: datetime) -> str:
        return instant.astimezone(self._zone()).strftime("%a %d %b %Y %H:%M:%S %Z")

    def _week_labels(self, bounds: list[datetime]) -> list[str]:
        zone = self._zone()
        return [f"to {bounds[i].astimezone(zone):%d %b}" for i in range(len(bounds) - 2, -1, -1)]

    def visible_units(self, viewer: Viewer) -> list[Unit]:
        """The units ``viewer`` may filter by (all of them for an officer)."""
        units = self.core.config.units
        return list(units) if viewer.officer else [u for u in units if u.id in viewer.led]

    # --- the overview ---------------------------------------------------------------------------

    async def overview(self, viewer: Viewer) -> Overview:
        """The overview's figures for ``viewer`` (leaders and officers; others get no figures)."""
        now = self.core.now()
        units = viewer.figures_units()
        scope = Scope(unit_ids=units, hidden_units=viewer.around)
        label = "every unit" if units is None else ", ".join(self._unit_name(u) for u in units)
        weeks = week_bounds(now)
        page = Overview(scope_label=label, weeks=self._week_labels(weeks))
        if not viewer.sees_figures:
            return page
        small = self.smallest
        n = len(weeks) - 1
        order = list(range(n - 1, -1, -1))  # oldest period first, as the columns read

        # Open concerns by severity and age.
        open_rows = await self.reads.open_by_severity_age(scope=scope, now=now, ages=AGES)
        grid = {(s, b): count for s, b, count in open_rows}
        matrix = [[grid.get((s, b), 0) for b in range(len(AGES) + 1)] for s in SEVERITIES]
        matrix = [[*row, sum(row)] for row in matrix]
        matrix.append([sum(col) for col in zip(*matrix, strict=True)])
        cells = count_cells(matrix, small)
        page.tables.append(
            Table(
                key="open",
                title="Open concerns by severity and age",
                columns=[*AGE_LABELS, "All open"],
                rows=[(str(s).capitalize(), cells[i]) for i, s in enumerate(SEVERITIES)]
                + [("All severities", cells[-1])],
                chart="bars-last",
            )
        )
        overdue = await self.reads.overdue_acknowledgements(scope=scope, now=now)

        # Raised, week by week: by quality aim, by type, by unit; escalations and good catches; the
        # response times and huddles below. Twelve weeks' figures: a snapshot when slow to count.
        trends = await self.trends.get(units, viewer.around, weeks)
        if trends.kept:
            weeks = trends.weeks
            page.weeks = self._week_labels(weeks)
            page.figures_as_of = self._when_org(trends.made_at)
        raised = trends.raised

        async def by_week(by: str, values: Sequence[str]) -> list[list[int]]:
            found = {(p, v): count for p, v, count in raised[by]}
            return [[found.get((p, v), 0) for p in order] for v in values]

        aims = [str(a) for a in QualityAim]
        types = counted_types(self.core)
        by_aim = await by_week("category", aims)
        by_type = await by_week("concern_type", types)
        escalated = (await by_week("escalated", ["yes"]))[0]
        totals = [sum(col) for col in zip(*by_aim, strict=True)]
        catches = trends.catches
        catch_row = [catches.get(p, 0) for p in order]
        weekly_cells = count_cells([totals, escalated, catch_row], small)
        page.tables.append(
            Table(
                key="weekly",
                title="Week by week: concerns raised, escalated, good catches",
                columns=page.weeks,
                rows=[
                    ("Concerns raised", weekly_cells[0]),
                    ("Escalated (not acknowledged in time)", weekly_cells[1]),
                    ("Good catches", weekly_cells[2]),
                ],
                chart="columns",
            )
        )
        type_label = self.core.config.type_label
        for key, title, values, matrix, label_of in (
            ("aims", "Concerns raised by quality aim", aims, by_aim, str.capitalize),
            ("types", "Concerns raised by type", types, by_type, type_label),
        ):
            full = [*matrix, totals]
            cells = count_cells([[*row, sum(row)] for row in full], small)
            page.tables.append(
                Table(
                    key=key,
                    title=f"{title}, last {WEEKS} weeks",
                    columns=[*page.weeks, f"{WEEKS} weeks"],
                    rows=[(label_of(v), cells[i]) for i, v in enumerate(values)] + [("All", cells[-1])],
                    chart="bars-last",
                )
            )

        # By unit: twelve weeks, the last seven days and the seven before.
        unit_counts: dict[str, list[int]] = {}
        for p, unit_id, count in raised["unit_id"]:
            row = unit_counts.setdefault(unit_id, [0, 0, 0])
            row[0] += count
            if p == 0:
                row[1] += count
            elif p == 1:
                row[2] += count
        unit_ids = sorted(unit_counts, key=lambda u: (-unit_counts[u][0], self._unit_name(u)))
        if unit_ids:
            cells = count_cells([unit_counts[u] for u in unit_ids], small)
            page.tables.append(
                Table(
                    key="units",
                    title=f"Concerns raised by unit, last {WEEKS} weeks",
                    columns=[f"{WEEKS} weeks", "Last 7 days", "7 days before", "Change"],
                    rows=[
                        (self._unit_name(u), [*cells[i], change_cell(cells[i][1], cells[i][2])])
                        for i, u in enumerate(unit_ids)
                    ],
                )
            )

        # Time to acknowledge and to resolve, against the deadlines.
        times = trends.times
        rows = []
        for i, p in enumerate(order):
            w = times.get(p)
            rows.append((page.weeks[i], self._times_cells(w)))
        page.tables.append(
            Table(
                key="times",
                title="Time to acknowledge and to resolve, by the week a concern was raised",
                columns=[
                    "Acknowledged",
                    "Within deadline",
                    "Median to acknowledge",
                    "90th percentile to acknowledge",
                    "Resolved",
                    "Median to resolve",
                    "90th percentile to resolve",
                ],
                rows=rows,
                note="Within deadline counts only concerns acknowledged or past their deadline.",
                chart="percent",
            )
        )

        # Huddles held and missed, and who answered, by unit (twelve weeks).
        huddles = list(trends.huddles)
        if huddles:
            huddles.sort(key=lambda h: self._unit_name(h.unit_id))
            counts = [[h.held, h.missed, h.answers] for h in huddles]
            cells = count_cells(counts, small)
            rows = []
            for i, h in enumerate(huddles):
                people = (
                    Cell(text=f"{h.people:,}", value=h.people)
                    if h.people >= small or h.people == 0
                    else Cell(text=f"fewer than {small}", suppressed=True)
                )
                per_run = (
                    Cell(text=f"{h.answers / h.held:.1f}", value=round(h.answers / h.held, 1))
                    if h.held and h.people >= small and not cells[i][2].suppressed
                    else Cell(text="not shown", suppressed=True)
                )
                rows.append((self._unit_name(h.unit_id), [*cells[i], people, per_run]))
            page.tables.append(
                Table(
                    key="huddles",
                    title=f"Huddles held and missed, and participation, last {WEEKS} weeks",
                    columns=["Held", "Missed", "Answers", "People who answered", "Answers per huddle held"],
                    rows=rows,
                )
            )

        # Leaders' rounds: planned against done, and what became of the issues heard (twelve weeks).
        # A leader's own work, not anyone's speaking up: no small-number suppression.
        rounds = trends.rounds
        if rounds:
            page.tables.append(
                Table(
                    key="rounds",
                    title=f"Leaders' rounds, last {WEEKS} weeks: planned, done, and the issues heard",
                    columns=[
                        "Planned",
                        "Done",
                        "Issues heard",
                        "Resolved",
                        "In progress",
                        "Not possible now",
                        "Still open",
                    ],
                    rows=[
                        (
                            f"{r.leader} · {r.unit}",
                            [
                                Cell(text=f"{n:,}", value=n)
                                for n in (
                                    r.planned,
                                    r.done,
                                    r.heard,
                                    r.resolved,
                                    r.in_progress,
                                    r.not_possible,
                                    r.still_open,
                                )
                            ],
                        )
                        for r in rounds
                    ],
                )
            )

        # The tiles: the headline numbers, with the change from the seven days before.
        weekly = page.tables[1].rows
        open_total = page.tables[0].rows[-1][1][-1]
        page.tiles = [
            Tile("Open concerns", open_total),
            Tile(
                "Acknowledgements overdue now",
                count_cells([[overdue]], small)[0][0],
                hint="Not acknowledged, past their deadline",
            ),
            Tile(
                "Raised in the last 7 days", weekly[0][1][-1], change_cell(weekly[0][1][-1], weekly[0][1][-2])
            ),
            Tile("Escalated, last 7 days", weekly[1][1][-1], change_cell(weekly[1][1][-1], weekly[1][1][-2])),
            Tile(
                "Good catches, last 7 days", weekly[2][1][-1], change_cell(weekly[2][1][-1], weekly[2][1][-2])
            ),
        ]
        return page

    def _times_cells(self, w: Any) -> list[Cell]:
        small = self.smallest
        hidden = Cell(text="not shown", suppressed=True)

        def count(n: int) -> Cell:
            return (
                Cell(text=f"{n:,}", value=n)
                if n == 0 or n >= small
                else Cell(text=f"fewer than {small}", suppressed=True)
            )

        def seconds(value: float | None, n: int) -> Cell:
            if value is None or n < small:
                return hidden
            return Cell(text=duration_label(value), value=round(value))

        if w is None:
            return [count(0), hidden, hidden, hidden, count(0), hidden, hidden]
        within = (
            Cell(text=f"{round(100 * w.within / w.judged)}%", value=round(100 * w.within / w.judged))
            if w.judged >= small
            else hidden
        )
        return [
            count(w.acknowledged),
            within,
            seconds(w.ack_p50, w.acknowledged),
            seconds(w.ack_p90, w.acknowledged),
            count(w.resolved),
            seconds(w.resolve_p50, w.resolved),
            seconds(w.resolve_p90, w.resolved),
        ]

    # --- the concerns list ----------------------------------------------------------------------

    def read_filter(
        self, viewer: Viewer, form: Mapping[str, Sequence[str]]
    ) -> tuple[FilterForm, ConcernFilter]:
        """The filter a person asked for, checked; errors name the field, as GOV.UK forms do."""

        def many(name: str, allowed: Sequence[str]) -> list[str]:
            chosen = [v for v in form.get(name, []) if v]
            bad = [v for v in chosen if v not in allowed]
            if bad:
                errors[name] = f"Choose from the list ({bad[0][:30]} is not one of them)"
            return [v for v in chosen if v in allowed]

        def one(name: str) -> str:
            values = form.get(name, [])
            return (values[0] if values else "").strip()

        errors: dict[str, str] = {}
        unit = one("unit")
        statuses = many("status", [str(s) for s in STATUSES])
        severities = many("severity", [str(s) for s in SEVERITIES])
        aims = many("aim", [str(a) for a in QualityAim])
        types = many("type", counted_types(self.core))
        sources = many("source", SOURCES)
        words = one("q")[:200]
        unit_ids: tuple[str, ...] | None = None
        if unit:
            allowed = {u.id for u in self.visible_units(viewer)}
            if unit not in allowed:
                errors["unit"] = "Choose one of your units from the list"
            else:
                unit_ids = (unit, *(u.id for u in self.core.config.descendants(unit)))
        dates: dict[str, datetime | None] = {}
        for name, label in (("from", "from"), ("to", "to")):
            text = one(name)
            dates[name] = None
            if text:
                try:
                    day = date.fromisoformat(text)
                except ValueError:
                    errors[name] = f"Enter the '{label}' date as a date, for example 2026-11-25"
                    continue
                if name == "to":
                    day += timedelta(days=1)
                dates[name] = datetime.combine(day, time(0), tzinfo=self._zone())
        if dates["from"] and dates["to"] and dates["from"] >= dates["to"]:
            errors["to"] = "The 'to' date must be on or after the 'from' date"
        filled = FilterForm(
            unit=unit,
            statuses=statuses,
            severities=severities,
            aims=aims,
            types=types,
            sources=sources,
            raised_from=one("from"),
            raised_to=one("to"),
            words=words,
            errors=errors,
        )
        where = ConcernFilter(
            unit_ids=unit_ids,
            statuses=tuple(statuses),
            severities=tuple(severities),
            aims=tuple(aims),
            types=tuple(types),
            # Both choices is everything: no filter (and no lookup of the family table).
            sources=(
                tuple(s for chosen in dict.fromkeys(sources) for s in _FILTERED[chosen])
                if len(set(sources)) < len(SOURCES)
                else ()
            ),
            raised_from=dates["from"],
            raised_to=dates["to"],
            words=words or None,
        )
        return filled, where

    def line(self, viewer: Viewer, concern: Concern, source: str = STAFF_SOURCE) -> ConcernLine:
        """A concern as ``viewer`` may see it in a list, on its page, or in an export.

        ``source`` is the concern's (``SOURCE_LABELS``): the read side's, since a concern does not hold it.
        """
        anonymous = concern.is_anonymous
        return ConcernLine(
            ref=concern.ref,
            unit_id=concern.unit_id,
            unit=self._unit_name(concern.unit_id),
            severity=concern.severity,
            aim=concern.category,
            concern_type=concern.concern_type,
            status=str(concern.status),
            anonymity=concern.anonymity,
            source=source,
            reporter=reporter_shown(viewer, concern),
            # As on the card: an anonymous concern shows its day only, never the minute it was raised.
            raised=self._when(concern.unit_id, concern.created_at, day_only=anonymous),
            raised_at=(
                concern.created_at.date().isoformat() if anonymous else concern.created_at.isoformat()
            ),
            acknowledged_at=concern.acknowledged_at.isoformat() if concern.acknowledged_at else "",
            acknowledged_by=concern.acknowledged_by or "",
            resolved_at=concern.resolved_at.isoformat() if concern.resolved_at else "",
            resolved_by=concern.resolved_by or "",
            escalation_level=concern.escalation_level,
            text=concern.text,
            resolution=concern.resolution or "",
        )

    async def concerns(
        self, viewer: Viewer, where: ConcernFilter, *, before: tuple[datetime, int] | None = None
    ) -> tuple[list[ConcernLine], tuple[datetime, int] | None]:
        """A page of the concerns list, and where the next page starts (None at the end)."""
        found = await self.reads.list_concerns(
            scope=viewer.scope(), where=where, limit=PAGE_SIZE + 1, before=before
        )
        more = len(found) > PAGE_SIZE
        found = found[:PAGE_SIZE]
        last = found[-1] if found and more else None
        after = (last.created_at, last.id) if last is not None and last.id is not None else None
        # A page's sources by the family table's key: at most PAGE_SIZE probes, none when none match.
        sources = await self.reads.concern_sources(concern_ids=[c.id for c in found if c.id is not None])
        return [self.line(viewer, c, sources.get(c.id or 0, STAFF_SOURCE)) for c in found], after

    async def export_concerns(
        self, viewer: Viewer, where: ConcernFilter, *, form: str
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Every concern the filter matches, as the viewer may see it, in batches of rows.

        A row's values are in ``EXPORT_FIELDS`` order. The export is audited first.
        """
        await self._audit(viewer, "dashboard.exported", what="concerns", format=form, **_described(where))
        line = self.line
        async for batch in self.reads.stream_concern_rows(
            scope=viewer.scope(), where=where, fields=LINE_FIELDS
        ):
            yield [
                _EXPORTED(line(viewer, selected, selected.source))  # type: ignore[arg-type]
                for selected in map(_Selected._make, batch)
            ]

    # --- one concern ----------------------------------------------------------------------------

    async def _load(self, viewer: Viewer, ref: str) -> Concern:
        concern_id = parse_reference(ref)
        if concern_id is None:
            raise NotFound("There is no concern with that reference.")
        async with self.core.uow() as tx:
            concern = await tx.get(Concern, concern_id)
        if concern is None:
            raise NotFound("There is no concern with that reference.")
        if not viewer.can_see(concern):
            raise NotAllowed("You cannot see this concern.")
        if concern.status == ConcernStatus.WAITING:  # not posted yet: it does not exist for anyone
            raise NotFound("There is no concern with that reference.")
        return concern

    async def concern_page(self, viewer: Viewer, ref: str) -> ConcernPage:
        """A concern's page, for a viewer allowed to see it (``NotAllowed`` otherwise).

        Every view is written to the audit log.
        """
        concern = await self._load(viewer, ref)
        assert concern.id is not None
        async with self.core.uow() as tx:
            messages = await tx.concern_messages(concern_id=concern.id)
            # A confidential reporter looking at their own concern is not named in its audit trail,
            # which its leaders read: "confidential reporter", as everywhere else in the log.
            actor = viewer.actor
            if viewer.is_reporter_of(concern) and concern.anonymity == Anonymity.CONFIDENTIAL:
                actor = "confidential reporter"
            await record(tx, self.core, actor, "dashboard.concern_viewed", concern_id=concern.id)
        events = await self.reads.audit_trail(concern_id=concern.id)
        unit = self.core.config.unit(concern.unit_id)
        leads = unit is not None and is_leader(self.core, viewer.person, unit)
        open_ = concern.status not in CLOSED_STATUSES
        thread = [
            ThreadLine(
                author=self._author(viewer, concern, m.author_role, m.author_name),
                role=m.author_role,
                text=m.text,
                at=self._when(concern.unit_id, m.created_at),
            )
            for m in messages
        ]
        history = [
            (
                self._when(
                    concern.unit_id, e.at, day_only=concern.is_anonymous and e.action == "concern.raised"
                ),
                _HISTORY[e.action],
                self._actor(viewer, concern, e),
            )
            for e in events
            if e.action in _HISTORY
        ]
        audit = None
        if leads or viewer.officer:
            audit = [
                (
                    self._when(
                        concern.unit_id, e.at, day_only=concern.is_anonymous and e.action == "concern.raised"
                    ),
                    self._actor(viewer, concern, e),
                    e.action,
                    _detail(e),
                )
                for e in events
            ]
        deadline = concern.created_at + timedelta(seconds=concern.policy.get("sla_seconds", 0))
        sources = await self.reads.concern_sources(concern_ids=[concern.id])
        return ConcernPage(
            line=self.line(viewer, concern, sources.get(concern.id, STAFF_SOURCE)),
            summary_status=STATUS_LABELS.get(ConcernStatus(concern.status), concern.status),
            thread=thread,
            history=history,
            audit=audit,
            can_acknowledge=leads and open_ and concern.acknowledged_at is None,
            can_reply=open_ and (leads or viewer.is_reporter_of(concern)),
            can_resolve=leads and open_,
            deadline=self._when(concern.unit_id, deadline),
            can_mark_in_progress=leads and open_ and concern.status != ConcernStatus.IN_PROGRESS,
        )

    def _author(self, viewer: Viewer, concern: Concern, role: str, name: str | None) -> str:
        if role == "reporter":
            if concern.anonymity == Anonymity.ANONYMOUS:
                return "The reporter (anonymous)"
            if concern.anonymity == Anonymity.CONFIDENTIAL and not (
                viewer.officer or viewer.is_reporter_of(concern)
            ):
                return "The reporter (confidential)"
            return f"{name or 'The reporter'} (reporter)"
        if role == "system":
            return "huddlebot"
        return name or "A leader"

    def _actor(self, viewer: Viewer, concern: Concern, event: AuditEvent) -> str:
        # The log never holds an anonymous reporter; a confidential one is named there only as such.
        return event.actor

    async def act(self, viewer: Viewer, ref: str, action: str, text: str, title: str | None = None) -> Reply:
        """Acknowledge, reply, mark in progress, resolve or close as not possible now from the page.

        The chat's own commands, with the same rules; ``title`` is the stoplight's short title.
        """
        concern = await self._load(viewer, ref)
        person = viewer.person
        if action == "acknowledge":
            command: Any = AcknowledgeConcern(person=person, ref=concern.ref, note=text or None)
        elif action == "reply":
            command = ReplyToConcern(person=person, ref=concern.ref, text=text)
        elif action == "resolve":
            command = ResolveConcern(person=person, ref=concern.ref, text=text, title=title)
        elif action == "in_progress":
            command = SetConcernStatus(
                person=person, ref=concern.ref, status="in_progress", note=text or None, title=title
            )
        elif action == "not_possible":
            command = MarkNotPossible(person=person, ref=concern.ref, reason=text, title=title)
        else:
            raise NotFound("There is no such action.")
        return await self.core.handle(command)

    # --- huddles --------------------------------------------------------------------------------

    async def stoplight(self, viewer: Viewer, unit_id: str | None) -> tuple[Unit, Stoplight]:
        """The last seven days' "you said, we did" of a unit the viewer leads (a group's: its roll-up).

        The very report the unit's channel gets, built by ``bot.stoplight`` under the same rules: the
        leader's titles, the reporter's words only where allowed, nothing routed around its leaders.
        Without ``unit_id``: the highest unit the viewer leads (an officer: the top of the tree).
        """
        if not viewer.sees_figures:
            raise NotAllowed(
                "The stoplight report is for unit leaders and the patient-safety officers; your unit's "
                "channel gets it every week."
            )
        units = self.visible_units(viewer)
        if unit_id:
            unit = next((u for u in units if u.id == unit_id), None)
            if unit is None:
                raise NotAllowed("You can see the stoplight report of the units you lead.")
        else:
            unit = max(units, key=lambda u: u.tier)  # the first of the highest tier
        now = self.core.now()
        async with self.core.uow() as tx:
            view = await stoplight.build(self.core, tx, unit, start=now - timedelta(days=7), end=now)
        return unit, view

    def huddle_units(self, viewer: Viewer, unit: str | None) -> tuple[str, ...] | None:
        """The units a huddles page covers: a chosen unit and those below it, else all the viewer's."""
        if unit:
            if unit not in {u.id for u in self.visible_units(viewer)}:
                raise NotAllowed("You cannot see that unit's huddles.")
            return (unit, *(u.id for u in self.core.config.descendants(unit)))
        return viewer.figures_units()

    async def huddle_runs(
        self, viewer: Viewer, unit: str | None, *, days: int = 28, limit: int | None = 200
    ) -> tuple[list[RunLine], list[Table]]:
        """Recent runs (with answer counts), and a roll-up for each department above its units."""
        if not viewer.sees_figures:
            raise NotAllowed("Huddles are for unit leaders and the patient-safety officers.")
        units = self.huddle_units(viewer, unit)
        now = self.core.now()
        runs = await self.reads.list_runs(
            unit_ids=units, start=now - timedelta(days=days), end=now, limit=limit
        )
        totals = await self.reads.huddles_by_unit(unit_ids=units, start=now - timedelta(days=days), end=now)
        by_unit = {h.unit_id: h for h in totals}
        rollups: list[Table] = []
        for dept in self.core.config.units:
            below = [u.id for u in self.core.config.descendants(dept.id)]
            if not below or (units is not None and dept.id not in units):
                continue
            rows = [by_unit[u] for u in [dept.id, *below] if u in by_unit]
            if not rows:
                continue
            matrix = [[h.held, h.missed, h.answers] for h in rows]
            cells = count_cells([*matrix, [sum(c) for c in zip(*matrix, strict=True)]], self.smallest)
            rollups.append(
                Table(
                    key=f"rollup-{dept.id}",
                    title=f"{dept.name}: the last {days} days",
                    columns=["Held", "Missed", "Answers"],
                    rows=[(self._unit_name(h.unit_id), cells[i]) for i, h in enumerate(rows)]
                    + [("All", cells[-1])],
                )
            )
        return runs, rollups

    async def run_page(self, viewer: Viewer, run_id: int) -> tuple[Any, list[Any]]:
        """One huddle run and its answers (already posted in the unit's channel, so shown by name)."""
        from bot.model import HuddleRun

        async with self.core.uow() as tx:
            run = await tx.get(HuddleRun, run_id)
            if run is None:
                raise NotFound("There is no such huddle.")
            units = self.huddle_units(viewer, None)
            if units is not None and run.unit_id not in units:
                raise NotAllowed("You cannot see that unit's huddles.")
            responses = await tx.responses(run_id=run_id)
            await record(tx, self.core, viewer.actor, "dashboard.huddle_viewed", run_id=run_id)
        return run, responses

    async def export_runs(
        self, viewer: Viewer, unit: str | None, *, form: str, days: int = 365
    ) -> list[RunLine]:
        """Huddle runs for an export, audited."""
        runs, _ = await self.huddle_runs(viewer, unit, days=days, limit=None)
        await self._audit(viewer, "dashboard.exported", what="huddles", format=form, unit=unit or "all")
        return runs

    def run_label(self, run: Any) -> dict[str, str]:
        """Labels for a run line."""
        return {
            "unit": self._unit_name(run.unit_id),
            "when": self._when(run.unit_id, run.scheduled_for),
            "status": {RunStatus.MISSED: "Missed", RunStatus.OPEN: "Open"}.get(run.status, "Held"),
        }

    async def _audit(self, viewer: Viewer, action: str, **detail: Any) -> None:
        async with self.core.uow() as tx:
            await record(tx, self.core, viewer.actor, action, **detail)


ANSWER_LABELS = {
    Answer.CLEAR: "All clear",
    Answer.CONCERN: "Concern",
    Answer.GOOD_CATCH: "Good catch",
    Answer.COMMENT: "Comment",
}


def _described(where: ConcernFilter) -> dict[str, Any]:
    """A filter for the audit log: never the words searched for (they may name a patient)."""
    return {
        "units": list(where.unit_ids or []),
        "statuses": list(where.statuses),
        "severities": list(where.severities),
        "aims": list(where.aims),
        "types": list(where.types),
        "sources": list(where.sources),
        "from": where.raised_from.isoformat() if where.raised_from else None,
        "to": where.raised_to.isoformat() if where.raised_to else None,
        "words": bool(where.words),
    }


def _detail(event: AuditEvent) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(event.detail.items()) if v not in (None, "", []))


def reference_for(concern_id: int) -> str:
    """The human reference of a concern id (for links)."""
    return concern_reference(concern_id)
