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
    event: Literal["received", "acknowledged", "reply", "status", "resolved", "reopened", "nudge"]
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


View = Annotated[
    Notice | ConcernCard | ThreadMessage | ReporterUpdate | HuddlePrompt | HuddleSummary | GoodCatchPost,
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
