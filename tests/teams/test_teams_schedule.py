"""Scheduled huddles reach Teams channels proactively, from the stored conversation references."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.due_work import run_due_work
from bot.model import OutboxStatus
from tests.teams.conftest import GENERAL, TEAM, UNIT_CHANNELS, TeamsHarness


async def test_the_07_00_huddle_is_posted_in_every_installed_unit_channel(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    # The team was installed with some of the units' channels only: SICU's is missing.
    teams.fake.team_channels[TEAM] = [
        {"id": GENERAL},
        {"id": UNIT_CHANNELS["4west"], "name": "4 West"},
        {"id": UNIT_CHANNELS["micu"], "name": "MICU"},
    ]
    await teams.install_team()
    await run_due_work(teams.core, teams.app.dispatcher)  # 06:50: nothing due yet
    teams.clock.advance(timedelta(minutes=10, seconds=5))  # 07:00:05 Chicago
    report = await run_due_work(teams.core, teams.app.dispatcher)
    assert report.opened >= 3
    for unit in ("4west", "micu"):
        posted = [c for c in teams.fake.posts_to(UNIT_CHANNELS[unit]) if "Safety huddle" in c.text]
        assert len(posted) == 1 and posted[0].thread is None
    assert teams.fake.posts_to(UNIT_CHANNELS["sicu"]) == []
    async with teams.core.uow() as tx:
        dead = await tx.outbox_items(status=OutboxStatus.DEAD)
    assert any(
        d.channel == UNIT_CHANNELS["sicu"] and "configuration error" in (d.last_error or "") for d in dead
    )
    assert "not installed in the team of channel 19:sicu@thread.tacv2" in caplog.text
    # At close, the summary goes in each prompt's thread.
    teams.clock.advance(timedelta(minutes=31))
    await run_due_work(teams.core, teams.app.dispatcher)
    summary = [c for c in teams.fake.posts_to(UNIT_CHANNELS["4west"]) if "Huddle summary" in c.text]
    prompt_id = next(
        r.message_ref for r in await _prompts(teams) if r.message_channel == UNIT_CHANNELS["4west"]
    )
    assert len(summary) == 1 and summary[0].thread == prompt_id
    logging.getLogger(__name__).info("ok")


async def _prompts(teams: TeamsHarness) -> list:
    async with teams.core.uow() as tx:
        rows = []
        for run_id in range(1, 10):
            rows.extend(await tx.posts_for(role="prompt", run_id=run_id))
    return rows
