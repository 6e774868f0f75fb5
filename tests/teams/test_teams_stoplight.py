"""The stoplight and "not possible now" from Teams: `huddle stoplight` in the unit's channel, and a
leader's `not-possible C-1001 why` closing a concern that way."""

from __future__ import annotations

from tests.sql import rows
from tests.teams.conftest import DANA, STAFF, UNIT_CHANNELS, TeamsHarness


async def test_huddle_stoplight_and_not_possible(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(
        teams.personal_message("concern --unit 4west We need a second bladder scanner", user=STAFF)
    )
    await teams.post(
        teams.personal_message("not-possible C-1001 The budget is frozen until April", user=DANA)
    )
    (concern,) = await rows(teams, "SELECT status FROM concerns")
    assert concern["status"] == "not_possible"
    teams.fake.clear()
    await teams.post(teams.channel_message("huddle stoplight", user=DANA, channel=UNIT_CHANNELS["4west"]))
    await teams.deliver()
    posted = " ".join(c.text for c in teams.fake.history)
    assert "The budget is frozen until April" in posted  # red: not possible now, and why
