"""The Slack Messenger against the fake Web API: posts, DMs, threads, updates, and failures as the outbox sees
them."""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp
import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.model import Address, OutboxStatus
from bot.views import Action, ConcernCard, Notice
from tests.slack.fake_slack import TOKEN
from tests.slack.harness import ALEX, WEST, WEST_LEADERS, SlackHarness

NOTE = Notice(text="Huddle at 07:00 <!channel>")


def _at(channel: str | None = None, *, thread: str | None = None, user: str | None = None) -> Address:
    return Address("slack", "T0HUDDLE1", channel=channel, thread=thread, user=user)


async def test_post_update_thread_and_direct_message(slack_sqlite: SlackHarness) -> None:
    messenger, fake = slack_sqlite.platform.messenger, slack_sqlite.fake
    root = await messenger.post(_at(WEST), NOTE)
    assert root.channel == WEST and root.message_ref
    reply = await messenger.post(_at(WEST, thread=root.message_ref), Notice(text="in the thread"))
    assert fake.called("chat.postMessage")[-1]["thread_ts"] == root.message_ref
    assert fake.thread(WEST, root.message_ref)[0].ts == reply.message_ref
    dm = await messenger.post(_at(user=ALEX), Notice(text="just for you"))
    assert dm.channel == "D0ALEX01"  # the real DM channel, for updates and thread replies later
    await messenger.update(WEST, root.message_ref, Notice(text="changed"))
    assert fake.top(WEST)[0].text.endswith("changed")
    assert all(call["unfurl_links"] is False for call in fake.called("chat.postMessage"))
    assert messenger.min_interval(_at(WEST)) == 1.0


async def test_a_429_is_transient_with_its_retry_after(slack_sqlite: SlackHarness) -> None:
    slack_sqlite.fake.fail_next("chat.postMessage", 429, retry_after=7)
    with pytest.raises(TransientDeliveryError) as raised:
        await slack_sqlite.platform.messenger.post(_at(WEST), NOTE)
    assert raised.value.retry_after == 7.0
    assert len(slack_sqlite.fake.called("chat.postMessage")) == 1  # no sleeping retry inside the call


async def test_a_5xx_is_retried_by_the_sdk_then_transient(slack_sqlite: SlackHarness) -> None:
    fake, messenger = slack_sqlite.fake, slack_sqlite.platform.messenger
    assert [type(h).__name__ for h in messenger.client.retry_handlers] == [
        "AsyncConnectionErrorRetryHandler",
        "AsyncServerErrorRetryHandler",
    ]  # and no rate-limit handler: 429s go to the outbox
    fast = FixedValueRetryIntervalCalculator(0.01)
    messenger.client.retry_handlers = [
        AsyncServerErrorRetryHandler(max_retry_count=2, interval_calculator=fast)
    ]
    fake.fail_next("chat.postMessage", 503)
    await messenger.post(_at(WEST), NOTE)  # one retry inside the call succeeds
    assert len(fake.called("chat.postMessage")) == 2 and len(fake.top(WEST)) == 1
    fake.fail_next("chat.postMessage", 500, times=5)
    with pytest.raises(TransientDeliveryError):
        await messenger.post(_at(WEST), NOTE)


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found", "is_archived", "account_inactive"])
async def test_permanent_errors_are_permanent_with_an_admin_line(
    slack_sqlite: SlackHarness, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    slack_sqlite.fake.channel_errors[WEST] = error
    with (
        caplog.at_level(logging.WARNING, logger="huddlebot.slack"),
        pytest.raises(PermanentDeliveryError) as raised,
    ):
        await slack_sqlite.platform.messenger.post(_at(WEST), NOTE)
    assert error in raised.value.reason
    assert f"cannot deliver to channel {WEST}: {error}" in caplog.text


async def test_a_dm_that_fails_names_no_person_in_the_log(
    slack_sqlite: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    slack_sqlite.fake.channel_errors[ALEX] = "user_not_found"
    with pytest.raises(PermanentDeliveryError):
        await slack_sqlite.platform.messenger.post(_at(user=ALEX), NOTE)
    assert "a direct message" in caplog.text and ALEX not in caplog.text


async def test_the_outbox_paces_a_rate_limited_channel_while_others_go_on(slack_sqlite: SlackHarness) -> None:
    slack = slack_sqlite
    await slack.command("/concern", "")
    await slack.submit(
        slack.last_view(),
        {
            "description": "Drug fridge at 11°C",
            "severity": "moderate",
            "category": "safe",
            "type": "medication",
            "unit": "4west",
            "anonymity": "named",
        },
        user=ALEX,
    )
    slack.fake.rate_limited[WEST_LEADERS] = (
        30  # the leaders' channel is rate limited, the reporter's DM is not
    )
    report = await slack.app.dispatcher.deliver_due()
    assert report.retried == 1 and report.sent >= 1  # the reporter's DM went out meanwhile
    assert slack.fake.top(slack.fake.dm_channel(ALEX)) and not slack.fake.top(WEST_LEADERS)
    async with slack.app.core.uow() as tx:
        [waiting] = await tx.outbox_items(status=OutboxStatus.PENDING)
    assert waiting.channel == WEST_LEADERS and "rate limited" in (waiting.last_error or "")
    assert waiting.lease_until == slack.clock.now() + timedelta(seconds=30)  # held for its Retry-After
    slack.clock.advance(timedelta(seconds=31))
    await slack.deliver()
    assert slack.fake.top(WEST_LEADERS)


async def test_a_channel_the_bot_was_removed_from_is_dead_lettered(slack_sqlite: SlackHarness) -> None:
    slack = slack_sqlite
    slack.fake.channel_errors[WEST_LEADERS] = "not_in_channel"
    await slack.command("/concern", "")
    await slack.submit(
        slack.last_view(),
        {
            "description": "Broken glass in the sluice",
            "severity": "low",
            "category": "safe",
            "type": "other",
            "unit": "4west",
            "anonymity": "named",
        },
        user=ALEX,
    )
    await slack.deliver()
    async with slack.app.core.uow() as tx:
        [dead] = await tx.outbox_items(status=OutboxStatus.DEAD)
    assert dead.channel == WEST_LEADERS and "not_in_channel" in (dead.last_error or "")


@pytest.mark.parametrize(
    ("token", "method", "error"),
    [
        (TOKEN, "chat.nonsense", "unknown_method"),
        (None, "chat.postMessage", "not_authed"),
        ("xoxb-wrong", "chat.postMessage", "invalid_auth"),
    ],
)
async def test_the_fake_refuses_unknown_methods_and_bad_tokens(
    slack_sqlite: SlackHarness, token: str | None, method: str, error: str
) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with session.post(
            slack_sqlite.fake.url + method, json={"channel": WEST, "text": "x"}, headers=headers
        ) as raw:
            body = await raw.json()
    assert body["ok"] is False and body["error"] == error


async def test_credentials_trouble_keeps_messages_due(
    slack_sqlite: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    messenger = slack_sqlite.platform.messenger
    messenger.client.token = "xoxb-revoked"
    with pytest.raises(TransientDeliveryError):
        await messenger.post(_at(WEST), NOTE)
    assert "check SLACK_BOT_TOKEN" in caplog.text


# --- what Slack refuses as too long or malformed: one compact retry, then a dead letter ------------------

LONG = Notice(text="Agency nurse alone with 8 patients & no break " * 10, title="Staffing")


@pytest.mark.parametrize(
    "error",
    [
        "msg_blocks_too_long",
        "invalid_blocks",
        "msg_too_long",
        "invalid_arguments",
        "too_many_attachments",
        "invalid_blocks_format",
    ],
)
async def test_a_refused_layout_is_sent_again_at_once_in_compact_form(
    slack_sqlite: SlackHarness, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake, messenger = slack_sqlite.fake, slack_sqlite.platform.messenger
    fake.refuse_next("chat.postMessage", error)
    delivered = await messenger.post(_at(WEST), LONG)  # no error for the outbox: it went out
    calls = fake.called("chat.postMessage")
    assert len(calls) == 2 and calls[0]["blocks"] != calls[1]["blocks"]
    [posted] = fake.top(WEST)
    assert posted.ts == delivered.message_ref and "too long for Slack" in posted.text
    assert "Agency nurse alone" in posted.text  # the beginning of it is still there
    [line] = [r for r in caplog.records if "compact form" in r.getMessage()]
    assert line.levelno == logging.WARNING and error in line.getMessage()
    assert "Agency nurse" not in caplog.text  # never the message's text


async def test_a_card_update_refused_as_too_long_is_updated_in_compact_form_with_its_buttons(
    slack_sqlite: SlackHarness,
) -> None:
    fake, messenger = slack_sqlite.fake, slack_sqlite.platform.messenger
    card = ConcernCard(
        concern_id=1,
        ref="C-1001",
        unit_name="4 West",
        severity="high",
        category="safe",
        concern_type="falls",
        anonymity="named",
        reporter_label="Alex Kim",
        text="Bed alarm off twice tonight.",
        status="Open",
        raised_label="Wed 25 Nov 06:50 CST",
        actions=[Action(id="acknowledge", label="Acknowledge", value="v1:ack:1", style="primary")],
    )
    root = await messenger.post(_at(WEST_LEADERS), card)
    fake.refuse_next("chat.update", "msg_blocks_too_long")
    await messenger.update(WEST_LEADERS, root.message_ref, card)
    [message] = fake.top(WEST_LEADERS)
    assert len(message.updates) == 1 and "too long for Slack" in message.text
    assert [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]] == [
        "acknowledge"
    ]


async def test_refused_twice_is_permanent_and_says_why(slack_sqlite: SlackHarness) -> None:
    fake = slack_sqlite.fake
    fake.refuse_next("chat.postMessage", "msg_blocks_too_long")
    fake.refuse_next("chat.postMessage", "invalid_blocks")
    with pytest.raises(PermanentDeliveryError) as raised:
        await slack_sqlite.platform.messenger.post(_at(WEST), LONG)
    assert "msg_blocks_too_long, and invalid_blocks for its compact form too" in raised.value.reason
    assert len(fake.called("chat.postMessage")) == 2 and not fake.top(WEST)


async def test_a_compact_retry_that_meets_a_rate_limit_is_transient(slack_sqlite: SlackHarness) -> None:
    fake = slack_sqlite.fake
    fake.refuse_next("chat.postMessage", "msg_blocks_too_long")
    fake.fail_next("chat.postMessage", 429, retry_after=9)
    with pytest.raises(TransientDeliveryError) as raised:
        await slack_sqlite.platform.messenger.post(_at(WEST), LONG)
    assert raised.value.retry_after == 9.0


async def test_an_unknown_error_code_stays_transient_and_is_not_retried_compact(
    slack_sqlite: SlackHarness,
) -> None:
    slack_sqlite.fake.refuse_next("chat.postMessage", "something_new_from_slack")
    with pytest.raises(TransientDeliveryError) as raised:
        await slack_sqlite.platform.messenger.post(_at(WEST), LONG)
    assert "something_new_from_slack" in raised.value.reason
    assert len(slack_sqlite.fake.called("chat.postMessage")) == 1
