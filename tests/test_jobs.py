"""The replica's scheduler: one cron job per unit huddle in the unit's time zone, rebuilt when the
organisation file changes; a broken file is reported and the running configuration kept."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import bundled_example_path, load_config
from bot.jobs import Jobs
from tests.conftest import make_harness


def _touch_later(path: Path, text: str) -> None:
    mtime = path.stat().st_mtime
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime + 10, mtime + 10))


async def test_jobs_follow_the_organisation_file(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "huddlebot.yaml"
    original = bundled_example_path().read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    h = await make_harness(sqlite_url, load_config(path))
    jobs = Jobs(h.core, h.app.dispatcher, config_path=path)
    jobs.start()
    try:
        huddle_jobs = {j.id: j for j in jobs.scheduler.get_jobs() if j.id.startswith("huddle:")}
        assert len(huddle_jobs) == 11
        fire = huddle_jobs["huddle:4west:0700"].next_run_time.astimezone(ZoneInfo("America/Chicago"))
        assert (fire.hour, fire.minute) == (7, 0)
        assert "huddle:medicine:0900" in huddle_jobs

        before = h.core.config
        _touch_later(
            path,
            original.replace(
                '{at: "19:00", days: daily, window: 30m}', '{at: "19:00", window: 30 minutes}', 1
            ),
        )
        with caplog.at_level(logging.ERROR, logger="huddlebot.jobs"):
            assert not await jobs.reload_config()
        assert h.core.config is before
        assert "NOT loaded" in caplog.text and "window" in caplog.text

        _touch_later(
            path, original.replace('      - {at: "19:00", days: daily, window: 30m}   # night shift\n', "", 1)
        )
        assert await jobs.reload_config()
        assert h.core.config is not before
        remaining = [j.id for j in jobs.scheduler.get_jobs() if j.id.startswith("huddle:")]
        assert len(remaining) == 10 and "huddle:4west:1900" not in remaining
        assert not await jobs.reload_config()  # unchanged file: nothing to do
    finally:
        await jobs.shutdown()
        await h.app.close()
