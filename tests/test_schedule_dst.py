"""Time: huddles are wall-clock times in each unit's zone. Daylight-saving days neither skip nor double
a huddle; a huddle the bot was down for is posted late within the grace period, else recorded missed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import OrgConfig, parse_config
from bot.due_work import run_due_work
from tests.conftest import Harness, make_harness
from tests.sql import rows, scalar

ROOT = Path(__file__).resolve().parent.parent

NIGHT_OWLS = """\
organization: {name: Night Owl Health, timezone: America/Chicago}
people:
  nia: {name: Nia Lopez}
safety_officers: [nia]
units:
  - id: chicago
    name: Chicago Nights
    tier: 1
    leaders: [nia]
    huddles:
      - {at: "02:30", window: 30m}
  - id: chicago-early
    name: Chicago Early
    tier: 1
    leaders: [nia]
    huddles:
      - {at: "01:30", window: 30m}
  - id: london
    name: London Nights
    tier: 1
    timezone: Europe/London
    leaders: [nia]
    huddles:
      - {at: "01:30", window: 30m}
"""


@pytest.fixture(scope="module")
def night_owls() -> OrgConfig:
    return parse_config(NIGHT_OWLS, source="night-owls.yaml")


async def walk(harness: Harness, until: datetime, step: timedelta = timedelta(minutes=30)) -> None:
    """Move the clock to ``until`` in steps (on the hour and half hour here), running due work at each."""
    while harness.clock.now() < until:
        harness.clock.advance(min(step, until - harness.clock.now()))
        await run_due_work(harness.core, harness.app.dispatcher)


@pytest.mark.parametrize(
    ("unit", "start", "end", "scheduled_utc", "label"),
    [
        # 02:30 does not exist in Chicago on 8 March 2026: it happens at 03:30 CDT, once.
        ("chicago", "2026-03-08T06:00Z", "2026-03-08T12:00Z", "2026-03-08T08:30Z", "Sun 08 Mar 03:30 CDT"),
        # 01:30 happens twice in Chicago on 1 November 2026: the first time only.
        (
            "chicago-early",
            "2026-11-01T05:00Z",
            "2026-11-01T11:00Z",
            "2026-11-01T06:30Z",
            "Sun 01 Nov 01:30 CDT",
        ),
        # London springs forward at 01:00 GMT on 29 March 2026: 01:30 happens at 02:30 BST.
        ("london", "2026-03-28T23:00Z", "2026-03-29T05:00Z", "2026-03-29T01:30Z", "Sun 29 Mar 02:30 BST"),
        # London falls back at 02:00 BST on 25 October 2026: 01:30 happens twice; the first counts.
        ("london", "2026-10-24T23:00Z", "2026-10-25T05:00Z", "2026-10-25T00:30Z", "Sun 25 Oct 01:30 BST"),
    ],
)
async def test_a_daylight_saving_day_has_exactly_one_huddle(
    sqlite_url: str, night_owls: OrgConfig, unit: str, start: str, end: str, scheduled_utc: str, label: str
) -> None:
    begin = datetime.fromisoformat(start)
    harness = await make_harness(sqlite_url, night_owls, start=begin)
    try:
        await walk(harness, datetime.fromisoformat(end))
        runs = await rows(
            harness, "SELECT scheduled_for, status FROM huddle_runs WHERE unit_id = :unit", unit=unit
        )
        assert len(runs) == 1, runs
        scheduled = runs[0]["scheduled_for"]
        if isinstance(scheduled, str):  # SQLite keeps UTC text
            scheduled = datetime.fromisoformat(scheduled).replace(tzinfo=UTC)
        assert scheduled == datetime.fromisoformat(scheduled_utc)
        assert runs[0]["status"] == "closed"
        channel = harness.transcript(unit)
        assert channel.count("Safety huddle ·") == 1
        assert f"· {label} (closed)" in channel
        assert channel.count("Huddle summary ·") == 1
    finally:
        await harness.app.close()


async def test_an_ordinary_day_has_its_huddle_at_the_same_local_time_after_the_change(
    sqlite_url: str, night_owls: OrgConfig
) -> None:
    harness = await make_harness(sqlite_url, night_owls, start=datetime(2026, 3, 7, 6, 30, tzinfo=UTC))
    try:
        await walk(harness, datetime(2026, 3, 9, 12, 30, tzinfo=UTC), step=timedelta(hours=1))
        prompts = [line for line in harness.transcript("chicago").splitlines() if "Safety huddle ·" in line]
        assert [p.split(" · ")[2].split(" (")[0] for p in prompts] == [
            "Sat 07 Mar 02:30 CST",
            "Sun 08 Mar 03:30 CDT",
            "Mon 09 Mar 02:30 CDT",
        ]
    finally:
        await harness.app.close()


async def test_a_huddle_past_its_grace_period_is_recorded_missed_and_listed_in_the_next_summary(
    harness: Harness,
) -> None:
    await harness.run("tick 1m")  # 06:51: the bot is up, then goes down before 07:00
    harness.clock.advance(timedelta(hours=2, minutes=39))  # back at 09:30, past 07:00 + 2 h grace
    await run_due_work(harness.core, harness.app.dispatcher)

    runs = await rows(harness, "SELECT unit_id, claim_key, status FROM huddle_runs WHERE unit_id = '4west'")
    assert runs == [{"unit_id": "4west", "claim_key": "07:00@2026-11-25", "status": "missed"}]
    assert "Safety huddle" not in harness.transcript("4west")  # nobody is asked about 07:00 at 09:30
    assert await scalar(harness, "SELECT COUNT(*) FROM audit_events WHERE action = 'huddle.missed'") == 4

    harness.clock.advance(timedelta(hours=9, minutes=29))  # 18:59
    await run_due_work(harness.core, harness.app.dispatcher)
    await harness.run("tick 32m")  # the 19:00 huddle opens and closes
    channel = harness.transcript("4west")
    assert channel.count("Safety huddle ·") == 1
    assert "Safety huddle · 4 West Med-Surg · Wed 25 Nov 19:00 CST (closed)" in channel
    assert "Missed huddles: Wed 25 Nov 07:00 CST" in channel.split("↳ Huddle summary")[1]


async def test_a_huddle_within_its_grace_period_is_posted_once_late_with_its_whole_window(
    harness: Harness,
) -> None:
    await harness.run("tick 1m")
    harness.clock.advance(timedelta(hours=1, minutes=39))  # back at 08:30: 90 minutes late, within 2 h
    await run_due_work(harness.core, harness.app.dispatcher)
    await run_due_work(harness.core, harness.app.dispatcher)

    channel = harness.transcript("4west")
    assert channel.count("Safety huddle ·") == 1
    assert "Safety huddle · 4 West Med-Surg · Wed 25 Nov 07:00 CST (open until 09:00 CST)" in channel
    runs = await rows(harness, "SELECT status FROM huddle_runs WHERE unit_id = '4west'")
    assert runs == [{"status": "open"}]

    await harness.run("tick 31m")
    assert "(closed)" in harness.transcript("4west")


def test_the_console_now_flag_walks_through_a_daylight_saving_morning(tmp_path: Path) -> None:
    config = tmp_path / "night-owls.yaml"
    config.write_text(NIGHT_OWLS, encoding="utf-8")
    script = tmp_path / "script.txt"
    script.write_text("now\ntick 45m\n", encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'huddlebot.db'}",
    }
    result = subprocess.run(
        [
            sys.executable,
            *("-m", "bot.cli", "console", "--config", str(config)),
            *("--now", "2026-03-08T01:50:00-06:00", "--script", str(script)),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "⏱ Sun 08 Mar 2026 01:50 CST" in out
    assert out.count("→ #chicago: Safety huddle") == 1
    assert "→ #chicago: Safety huddle · Chicago Nights · Sun 08 Mar 03:30 CDT (open until 04:00 CDT)" in out
    assert "⏱ Sun 08 Mar 2026 03:35 CDT" in out  # 45 minutes later, an hour and 45 on the wall clock
