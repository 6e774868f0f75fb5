"""The outbox dispatcher: delivers what use cases queued, in order per conversation, paced, retried.

Rows are leased before sending and marked after, so a crash between commit and send loses nothing
(the row is still due) and a crash between send and mark repeats at most that one row. Leases are
short and renewed while this process holds the rows, so a dead replica's rows move on in seconds.
A row that is leased — being sent, or waiting for its retry — holds every later row of its
conversation (``target``): messages arrive in the order they were queued, or not yet.

The loop is supervised: nothing that goes wrong in a pass (the database away, a bug) ends it. It
backs off while the database is unreachable and picks up by itself when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.failure_log import FailureLog
from bot.metrics import Metrics
from bot.model import Address, OutboxItem, OutboxStatus, SealedAddress
from bot.ports import Delivered, Messenger, UnitOfWork
from bot.sealing import Sealer
from bot.views import load_view

log = logging.getLogger("huddlebot.outbox")

_MAX_SKIPPED_TARGETS = 500


@dataclass
class DeliveryReport:
    """What one pass of the dispatcher did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0

    def __iadd__(self, other: DeliveryReport) -> DeliveryReport:
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.deferred += other.deferred
        return self


class _Later(Exception):
    """Not now, not a failure (e.g. the thread's first message is not delivered yet)."""


@dataclass(frozen=True)
class _Stamp:
    """A moment on both clocks: real (monotonic) seconds and the injected clock."""

    real: float
    at: datetime


@dataclass
class _Bucket:
    """A token bucket: ``rate`` messages a second, bursts up to one second's worth."""

    rate: float
    tokens: float
    since: _Stamp

    def take(self, elapsed: float, now: _Stamp) -> float:
        """Take a token ``elapsed`` seconds after the last take: 0.0 if taken, else seconds to wait."""
        self.tokens, self.since = min(max(1.0, self.rate), self.tokens + elapsed * self.rate), now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class Dispatcher:
    """Delivers due outbox rows through the Messenger of each row's platform."""

    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        messengers: dict[str, Messenger],
        sealer: Sealer | None = None,
        lease: timedelta = timedelta(seconds=10),
        batch: int = 200,
        give_up_after: timedelta = timedelta(hours=24),
        max_backoff: float = 300.0,
        concurrency: int = 32,
        metrics: Metrics | None = None,
        pace_clock: Callable[[], float] = time.monotonic,
        max_db_backoff: float = 2.0,
        on_dead: Callable[[OutboxItem], Awaitable[None]] | None = None,
    ) -> None:
        self.uow, self.clock, self.messengers, self.sealer = uow, clock, messengers, sealer
        self.lease, self.batch, self.give_up_after, self.max_backoff = (
            lease,
            batch,
            give_up_after,
            max_backoff,
        )
        self.metrics = metrics
        # Rate limits are physical, so a wait is over when real seconds say so; it is also over when the
        # injected clock says so, so that a test or a drill that moves time on is not held by it.
        self._pace_clock = pace_clock
        self._holds: dict[str, tuple[_Stamp, float]] = {}  # target -> (since, seconds)
        self._buckets: dict[str, _Bucket] = {}
        self._wake_at: float | None = None  # the soonest (real seconds) a paced row may go
        self._concurrency = concurrency
        self._gate = asyncio.Semaphore(concurrency)
        self._rng = random.Random()
        self._kicked = asyncio.Event()
        self._max_db_backoff = max_db_backoff
        # Told of every dead letter once it is recorded (the core finds someone else to tell).
        self.on_dead = on_dead
        # Rows this process has leased and not yet finished with, by target: their leases are renewed.
        self._held: dict[str, set[int]] = {}
        self._stopping = asyncio.Event()
        self._running = False
        self._pass_trouble = FailureLog("outbox delivery pass", logger=log)
        self._record_trouble = FailureLog("outbox: recording a delivery", logger=log)

    @property
    def running(self) -> bool:
        """True while the delivery loop runs."""
        return self._running

    def kick(self) -> None:
        """Something was committed to the outbox: deliver now rather than at the next poll."""
        self._kicked.set()

    async def run(self, stop: asyncio.Event, *, idle: float = 1.0) -> None:
        """Deliver until ``stop`` is set: at once when kicked, when pacing allows, or every ``idle`` s.

        Each target's rows go out in their own task, and new rows are claimed as soon as any target
        is done: one slow target (a platform retrying inside its call, a long Retry-After) never
        holds up the others. No error ends the loop: a failed pass is logged, counted, and tried
        again after a short backoff (longer while failures go on, at most ``max_db_backoff`` s).
        """
        active: dict[str, asyncio.Task[DeliveryReport]] = {}
        self._stopping.clear()
        self._running = True
        if self.metrics is not None:
            self.metrics.delivery_running.set(1)
        renewer = asyncio.ensure_future(self._renew_leases(stop))
        backoff = 0.0
        try:
            while not stop.is_set():
                started = 0
                # A target whose task has just finished is free again before the claim looks.
                for target in [t for t, task in active.items() if task.done()]:
                    self._reap(active.pop(target))
                try:
                    if len(active) < self._concurrency:
                        started = await self._start_due(active)
                    self._pass_trouble.worked()
                    backoff = 0.0
                except Exception as error:  # the database is away, or a bug: never die, say so, go on
                    self._pass_trouble.failed(error)
                    if self.metrics is not None:
                        self.metrics.failed_passes.inc()
                    backoff = min(self._max_db_backoff, max(0.1, backoff * 2))
                if started and not backoff and len(active) < self._concurrency:
                    continue  # there may be more due rows for other targets
                timeout = backoff or idle
                # Taken and cleared here, not at the top of the pass: a target's task may ask for a
                # wake-up while the loop waits, and that one must count for the next wait.
                wake_at, self._wake_at = self._wake_at, None
                if wake_at is not None and not backoff:
                    timeout = min(idle, max(0.005, wake_at - self._pace_clock()))
                self._kicked.clear()
                waiters = [asyncio.ensure_future(self._kicked.wait()), asyncio.ensure_future(stop.wait())]
                if backoff:  # a kick must not turn the backoff into a busy loop
                    waiters[0].cancel()
                    waiters = waiters[1:]
                await asyncio.wait(
                    [*waiters, *active.values()], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in waiters:
                    waiter.cancel()
        finally:
            self._stopping.set()
            if active:
                for task in await asyncio.gather(*active.values(), return_exceptions=True):
                    if isinstance(task, BaseException) and not isinstance(task, asyncio.CancelledError):
                        log.error("outbox: a delivery task failed at shutdown (%s)", type(task).__name__)
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            self._running = False
            if self.metrics is not None:
                self.metrics.delivery_running.set(0)

    def _reap(self, task: asyncio.Task[DeliveryReport]) -> None:
        """A target's task is done; it handles its own errors, so one escaping it is a bug: say so."""
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("outbox: a delivery task failed (%s)", type(error).__name__, exc_info=error)

    async def _start_due(self, active: dict[str, asyncio.Task[DeliveryReport]]) -> int:
        """Claim due rows and start a task for each target not already being delivered to."""
        by_target = await self._claim_by_target()
        # A target still being sent to here has its rows leased, so its later rows are not claimed;
        # if its leases ran out (the database was away), what came back is ours already: let go of the
        # rest, which the next claim after the target's task is done takes in order.
        busy = [
            row
            for target, target_rows in by_target.items()
            if target in active
            for row in target_rows
            if row.id not in self._held.get(target, ())
        ]
        await self._release(busy)
        started = 0
        for target, target_rows in by_target.items():
            if target not in active:
                self._held[target] = {row.id for row in target_rows if row.id is not None}
                active[target] = asyncio.ensure_future(self._deliver_target(target, target_rows))
                started += 1
        return started

    async def _renew_leases(self, stop: asyncio.Event) -> None:
        """Keep the leases of rows this process holds from running out while it works on them."""
        every = max(0.05, self.lease.total_seconds() / 3)
        trouble = FailureLog("outbox: renewing leases", logger=log)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
            ids = [row_id for held in self._held.values() for row_id in held]
            if not ids or stop.is_set():
                continue
            try:
                async with self.uow() as tx:
                    await tx.renew_outbox_leases(ids=ids, lease_until=self.clock.now() + self.lease)
                trouble.worked()
            except Exception as error:
                trouble.failed(error)

    def _stamp(self) -> _Stamp:
        return _Stamp(real=self._pace_clock(), at=self.clock.now())

    def _elapsed(self, since: _Stamp, now: _Stamp) -> float:
        return max(0.0, now.real - since.real, (now.at - since.at).total_seconds())

    def _hold(self, target: str, seconds: float) -> None:
        self._holds[target] = (self._stamp(), seconds)

    def _pace(self, target: str, row: OutboxItem) -> float:
        """Seconds ``row`` must still wait for its target's or its tenant's rate limit (0.0: go)."""
        now = self._stamp()
        hold = self._holds.get(target)
        if hold is not None:
            left = hold[1] - self._elapsed(hold[0], now)
            if left > 0:
                return left
            del self._holds[target]
        rate = getattr(self.messengers.get(row.platform or ""), "tenant_rate", None)
        if not rate or row.sealed:
            return 0.0
        key = f"{row.platform}:{row.tenant}"
        bucket = self._buckets.setdefault(key, _Bucket(rate=rate, tokens=max(1.0, rate), since=now))
        return bucket.take(self._elapsed(bucket.since, now), now)

    def _wake_in(self, seconds: float) -> None:
        at = self._pace_clock() + seconds
        self._wake_at = at if self._wake_at is None else min(self._wake_at, at)

    def _held_targets(self) -> list[str]:
        """Targets this worker is pacing right now; sets the wake-up for the soonest of them."""
        now, held = self._stamp(), []
        for target, (since, seconds) in list(self._holds.items()):
            left = seconds - self._elapsed(since, now)
            if left <= 0:
                del self._holds[target]
                continue
            held.append(target)
            self._wake_in(left)
        # A long list costs the claim more than the rows it would give back: then claim and release.
        return held if len(held) <= _MAX_SKIPPED_TARGETS else []

    def _claim_budget(self) -> int:
        """How many rows a claim may take now: no more than the tenants' rate limits let go at once.

        Under a backlog, claiming rows the tenant bucket then defers would only write leases and take
        them back, many times a second, competing with people raising concerns for the database.
        """
        rates = {name: getattr(m, "tenant_rate", None) for name, m in self.messengers.items()}
        if not rates or not all(rates.values()):
            return self.batch
        now, tokens = self._stamp(), 0.0
        seen = set()
        for key, bucket in self._buckets.items():
            seen.add(key.split(":", 1)[0])
            tokens += min(
                max(1.0, bucket.rate), bucket.tokens + self._elapsed(bucket.since, now) * bucket.rate
            )
        tokens += sum(max(1.0, rate or 0.0) for name, rate in rates.items() if name not in seen)
        if tokens < 1.0:  # nothing can go before a token is back: wake then
            self._wake_in(min((1.0 - tokens) / (rate or 1.0) for rate in rates.values()))
            return 0
        return min(self.batch, int(tokens) + 1)

    async def _claim_by_target(self) -> dict[str, list[OutboxItem]]:
        """Lease the due rows that head their conversation's queue (oldest first), grouped by target."""
        now = self.clock.now()
        skip = self._held_targets()
        limit = self._claim_budget()
        if limit == 0:
            return {}
        async with self.uow() as tx:
            rows = await tx.claim_outbox(
                now=now,
                lease_until=now + self.lease,
                platforms=list(self.messengers),
                limit=limit,
                skip_targets=skip,
            )
        by_target: dict[str, list[OutboxItem]] = defaultdict(list)
        for row in rows:
            by_target[row.target or ""].append(row)
        return by_target

    async def deliver_due(self) -> DeliveryReport:
        """One pass: lease due rows, send each target's rows in order, record the outcome."""
        by_target = await self._claim_by_target()
        for target, target_rows in by_target.items():
            self._held[target] = {row.id for row in target_rows if row.id is not None}
        report = DeliveryReport()
        for part in await asyncio.gather(*(self._deliver_target(t, r) for t, r in by_target.items())):
            report += part
        return report

    async def deliver_all(self, *, max_passes: int = 50) -> DeliveryReport:
        """Passes until nothing due is left that can be sent now (for the console and tests)."""
        total = DeliveryReport()
        for _ in range(max_passes):
            report = await self.deliver_due()
            total += report
            if report.sent == 0 and report.dead == 0:
                break
        return total

    async def _deliver_target(self, target: str, rows: list[OutboxItem]) -> DeliveryReport:
        """Send ``rows`` (one target's, in order) until one cannot go now; the rest wait behind it.

        If the database fails us half-way, the rows not yet recorded keep their leases until those
        run out, so they are retried in order — by this process or another — a few seconds later.
        """
        report = DeliveryReport()
        try:
            async with self._gate:
                for index, row in enumerate(rows):
                    wait = self._pace(target, row)
                    if wait > 0:
                        self._wake_in(wait)
                        await self._release(rows[index:])
                        report.deferred += len(rows) - index
                        break
                    outcome = await self._deliver_one(row)
                    self._let_go(target, [row])
                    setattr(report, outcome, getattr(report, outcome) + 1)
                    if self.metrics is not None:
                        self.metrics.deliveries.labels(row.platform, outcome).inc()
                    # Keep the target's order: later rows wait while one waits for its retry, but a
                    # dead-lettered row is done with, and what was queued behind it goes on now.
                    if outcome not in ("sent", "dead"):
                        await self._release(rows[index + 1 :])
                        report.deferred += len(rows) - index - 1
                        break
        except Exception as error:
            self._record_trouble.failed(error)
            if self.metrics is not None:
                self.metrics.failed_passes.inc()
        finally:
            self._held.pop(target, None)
        return report

    def _let_go(self, target: str, rows: list[OutboxItem]) -> None:
        held = self._held.get(target)
        if held is not None:
            held.difference_update(row.id for row in rows)

    async def _deliver_one(self, row: OutboxItem) -> str:
        assert row.id is not None and row.platform is not None
        messenger = self.messengers[row.platform]
        try:
            delivered = await self._send(messenger, row)
        except _Later:
            await self._retry_at(row, delay=2.0, error=None, count=False)
            return "deferred"
        except PermanentDeliveryError as error:
            return await self._dead(row, error.reason)
        except TransientDeliveryError as error:
            return await self._retry(row, error.reason, error.retry_after)
        except Exception as error:  # a bug, an unexpected SDK error, the database away: retry, say so
            log.warning("outbox row %s: unexpected delivery error (%s)", row.id, type(error).__name__)
            return await self._retry(row, type(error).__name__, None)
        now = self.clock.now()
        interval = messenger.min_interval(row.address()) if not row.sealed else 0.0
        if interval:
            self._hold(row.target or "", interval)
        if self.metrics is not None:
            self.metrics.outbox_lag.labels(row.platform).observe(max(0.0, (now - row.due_at).total_seconds()))
            if row.role == "prompt" and row.op == "post":
                self.metrics.prompts_posted.labels(row.platform).inc()
        fields = {
            "status": OutboxStatus.SENT,
            "sent_at": now,
            "lease_until": None,
            "attempts": row.attempts + 1,
            "last_error": None,
            "message_ref": None if row.sealed or delivered is None else delivered.message_ref,
            "message_channel": None if row.sealed or delivered is None else delivered.channel,
        }
        await self._persist(lambda: self._update(row, **fields))
        return "sent"

    async def _update(self, row: OutboxItem, **fields: object) -> None:
        assert row.id is not None
        async with self.uow() as tx:
            await tx.update(OutboxItem, row.id, **fields)

    async def _persist(self, write: Callable[[], Awaitable[None]]) -> None:
        """Record that a message went out, however long the database takes to come back.

        The platform has the message: not recording it would send it again once its lease runs out.
        So keep trying (the row's lease is renewed meanwhile) — unless the process is stopping.
        """
        delay = 0.1
        while True:
            try:
                await write()
                self._record_trouble.worked()
                return
            except Exception as error:
                self._record_trouble.failed(error)
                if self._stopping.is_set():
                    raise
                await asyncio.sleep(delay)
                delay = min(self._max_db_backoff, delay * 2)

    async def _send(self, messenger: Messenger, row: OutboxItem) -> Delivered | None:
        view = load_view(row.view)
        if row.op == "update":
            root = await self._root(row.ref_key)
            assert root.message_channel is not None and root.message_ref is not None
            await messenger.update(root.message_channel, root.message_ref, view)
            return None
        if row.sealed:
            address = await self._unseal(row)
        elif row.thread_key:
            root = await self._root(row.thread_key)
            address = Address(row.platform or "", row.tenant or "", root.message_channel, root.message_ref)
        else:
            address = row.address()
        return await messenger.post(address, view)

    async def _root(self, key: str | None) -> OutboxItem:
        async with self.uow() as tx:
            root = await tx.post_by_key(msg_key=key or "")
        if root is None or root.status == OutboxStatus.DEAD:
            raise PermanentDeliveryError("the message it belongs to was never delivered")
        if root.message_ref is None:
            raise _Later()
        return root

    async def _unseal(self, row: OutboxItem) -> Address:
        if self.sealer is None:
            raise TransientDeliveryError(
                "no sealing key configured: cannot open the reporter's sealed address"
            )
        async with self.uow() as tx:
            sealed = await tx.get(SealedAddress, row.concern_id)
        address = self.sealer.unseal(sealed.token) if sealed else None
        if address is None:
            raise PermanentDeliveryError("the sealed address cannot be opened with this key")
        return address

    async def _retry(self, row: OutboxItem, reason: str, retry_after: float | None) -> str:
        now = self.clock.now()
        if now - row.created_at > self.give_up_after:
            return await self._dead(row, f"gave up after {self.give_up_after}: {reason}")
        delay = retry_after if retry_after is not None else min(self.max_backoff, 2.0**row.attempts)
        delay *= 1.0 if retry_after is not None else self._rng.uniform(0.5, 1.5)
        if retry_after is not None:
            self._hold(row.target or "", retry_after)
        await self._retry_at(row, delay=delay, error=reason, count=True)
        log.info("outbox row %s: %s; retry in %.1fs", row.id, reason, delay)
        return "retried"

    async def _retry_at(self, row: OutboxItem, *, delay: float, error: str | None, count: bool) -> None:
        """Hold ``row`` (and so its conversation) for ``delay`` seconds: its lease is the hold.

        Its due time stays when it first fell due, so the outbox's lag says how long it has waited.
        """
        await self._update(
            row,
            lease_until=self.clock.now() + timedelta(seconds=delay),
            attempts=row.attempts + (1 if count else 0),
            last_error=error or row.last_error,
        )

    async def _dead(self, row: OutboxItem, reason: str) -> str:
        await self._update(
            row, status=OutboxStatus.DEAD, lease_until=None, last_error=reason, attempts=row.attempts + 1
        )
        # Name the channel for the admin, never a person: DM and sealed targets stay out of the log.
        where = row.channel if row.channel and not row.sealed else f"a direct message ({row.role})"
        log.warning(
            "outbox row %s dead-lettered: %s (platform=%s, %s). See 'huddlebot outbox'.",
            row.id,
            reason,
            row.platform,
            where,
        )
        if self.on_dead is not None:
            try:
                await self.on_dead(row)
            except Exception as error:  # the dead letter stands; the admin's line above says where
                log.error(
                    "outbox row %s: acting on its dead letter failed (%s)", row.id, type(error).__name__
                )
        return "dead"

    async def _release(self, rows: list[OutboxItem]) -> None:
        if not rows:
            return
        # Let go first: a claim that leases them again the moment the release commits must find them
        # not ours (and give them back), never "ours already" with nobody left to send them.
        for row in rows:
            self._let_go(row.target or "", [row])
        async with self.uow() as tx:
            await tx.release_outbox(ids=[row.id for row in rows if row.id is not None])
