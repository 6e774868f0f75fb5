"""`dashboard` on Teams: the private sign-in link comes only in the person's own chat with the bot; asked
in a channel, the bot says where to ask and sends no link."""

from __future__ import annotations

from tests.teams.conftest import DANA, UNIT_CHANNELS, TeamsHarness


async def test_dashboard_in_a_personal_chat_sends_a_private_link(teams: TeamsHarness) -> None:
    await teams.post(teams.personal_message("dashboard", user=DANA))
    (answer,) = teams.fake.posts_to(f"a:1personal-{DANA}")
    assert "Your private link to the huddlebot dashboard" in answer.text
    assert "/dashboard/sign-in?token=" in answer.text


async def test_dashboard_in_a_channel_sends_no_link(teams: TeamsHarness) -> None:
    await teams.install_team()
    teams.fake.clear()
    channel = teams.channel_message("dashboard", user=DANA, channel=UNIT_CHANNELS["4west"])
    await teams.post(channel)
    sent = " ".join(call.text for call in teams.fake.history)
    assert "Ask me `dashboard` in our personal chat" in sent
    assert "sign-in?token=" not in sent
