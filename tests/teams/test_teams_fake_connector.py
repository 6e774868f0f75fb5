"""The fake Bot Connector refuses what the real one refuses, by default: each of its checks is shown to
fail here, so a test that passes against it did not pass because the fake let anything through.

The calls are made with huddlebot's own ``BotConnector`` (and its Messenger), as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from adapters.teams import cards, wire
from adapters.teams.connector import BotConnector, ConnectorError
from bot.config import OrgConfig
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.model import Address
from bot.views import Notice
from tests.teams.conftest import (
    DANA,
    GENERAL,
    TEAM,
    UNIT_CHANNELS,
    TeamsHarness,
    close_harness,
    make_teams_harness,
)
from tests.teams.fake_connector import SIZE_LIMIT, TOKEN, FakeConnector, FakeTokens

CHANNEL = "19:known@thread.tacv2"
BOT = "28:huddlebot"
WEST = UNIT_CHANNELS["4west"]


def activity(conversation: str = CHANNEL, text: str = "hello") -> dict[str, Any]:
    """What huddlebot sends: a card in a message, from the bot, to the conversation."""
    return cards.message(
        cards.reply_card(text), envelope=cards.envelope(bot_id=BOT, conversation_id=conversation)
    )


def connector(token: str | None = TOKEN, *, timeout: float = 15.0) -> BotConnector:
    async def get() -> str | None:
        return token

    return BotConnector(token=get, timeout=timeout)


@pytest.fixture
async def fake() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    await fake.start()
    fake.install(CHANNEL)
    yield fake
    await fake.close()


@pytest.fixture
async def bot() -> AsyncIterator[BotConnector]:
    client = connector()
    yield client
    await client.close()


async def refused(call: Awaitable[Any]) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        await call
    return caught.value


async def test_the_right_token_is_taken(fake: FakeConnector, bot: BotConnector) -> None:
    activity_id = await bot.send(fake.url, CHANNEL, activity())
    (call,) = fake.delivered(CHANNEL)
    assert call.answered_id == activity_id and call.authorization == f"Bearer {TOKEN}"
    assert call.size == wire.size(call.body)  # the bytes measured are the bytes sent


@pytest.mark.parametrize("token", [None, "", "somebody-elses-token"])
async def test_no_token_or_a_wrong_one_is_401(fake: FakeConnector, token: str | None) -> None:
    client = connector(token)
    try:
        error = await refused(client.send(fake.url, CHANNEL, activity()))
        assert error.status == 401
        error = await refused(client.create_conversation(fake.url, {"bot": {"id": BOT}}))
        assert error.status == 401
    finally:
        await client.close()
    assert fake.delivered() == [] and fake.sent("send")[0].status == 401


async def test_huddlebot_without_a_token_is_refused_and_says_what_to_check(
    db_url: str, example_config: OrgConfig, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = FakeTokens(None)  # development mode's "no credentials": no Authorization header at all
    h = await make_teams_harness(db_url, example_config, token_source=tokens)
    try:
        await h.install_team()  # stored; but Teams answers neither the channel list nor the hello
        with pytest.raises(TransientDeliveryError, match="401"):
            await h.platform.messenger.post(Address("teams", "", channel=GENERAL), Notice(text="x"))
        assert "MICROSOFT_APP_PASSWORD" in caplog.text
        assert tokens.invalidated >= 1  # the next call fetches a new token
        assert h.fake.delivered() == [] and {c.status for c in h.fake.calls} == {401}
    finally:
        await close_harness(h)


async def test_an_unknown_activity_id_cannot_be_updated(fake: FakeConnector, bot: BotConnector) -> None:
    posted = await bot.send(fake.url, CHANNEL, activity())
    await bot.update(fake.url, CHANNEL, posted, activity(text="edited"))
    error = await refused(bot.update(fake.url, CHANNEL, "1771290299999", activity(text="edited")))
    assert (error.status, error.code) == (404, "ActivityNotFound")
    other = "19:other@thread.tacv2"
    fake.install(other)
    error = await refused(bot.update(fake.url, other, posted, activity(other)))  # not this chat's
    assert error.status == 404


async def test_the_messenger_updating_an_unknown_activity_is_a_permanent_error(teams: TeamsHarness) -> None:
    await teams.install_team()
    with pytest.raises(PermanentDeliveryError, match="404"):
        await teams.platform.messenger.update(WEST, "1771290299999", Notice(text="x"))


async def test_conversations_are_known_only_where_the_bot_is(fake: FakeConnector, bot: BotConnector) -> None:
    stranger = "19:never-installed@thread.tacv2"
    error = await refused(bot.send(fake.url, stranger, activity(stranger)))
    assert (error.status, error.code) == (404, "ConversationNotFound")
    thread = f"{CHANNEL};messageid=1771290200000"
    await bot.send(fake.url, thread, activity(thread))  # a thread is known by its channel
    fake.uninstall(CHANNEL)
    error = await refused(bot.send(fake.url, CHANNEL, activity()))
    assert (error.status, error.code) == (403, "BotNotInConversationRoster")
    error = await refused(bot.team_channels(fake.url, TEAM))
    assert error.status == 404  # nor does it list the channels of a team it is not in


async def test_a_team_is_known_with_all_its_channels_until_the_bot_is_removed(fake: FakeConnector) -> None:
    client = connector()
    fake.team_channels[TEAM] = [{"id": "19:a@thread.tacv2"}, {"id": "19:b@thread.tacv2", "name": "B"}]
    try:
        fake.install(team=TEAM)
        assert len(await client.team_channels(fake.url, TEAM)) == 2
        await client.send(fake.url, "19:b@thread.tacv2", activity("19:b@thread.tacv2"))
        fake.uninstall(team=TEAM)
        error = await refused(client.send(fake.url, "19:b@thread.tacv2", activity("19:b@thread.tacv2")))
        assert error.code == "BotNotInConversationRoster"
    finally:
        await client.close()


def _without(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.pop(key)


SHAPES: dict[str, Callable[[dict[str, Any]], None]] = {
    "no type": _without("type"),
    "no from": _without("from"),
    "no conversation": _without("conversation"),
    "another conversation": lambda body: body.update(conversation={"id": "19:elsewhere@thread.tacv2"}),
    "nothing to show": lambda body: body.pop("attachments"),
    "attachment without contentType": lambda body: body["attachments"][0].pop("contentType"),
    "a card that is not one": lambda body: body["attachments"][0]["content"].pop("type"),
}


@pytest.mark.parametrize("case", SHAPES)
async def test_an_activity_the_service_cannot_use_is_400(
    fake: FakeConnector, bot: BotConnector, case: str
) -> None:
    body = activity()
    SHAPES[case](body)
    error = await refused(bot.send(fake.url, CHANNEL, body))
    assert (error.status, error.code) == (400, "BadArgument"), case
    assert fake.delivered() == []


async def test_a_conversation_needs_a_bot_a_member_and_a_tenant(
    fake: FakeConnector, bot: BotConnector
) -> None:
    error = await refused(bot.create_conversation(fake.url, {"bot": {"id": BOT}, "members": []}))
    assert error.status == 400
    created = await bot.create_conversation(
        fake.url, {"bot": {"id": BOT}, "members": [{"id": DANA}], "tenantId": "t"}
    )
    await bot.send(fake.url, created, activity(created))  # and it is known from then on


async def test_over_28_kb_is_413_message_size_too_big(fake: FakeConnector, bot: BotConnector) -> None:
    body = activity()
    body["attachments"][0]["content"]["body"].append(cards.text_block("🚑" * 8_000))  # 32 KB
    assert wire.size(body) > SIZE_LIMIT
    error = await refused(bot.send(fake.url, CHANNEL, body))
    assert (error.status, error.code) == (413, "MessageSizeTooBig")
    # The same card, as huddlebot renders it, fits: shortened, and marked so.
    fitted = cards.message(
        body["attachments"][0]["content"], envelope=cards.envelope(bot_id=BOT, conversation_id=CHANNEL)
    )
    await bot.send(fake.url, CHANNEL, fitted)
    assert fake.delivered()[-1].size <= wire.MESSAGE_LIMIT_BYTES < SIZE_LIMIT


async def test_leniency_is_asked_for_by_name() -> None:
    stranger = "19:never-installed@thread.tacv2"
    for fake, taken in ((FakeConnector(require_token=False), False), (FakeConnector(lenient=True), True)):
        await fake.start()
        client = connector(None)
        try:
            await client.send(fake.url, CHANNEL if not taken else stranger, activity(stranger))
        except ConnectorError as error:
            assert not taken and error.status == 404  # no token needed; conversations still checked
        else:
            assert taken
        finally:
            await client.close()
            await fake.close()


CALLS: dict[str, Callable[[BotConnector, str], Awaitable[Any]]] = {
    "send": lambda c, url: c.send(url, CHANNEL, activity()),
    "reply": lambda c, url: c.reply(url, CHANNEL, "1771290200000", activity()),
    "update": lambda c, url: c.update(url, CHANNEL, "1771290200000", activity()),
    "create_conversation": lambda c, url: c.create_conversation(
        url, {"bot": {"id": BOT}, "members": [{"id": DANA}], "tenantId": "t"}
    ),
    "team_channels": lambda c, url: c.team_channels(url, TEAM),
}


@pytest.mark.parametrize("op", CALLS)
async def test_a_failure_can_be_injected_on_every_call(
    fake: FakeConnector, bot: BotConnector, op: str
) -> None:
    fake.install(team=TEAM)
    fake.fail(op, 503, "ServiceUnavailable", retry_after="4")
    error = await refused(CALLS[op](bot, fake.url))
    assert (error.status, error.code, error.retry_after) == (503, "ServiceUnavailable", 4.0)
    assert fake.sent(op)[-1].status == 503 and not fake.sent(op)[-1].accepted


@pytest.mark.parametrize("op", CALLS)
async def test_an_answer_can_be_lost_after_the_call_was_taken(
    fake: FakeConnector, bot: BotConnector, op: str
) -> None:
    fake.install(team=TEAM)
    await bot.send(fake.url, CHANNEL, activity())  # activity 1771290200000, to update and reply to
    client = connector(timeout=0.3)
    try:
        # The connection closes before the answer. aiohttp tries an idempotent call (PUT, GET) once
        # more on a fresh connection when a reused one closes: so two drops, to be sure of the error.
        fake.drop(op, times=2)
        error = await refused(CALLS[op](client, fake.url))
        assert error.status == 0 and error.code == "network"
        fake.failures.clear()
        before = len(fake.sent(op))
        fake.drop(op, how="stall")  # the answer comes after the client gave up
        error = await refused(CALLS[op](client, fake.url))
        assert error.status == 0 and error.code == "timeout"
    finally:
        await client.close()
    (stalled,) = fake.sent(op)[before:]
    assert stalled.accepted and stalled.status == 0  # taken, though the bot cannot know it
    assert all(c.accepted for c in fake.sent(op)[:before])


async def test_a_lost_answer_makes_a_double_that_can_be_counted(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.channel_message("huddle now", user=DANA, name="Dana Reyes", channel=WEST))
    teams.fake.drop("send", conversation=WEST)
    report = await teams.deliver()
    assert report.retried == 1  # a network error: transient, as it must be (it may not have arrived)
    teams.clock.advance(timedelta(minutes=10))
    assert (await teams.deliver()).sent == 1
    prompts = [c for c in teams.fake.delivered(WEST) if "Safety huddle" in c.text]
    assert len(prompts) == 2  # Teams shows the prompt twice: the price of not losing it
