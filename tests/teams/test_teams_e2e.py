"""The mission on Teams, end to end through POST /api/messages and a fake Bot Connector:
install → huddle prompt → concern via the dialog → a leader's plain reply in the card's thread
acknowledges → the reporter is told in their 1:1 chat → resolve with Action.Execute → card refreshed."""

from __future__ import annotations

from bot import actions
from tests.teams.conftest import DANA, GENERAL, STAFF, UNIT_CHANNELS, TeamsHarness
from tests.teams.schemas import card_errors, cards_in

WEST = UNIT_CHANNELS["4west"]
LEADERS = UNIT_CHANNELS["4west-leaders"]


def concern_form(text: str, **fields: str) -> dict[str, str]:
    data = {
        "huddlebot_form": "concern",
        "text": text,
        "unit": "4west",
        "severity": "high",
        "concern_type": "medication",
        "category": "safe",
        "anonymity": "named",
    }
    data.update(fields)
    return data


async def test_install_prompt_concern_reply_resolve(teams: TeamsHarness) -> None:
    # Installed in a team: every channel of the team is remembered, and the bot says hello once.
    await teams.install_team()
    await teams.install_team()  # Teams sends it again: still one hello
    hello = teams.fake.posts_to(GENERAL)
    assert len(hello) == 1 and "Hello, I'm huddlebot" in hello[0].text
    assert teams.fake.sent("team_channels")

    # A leader starts the huddle by @mentioning the bot in the unit's channel; the prompt is posted there.
    status, _ = await teams.post(
        teams.channel_message("huddle now", user=DANA, name="Dana Reyes", channel=WEST)
    )
    assert status == 200
    answered = teams.fake.posts_to(WEST)
    assert "Huddle started for 4 West Med-Surg" in answered[-1].text
    assert answered[-1].thread is not None  # the answer went in the thread of the command
    await teams.deliver()
    prompt = [c for c in teams.fake.posts_to(WEST) if "Safety huddle" in c.text]
    assert len(prompt) == 1 and prompt[0].thread is None  # a new post at the top of the channel
    verbs = [a.get("verb") or a.get("type") for a in prompt[0].card["actions"]]
    assert verbs == ["answer_clear", "Action.Submit", "Action.ShowCard"]

    # A member of staff raises a concern through the dialog (composeExtension/submitAction).
    status, body = await teams.post(
        teams.invoke(
            "composeExtension/submitAction",
            {"commandId": "raiseConcern", "data": concern_form("The pump in room 12 alarmed twice")},
            user=STAFF,
            channel=WEST,
        )
    )
    assert status == 200
    receipt = body["task"]["value"]["card"]["content"]
    assert "Your concern C-1001 was received for 4 West Med-Surg (high)" in str(receipt)
    assert not [c for c in teams.fake.posts_to(WEST) if "C-1001" in c.text]  # never in the unit channel
    await teams.deliver()
    card_post = [c for c in teams.fake.posts_to(LEADERS) if "C-1001" in c.text]
    assert len(card_post) == 1 and card_post[0].thread is None
    # The outbox recorded the activity id Teams gave the card, in the leaders' channel.
    async with teams.core.uow() as tx:
        card_row = (await tx.posts_for(role="card", concern_id=1))[0]
    assert card_row.message_channel == LEADERS
    card_activity_id = card_row.message_ref
    reporter_chat = "a:1personal-" + STAFF
    received = teams.fake.posts_to(reporter_chat)
    assert received and "Concern received · C-1001" in received[0].text

    # The leader replies in the card's thread without @mentioning the bot (the RSC permission).
    teams.fake.clear()
    status, _ = await teams.post(
        teams.channel_message(
            "We are on it, biomed is checking the pump",
            user=DANA,
            name="Dana Reyes",
            channel=LEADERS,
            mention=False,
            thread_root=card_activity_id,
        )
    )
    assert status == 200
    assert not teams.fake.posts_to(LEADERS)  # nothing said in front of everybody before delivery
    await teams.deliver()
    told = "\n".join(c.text for c in teams.fake.posts_to(reporter_chat))
    assert "was acknowledged by Dana Reyes" in told
    assert "Dana Reyes replied about C-1001: We are on it, biomed is checking the pump" in told
    updates = teams.fake.sent("update", LEADERS)
    assert updates and updates[-1].activity_id == card_activity_id
    assert "Acknowledged (Dana Reyes" in updates[-1].text

    # The leader resolves it with Action.Execute; the invoke answers with the refreshed card.
    value = actions.concern_action("resolve", 1)
    teams.fake.clear()
    status, body = await teams.post(
        teams.invoke(
            "adaptiveCard/action",
            {
                "action": {
                    "type": "Action.Execute",
                    "verb": "resolve",
                    "data": {
                        "huddlebot": value,
                        "what_we_did": "Pump swapped; alarm volume checked on all pumps",
                    },
                },
                "trigger": "manual",
            },
            user=DANA,
            user_name="Dana Reyes",
            channel=LEADERS,
            reply_to=card_activity_id,
        )
    )
    assert status == 200
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    refreshed = str(body["value"])
    assert "Resolved" in refreshed and "Pump swapped" in refreshed
    assert "actions" not in body["value"]  # a resolved concern has no buttons left
    await teams.deliver()
    assert "resolved by Dana Reyes" in "\n".join(c.text for c in teams.fake.posts_to(reporter_chat))
    assert "Resolved" in teams.fake.sent("update", LEADERS)[-1].text

    # Every card huddlebot sent on the way, and the ones it answered with, is a valid Adaptive Card 1.5.
    sent = [card for call in teams.fake.history for card in cards_in(call.body)]
    assert len(sent) >= 10
    for card in [*sent, *cards_in(body), receipt]:
        assert card_errors(card) == [], card
