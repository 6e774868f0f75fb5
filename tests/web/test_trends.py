"""The overview's twelve-week figures as a snapshot (bot/trends.py), as the person reading it sees it.

The tests set the threshold to 0 ms, so every scope is "slow" and kept; the rest of the suite counts
every time (tests/conftest.py), whatever the machine's speed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.config import OrgConfig
from bot.jobs import Jobs
from tests.web.conftest import Web, serving

FALLS = "/concern --severity high --category safe --type falls"


@pytest.fixture
async def snapshots(
    db_url: str, example_config: OrgConfig, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Web]:
    monkeypatch.setenv("HUDDLEBOT_DASHBOARD_SNAPSHOT_MS", "0")
    async with serving(db_url, example_config) as running:
        yield running


async def _raise(web: Web, count: int, start: int = 1) -> None:
    lines = ["as alex", "in 4west"]
    lines += [
        f"{FALLS} Patient nearly fell near bed {n}, the floor was wet" for n in range(start, start + count)
    ]
    await web.harness.run("\n".join(lines))


async def _overview(client: object) -> tuple[dict, dict]:
    data = await (await client.get("/dashboard/overview.json")).json()  # type: ignore[attr-defined]
    return data, {t["label"]: t["value"] for t in data["tiles"]}


async def test_twelve_weeks_figures_are_a_snapshot_at_most_a_minute_old_and_say_so(snapshots: Web) -> None:
    web = snapshots
    await _raise(web, 6)
    sam = await web.signed_in("sam")
    try:
        first, tiles = await _overview(sam)
        assert tiles["Raised in the last 7 days"] == 6 and tiles["Open concerns"] == 6
        assert first["figures_as_of"] is not None

        # A concern raised a moment later: open concerns are counted now, the trends wait.
        web.harness.clock.advance(timedelta(seconds=20))
        await _raise(web, 1, start=7)
        again, tiles = await _overview(sam)
        assert tiles["Open concerns"] == 7
        assert tiles["Raised in the last 7 days"] == 6
        assert again["figures_as_of"] == first["figures_as_of"]
        page = await (await sam.get("/dashboard/")).text()
        assert "as of " + first["figures_as_of"] in page

        # Past a minute, nobody is shown older figures: counted again on the spot.
        web.harness.clock.advance(timedelta(seconds=41))
        later, tiles = await _overview(sam)
        assert tiles["Raised in the last 7 days"] == 7
        assert later["figures_as_of"] != first["figures_as_of"]
    finally:
        await sam.close()


async def test_the_background_job_keeps_a_watched_scope_fresh_and_forgets_an_unwatched_one(
    snapshots: Web,
) -> None:
    web = snapshots
    trends = web.harness.app.dashboard.trends
    await _raise(web, 6)
    sam = await web.signed_in("sam")
    try:
        first, _ = await _overview(sam)
        web.harness.clock.advance(timedelta(seconds=31))
        await _raise(web, 1, start=7)
        assert await trends.keep_warm() == 1  # half its age: counted again before anyone waits for it
        web.harness.clock.advance(timedelta(seconds=10))
        data, tiles = await _overview(sam)
        assert tiles["Raised in the last 7 days"] == 7
        assert data["figures_as_of"] != first["figures_as_of"]

        web.harness.clock.advance(timedelta(minutes=16))  # nobody looked for a quarter of an hour
        assert await trends.keep_warm() == 0
        await _raise(web, 1, start=8)
        _, tiles = await _overview(sam)
        assert tiles["Raised in the last 7 days"] == 8
    finally:
        await sam.close()


async def test_the_scheduler_counts_the_whole_organisation_at_start(snapshots: Web) -> None:
    web = snapshots
    await _raise(web, 6)
    jobs = Jobs(web.harness.app.core, web.harness.app.dispatcher, trends=web.harness.app.dashboard.trends)
    jobs.start()
    try:
        assert jobs.scheduler.get_job("dashboard_figures") is not None
        await jobs.keep_warm()  # what the job's first run does
        await _raise(web, 1, start=7)
        sam = await web.signed_in("sam")
        try:
            _, tiles = await _overview(sam)
            # The officer's first look is the snapshot made at start (before the seventh concern).
            assert tiles["Raised in the last 7 days"] == 6 and tiles["Open concerns"] == 7
        finally:
            await sam.close()
    finally:
        await jobs.shutdown()


async def test_fast_figures_are_never_kept(web: Web) -> None:
    await _raise(web, 6)
    sam = await web.signed_in("sam")
    try:
        first, _ = await _overview(sam)
        assert first["figures_as_of"] is None
        await _raise(web, 1, start=7)
        _, tiles = await _overview(sam)
        assert tiles["Raised in the last 7 days"] == 7
        assert "as of" not in await (await sam.get("/dashboard/")).text()
    finally:
        await sam.close()
