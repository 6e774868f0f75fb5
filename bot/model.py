"""The core's vocabulary: who, where, and the records a use case reads and writes.

Records are plain dataclasses whose fields are the columns storage keeps; storage maps
them to tables, the core never sees a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class Person:
    """Someone talking to the bot on some platform."""

    platform: str
    tenant: str
    user_id: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class Address:
    """A place a message goes: a channel (optionally a thread in it) or a person's DM (``user``)."""

    platform: str
    tenant: str
    channel: str | None = None
    thread: str | None = None
    user: str | None = None

    @classmethod
    def dm(cls, person: Person) -> Address:
        """The direct-message address of ``person`` on their platform."""
        return cls(platform=person.platform, tenant=person.tenant, user=person.user_id)

    @property
    def target(self) -> str:
        """A stable key for pacing and ordering: one per channel or per DM."""
        return f"{self.platform}:{self.tenant}:{self.channel or '@' + (self.user or '')}"


class Severity(StrEnum):
    """How urgent a concern is, in the hospital's own words."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    IMMEDIATE = "immediate"  # "stop the line"


class QualityAim(StrEnum):
    """The six quality aims a concern is tagged with."""

    SAFE = "safe"
    TIMELY = "timely"
    EFFECTIVE = "effective"
    EFFICIENT = "efficient"
    EQUITABLE = "equitable"
    PATIENT_CENTRED = "patient-centred"


class ConcernType(StrEnum):
    """What the concern is about."""

    FALLS = "falls"
    MEDICATION = "medication"
    EQUIPMENT = "equipment"
    STAFFING = "staffing"
    INFECTION = "infection"
    VIOLENCE = "violence"
    OTHER = "other"
    RESPECT = "respect"  # disrespectful or abusive behaviour (the organisation may relabel it)


class Anonymity(StrEnum):
    """Who may know who raised a concern."""

    NAMED = "named"
    CONFIDENTIAL = "confidential"  # the patient-safety officers only
    ANONYMOUS = "anonymous"  # nobody: never stored


class ConcernStatus(StrEnum):
    """Where a concern is in its life."""

    WAITING = "waiting"  # anonymous: received, its card not yet posted (the delay hides its timing)
    OPEN = "open"  # raised, nobody has acknowledged it yet
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    NOT_POSSIBLE = "not_possible"  # closed by a leader: not possible now, with the reason


# Closed one way or the other: nothing more to do unless the reporter reopens it.
CLOSED_STATUSES = (ConcernStatus.RESOLVED, ConcernStatus.NOT_POSSIBLE)


class Answer(StrEnum):
    """A response to a huddle prompt."""

    CLEAR = "clear"
    CONCERN = "concern"
    GOOD_CATCH = "goodcatch"
    COMMENT = "comment"


class RunStatus(StrEnum):
    """A huddle run's state."""

    OPEN = "open"
    CLOSED = "closed"
    MISSED = "missed"


class OutboxStatus(StrEnum):
    """Where an outbox row is in delivery."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # permanent failure: an admin must look
    SUPERSEDED = "superseded"  # a newer update of the same message replaced it before it was sent


REFERENCE_OFFSET = 1000


# Anonymous concerns take random ids from their own range, so an id never says which concerns were
# raised just before or after it; named ones count up from 1 and stay below it.
ANONYMOUS_IDS = range(1_000_000, 10_000_000)


def concern_reference(concern_id: int) -> str:
    """The human reference of a concern, e.g. ``C-1042``."""
    return f"C-{REFERENCE_OFFSET + concern_id}"


def parse_reference(text: str) -> int | None:
    """The concern id behind ``C-1042`` (or ``c1042``, ``1042``); None if it is not a reference."""
    raw = text.strip().upper().removeprefix("C").removeprefix("-")
    if not raw.isdigit() or len(raw) > 12:
        return None
    number = int(raw) - REFERENCE_OFFSET
    return number if number > 0 else None


@dataclass(eq=False, slots=True)
class Concern:
    """A safety concern. For ``anonymous`` every ``reporter_*`` field stays None."""

    unit_id: str
    severity: str
    category: str
    concern_type: str
    anonymity: str
    text: str
    created_at: datetime
    policy: dict[str, Any]
    status: str = ConcernStatus.OPEN
    reporter_platform: str | None = None
    reporter_tenant: str | None = None
    reporter_user_id: str | None = None
    reporter_name: str | None = None
    reporter_handle: str | None = None
    receipt_hash: str | None = None
    notify_sealed: bool = False
    phi_flagged: bool = False
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    escalation_level: int = 0
    next_escalation_at: datetime | None = None
    nudge_at: datetime | None = None
    updated_at: datetime | None = None
    idempotency_key: str | None = None
    # The stoplight report ("you said, we did"): the leader's short title, whether the reporter let
    # their own words be shown there, and a "not possible now" closing with its reason.
    title: str | None = None
    share_words: bool = False
    not_possible_at: datetime | None = None
    not_possible_by: str | None = None
    not_possible_reason: str | None = None
    # The reporter said it involves one of the unit's own leaders: routed around them (bot.visibility).
    involves_leader: bool = False
    id: int | None = None

    @property
    def ref(self) -> str:
        """The human reference, e.g. ``C-1042``."""
        assert self.id is not None
        return concern_reference(self.id)

    @property
    def is_anonymous(self) -> bool:
        """True when nobody may know the reporter."""
        return self.anonymity == Anonymity.ANONYMOUS


@dataclass(eq=False, slots=True)
class ConcernMessage:
    """One message in a concern's conversation between leaders and the reporter."""

    concern_id: int
    author_role: str  # "leader", "reporter" or "system"
    author_name: str | None  # None for an anonymous reporter
    text: str
    created_at: datetime
    id: int | None = None


@dataclass(eq=False, slots=True)
class HuddleRun:
    """One occurrence of a unit's huddle, claimed by ``(unit_id, claim_key)``."""

    unit_id: str
    claim_key: str  # "07:00@2026-11-25" for a scheduled run, "adhoc@2026-11-25T14:03" otherwise
    scheduled_for: datetime
    closes_at: datetime
    status: str = RunStatus.OPEN
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    opened_by: str | None = None
    id: int | None = None


@dataclass(eq=False, slots=True)
class HuddleResponse:
    """A person's answer to a huddle prompt; never anonymous (huddle answers are posted in channel)."""

    run_id: int
    answer: str
    responder_key: str
    responder_name: str
    created_at: datetime
    text: str | None = None
    id: int | None = None


@dataclass(eq=False, slots=True)
class GoodCatch:
    """Recognition of a colleague who caught something before it did harm."""

    unit_id: str
    giver_name: str
    recipient_label: str
    text: str
    created_at: datetime
    recipient_handle: str | None = None
    id: int | None = None


@dataclass(eq=False, slots=True)
class Round:
    """A leader's round on a unit, as they logged it: whom they spoke with and what came of it.

    Counts only, never a patient's name; what was heard lives on as the concerns it became
    (``RoundIssue``: raised on the staff member's behalf, or tracked on the stoplight).
    """

    unit_id: str
    leader: str  # the leader's handle in the organisation file
    logged_at: datetime
    staff: int
    patients: int
    families: int
    wins: int
    barriers: list[str]
    heard: list[str]  # one line each, for the next reminder ("C-12: call bells unanswered")
    id: int | None = None


@dataclass(eq=False, slots=True)
class RoundIssue:
    """An issue heard on a round, and the concern it became (``kind``: raised or tracked)."""

    round_id: int
    concern_id: int
    kind: str


@dataclass(eq=False, slots=True)
class AuditEvent:
    """An append-only record of a state change. ``actor`` is never an anonymous reporter's identity."""

    at: datetime
    actor: str
    action: str
    concern_id: int | None = None
    run_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(eq=False, slots=True)
class OutboxItem:
    """A view waiting to be delivered, written in the same transaction as the change that made it.

    ``op`` is "post" or "update". A post with ``msg_key`` can later be updated (``ref_key``) or
    replied under (``thread_key``); the platform's reference is kept in ``message_ref``. A
    ``sealed`` row has no address: the relay unseals the anonymous reporter's address at send time.
    """

    op: str
    role: str
    view: str
    created_at: datetime
    due_at: datetime
    platform: str | None = None
    tenant: str | None = None
    channel: str | None = None
    user_id: str | None = None
    thread_key: str | None = None
    thread_ref: str | None = None
    msg_key: str | None = None
    ref_key: str | None = None
    target: str | None = None
    concern_id: int | None = None
    run_id: int | None = None
    sealed: bool = False
    status: str = OutboxStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    lease_until: datetime | None = None
    message_ref: str | None = None
    message_channel: str | None = None
    sent_at: datetime | None = None
    id: int | None = None

    def address(self) -> Address:
        """Where this row goes (not for sealed rows)."""
        assert self.platform is not None and self.tenant is not None
        return Address(self.platform, self.tenant, self.channel, self.thread_ref, self.user_id)


@dataclass(eq=False, slots=True)
class SealedAddress:
    """An anonymous reporter's address, encrypted; only the relay holding the key can read it."""

    concern_id: int
    platform: str  # which relay can deliver it; not identifying
    token: str
