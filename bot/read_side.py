"""The read side's vocabulary, spoken by ``bot.ports.ReadSide``.

Who may see which concerns (a ``Scope``), what a person asked for (a ``ConcernFilter``), and the
plain figures storage hands back.

Storage only counts; what a person may see and what is suppressed is decided in ``bot.dashboard``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The source of a concern raised by staff in chat; a family concern's is its ``family_concerns.source``.
STAFF_SOURCE = "staff"


@dataclass(frozen=True, slots=True)
class Scope:
    """The concerns one viewer may see: those of ``unit_ids`` (None: every unit), plus their own.

    ``reporter`` and ``reporter_handle`` name the viewer as a reporter (on their platform, and in the
    directory), so their own named and confidential concerns are theirs wherever they raised them.
    An anonymous concern has no reporter, so it is never "somebody's own".
    """

    unit_ids: tuple[str, ...] | None
    reporter: tuple[str, str, str] | None = None
    reporter_handle: str | None = None
    # Units whose concerns routed around their leaders this viewer must not see or count
    # (``bot.visibility.hidden_units``): the units they lead themselves.
    hidden_units: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        """True for a safety officer's scope."""
        return self.unit_ids is None


@dataclass(frozen=True, slots=True)
class ConcernFilter:
    """What the concerns list was asked to show. Empty fields filter nothing."""

    unit_ids: tuple[str, ...] | None = None  # already widened to the units below
    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    aims: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    raised_from: datetime | None = None
    raised_to: datetime | None = None
    words: str | None = None
    sources: tuple[str, ...] = ()  # STAFF_SOURCE and/or family sources ("patient", "family", ...)


@dataclass(frozen=True, slots=True)
class WeekTimes:
    """Acknowledgement and resolution times of the concerns raised in one week (seconds).

    Percentiles are None when fewer than two values exist; ``judged`` counts the concerns whose
    deadline has passed or that were acknowledged, ``within`` those acknowledged in time.
    """

    week: int
    acknowledged: int = 0
    ack_p50: float | None = None
    ack_p90: float | None = None
    judged: int = 0
    within: int = 0
    resolved: int = 0
    resolve_p50: float | None = None
    resolve_p90: float | None = None


@dataclass(frozen=True, slots=True)
class UnitHuddles:
    """One unit's huddle runs in a period: held, missed, answers and distinct people answering."""

    unit_id: str
    held: int = 0
    missed: int = 0
    answers: int = 0
    people: int = 0


@dataclass(frozen=True, slots=True)
class RunLine:
    """A huddle run with its answer counts (for the huddles list and its exports)."""

    id: int
    unit_id: str
    scheduled_for: datetime
    status: str
    clear: int = 0
    concern: int = 0
    goodcatch: int = 0
    comment: int = 0
    people: int = 0


@dataclass(eq=False, slots=True)
class SignInLink:
    """A sign-in link handed out in chat. Only a hash of its token is kept (``token_hash``)."""

    token_hash: str
    platform: str
    tenant: str
    user_id: str
    display_name: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
