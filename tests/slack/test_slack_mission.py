"""The whole loop through Slack: /concern → modal → card → leader replies in the thread → reporter DM →
reporter answers in the DM thread → resolve via the modal → card updated, reporter told."""

from __future__ import annotations

from tests.slack.harness import ALEX, DANA, WEST_LEADERS, SlackHarness


async def test_concern_round_trip_through_slack(slack: SlackHarness) -> None:
    fake = slack.fake

    # /concern with text opens the form, prefilled, unit defaulting from the channel.
    answer = await slack.command("/concern", "The pump in room 12 alarmed twice &amp; nobody came")
    assert answer == ""  # an empty ack: the modal is the answer
    form = slack.last_view()
    assert form["callback_id"] == "concern"
    description = next(b for b in form["blocks"] if b.get("block_id") == "description")
    assert description["element"]["initial_value"] == "The pump in room 12 alarmed twice & nobody came"
    unit = next(b for b in form["blocks"] if b.get("block_id") == "unit")
    assert unit["element"]["initial_option"]["value"] == "4west"
    assert fake.called("views.open")[0]["trigger_id"] == "trigger.1"

    # Submitting it raises the concern; the receipt replaces the form (only the reporter sees it).
    answer = await slack.submit(
        form,
        {
            "description": "The pump in room 12 alarmed twice & nobody came",
            "severity": "high",
            "category": "safe",
            "type": "equipment",
            "unit": "4west",
            "anonymity": "named",
        },
        user=ALEX,
    )
    assert answer["response_action"] == "update"
    receipt = str(answer["view"])
    assert "C-1001" in receipt and "was received for 4 West Med-Surg (high)" in receipt

    # The outbox delivers the card to the leaders' channel and the "received" DM to the reporter.
    await slack.deliver()
    [card] = fake.top(WEST_LEADERS)
    assert "C-1001 · HIGH · 4 West Med-Surg" in card.text
    assert "The pump in room 12 alarmed twice &amp; nobody came" in card.text
    assert [e["action_id"] for b in card.blocks if b["type"] == "actions" for e in b["elements"]] == [
        "acknowledge",
        "reply",
        "in_progress",
        "resolve",
        "not_possible",
    ]
    dm = fake.dm_channel(ALEX)
    [received] = fake.top(dm)
    assert "is on its way to the leaders of 4 West Med-Surg" in received.text

    # Dana answers in the card's thread: acknowledged, and Alex hears it in the DM thread.
    status, _ = await slack.reply_in_thread(
        user=DANA, channel=WEST_LEADERS, thread=card.ts, text="On it — checking the pump now."
    )
    assert status == 200
    assert "Added to C-1001" in fake.ephemeral[-1]["text"]
    await slack.deliver()
    assert "Acknowledged" in card.text  # the card was updated in place (chat.update)
    assert fake.called("chat.update")
    dm_thread = " ".join(m.text for m in fake.thread(dm, received.ts))
    assert "was acknowledged by Dana Reyes" in dm_thread
    assert "Dana Reyes replied about C-1001: On it — checking the pump now." in dm_thread

    # Alex answers in the DM thread: it lands in the card's thread.
    await slack.reply_in_thread(
        user=ALEX, channel=dm, thread=received.ts, text="Thanks, it is bed 12's pump."
    )
    await slack.deliver()
    card_thread = " ".join(m.text for m in fake.thread(WEST_LEADERS, card.ts))
    assert "Alex Kim (reporter):* Thanks, it is bed 12's pump." in card_thread

    # Dana resolves it from the card: a modal asks what was done.
    await slack.press(card, "resolve", user=DANA, channel=WEST_LEADERS)
    resolve_form = slack.last_view()
    assert resolve_form["callback_id"] == "concern_resolve"
    answer = await slack.submit(
        resolve_form, {"text": "Pump replaced; biomed checked the others."}, user=DANA
    )
    assert answer["response_action"] == "update"
    assert "C-1001 is resolved" in str(answer["view"])
    await slack.deliver()

    assert "Resolved" in card.text and "Pump replaced; biomed checked the others." in card.text
    assert not [b for b in card.blocks if b["type"] == "actions"]  # no buttons on a resolved card
    told = " ".join(m.text for m in fake.thread(dm, received.ts))
    assert "was resolved by Dana Reyes. What we did: Pump replaced; biomed checked the others." in told
