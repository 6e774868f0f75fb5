"""`/huddle dashboard` on Slack: a private sign-in link, in the ephemeral answer only, that opens the
dashboard signed in as that person — once."""

from __future__ import annotations

import re

from tests.slack.harness import DANA, WEST_LEADERS, SlackHarness


async def test_huddle_dashboard_answers_with_a_private_single_use_link(slack: SlackHarness) -> None:
    answer = await slack.command("/huddle", "dashboard", user=DANA, channel=WEST_LEADERS)
    assert answer["response_type"] == "ephemeral"  # never posted in the channel
    found = re.search(r"(https?://\S+/dashboard/sign-in\?token=\S+)", answer["text"])
    assert found, answer["text"]
    path = found.group(1).split("://", 1)[1].split("/", 1)[1]
    first = await slack.client.get("/" + path)
    assert first.status == 200  # the page that signs in (a button, so link previews don't use it up)
    assert not slack.fake.called("chat.postMessage")  # nothing about it went to a channel
    help_text = (await slack.command("/huddle", "help", user=DANA))["text"]
    assert "/huddle dashboard" in help_text
