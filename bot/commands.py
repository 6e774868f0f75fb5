"""Commands: what a person asked for, as plain data. Adapters build them; ``Core.handle`` runs them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.model import Address, Person


@dataclass(frozen=True, slots=True)
class RaiseConcern:
    """Speak up. ``unit`` may be None: the unit is then taken from where it was said."""

    person: Person
    where: Address
    text: str
    unit: str | None = None
    severity: str | None = None
    category: str | None = None
    concern_type: str | None = None
    anonymity: str = "named"
    notify_me: bool = False
    post_anyway: bool = False  # the reporter saw the patient-identifier warning and confirmed
    share: bool = False  # the reporter allows their own words on the stoplight (named concerns only)
    involves_leader: bool = False  # it involves one of the unit's leaders: routed around them
    idempotency_key: str | None = None  # a platform retry carries the same key: never two concerns


@dataclass(frozen=True, slots=True)
class FollowUp:
    """An anonymous reporter, holding a receipt code, reads the conversation or answers in it."""

    person: Person
    code: str
    text: str | None = None


@dataclass(frozen=True, slots=True)
class AcknowledgeConcern:
    """A leader says "we have seen this"."""

    person: Person
    ref: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyToConcern:
    """A leader or the named reporter adds to the concern's conversation."""

    person: Person
    ref: str
    text: str


@dataclass(frozen=True, slots=True)
class SetConcernStatus:
    """A leader moves a concern along (``in_progress``)."""

    person: Person
    ref: str
    status: str
    note: str | None = None  # the latest update: a leader message, the stoplight's yellow line shows it
    title: str | None = None  # a short title for the stoplight report
    # Only the checks that come before any change (may this person lead it, is it still open), so a
    # platform can refuse before opening the form; always refused, code ``status_allowed`` if they pass.
    check_only: bool = False


@dataclass(frozen=True, slots=True)
class ResolveConcern:
    """A leader closes the loop with what was done."""

    person: Person
    ref: str
    text: str
    title: str | None = None  # a short title for the stoplight report


@dataclass(frozen=True, slots=True)
class MarkNotPossible:
    """A leader closes a concern as not possible now, and says why (the reporter is told)."""

    person: Person
    ref: str
    reason: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class ShowStoplight:
    """The stoplight report ("you said, we did") of a unit, now: posted to its channel by a leader."""

    person: Person
    where: Address
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class ReopenConcern:
    """The reporter says it is not fixed. ``ref`` is a reference, or a receipt code if anonymous."""

    person: Person
    ref: str
    text: str


@dataclass(frozen=True, slots=True)
class ShowConcern:
    """Anyone allowed asks for the current state of a concern."""

    person: Person
    ref: str


@dataclass(frozen=True, slots=True)
class MessageInThread:
    """A plain message typed in a thread the bot started (a concern card, a DM, a huddle prompt)."""

    person: Person
    where: Address
    text: str


@dataclass(frozen=True, slots=True)
class OpenHuddle:
    """Start a huddle now, outside its schedule."""

    person: Person
    where: Address
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class HuddleStatus:
    """Where is today's huddle at, and what is open."""

    person: Person
    where: Address
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerHuddle:
    """Answer the open huddle prompt: all clear, a concern, a good catch, or a comment."""

    person: Person
    where: Address
    answer: str
    text: str | None = None
    unit: str | None = None
    run_id: int | None = None  # set when a button on a particular prompt was pressed


@dataclass(frozen=True, slots=True)
class GiveGoodCatch:
    """Recognise a colleague for catching something before it caused harm."""

    person: Person
    where: Address
    recipient: str  # a directory handle, or what the person typed or picked
    text: str
    unit: str | None = None
    recipient_id: str | None = None  # the platform's user id, when the adapter knows it
    recipient_name: str | None = None  # the platform's name for them (a mention's label), when known


@dataclass(frozen=True, slots=True)
class ShowHome:
    """A person opens their own page: their concerns and, for leaders, the open ones in their units."""

    person: Person


@dataclass(frozen=True, slots=True)
class LogRound:
    """A leader logs a round on a unit.

    Whom they spoke with (counts only, never a patient's name); wins (each a good catch for a named
    colleague); issues heard (each a concern raised on the staff member's behalf, the leader its
    recorded source, or an item tracked on the stoplight); the tools or barriers the unit needs.
    """

    person: Person
    where: Address
    unit: str | None = None
    staff: int = 0
    patients: int = 0
    families: int = 0
    wins: tuple[tuple[str, str], ...] = ()  # (colleague's handle, what they did)
    concerns: tuple[str, ...] = ()  # issues heard, raised as concerns ("heard on rounds")
    tracked: tuple[str, ...] = ()  # issues heard, tracked on the stoplight (in progress)
    barriers: tuple[str, ...] = ()


Command = (
    RaiseConcern
    | FollowUp
    | AcknowledgeConcern
    | ReplyToConcern
    | SetConcernStatus
    | ResolveConcern
    | MarkNotPossible
    | ReopenConcern
    | ShowConcern
    | MessageInThread
    | OpenHuddle
    | HuddleStatus
    | AnswerHuddle
    | GiveGoodCatch
    | ShowHome
    | ShowStoplight
    | LogRound
)
