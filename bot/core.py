"""The core as one object: its dependencies, and ``handle``, the single entry for every command."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import concerns, family, home, huddles, recognition, rounding, stoplight
from bot.clock import Clock
from bot.commands import (
    AcknowledgeConcern,
    AnswerHuddle,
    Command,
    FollowUp,
    GiveGoodCatch,
    HuddleStatus,
    LogRound,
    MarkNotPossible,
    MessageInThread,
    OpenHuddle,
    RaiseConcern,
    ReopenConcern,
    ReplyToConcern,
    ResolveConcern,
    SetConcernStatus,
    ShowConcern,
    ShowHome,
    ShowStoplight,
)
from bot.config import OrgConfig
from bot.errors import Conflict, Refusal
from bot.limits import AttemptLimiter
from bot.metrics import Metrics
from bot.model import Anonymity
from bot.ports import UnitOfWork
from bot.reply import Reply
from bot.sealing import Sealer

log = logging.getLogger("huddlebot.core")


@dataclass
class Core:
    """Everything a use case needs. Built once, by the composition root."""

    config: OrgConfig
    uow: UnitOfWork
    clock: Clock
    # The platforms this process serves, each with its tenant (Slack team, Teams tenant).
    tenants: dict[str, str]
    sealer: Sealer | None = None
    rng: random.Random = field(default_factory=random.SystemRandom)
    # Derives an anonymous submission's receipt code; never stored (see ``receipts.new_code``).
    receipt_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    follow_up_limiter: AttemptLimiter = field(
        default_factory=lambda: AttemptLimiter(5, timedelta(minutes=15))
    )
    on_commit: list[Any] = field(default_factory=list)  # callables run after a command commits
    metrics: Metrics = field(default_factory=Metrics)

    def now(self) -> datetime:
        """The current instant, from the injected clock."""
        return self.clock.now()

    async def handle(self, command: Command, *, event_key: str | None = None) -> Reply:
        """Run one command in one transaction; a refusal changes nothing and comes back as a Reply.

        ``event_key`` (a platform's event or activity id) is remembered in the same transaction, so a
        platform's retry of a handled event does nothing, and a retry of one that failed is handled.
        """
        handler = _HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        try:
            try:
                reply = await self._run(handler, command, event_key)
            except Conflict:
                # A twin of this request (a platform retry, a double click) committed first and
                # nothing of ours was stored; run it again to answer as the twin's duplicate.
                log.info("%s lost a race with its twin; running it again", type(command).__name__)
                reply = await self._run(handler, command, event_key)
        except Refusal as refusal:
            log.info("refused %s: %s", type(command).__name__, refusal.code)
            return Reply(text=refusal.message, tone="error", code=refusal.code)
        for callback in self.on_commit:
            callback()
        return reply

    async def _run(self, handler: Any, command: Command, event_key: str | None) -> Reply:
        if isinstance(command, RaiseConcern) and event_key is not None and _anonymous(command):
            # An anonymous concern is deduplicated by its own key, kept on the concern only until its
            # card is posted, not by a processed-events row, whose time would say when it was sent.
            if command.idempotency_key is None:
                digest = hashlib.sha256(event_key.encode()).hexdigest()[:40]
                command = dataclasses.replace(command, idempotency_key=f"event:{digest}")
            event_key = None
        async with self.uow(adds_only=type(command) in _ADDS_ONLY) as tx:
            if event_key is not None and not await tx.claim_event(key=event_key, at=self.now()):
                log.info("duplicate event ignored")
                return Reply(text="", silent=True, code="duplicate")
            return await handler(self, tx, command)


def _anonymous(command: RaiseConcern) -> bool:
    return (command.anonymity or "").strip().lower() == Anonymity.ANONYMOUS


# Commands whose unit of work only reserves ids and adds rows, when all goes well (see ``Tx.add``).
_ADDS_ONLY = frozenset({RaiseConcern})

_HANDLERS: dict[type, Any] = {
    RaiseConcern: concerns.raise_concern,
    FollowUp: concerns.follow_up,
    AcknowledgeConcern: concerns.acknowledge,
    ReplyToConcern: concerns.reply,
    SetConcernStatus: concerns.set_status,
    ResolveConcern: concerns.resolve,
    MarkNotPossible: concerns.not_possible,
    ReopenConcern: concerns.reopen,
    ShowConcern: concerns.show,
    MessageInThread: concerns.message_in_thread,
    OpenHuddle: huddles.open_now,
    HuddleStatus: huddles.status,
    AnswerHuddle: huddles.answer,
    GiveGoodCatch: recognition.give_good_catch,
    ShowHome: home.show_home,
    ShowStoplight: stoplight.show,
    LogRound: rounding.log_round,
    family.RaiseFamilyConcern: family.raise_family_concern,
    family.AnswerFamilyConcern: family.answer_family_concern,
}
