"""The fake Slack is as strict as Slack (issue 15), by default, without a test asking: what Slack refuses,
it refuses, with Slack's error code; and it can fail any call, including one it carried out but whose
answer it lost. Tests here speak to it as huddlebot does (its Messenger, its Web API client)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import PermanentDeliveryError
from bot.model import Address
from bot.views import Notice
from tests.slack.fake_slack import TOKEN, FakeSlack
from tests.slack.harness import ALEX, DANA, JO, WEST, WEST_LEADERS, SlackHarness

NOTE = Notice(text="Huddle at 07:00")
MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Hello"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
}


def _at(channel: str | None = None, *, thread: str | None = None, user: str | None = None) -> Address:
    return Address("slack", "T0HUDDLE1", channel=channel, thread=thread, user=user)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def _refused(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call
    return str(raised.value.response["error"])


@pytest.fixture
def client(slack_sqlite: SlackHarness) -> AsyncWebClient:
    """huddlebot's own Web API client (its session, its retry handlers), pointed at the fake."""
    return slack_sqlite.platform.messenger.client


async def test_channels_and_people_the_workspace_does_not_have_are_refused(
    slack_sqlite: SlackHarness,
) -> None:
    messenger = slack_sqlite.platform.messenger
    for address in (_at("C0NOWHERE"), _at(user="U0NOBODY1")):
        with pytest.raises(PermanentDeliveryError) as raised:
            await messenger.post(address, NOTE)
        assert "channel_not_found" in raised.value.reason
    assert not slack_sqlite.fake.messages  # nothing went anywhere
    await messenger.post(_at(WEST), NOTE)  # the organisation's channels are there
    await messenger.post(_at(user=ALEX), NOTE)  # and its people's DMs


async def test_a_test_that_wants_any_channel_asks_for_it_by_name() -> None:
    fake = FakeSlack(lenient_channels=True, lenient_triggers=True)
    await fake.start()
    try:
        client = AsyncWebClient(token=TOKEN, base_url=fake.url)
        await client.chat_postMessage(channel="C0ANYTHING", text="x")
        await client.chat_postEphemeral(channel="C0ANYTHING", user="U0ANYONE", text="x")
        assert fake.top("C0ANYTHING")
        await client.views_open(trigger_id="1.bench", view=MODAL)  # made by a load generator
        assert await _refused(client.views_open(trigger_id="1.bench", view=MODAL)) == "exchanged_trigger_id"
    finally:
        await fake.close()


async def test_a_reply_to_a_thread_that_is_not_there_is_refused(slack_sqlite: SlackHarness) -> None:
    messenger = slack_sqlite.platform.messenger
    with pytest.raises(PermanentDeliveryError) as raised:
        await messenger.post(_at(WEST, thread="1764000000.999999"), NOTE)
    assert "thread_not_found" in raised.value.reason
    root = await messenger.post(_at(WEST), NOTE)
    with pytest.raises(PermanentDeliveryError):  # a message of another channel is not a parent here
        await messenger.post(_at(WEST_LEADERS, thread=root.message_ref), NOTE)
    await messenger.post(_at(WEST, thread=root.message_ref), NOTE)


async def test_an_ephemeral_to_someone_not_in_the_channel_is_refused(
    slack_sqlite: SlackHarness, client: AsyncWebClient
) -> None:
    slack_sqlite.fake.leave(WEST_LEADERS, JO)
    assert await _refused(client.chat_postEphemeral(channel=WEST_LEADERS, user=JO, text="x")) == (
        "user_not_in_channel"
    )
    await client.chat_postEphemeral(channel=WEST_LEADERS, user=DANA, text="x")
    dm = slack_sqlite.fake.dm_channel(ALEX)
    assert await _refused(client.chat_postEphemeral(channel=dm, user=DANA, text="x")) == "user_not_in_channel"


async def test_message_size_is_counted_as_slack_counts_it_from_what_is_sent(client: AsyncWebClient) -> None:
    # 4 sections of 2,999 "&amp;"-heavy characters: 11,996 as sent, taken; a fifth is too much in all.
    four = [_section("&amp;" * 599 + "xxxx")] * 4
    await client.chat_postMessage(channel=WEST, text="x", blocks=four)
    too_long = client.chat_postMessage(channel=WEST, text="x", blocks=[*four, _section("x" * 10)])
    assert await _refused(too_long) == "msg_blocks_too_long"
    # An emoji is 2 units: 1500 of them fill a section, 1501 overflow it.
    await client.chat_postMessage(channel=WEST, text="x", blocks=[_section("🚑" * 1500)])
    assert await _refused(
        client.chat_postMessage(channel=WEST, text="x", blocks=[_section("🚑" * 1501)])
    ) == ("invalid_blocks")
    assert await _refused(
        client.chat_postMessage(channel=WEST, text="x", blocks=[{"type": "divider"}] * 51)
    ) == ("invalid_blocks")
    assert await _refused(client.chat_postMessage(channel=WEST, text="é" * 40_001)) == "msg_too_long"


async def test_a_trigger_id_works_once_and_for_three_seconds(
    slack_sqlite: SlackHarness, client: AsyncWebClient
) -> None:
    fake = slack_sqlite.fake
    assert await _refused(client.views_open(trigger_id="made.up", view=MODAL)) == "invalid_trigger_id"
    assert await _refused(client.views_open(trigger_id=fake.issue_trigger(age=3.5), view=MODAL)) == (
        "expired_trigger_id"
    )
    fresh = fake.issue_trigger()
    await client.views_open(trigger_id=fresh, view=MODAL)
    assert await _refused(client.views_open(trigger_id=fresh, view=MODAL)) == "exchanged_trigger_id"


async def test_a_person_whose_trigger_expired_is_told_to_try_again(slack_sqlite: SlackHarness) -> None:
    answer = await slack_sqlite.command("/concern", "", trigger_age=4.0)
    assert answer["response_type"] == "ephemeral" and "could not be opened" in answer["text"]
    assert slack_sqlite.fake.called("views.open") and not slack_sqlite.fake.views


async def test_views_update_needs_a_known_view_and_its_current_hash(
    slack_sqlite: SlackHarness, client: AsyncWebClient
) -> None:
    opened = (await client.views_open(trigger_id=slack_sqlite.fake.issue_trigger(), view=MODAL))["view"]
    assert await _refused(client.views_update(view_id="V0NOPE", view=MODAL)) == "not_found"
    updated = (await client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL))["view"]
    stale = client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    assert await _refused(stale) == "hash_conflict"
    await client.views_update(view_id=opened["id"], hash=updated["hash"], view=MODAL)


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("chat.postMessage", lambda c, f: c.chat_postMessage(channel=WEST, text="x")),
        ("chat.update", lambda c, f: c.chat_update(channel=WEST, ts="1.1", text="x")),
        ("chat.postEphemeral", lambda c, f: c.chat_postEphemeral(channel=WEST, user=ALEX, text="x")),
        ("views.open", lambda c, f: c.views_open(trigger_id=f.issue_trigger(), view=MODAL)),
        ("views.publish", lambda c, f: c.views_publish(user_id=ALEX, view={**MODAL, "type": "home"})),
    ],
)
async def test_any_call_can_be_made_to_fail(
    slack_sqlite: SlackHarness, client: AsyncWebClient, method: str, call: Any
) -> None:
    fake = slack_sqlite.fake
    fake.refuse_next(method, "fatal_error")
    assert await _refused(call(client, fake)) == "fatal_error"
    fake.fail_next(method, 429, retry_after=3)
    with pytest.raises(SlackApiError) as raised:
        await call(client, fake)
    assert raised.value.response.status_code == 429


async def test_an_answer_lost_after_the_message_was_posted_makes_a_countable_double(
    slack_sqlite: SlackHarness,
) -> None:
    """Slack posted it, the answer never came back: the SDK's connection retry posts it again (Slack has
    no idempotency key for chat.postMessage), and the outbox would too. The fake makes that visible."""
    fake, messenger = slack_sqlite.fake, slack_sqlite.platform.messenger
    fake.drop_next("chat.postMessage")
    await messenger.post(_at(WEST), NOTE)
    assert len(fake.dropped) == 1 and len(fake.called("chat.postMessage")) == 2
    assert len(fake.top(WEST)) == 1 + len(fake.dropped)  # every lost answer is one more copy


async def test_an_answer_that_never_comes_is_a_timeout_after_the_work_was_done(fake: FakeSlack) -> None:
    fake.drop_next("chat.postMessage", hang=0.5)
    timeout = aiohttp.ClientTimeout(total=0.1)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with pytest.raises(asyncio.TimeoutError):
            await session.post(
                fake.url + "chat.postMessage",
                json={"channel": WEST, "text": "x"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
    assert len(fake.top(WEST)) == 1  # posted all the same


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack(channels=[WEST], users=[ALEX])
    await server.start()
    yield server
    await server.close()
