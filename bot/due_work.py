"""``run_due_work``: everything time makes due. Idempotent, safe from any replica at any time."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import concerns, digest, escalation, huddles, rounding, stoplight
from bot.outbox import DeliveryReport, Dispatcher
from bot.schedule import occurrences_between

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger("huddlebot.due_work")

EPOCH_KEY = "schedule_epoch"


@dataclass
class DueWorkReport:
    """What one call of ``run_due_work`` did."""

    posted: int = 0  # anonymous concerns whose posting time came
    opened: int = 0
    missed: int = 0
    escalated: int = 0
    nudged: int = 0
    reminded: int = 0
    closed: int = 0
    digests: int = 0
    stoplights: int = 0
    rounding_reminders: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


async def run_due_work(
    core: Core, dispatcher: Dispatcher | None = None, *, now: datetime | None = None
) -> DueWorkReport:
    """Open due huddles, escalate and nudge, remind and close huddles, send digests, deliver."""
    now = now or core.now()
    report = DueWorkReport()
    report.posted = await post_due_anonymous(core, now)
    await _open_due_huddles(core, now, report)
    await _escalate_due(core, now, report)
    await _nudge_due(core, now, report)
    await _remind_closing_huddles(core, now, report)
    await _close_due_huddles(core, now, report)
    report.digests = await digest.send_due(core, now)
    report.stoplights = await stoplight.send_due(core, now)
    report.rounding_reminders = await rounding.send_due(core, now)
    if dispatcher is not None:
        report.delivery = await dispatcher.deliver_all()
    return report


async def _epoch(core: Core, now: datetime) -> datetime:
    """Huddles scheduled before this database first ran are neither posted nor counted as missed."""
    async with core.uow() as tx:
        stored = await tx.get_meta(key=EPOCH_KEY)
        if stored is None:
            await tx.set_meta(key=EPOCH_KEY, value=now.isoformat())
            return now
    return datetime.fromisoformat(stored).astimezone(UTC)


async def _open_due_huddles(core: Core, now: datetime, report: DueWorkReport) -> None:
    grace = core.config.huddle_grace
    since = max(await _epoch(core, now), now - timedelta(days=1)) - timedelta(seconds=1)
    units = [u for u in core.config.units if u.huddles]
    if not units:
        return
    async with core.uow() as tx:
        taken = {
            (r.unit_id, r.claim_key)
            for r in await tx.runs_between(
                unit_ids=[u.id for u in units], start=since, end=now + timedelta(seconds=1)
            )
        }
    for unit in units:
        for occurrence in occurrences_between(core.config, unit, since, now):
            if (unit.id, occurrence.claim_key) in taken:
                continue
            async with core.uow() as tx:
                if now < occurrence.scheduled_for + grace:
                    # Posted late (the bot was down), it still gets its whole window.
                    closes = max(
                        occurrence.closes_at,
                        now + occurrence.schedule.window
                        if now > occurrence.scheduled_for + timedelta(minutes=1)
                        else occurrence.closes_at,
                    )
                    if await huddles.open_run(
                        core,
                        tx,
                        unit,
                        claim_key=occurrence.claim_key,
                        scheduled_for=occurrence.scheduled_for,
                        closes_at=closes,
                        opened_by="schedule",
                    ):
                        report.opened += 1
                elif await huddles.record_missed(
                    core,
                    tx,
                    unit,
                    claim_key=occurrence.claim_key,
                    scheduled_for=occurrence.scheduled_for,
                    closes_at=occurrence.closes_at,
                ):
                    report.missed += 1


async def post_due_anonymous(core: Core, now: datetime | None = None) -> int:
    """Post the anonymous concerns whose random delay is over; returns how many."""
    now, posted = now or core.now(), 0
    while True:
        async with core.uow() as tx:  # the claim and the cards commit together, or neither
            claimed = await tx.claim_anonymous_posts(now=now, limit=100)
            for concern in claimed:
                await concerns.post_waiting(core, tx, concern)
                posted += 1
        if len(claimed) < 100:
            return posted


async def _escalate_due(core: Core, now: datetime, report: DueWorkReport) -> None:
    while True:
        async with core.uow() as tx:  # the claim and the step's messages commit together, or neither
            claimed = await tx.claim_escalations(now=now, limit=200)
            for concern in claimed:
                if await escalation.take_step(core, tx, concern, now):
                    report.escalated += 1
        if len(claimed) < 200:
            return


async def _close_due_huddles(core: Core, now: datetime, report: DueWorkReport) -> None:
    async with core.uow() as tx:
        due = await tx.due_closing_runs(now=now, limit=500)
    for run in due:
        async with core.uow() as tx:
            if await huddles.close_run(core, tx, run):
                report.closed += 1


async def _nudge_due(core: Core, now: datetime, report: DueWorkReport) -> None:
    async with core.uow() as tx:
        for concern in await tx.claim_nudges(now=now, limit=200):
            await escalation.nudge(core, tx, concern, now)
            report.nudged += 1


async def _remind_closing_huddles(core: Core, now: datetime, report: DueWorkReport) -> None:
    async with core.uow() as tx:
        closing = await tx.due_closing_runs(now=now + core.config.huddle_reminder_before, limit=500)
    for run in closing:
        if run.closes_at <= now or now < run.closes_at - huddles.reminder_lead(core, run):
            continue
        async with core.uow() as tx:
            if await huddles.remind(core, tx, run):
                report.reminded += 1
