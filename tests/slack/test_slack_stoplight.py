"""`/huddle stoplight` on Slack: a leader posts the unit's "you said, we did" report to its channel."""

from __future__ import annotations

from tests.slack.harness import DANA, WEST, SlackHarness


async def test_a_leader_posts_the_stoplight_to_the_units_channel(slack: SlackHarness) -> None:
    answer = await slack.command("/huddle", "stoplight", user=DANA, channel=WEST)
    assert answer["response_type"] == "ephemeral"
    await slack.deliver()
    posted = " ".join(m.text for m in slack.fake.top(WEST))
    assert "thank you for your huddles" in posted.lower()
    assert "/huddle stoplight" in (await slack.command("/huddle", "help", user=DANA))["text"]
