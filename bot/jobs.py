"""Scheduled jobs in every replica (APScheduler 3, in memory): the database decides who acts."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.core import Core
from bot.due_work import run_due_work
from bot.outbox import Dispatcher

log = logging.getLogger("huddlebot.jobs")


def start_scheduler(
    core: Core,
    dispatcher: Dispatcher,
    *,
    due_every: timedelta = timedelta(seconds=15),
    deliver_every: timedelta = timedelta(seconds=1),
) -> AsyncIOScheduler:
    """Start the jobs: due work (huddles, escalations, closings) and outbox delivery."""
    scheduler = AsyncIOScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
    )

    async def due_work() -> None:
        try:
            await run_due_work(core)
        except Exception:  # keep the job alive; the next run retries everything still due
            log.exception("due work failed")

    async def deliver() -> None:
        try:
            await dispatcher.deliver_due()
        except Exception:
            log.exception("outbox delivery failed")

    scheduler.add_job(due_work, "interval", seconds=due_every.total_seconds(), id="due_work")
    scheduler.add_job(deliver, "interval", seconds=deliver_every.total_seconds(), id="deliver")
    scheduler.start()
    return scheduler
