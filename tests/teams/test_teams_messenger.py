"""The Teams Messenger against the fake Bot Connector: threads, DMs, failures, pacing, size."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from adapters.teams import wire
from adapters.teams.connector import BotConnector
from adapters.teams.messenger import HOURLY_CAP, TeamsMessenger
from adapters.teams.references import References
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.model import Address, OutboxItem, OutboxStatus
from bot.views import Notice, ReporterUpdate, ThreadMessage
from storage.tables import teams_conversations
from tests.teams.conftest import DANA, STAFF, TENANT, UNIT_CHANNELS, TeamsHarness

WEST = UNIT_CHANNELS["4west"]
LEADERS = UNIT_CHANNELS["4west-leaders"]


def notice(text: str = "hello") -> Notice:
    return Notice(text=text)


async def test_a_thread_reply_goes_to_the_messageid_conversation(teams: TeamsHarness) -> None:
    await teams.install_team()
    messenger = teams.platform.messenger
    root = await messenger.post(Address("teams", "", channel=LEADERS), notice("root"))
    assert root.channel == LEADERS and root.message_ref.isdigit()
    reply = await messenger.post(
        Address("teams", "", channel=LEADERS, thread=root.message_ref), notice("reply")
    )
    call = teams.fake.calls[-1]
    assert call.conversation == f"{LEADERS};messageid={root.message_ref}"
    # What the outbox records is what an inbound reply in that thread carries: (base channel, root id).
    assert reply.channel == LEADERS
    await messenger.update(root.channel, root.message_ref, notice("edited"))
    assert teams.fake.calls[-1].op == "update" and teams.fake.calls[-1].activity_id == root.message_ref


async def stored_users(teams: TeamsHarness) -> list[str]:
    async with teams.core.uow.engine.connect() as conn:  # type: ignore[attr-defined]
        return list((await conn.execute(sa.select(teams_conversations.c.user_id))).scalars().all())


async def test_a_dm_opens_a_chat_once_and_remembers_it(teams: TeamsHarness) -> None:
    await teams.install_team()
    delivered = await teams.platform.messenger.post(Address("teams", TENANT, user=STAFF), notice())
    created = teams.fake.sent("create_conversation")[-1].body
    assert created["members"] == [{"id": STAFF}] and created["tenantId"] == TENANT
    assert delivered.channel == f"a:1personal-{STAFF}"
    assert STAFF in await stored_users(teams)  # a later update of this message survives a restart
    await teams.platform.messenger.post(Address("teams", TENANT, user=STAFF), notice())
    assert len(teams.fake.sent("create_conversation")) == 1


async def test_a_sealed_nudge_leaves_its_chat_nowhere(teams: TeamsHarness) -> None:
    await teams.install_team()
    nudge = ReporterUpdate(ref="C-1001", event="nudge", text="There is news")
    for _ in range(2):
        await teams.platform.messenger.post(Address("teams", TENANT, user=STAFF), nudge)
    assert len(teams.fake.sent("create_conversation")) == 2  # not cached either
    assert STAFF not in await stored_users(teams)


async def test_a_channel_never_installed_is_a_clear_configuration_error(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(
        PermanentDeliveryError, match=r"not installed in the team of channel 19:4west@thread\.tacv2"
    ):
        await teams.platform.messenger.post(Address("teams", "", channel=WEST), notice())
    assert "Teams configuration error" in caplog.text and "19:4west@thread.tacv2" in caplog.text
    assert teams.fake.calls == []


@pytest.mark.parametrize("status", [429, 412, 502, 504, 503])
async def test_throttling_and_gateway_errors_are_transient(teams: TeamsHarness, status: int) -> None:
    await teams.install_team()
    teams.fake.fail("send", status, "Throttled", retry_after="7")
    with pytest.raises(TransientDeliveryError) as caught:
        await teams.platform.messenger.post(Address("teams", "", channel=WEST), notice())
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    "status,code",
    [
        (403, "BotNotInConversationRoster"),
        (403, "ConversationBlockedByUser"),
        (403, "BotDisabledByAdmin"),
        (404, "NotFound"),
    ],
)
async def test_gone_for_good_is_permanent_and_logged_for_the_admin_without_personal_data(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture, status: int, code: str
) -> None:
    await teams.install_team()
    teams.fake.fail("send", status, code)
    with pytest.raises(PermanentDeliveryError, match=code):
        await teams.platform.messenger.post(Address("teams", "", channel=WEST), notice())
    assert "19:4west@thread.tacv2" in caplog.text
    teams.fake.fail("send", status, code)
    caplog.clear()
    with pytest.raises(PermanentDeliveryError):
        await teams.platform.messenger.post(Address("teams", TENANT, user=STAFF), notice())
    assert (
        "a personal or group chat" in caplog.text
        and STAFF not in caplog.text
        and "a:1personal" not in caplog.text
    )


async def test_through_the_outbox_429_waits_and_403_dead_letters(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.channel_message("huddle now", user=DANA, name="Dana Reyes", channel=WEST))
    teams.fake.fail("send", 429, "Throttled", retry_after="30", conversation=WEST)
    report = await teams.deliver()
    assert report.retried == 1
    async with teams.core.uow() as tx:
        (row,) = await tx.outbox_items(status=OutboxStatus.PENDING)
    assert row.lease_until == teams.clock.now() + timedelta(seconds=30)  # Retry-After honoured
    teams.clock.advance(timedelta(seconds=31))
    assert (await teams.deliver()).sent == 1
    # The bot is removed from the team behind our back: the next prompt is dead-lettered, not retried.
    teams.fake.fail("update", 403, "BotNotInConversationRoster")
    await teams.post(
        teams.invoke(
            "adaptiveCard/action",
            {
                "action": {
                    "type": "Action.Execute",
                    "verb": "answer_clear",
                    "data": {"huddlebot": '{"v":1,"a":"answer_clear","run":1}'},
                }
            },
            user=STAFF,
            channel=WEST,
        )
    )
    report = await teams.deliver()
    assert report.dead == 1
    async with teams.core.uow() as tx:
        (dead,) = await tx.outbox_items(status=OutboxStatus.DEAD)
    assert "BotNotInConversationRoster" in (dead.last_error or "")


async def test_bot_removed_from_the_team_forgets_its_channels(teams: TeamsHarness) -> None:
    await teams.install_team()
    removed = teams.prepare(teams_removed_event())
    assert (await teams.post(removed))[0] == 200
    with pytest.raises(PermanentDeliveryError, match="not installed"):
        await teams.platform.messenger.post(Address("teams", "", channel=WEST), notice())


def teams_removed_event() -> dict:
    from tests.teams.conftest import fixture

    event = fixture("conversation_update_bot_added_to_team")
    event["membersRemoved"] = event.pop("membersAdded")
    event["channelData"]["eventType"] = "teamMemberRemoved"
    return event


def test_pacing_interval_and_hourly_cap() -> None:
    messenger = TeamsMessenger(BotConnector(), References(), interval=0.6)
    where = Address("teams", "", channel=WEST)
    assert messenger.min_interval(where) == 0.6  # ≤ 50 in 30 s (Teams: 60), 1.7/s (Teams: 7)
    now = time.monotonic()
    messenger._sent[WEST].extend(now - 3000 + i for i in range(HOURLY_CAP))
    wait = messenger.min_interval(where)
    assert 590 < wait <= 600  # the oldest of the hour's messages leaves the window in ~10 minutes


async def test_tenant_bucket_paces_a_burst() -> None:
    from adapters.teams.messenger import _TenantBucket

    bucket = _TenantBucket(rate=50.0)
    start = time.monotonic()
    for _ in range(60):
        await bucket.take("t")
    assert time.monotonic() - start >= 0.18  # 50 at once, then 10 more at 50/s


async def test_a_huge_concern_fits_and_show_sends_the_whole_text(teams: TeamsHarness) -> None:
    await teams.install_team()
    text = ("输液泵报警了两次，没有人来。Die Pumpe alarmierte. " * 700)[:19_000]  # ~37 KB of UTF-8
    await teams.post(teams.personal_message(f"concern --unit 4west {text}", user=STAFF))
    await teams.deliver()
    (card,) = [c for c in teams.fake.posts_to(LEADERS) if "C-1001" in c.text]
    assert card.size == wire.size(card.body) <= wire.MESSAGE_LIMIT_BYTES
    assert "Shortened to fit one Teams message" in card.text
    await teams.post(teams.personal_message("show C-1001", user=DANA))
    parts = [c for c in teams.fake.posts_to(f"a:1personal-{DANA}") if "full text, part" in c.text]
    assert len(parts) >= 2
    assert "".join(p.card["body"][1]["text"] for p in parts).replace("\n\n", "\n") == text.strip()


async def test_thread_message_to_an_unknown_chat_uses_the_tenant_service_url(teams: TeamsHarness) -> None:
    await teams.install_team()
    teams.fake.install("a:1some-chat-opened-before-a-restart")  # Teams knows it; our store lost it
    delivered = await teams.platform.messenger.post(
        Address("teams", TENANT, channel="a:1some-chat-opened-before-a-restart"),
        ThreadMessage(ref="C-1", author_label="x", text="y"),
    )
    assert delivered.channel == "a:1some-chat-opened-before-a-restart"


async def test_outbox_row_shape_is_unchanged(teams: TeamsHarness) -> None:
    # Guard: the dispatcher stores exactly (activity id, base conversation) from Delivered.
    await teams.install_team()
    await teams.post(teams.channel_message("huddle now", user=DANA, name="Dana Reyes", channel=WEST))
    await teams.deliver()
    async with teams.core.uow() as tx:
        (prompt,) = await tx.posts_for(role="prompt", run_id=1)
    assert isinstance(prompt, OutboxItem) and prompt.message_channel == WEST and prompt.message_ref.isdigit()
