"""Every Slack message fits before it is sent (issue 9, point 5): what people see when their text is
longer than Slack takes, against the strict fake, which counts as Slack counts (UTF-16 units, escaped).

A message Slack refuses anyway gets one compact retry in the same call, then a dead letter at once.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from adapters.slack.blocks import MESSAGE_TEXT_LIMIT, escape, units
from bot.model import Address, OutboxStatus
from bot.views import Counts, HuddleSummary
from tests.slack.harness import (
    ALEX,
    DANA,
    STRANGER,
    WEST,
    WEST_LEADERS,
    SlackHarness,
    assert_modal_within_limits,
    assert_within_limits,
)

FORM = {"severity": "high", "category": "safe", "type": "equipment", "unit": "4west", "anonymity": "named"}
# Markup characters (each sent as a 4- or 5-character entity), an ambulance emoji (2 UTF-16 units),
# Hebrew and Arabic (right to left), and a channel ping that must stay inert.
PIECE = "&" * 40 + "<>🚑 שלום " + "&" * 40 + " مرحبا <!here> "
LONG_CONCERN = (PIECE * 100)[:3000]


def _texts(blocks: list[dict]) -> str:
    return "".join(b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b)


async def _raise(slack: SlackHarness, text: str, **values: str) -> dict:
    await slack.command("/concern", "", user=ALEX)
    return await slack.submit(slack.last_view(), {**FORM, "description": text, **values}, user=ALEX)


async def test_a_3000_character_concern_of_markup_emoji_and_rtl_is_taken_on_the_first_try(
    slack_sqlite: SlackHarness,
) -> None:
    slack = slack_sqlite
    assert len(LONG_CONCERN) == 3000
    assert units(escape(LONG_CONCERN)) > MESSAGE_TEXT_LIMIT  # as sent, it is more than a message holds
    await _raise(slack, LONG_CONCERN)
    await slack.deliver()

    to_leaders = [c for c in slack.fake.called("chat.postMessage") if c["channel"] == WEST_LEADERS]
    assert len(to_leaders) == 1  # accepted at once: no refusal, no compact retry
    [card] = slack.fake.top(WEST_LEADERS)
    assert_within_limits(card.blocks)
    assert units(card.args["text"]) <= 3000  # the notification text is short too
    shown = _texts(card.blocks)
    assert shown.startswith(escape(LONG_CONCERN[:40]))  # its beginning, escaped: nothing pings
    assert "<!here>" not in str(card.args) and "&lt;!here&gt;" in shown
    assert "shortened" in card.text and "`/concern show C-1001`" in card.text  # where to read it all
    assert [e["action_id"] for b in card.blocks if b["type"] == "actions" for e in b["elements"]][:1] == [
        "acknowledge"
    ]

    # The leader reads the whole of it, in a modal (which holds 100 blocks of 3000).
    await slack.command("/concern", "show C-1001", user=DANA, channel=WEST_LEADERS)
    whole = slack.last_view()
    assert_modal_within_limits(whole)
    assert whole["title"]["text"] == "C-1001"
    assert re.sub(r"\s", "", escape(LONG_CONCERN)) in re.sub(r"\s", "", _texts(whole["blocks"]))


async def test_show_is_only_for_leaders_and_the_named_reporter(slack_sqlite: SlackHarness) -> None:
    slack = slack_sqlite
    await _raise(slack, "Oxygen cylinder empty on the crash cart.")
    await slack.deliver()
    views = len(slack.fake.views)
    refused = await slack.command("/concern", "show C-1001", user=STRANGER)
    assert refused["response_type"] == "ephemeral" and "Only the leaders of 4 West" in refused["text"]
    assert len(slack.fake.views) == views
    await slack.command("/concern", "show c-1001", user=ALEX)  # who raised it, by name
    assert "Oxygen cylinder empty" in str(slack.last_view()["blocks"])
    # "show" followed by anything but a reference is the start of a concern, as before.
    await slack.command("/concern", "show me the new pumps, they alarm all night", user=ALEX)
    form = slack.last_view()
    description = next(b for b in form["blocks"] if b.get("block_id") == "description")
    assert description["element"]["initial_value"].startswith("show me the new pumps")


async def test_a_300_comment_huddle_summary_fits_and_says_how_many_were_left_out(
    slack_sqlite: SlackHarness,
) -> None:
    slack = slack_sqlite
    summary = HuddleSummary(
        run_id=1,
        unit_name="4 West",
        when_label="Wed 25 Nov 07:00 CST",
        counts=Counts(responders=300, comments=300),
        comments=[f"Nurse {i} (comment): pump & bed alarms <again> 🚑 {'x' * 200}" for i in range(300)],
        concerns_raised=["C-1001", "C-1002"],
    )
    delivered = await slack.platform.messenger.post(Address("slack", "T0HUDDLE1", WEST), summary)
    assert len(slack.fake.called("chat.postMessage")) == 1
    [posted] = slack.fake.top(WEST)
    assert posted.ts == delivered.message_ref
    assert_within_limits(posted.blocks)
    shown = len(re.findall(r"• Nurse \d+ \(comment\)", posted.text))
    assert 10 < shown < 300
    assert f"…and {300 - shown} more comment(s) not shown here." in posted.text
    assert "*Concerns raised:* C-1001, C-1002" in posted.text  # the short lists stay whole


async def test_a_message_slack_refuses_as_too_long_is_dead_lettered_after_one_compact_retry(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    slack.fake.channel_errors[WEST_LEADERS] = "msg_blocks_too_long"  # whatever is sent there
    await _raise(slack, "The defibrillator on 4 West failed its daily check & nobody was told.")
    caplog.set_level(logging.INFO)
    await slack.app.dispatcher.deliver_due()  # one pass

    sent = [c for c in slack.fake.called("chat.postMessage") if c["channel"] == WEST_LEADERS]
    assert len(sent) == 2  # the full card, then its compact form: nothing more
    assert "too long for Slack" in str(sent[1]["blocks"]) and len(sent[1]["blocks"]) <= 3
    assert [e["action_id"] for b in sent[1]["blocks"] if b["type"] == "actions" for e in b["elements"]][
        :1
    ] == ["acknowledge"]
    async with slack.app.core.uow() as tx:
        dead = await tx.outbox_items(status=OutboxStatus.DEAD)
        pending = await tx.outbox_items(status=OutboxStatus.PENDING)
    [card] = [row for row in dead if row.channel == WEST_LEADERS]
    assert "msg_blocks_too_long" in (card.last_error or "") and card.attempts == 1
    assert not [row for row in pending if row.channel == WEST_LEADERS]  # not rescheduled
    admin = [r for r in caplog.records if "dead-lettered" in r.getMessage()]
    assert len(admin) == 1 and "msg_blocks_too_long" in admin[0].getMessage()
    compacted = [r for r in caplog.records if "sending its compact form" in r.getMessage()]
    assert len(compacted) == 1 and compacted[0].levelno == logging.WARNING
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "defibrillator" not in logged and ALEX not in logged  # no text, no person


async def test_the_follow_up_modal_of_a_long_conversation_keeps_its_box_and_the_newest_replies(
    slack_sqlite: SlackHarness,
) -> None:
    slack = slack_sqlite
    answer = await _raise(
        slack, "Agency staff were not shown the rapid response button.", anonymity="anonymous"
    )
    code = answer["view"]["blocks"][-1]["elements"][0]["text"].split("`")[1].split()[-1]
    slack.clock.advance(timedelta(minutes=11))  # past the random hold-back of anonymous concerns
    await slack.deliver()
    [card] = slack.fake.top(WEST_LEADERS)
    for n in range(1, 41):  # 40 long replies: each would take 6 sections of a modal
        text = f"Reply {n}: " + "<&>" * 1290
        await slack.reply_in_thread(user=DANA, channel=WEST_LEADERS, thread=card.ts, text=escape(text))
    await slack.deliver()

    await slack.command("/concern", f"follow-up {code}", user=ALEX)
    modal = slack.last_view()  # the fake took it: views.open answered ok
    assert modal["callback_id"] == "concern_follow_up"
    assert_modal_within_limits(modal)
    blocks = modal["blocks"]
    assert blocks[-1]["type"] == "input" and blocks[-1]["block_id"] == "text"  # the box stays, last
    assert modal["submit"]["text"] == "Send"
    text = str(blocks)
    assert "Reply 40:" in text and "Reply 1:" not in text  # the newest, not the oldest
    [note] = re.findall(r"(\d+) earlier messages not shown; the newest (\d+) below", text)
    assert int(note[0]) >= 20 and "Reply 39:" in text
    assert len(blocks) <= 100
