"""The seams the core depends on: a transaction over storage, and a Messenger per platform.

Storage implements ``Tx`` and ``UnitOfWork``; each platform adapter implements ``Messenger``.
The core sees only these protocols.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.model import (
    Address,
    AuditEvent,
    Concern,
    ConcernMessage,
    GoodCatch,
    HuddleResponse,
    HuddleRun,
    OutboxItem,
    Round,
)
from bot.read_side import ConcernFilter, RunLine, Scope, SignInLink, UnitHuddles, WeekTimes
from bot.views import View

R = TypeVar("R")


class Tx(Protocol):
    """One database transaction. Every query names what it reads; all are keyword-only."""

    async def insert(self, record: R) -> R:
        """Insert ``record`` and return it with its ``id`` set."""
        ...

    def add(self, record: Any) -> None:
        """Insert ``record``, whose ``id`` nobody needs, with the transaction.

        Rows added one after another are written in one go, before the next statement or the commit.
        """
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the transaction has committed (never if it does not)."""
        ...

    async def insert_if_absent(self, record: R) -> R | None:
        """Insert unless a row with the same unique key exists; None means somebody else has it."""
        ...

    async def get(self, kind: type[R], key: Any) -> R | None:
        """The record of type ``kind`` with primary key ``key``."""
        ...

    async def update(
        self, kind: type[Any], key: Any, *, where: dict[str, Any] | None = None, **values: Any
    ) -> bool:
        """Set ``values`` on one row if it still matches ``where``; True if it did (a claim)."""
        ...

    async def new_concern_id(
        self, *, idempotency_key: str | None, anonymous: bool = False
    ) -> tuple[int, Concern | None]:
        """An id for a concern about to be added, and the concern already holding its key, if any.

        One round trip. ``idempotency_key`` is the request's; None matches nothing. If a twin request
        commits the same key first after all, this transaction's commit raises ``Conflict``. An
        ``anonymous`` concern's id is drawn at random from ``ANONYMOUS_IDS``: it follows no order.
        """
        ...

    async def claim_anonymous_posts(self, *, now: datetime, limit: int) -> list[Concern]:
        """Claim the waiting anonymous concerns whose posting time has come.

        Each returned one is already open, its idempotency key dropped; the caller queues its cards in
        the same transaction.
        """
        ...

    async def find_concerns(
        self,
        *,
        unit_ids: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        reporter: tuple[str, str, str] | None = None,
        limit: int = 100,
    ) -> list[Concern]:
        """Concerns matching every filter given, newest first."""
        ...

    async def stoplight_concerns(
        self, *, unit_ids: Sequence[str], start: datetime, end: datetime, per_colour: int
    ) -> list[tuple[Concern, str, int]]:
        """The stoplight's concerns of these units, by id, each with its colour and that colour's count.

        Green: resolved in ``(start, end]``; yellow: in progress; red: closed as not possible now in
        ``(start, end]``. At most ``per_colour`` of each colour per unit; none routed around a leader.
        """
        ...

    async def claim_escalations(self, *, now: datetime, limit: int) -> list[Concern]:
        """Claim the due escalation steps of unacknowledged concerns.

        Each comes back with its level already raised by one, so no other replica takes the same step.
        """
        ...

    async def claim_nudges(self, *, now: datetime, limit: int) -> list[Concern]:
        """Claim acknowledged-but-open concerns whose nudge is due (their ``nudge_at`` comes back cleared)."""
        ...

    async def concern_messages(self, *, concern_id: int) -> list[ConcernMessage]:
        """A concern's conversation, oldest first."""
        ...

    async def latest_leader_messages(self, *, concern_ids: Sequence[int]) -> dict[int, str]:
        """The newest leader's message of each of these concerns that has one."""
        ...

    async def open_run(self, *, unit_id: str) -> HuddleRun | None:
        """The unit's newest open huddle run."""
        ...

    async def due_closing_runs(self, *, now: datetime, limit: int) -> list[HuddleRun]:
        """Open runs whose window has ended."""
        ...

    async def runs_between(
        self, *, unit_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[HuddleRun]:
        """Runs of these units scheduled in ``[start, end)``."""
        ...

    async def responses(self, *, run_id: int) -> list[HuddleResponse]:
        """A run's responses, oldest first."""
        ...

    async def good_catches_between(self, *, unit_id: str, start: datetime, end: datetime) -> list[GoodCatch]:
        """Good catches recorded for a unit in ``[start, end)``."""
        ...

    async def rounds_done(
        self, *, unit_ids: Sequence[str] | None, start: datetime, end: datetime
    ) -> list[tuple[str, str, int]]:
        """(leader, unit, rounds) logged on these units (None: every unit) in ``[start, end]``."""
        ...

    async def round_outcomes(
        self, *, unit_ids: Sequence[str] | None, start: datetime, end: datetime
    ) -> list[tuple[str, str, str, int]]:
        """(leader, unit, status, issues): what became of the issues heard on those rounds, by status."""
        ...

    async def last_round(self, *, leader: str, unit_id: str) -> Round | None:
        """The newest round ``leader`` logged on ``unit_id``."""
        ...

    async def family_sources(
        self, *, unit_ids: Sequence[str], created_from: datetime, created_to: datetime
    ) -> dict[int, str]:
        """The source of each family concern of ``unit_ids`` raised in ``[created_from, created_to]``."""
        ...

    async def post_by_key(self, *, msg_key: str) -> OutboxItem | None:
        """The outbox post that ``msg_key`` names."""
        ...

    async def posts_for(
        self, *, role: str, concern_id: int | None = None, run_id: int | None = None
    ) -> list[OutboxItem]:
        """Posts (not updates) with ``role`` for a concern or a huddle run."""
        ...

    async def post_by_message_ref(
        self, *, platform: str, channel: str, message_ref: str
    ) -> OutboxItem | None:
        """The post the platform knows as ``message_ref`` in ``channel``."""
        ...

    async def supersede_pending_updates(self, *, ref_key: str) -> int:
        """Mark unsent updates of one message as superseded; returns how many."""
        ...

    async def claim_outbox(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        platforms: Sequence[str],
        limit: int,
        skip_targets: Sequence[str] = (),
    ) -> list[OutboxItem]:
        """Lease due pending rows for delivery (oldest first), so no other worker takes them.

        Only the row that heads its target's queue is leased: a row behind an earlier one of the same
        target that is due or leased (being sent elsewhere, or held for its retry) waits, so each
        conversation keeps its order. ``skip_targets`` are left alone (the caller is pacing them).
        """
        ...

    async def renew_outbox_leases(self, *, ids: Sequence[int], lease_until: datetime) -> None:
        """Extend the leases of pending rows this worker still holds."""
        ...

    async def release_outbox(self, *, ids: Sequence[int]) -> None:
        """Give leased rows back unsent, so that another pass (or replica) takes them."""
        ...

    async def outbox_stats(
        self, *, now: datetime, platforms: Sequence[str] | None = None
    ) -> tuple[datetime | None, int]:
        """The due time of the oldest due, unsent row (None if none) and the number of dead letters.

        With ``platforms``, only rows of those platforms count as due (rows nobody here can send don't).
        """
        ...

    async def outbox_items(
        self, *, status: str, limit: int = 100, platform: str | None = None
    ) -> list[OutboxItem]:
        """Outbox rows in ``status`` (of ``platform`` only, if given), oldest first."""
        ...

    async def claim_event(self, *, key: str, at: datetime) -> bool:
        """Remember an inbound event id; False if it was seen before (a platform retry)."""
        ...

    async def get_meta(self, *, key: str) -> str | None:
        """A small named setting kept in the database."""
        ...

    async def set_meta(self, *, key: str, value: str) -> None:
        """Store a small named setting."""
        ...


class UnitOfWork(Protocol):
    """Opens a transaction that commits when the block ends without an exception.

    A commit that loses a race on a unique key raises ``Conflict`` and stores nothing.
    """

    def __call__(self, *, adds_only: bool = False) -> AbstractAsyncContextManager[Tx]:
        """Open a transaction.

        ``adds_only`` says the block will mostly reserve ids and add rows, so storage may defer
        beginning it; anything else the block does still runs in the transaction.
        """
        ...


@dataclass(frozen=True, slots=True)
class Delivered:
    """What the platform calls the message it accepted (Slack ``ts``, Teams activity id)."""

    message_ref: str
    channel: str  # where it landed: for a DM, the platform's conversation id


class Messenger(Protocol):
    """Renders views for one platform and delivers them."""

    platform: str

    async def post(self, address: Address, view: View) -> Delivered:
        """Post ``view`` to ``address`` (in ``address.thread`` if set)."""
        ...

    async def update(self, channel: str, message_ref: str, view: View) -> None:
        """Replace a posted message with ``view``."""
        ...

    def min_interval(self, address: Address) -> float:
        """Seconds to leave between two messages to one target (the platform's rate limit)."""
        ...

    # Optional: ``tenant_rate`` (messages per second across one workspace or tenant). When a Messenger
    # has it, the dispatcher paces the whole tenant with a token bucket as well as each target.


class ReadSide(Protocol):
    """The dashboard's named queries (the learning side) and its sign-in links; SQL lives in storage.

    Every concern query takes a ``Scope`` and never returns a waiting (not yet posted) anonymous
    concern; figures are plain counts: visibility and small-number suppression are the core's.
    ``weeks`` are the boundaries of consecutive periods, newest first: period ``i`` is
    ``[weeks[i + 1], weeks[i])`` (the newest includes ``weeks[0]``, "now").
    """

    async def open_by_severity_age(
        self, *, scope: Scope, now: datetime, ages: Sequence[timedelta]
    ) -> list[tuple[str, int, int]]:
        """Open concerns (not resolved) as ``(severity, age bucket, count)``.

        Bucket ``i`` is younger than ``ages[i]`` (and older than ``ages[i - 1]``); the last is older than all.
        """
        ...

    async def overdue_acknowledgements(self, *, scope: Scope, now: datetime) -> int:
        """Concerns nobody has acknowledged whose deadline has passed."""
        ...

    async def raised_by_week(
        self, *, scope: Scope, weeks: Sequence[datetime], by: str
    ) -> list[tuple[int, str, int]]:
        """Concerns raised, as ``(period, value, count)``.

        ``by`` names the value: ``category``, ``concern_type``, ``unit_id``, ``severity``, or
        ``escalated`` ("yes" or "no").
        """
        ...

    async def raised_counts(
        self,
        *,
        scope: Scope,
        weeks: Sequence[datetime],
        by: Sequence[str],
        values: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, list[tuple[int, str, int]]]:
        """``raised_by_week`` for each of ``by`` (known values, or ``values`` given), in one pass."""
        ...

    async def response_times(
        self, *, scope: Scope, weeks: Sequence[datetime], now: datetime
    ) -> list[WeekTimes]:
        """Time to acknowledge and to resolve the concerns raised in each period."""
        ...

    async def huddles_by_unit(
        self, *, unit_ids: Sequence[str] | None, start: datetime, end: datetime
    ) -> list[UnitHuddles]:
        """Each unit's runs scheduled in ``[start, end)``: held, missed, answers, people."""
        ...

    async def good_catches_by_week(
        self, *, unit_ids: Sequence[str] | None, weeks: Sequence[datetime]
    ) -> list[tuple[int, int]]:
        """Good catches recorded, as ``(period, count)``."""
        ...

    async def list_concerns(
        self, *, scope: Scope, where: ConcernFilter, limit: int, before: tuple[datetime, int] | None = None
    ) -> list[Concern]:
        """Concerns matching ``where`` within ``scope``, newest first, older than ``before`` if given."""
        ...

    def stream_concerns(self, *, scope: Scope, where: ConcernFilter) -> AsyncIterator[Concern]:
        """Every concern matching, newest first, fetched in batches (memory stays flat)."""
        ...

    def stream_concern_rows(
        self, *, scope: Scope, where: ConcernFilter, fields: Sequence[str]
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Only ``fields`` (``Concern`` field names) of every concern matching, as batches of tuples.

        Newest first, like ``stream_concerns``; for exports. The field ``source`` is the concern's
        source: its family concern's, else ``STAFF_SOURCE``.
        """
        ...

    async def concern_sources(self, *, concern_ids: Sequence[int]) -> dict[int, str]:
        """The source of each family concern among ``concern_ids`` (a staff concern is not in it)."""
        ...

    async def audit_trail(self, *, concern_id: int) -> list[AuditEvent]:
        """The audit log of one concern, oldest first."""
        ...

    async def list_runs(
        self, *, unit_ids: Sequence[str] | None, start: datetime, end: datetime, limit: int | None
    ) -> list[RunLine]:
        """Huddle runs scheduled in ``[start, end)`` with their answer counts, newest first."""
        ...

    async def add_sign_in_link(self, link: SignInLink, *, now: datetime) -> None:
        """Store a new link (and forget links that expired a day ago or more)."""
        ...

    async def use_sign_in_link(self, *, token_hash: str, now: datetime) -> SignInLink | None:
        """Mark the link used and return it, if it exists, is unused and has not expired; else None.

        One conditional statement: of two requests with one link, at most one gets it.
        """
        ...

    async def shared_secret(self, *, name: str, new: str) -> str:
        """The secret called ``name`` kept in the database; ``new`` is stored if there is none yet."""
        ...
