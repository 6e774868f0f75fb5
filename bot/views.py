"""Views: what the core wants people to see, as neutral data.

Each platform's Messenger renders them (Block Kit, Adaptive Cards, terminal text). They are
stored in the outbox as JSON, so every view is a pydantic model tagged by ``kind``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Action(_View):
    """A button: ``id`` says what it does, ``value`` is a versioned id from ``bot.actions``."""

    id: str
    label: str
    value: str
    style: Literal["primary", "danger"] | None = None


class Notice(_View):
    """A short message to one person or a channel."""

    kind: Literal["notice"] = "notice"
    text: str
    tone: Literal["info", "success", "warning", "error"] = "info"
    title: str | None = None


class ConcernCard(_View):
    """The card leaders work from. Re-sent whole whenever the concern changes."""

    kind: Literal["concern_card"] = "concern_card"
    concern_id: int
    ref: str
    unit_name: str
    severity: str
    category: str
    concern_type: str
    anonymity: str
    reporter_label: str
    text: str
    status: str
    raised_label: str
    headline: str | None = None  # e.g. "Escalated to Department of Medicine: not acknowledged within 1h"
    acknowledged_label: str | None = None
    resolution: str | None = None
    resolved_label: str | None = None
    phi_flagged: bool = False
    title: str | None = None  # the leader's short title for the stoplight report
    not_possible: str | None = None  # "who, when. Why: the reason" once closed as not possible now
    actions: list[Action] = Field(default_factory=list)


class ThreadMessage(_View):
    """A message in a concern's conversation (leader, reporter or the bot)."""

    kind: Literal["thread_message"] = "thread_message"
    ref: str
    author_label: str
    text: str


class ReporterUpdate(_View):
    """What the reporter is told about their concern (received, acknowledged, a reply, resolved)."""

    kind: Literal["reporter_update"] = "reporter_update"
    ref: str
    event: Literal[
        "received", "acknowledged", "reply", "status", "resolved", "not_possible", "reopened", "nudge"
    ]
    text: str


class OpenItem(_View):
    """An open concern listed under "follow up" in a huddle prompt."""

    ref: str
    summary: str
    status: str
    severity: str


class Counts(_View):
    """Huddle responses, one per person (their latest answer)."""

    clear: int = 0
    concern: int = 0
    goodcatch: int = 0
    comments: int = 0
    responders: int = 0


class HuddlePrompt(_View):
    """The daily safety check-in posted to a unit's channel."""

    kind: Literal["huddle_prompt"] = "huddle_prompt"
    run_id: int
    unit_name: str
    when_label: str
    closes_label: str
    questions: list[str]
    open_items: list[OpenItem] = Field(default_factory=list)
    counts: Counts = Field(default_factory=Counts)
    closed: bool = False
    actions: list[Action] = Field(default_factory=list)
    rollup: list[str] = Field(default_factory=list)  # a department's or executive huddle: one line a unit


class HuddleSummary(_View):
    """Posted in the prompt's thread when the huddle closes."""

    kind: Literal["huddle_summary"] = "huddle_summary"
    run_id: int
    unit_name: str
    when_label: str
    counts: Counts
    comments: list[str] = Field(default_factory=list)
    concerns_raised: list[str] = Field(default_factory=list)
    good_catches: list[str] = Field(default_factory=list)
    open_items: list[OpenItem] = Field(default_factory=list)
    missed_runs: list[str] = Field(default_factory=list)
    rollup: list[str] = Field(default_factory=list)


class GoodCatchPost(_View):
    """Recognition posted to a unit's channel."""

    kind: Literal["good_catch"] = "good_catch"
    unit_name: str
    giver_label: str
    recipient_label: str
    text: str


class StoplightItem(_View):
    """One line of the stoplight report.

    The leader's title (or the words a named reporter allowed) and, when it may be shown, what was
    done, the latest update or the reason.
    """

    colour: Literal["green", "yellow", "red"]
    ref: str
    title: str
    detail: str | None = None


class StoplightUnit(_View):
    """One unit's part of the stoplight report."""

    unit_name: str
    green: list[StoplightItem] = Field(default_factory=list)
    yellow: list[StoplightItem] = Field(default_factory=list)
    red: list[StoplightItem] = Field(default_factory=list)
    more: int = 0  # lines left out to keep the message within the platforms' limits
    nothing: str | None = None  # "Nothing raised this week — thank you for your huddles."


class Stoplight(_View):
    """The weekly "you said, we did" report in a unit's channel (a group's: the units below it)."""

    kind: Literal["stoplight"] = "stoplight"
    title: str
    units: list[StoplightUnit] = Field(default_factory=list)
    legend: str = ""

    def __str__(self) -> str:
        """Plain text, a line an item.

        What a Messenger without a layout of its own shows: Slack and Teams render ``str(view)`` for a
        view they do not know, escaped and fitted to their limits.
        """
        marks = {"green": "🟢 Done", "yellow": "🟡 In progress", "red": "🔴 Not possible now"}
        lines = [self.title]
        for unit in self.units:
            if len(self.units) > 1:
                lines.append(f"\n{unit.unit_name}")
            if unit.nothing:
                lines.append(unit.nothing)
            for colour in ("green", "yellow", "red"):
                for item in getattr(unit, colour):
                    lines.append(f"{marks[colour]} · {item.ref}: {item.title}")
                    if item.detail:
                        lines.append(f"    {item.detail}")
            if unit.more:
                lines.append(f"… and {unit.more} more")
        if self.legend:
            lines.append(f"\n{self.legend}")
        return "\n".join(lines)


View = Annotated[
    Notice
    | ConcernCard
    | ThreadMessage
    | ReporterUpdate
    | HuddlePrompt
    | HuddleSummary
    | GoodCatchPost
    | Stoplight,
    Field(discriminator="kind"),
]

_view_adapter: TypeAdapter[View] = TypeAdapter(View)


def dump_view(view: View) -> str:
    """Serialise a view for the outbox."""
    return view.model_dump_json()


def load_view(data: str) -> View:
    """Read a view back from the outbox."""
    return _view_adapter.validate_json(data)


# Views shown on request only (never queued in the outbox, so not part of ``View``).


class ConcernLine(_View):
    """One concern in a list (the App Home tab): enough to recognise it, no more."""

    ref: str
    unit_name: str
    severity: str
    status: str
    concern_type: str
    summary: str
    raised_label: str
    reporter_label: str | None = None


class HomeTab(_View):
    """A person's own page: their concerns and, for leaders, what is open in their units."""

    kind: Literal["home"] = "home"
    title: str
    mine: list[ConcernLine] = Field(default_factory=list)
    mine_note: str = ""
    leader_units: list[str] = Field(default_factory=list)
    open_in_units: list[ConcernLine] = Field(default_factory=list)
