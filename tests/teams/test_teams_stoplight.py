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


async def test_typed_closings_take_the_stoplights_title(teams: TeamsHarness) -> None:
    await teams.install_team()
    for words in ("We need a second bladder scanner", "Night float never answers", "Hoist sling torn"):
        await teams.post(teams.personal_message(f"concern --unit 4west {words}", user=STAFF))
    for typed in (
        'not-possible C-1001 The budget is frozen until April --title "Second bladder scanner"',
        'status C-1002 in_progress --title "Night float phone" Calling the float office daily',
        "resolve C-1003 New slings arrived --title Slings replaced",
    ):
        await teams.post(teams.personal_message(typed, user=DANA))
    found = await rows(teams, "SELECT id, status, title FROM concerns ORDER BY id")
    assert [(r["status"], r["title"]) for r in found] == [
        ("not_possible", "Second bladder scanner"),
        ("in_progress", "Night float phone"),
        ("resolved", "Slings replaced"),
    ]
    teams.fake.clear()
    await teams.post(teams.personal_message('resolve C-1002 done --title ""', user=DANA))
    await teams.deliver()
    assert "a title needs words" in " ".join(c.text for c in teams.fake.history)
    (still,) = await rows(teams, "SELECT status FROM concerns WHERE id = 2")
    assert still["status"] == "in_progress"
