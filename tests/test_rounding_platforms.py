"""The rounding reminder on Slack and on Teams: a private message at the leader's rounding time, in
the unit's time zone, across a daylight-saving change, once a weekday, naming what to follow up.

(The console's is in tests/test_rounding.py; /round itself on each platform is in
tests/slack/test_slack_leaders_answer.py and tests/teams/test_teams_leaders_answer.py.)"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.due_work import run_due_work
from tests.conftest import SEAL_KEY
from tests.slack.harness import DANA as SLACK_DANA
from tests.slack.harness import make_slack
from tests.teams.conftest import DANA as TEAMS_DANA
from tests.teams.conftest import close_harness, make_teams_harness
from tests.test_rounding import _config

# Friday 12 March 2027, then Monday 15 March: Chicago moves to daylight time on Sunday the 14th, so
# 10:00 in 4 West is 16:00 UTC on Friday and 15:00 UTC on Monday.
FRIDAY_BEFORE, FRIDAY_AFTER = (
    datetime(2027, 3, 12, 15, 59, tzinfo=UTC),
    datetime(2027, 3, 12, 16, 1, tzinfo=UTC),
)
SUNDAY = datetime(2027, 3, 14, 16, 1, tzinfo=UTC)
MONDAY_BEFORE, MONDAY_AFTER = (
    datetime(2027, 3, 15, 14, 59, tzinfo=UTC),
    datetime(2027, 3, 15, 15, 1, tzinfo=UTC),
)
RHYTHM = [{"units": ["4west"], "days": "weekdays", "at": "10:00"}]


async def _walk(
    set_clock: Callable[[datetime], None], work: Callable[[], Awaitable[None]], said: Callable[[], int]
) -> None:
    counts = []
    for instant in (FRIDAY_BEFORE, FRIDAY_AFTER, SUNDAY, MONDAY_BEFORE, MONDAY_AFTER):
        set_clock(instant)
        await work()
        await work()  # as a second replica would: still once
        counts.append(said())
    assert counts == [0, 1, 1, 1, 2]


async def test_the_reminder_reaches_a_leader_on_slack_at_ten_local_across_the_change(db_url: str) -> None:
    slack = await make_slack(db_url, _config(RHYTHM), start=FRIDAY_BEFORE, seal_key=SEAL_KEY)  # type: ignore[arg-type]
    try:
        dm = slack.fake.dm_channel(SLACK_DANA)

        async def work() -> None:
            await run_due_work(slack.app.core)
            await slack.deliver()

        def reminders() -> list[str]:
            return [
                json.dumps(call.args)
                for call in slack.fake.calls
                if call.method == "chat.postMessage"
                and call.args.get("channel") in (dm, SLACK_DANA)
                and "Rounding" in json.dumps(call.args)
            ]

        await _walk(slack.clock.set, work, lambda: len(reminders()))
        assert "Time to round on 4 West Med-Surg" in reminders()[0] and "/round 4west" in reminders()[0]
    finally:
        await slack.close()


async def test_the_reminder_reaches_a_leader_on_teams_at_ten_local_across_the_change(db_url: str) -> None:
    teams = await make_teams_harness(db_url, _config(RHYTHM))  # type: ignore[arg-type]
    try:
        await teams.install_team()  # the bot reaches people proactively in the tenant it was installed in

        async def work() -> None:
            await run_due_work(teams.app.core)
            await teams.deliver()

        def reminders() -> list[str]:
            return [
                json.dumps(c.body, ensure_ascii=False)
                for c in teams.fake.history
                if c.base_conversation == f"a:1personal-{TEAMS_DANA}"  # Dana's personal chat with the bot
                and "Rounding" in json.dumps(c.body, ensure_ascii=False)
            ]

        await _walk(teams.clock.set, work, lambda: len(reminders()))
        assert "Time to round on 4 West Med-Surg" in reminders()[0]
    finally:
        await close_harness(teams)
