"""Scheduled jobs in every replica (APScheduler 3, in memory, rebuilt from the configuration).

Every job calls ``run_due_work``, which re-reads the database and is idempotent: the database's
claims decide which replica acts, so the jobs only decide *when* to look. A cron job per huddle
schedule (in the unit's time zone) makes prompts punctual; an interval job is the safety net that
also closes huddles and escalates concerns. On a fall-back day APScheduler fires an ambiguous time
twice; the run's claim key (unit, local date and time) makes the second firing a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import ConfigError, OrgConfig, load_config
from bot.core import Core
from bot.due_work import run_due_work
from bot.failure_log import FailureLog
from bot.outbox import Dispatcher
from bot.trends import TrendSnapshots

log = logging.getLogger("huddlebot.jobs")

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Jobs:
    """The replica's scheduler: huddle cron jobs, the due-work safety net, config reloads, delivery."""

    def __init__(
        self,
        core: Core,
        dispatcher: Dispatcher,
        *,
        config_path: Path | None = None,
        safety_net: timedelta = timedelta(seconds=15),
        trends: TrendSnapshots | None = None,
    ) -> None:
        self.core, self.dispatcher, self.config_path = core, dispatcher, config_path
        self.trends = trends
        self.safety_net = safety_net
        self._stop = asyncio.Event()
        self._delivery: asyncio.Task[None] | None = None
        self.scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
        )
        self._config_mtime = config_path.stat().st_mtime if config_path and config_path.exists() else None
        self._lock = asyncio.Lock()
        self._due_failures = FailureLog("due work (huddles, escalations, reminders)", logger=log)
        self._warm_failures = FailureLog("the dashboard's figures", logger=log)

    @property
    def running(self) -> bool:
        """True while the scheduler runs."""
        return bool(self.scheduler.running)

    def start(self) -> None:
        """Build the jobs from the configuration and start them."""
        self.scheduler.add_job(
            self.due_work, "interval", seconds=self.safety_net.total_seconds(), id="due_work"
        )
        if self.config_path is not None:
            self.scheduler.add_job(self.reload_config, "interval", seconds=30, id="reload_config")
        if self.trends is not None:
            self.scheduler.add_job(
                self.keep_warm,
                "interval",
                seconds=self.trends.max_age.total_seconds() / 2,
                id="dashboard_figures",
                next_run_time=datetime.now(UTC),
            )
        self.rebuild(self.core.config)
        self.scheduler.start()
        self._start_delivery()

    def _start_delivery(self) -> None:
        # Delivery is a loop, not a job: it goes as soon as a commit kicks it or pacing allows. It
        # handles its own errors; should it end anyway (a bug), it is started again, loudly.
        if self._stop.is_set():
            return
        self._delivery = asyncio.get_running_loop().create_task(self.dispatcher.run(self._stop))
        self._delivery.add_done_callback(self._delivery_ended)

    def _delivery_ended(self, task: asyncio.Task[None]) -> None:
        if self._stop.is_set():
            return
        error = None if task.cancelled() else task.exception()
        log.error("the delivery loop ended unexpectedly (%s); restarting it", type(error).__name__)
        asyncio.get_running_loop().call_later(1.0, self._start_delivery)

    async def shutdown(self) -> None:
        """Stop every job and the delivery loop (a send in flight finishes)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self._stop.set()
        if self._delivery is not None:
            await asyncio.gather(self._delivery, return_exceptions=True)

    def rebuild(self, config: OrgConfig) -> int:
        """Replace the huddle jobs with one cron job per unit schedule; returns how many."""
        for job in self.scheduler.get_jobs():
            if job.id.startswith("huddle:"):
                job.remove()
        count = 0
        for unit in config.units:
            zone = config.timezone_for(unit.id)
            for schedule in unit.huddles:
                days = ",".join(d for i, d in enumerate(_DAYS) if schedule.runs_on(i))
                trigger = CronTrigger(
                    hour=schedule.at.hour, minute=schedule.at.minute, day_of_week=days, timezone=zone
                )
                self.scheduler.add_job(
                    self.due_work, trigger, id=f"huddle:{unit.id}:{schedule.at:%H%M}", replace_existing=True
                )
                count += 1
        log.info("scheduled %d huddle job(s) for %d unit(s)", count, len(config.units))
        return count

    async def due_work(self) -> None:
        """Everything time has made due; failures are logged and retried by the next run."""
        async with (
            self._lock
        ):  # a cron firing and the safety net at once would only wait on each other's claims
            try:
                await run_due_work(self.core)
                self._due_failures.worked()
                self.dispatcher.kick()
            except Exception as error:  # the database away, mostly: the next run tries again
                self._due_failures.failed(error, traceback=True)

    async def keep_warm(self) -> None:
        """Count again the dashboard's slow figures people are looking at (``bot.trends``)."""
        assert self.trends is not None
        try:
            await self.trends.keep_warm()
            self._warm_failures.worked()
        except Exception as error:  # the database away: the pages count for themselves meanwhile
            self._warm_failures.failed(error)

    async def reload_config(self) -> bool:
        """Pick up a changed organisation file; a broken one is reported and the old one kept."""
        path = self.config_path
        if path is None or not path.exists():
            return False
        mtime = path.stat().st_mtime
        if mtime == self._config_mtime:
            return False
        self._config_mtime = mtime
        try:
            config = await asyncio.to_thread(load_config, path)
        except ConfigError as error:
            log.error("the changed configuration was NOT loaded (still using the previous one):\n%s", error)
            return False
        self.core.config = config
        self.rebuild(config)
        log.info("configuration reloaded from %s", path)
        return True
