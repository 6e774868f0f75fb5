"""Socket Mode: with SLACK_APP_TOKEN the app connects out to Slack (a fake WebSocket here) and serves the same
listeners, acknowledging each envelope on the socket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.slack.payloads import OTHER_WORKSPACE
from bot.config import OrgConfig
from tests.conftest import START
from tests.slack.fake_slack import APP_TOKEN
from tests.slack.harness import ALEX, WEST, WEST_LEADERS, SlackHarness, make_slack, payload


@pytest.fixture
async def socket_slack(sqlite_url: str, example_config: OrgConfig) -> AsyncIterator[SlackHarness]:
    harness = await make_slack(sqlite_url, example_config, start=START, seal_key=None, app_token=APP_TOKEN)
    yield harness
    await harness.close()


def _command(command: str, text: str, trigger: str) -> dict[str, str]:
    form = payload("slash_command.txt")
    form.update(
        command=command, text=text, user_id=ALEX, channel_id=WEST, team_id="T0HUDDLE1", trigger_id=trigger
    )
    return form


async def test_commands_and_events_arrive_over_the_socket(socket_slack: SlackHarness) -> None:
    fake = socket_slack.fake
    assert fake.called("apps.connections.open")  # made with the app-level token

    reply = await fake.push("slash_commands", _command("/huddle", "help", fake.issue_trigger()), "env-1")
    assert reply["payload"]["response_type"] == "ephemeral" and "/huddle now" in reply["payload"]["text"]

    trigger = fake.issue_trigger()  # Slack issues one with each command; the fake knows when
    reply = await fake.push("slash_commands", _command("/concern", "Sink blocked", trigger), "env-2")
    assert fake.called("views.open")[-1]["trigger_id"] == trigger
    form = fake.views[-1]
    assert not any(b.get("block_id") == "notify" for b in form["blocks"])  # no seal key: not offered

    submission = payload("view_submission.json")
    submission["user"]["id"] = ALEX
    submission["team"]["id"] = "T0HUDDLE1"  # this workspace's (another's is answered, not acted on)
    submission["view"].update(
        callback_id="concern",
        private_metadata=form["private_metadata"],
        state={
            "values": {
                "description": {"value": {"type": "plain_text_input", "value": "Sink blocked in the sluice"}},
                "unit": {"value": {"type": "static_select", "selected_option": {"value": "4west"}}},
                "anonymity": {"value": {"type": "radio_buttons", "selected_option": {"value": "named"}}},
            }
        },
    )
    reply = await fake.push("interactive", submission, "env-3")
    assert reply["payload"]["response_action"] == "update" and "C-1001" in str(reply["payload"]["view"])
    await socket_slack.deliver()
    [card] = fake.top(WEST_LEADERS)

    event = payload("event_message_thread_reply.json")
    event["team_id"] = "T0HUDDLE1"
    event["event"].update(user="U0DANA01", channel=WEST_LEADERS, thread_ts=card.ts, text="Plumber called.")
    await fake.push("events_api", event, "env-4")
    await socket_slack.platform.listeners.drain()  # type: ignore[union-attr]
    await socket_slack.deliver()
    assert "Acknowledged" in card.text


async def test_a_command_from_another_workspace_is_answered_over_the_socket_and_not_acted_on(
    socket_slack: SlackHarness,
) -> None:
    fake = socket_slack.fake
    form = _command("/concern", "Sink blocked", fake.issue_trigger())
    form["team_id"] = "T0ELSEWHERE"
    reply = await fake.push("slash_commands", form, "env-9")
    assert reply["payload"]["text"] == OTHER_WORKSPACE
    assert not fake.called("views.open")
