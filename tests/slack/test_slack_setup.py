"""`huddlebot serve` serves Slack when its credentials are set, and says plainly when they are wrong."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.slack.platform import SlackPlatform
from bot.cli import _platforms
from bot.settings import Settings
from tests.slack.fake_slack import TOKEN, FakeSlack
from tests.slack.harness import SECRET


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    await server.start()
    yield server
    await server.stop()


async def test_serve_adds_slack_when_token_and_secret_are_set(fake: FakeSlack) -> None:
    [platform] = await _platforms(
        Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=fake.url)
    )
    try:
        assert isinstance(platform, SlackPlatform)
        assert platform.tenant == "T0HUDDLE1" and platform.bot_user_id == "U0BOT0001"
        assert platform.client.base_url == fake.url  # every Web API call goes to SLACK_API_URL
        assert platform.messenger.client.session is platform.session  # one shared session
    finally:
        await platform.close()


async def test_a_wrong_token_stops_serve_with_a_clear_message(fake: FakeSlack) -> None:
    with pytest.raises(SystemExit) as stopped:
        await _platforms(
            Settings(slack_bot_token="xoxb-wrong", slack_signing_secret=SECRET, slack_api_url=fake.url)
        )
    assert "did not accept SLACK_BOT_TOKEN" in str(stopped.value) and "invalid_auth" in str(stopped.value)
    assert "xoxb-wrong" not in str(stopped.value)


async def test_without_slack_settings_there_is_no_slack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert [p for p in await _platforms(Settings()) if p.name == "slack"] == []
