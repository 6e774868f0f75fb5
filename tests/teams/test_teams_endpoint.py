"""POST /api/messages with every recorded Teams payload, and what each kind of activity does."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from adapters.teams.activity import read
from bot import actions
from bot.config import OrgConfig
from bot.model import Address
from storage.tables import metadata
from tests.teams.conftest import (
    DANA,
    GENERAL,
    STAFF,
    TENANT,
    UNIT_CHANNELS,
    TeamsHarness,
    close_harness,
    dev_options,
    fixture,
    make_teams_harness,
)
from tests.teams.schemas import card_errors, cards_in

WEST = UNIT_CHANNELS["4west"]
LEADERS = UNIT_CHANNELS["4west-leaders"]


async def rows(h: TeamsHarness, table: str) -> list[dict]:
    async with h.core.uow.engine.connect() as conn:  # type: ignore[attr-defined]
        return [dict(r._mapping) for r in await conn.execute(sa.select(metadata.tables[table]))]


@pytest.mark.parametrize(
    "name",
    [
        "message_channel",
        "message_channel_thread_reply",
        "message_personal",
        "message_action_submit_value",
        "conversation_update_bot_added_to_team",
        "conversation_update_bot_added_personal",
        "invoke_adaptive_card_action_execute",
    ],
)
async def test_every_recorded_payload_is_answered(teams: TeamsHarness, name: str) -> None:
    status, body = await teams.post(teams.prepare(fixture(name)))
    assert status == 200
    if name.startswith("invoke"):
        # Not one of huddlebot's buttons: a polite message, never an error.
        assert body == {
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": "That button is out of date. Please use the latest message.",
        }
    for call in teams.fake.calls:
        for card in cards_in(call.body):
            assert card_errors(card) == []


def test_thread_ids_are_read_from_the_conversation_id() -> None:
    reply = read(fixture("message_channel_thread_reply"))
    assert reply.where == Address(
        "teams",
        "50612dbb-0237-4969-b378-8d42590f9c00",
        channel="19:6848757105754c8981c67612732d9aa7@thread.tacv2",
        thread="1759881511856",
    )
    root = read(fixture("message_channel"))  # a new post: its conversation id names its own thread
    assert root.where.thread is None and root.where.channel.endswith("@thread.tacv2")
    personal = read(fixture("message_personal"))
    assert personal.kind == "personal" and personal.where.thread is None


async def test_personal_install_stores_the_chat_and_says_hello(teams: TeamsHarness) -> None:
    activity = teams.prepare(fixture("conversation_update_bot_added_personal"))
    activity["conversation"]["id"] = "a:1personal-chat"
    activity["from"]["id"] = DANA
    assert (await teams.post(activity))[0] == 200
    (stored,) = await rows(teams, "teams_conversations")
    assert stored["kind"] == "personal" and stored["user_id"] == DANA and stored["tenant_id"] == TENANT
    assert "Hello, I'm huddlebot" in teams.fake.posts_to("a:1personal-chat")[0].text


async def test_help_in_a_personal_chat(teams: TeamsHarness) -> None:
    await teams.post(teams.personal_message("help", user=DANA))
    (answer,) = teams.fake.posts_to(f"a:1personal-{DANA}")
    assert "huddle now" in answer.text and answer.body["replyToId"]


async def test_a_resent_message_is_handled_once(teams: TeamsHarness) -> None:
    activity = teams.personal_message("concern --unit 4west The bed alarm on 12 is broken", user=STAFF)
    activity["channelData"]["tenant"]["id"] = TENANT
    await teams.install_team()
    teams.fake.clear()
    assert (await teams.post(activity))[0] == 200
    assert (await teams.post(activity))[0] == 200  # Teams resends after 15 s without an answer
    assert len(await rows(teams, "concerns")) == 1
    receipts = [c for c in teams.fake.posts_to(f"a:1personal-{STAFF}") if "C-1001" in c.text]
    assert len(receipts) == 1


async def test_a_channel_concern_strips_the_mention(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(
        teams.channel_message(
            "concern --severity low The sink in the med room leaks", user=STAFF, channel=WEST
        )
    )
    (concern,) = await rows(teams, "concerns")
    assert concern["text"] == "The sink in the med room leaks" and concern["severity"] == "low"
    assert concern["unit_id"] == "4west"  # the unit of the channel it was raised in


@pytest.mark.parametrize(
    "text",
    [
        "concern --anonymous Nobody double-checks the insulin",
        "concern —anonymous Nobody checks",
        "concern --confidential x",
    ],
)
async def test_anonymous_or_confidential_by_channel_message_is_refused(
    teams: TeamsHarness, text: str
) -> None:
    await teams.install_team()
    await teams.post(teams.channel_message(text, user=STAFF, channel=WEST))
    assert await rows(teams, "concerns") == []
    answer = teams.fake.posts_to(WEST)[-1].text
    assert "Nothing was saved" in answer and "Raise a safety concern" in answer


async def test_channel_chatter_is_ignored(teams: TeamsHarness) -> None:
    await teams.install_team()
    teams.fake.clear()
    await teams.post(teams.channel_message("lunch at noon?", user=STAFF, channel=WEST, mention=False))
    assert teams.fake.calls == []
    assert await rows(teams, "processed_events") == []


async def test_a_non_leader_cannot_acknowledge_and_nothing_changes(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.personal_message("concern --unit 4west The bed alarm on 12 is broken", user=STAFF))
    value = actions.concern_action("acknowledge", 1)
    status, body = await teams.post(
        teams.invoke(
            "adaptiveCard/action",
            {"action": {"type": "Action.Execute", "verb": "acknowledge", "data": {"huddlebot": value}}},
            user=STAFF,
            channel=LEADERS,
        )
    )
    assert status == 200 and body["type"] == "application/vnd.microsoft.activity.message"
    assert "Only the leaders of 4 West Med-Surg can acknowledge C-1001" in body["value"]
    (concern,) = await rows(teams, "concerns")
    assert concern["status"] == "open" and concern["acknowledged_at"] is None


async def test_acknowledge_button_answers_with_the_refreshed_card(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.personal_message("concern --unit 4west The bed alarm on 12 is broken", user=STAFF))
    value = actions.concern_action("acknowledge", 1)
    invoke = teams.invoke(
        "adaptiveCard/action",
        {"action": {"type": "Action.Execute", "verb": "acknowledge", "data": {"huddlebot": value}}},
        user=DANA,
        channel=LEADERS,
    )
    _, body = await teams.post(invoke)
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert card_errors(body["value"]) == []
    assert "Acknowledged (Dana Reyes" in str(body["value"])
    assert [a["title"] for a in body["value"]["actions"]] == [
        "Reply",
        "In progress",
        "Resolve",
        "Not possible now",
    ]
    assert {a["type"] for a in body["value"]["actions"]} == {"Action.ShowCard"}  # each a form now
    again = await teams.post(invoke)  # the same invoke, retried by Teams: same card, one acknowledgement
    assert again[1]["type"] == "application/vnd.microsoft.card.adaptive"
    assert len([a for a in await rows(teams, "audit_events") if a["action"] == "concern.acknowledged"]) == 1


async def test_huddle_buttons_and_thread_comments(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.channel_message("huddle now", user=DANA, name="Dana Reyes", channel=WEST))
    await teams.deliver()
    async with teams.core.uow() as tx:
        (prompt,) = await tx.posts_for(role="prompt", run_id=1)
    _, body = await teams.post(
        teams.invoke(
            "adaptiveCard/action",
            {
                "action": {
                    "type": "Action.Execute",
                    "verb": "answer_clear",
                    "data": {"huddlebot": actions.huddle_action("answer_clear", 1)},
                }
            },
            user=STAFF,
            channel=WEST,
            reply_to=prompt.message_ref,
        )
    )
    assert "recorded all clear" in body["value"]
    await teams.post(
        teams.channel_message(
            "Two admissions expected after lunch",
            user=STAFF,
            channel=WEST,
            mention=False,
            thread_root=prompt.message_ref,
        )
    )
    responses = await rows(teams, "huddle_responses")
    assert [r["answer"] for r in responses] == ["clear", "comment"]
    await teams.deliver()
    assert "2 answered" not in teams.fake.sent("update", WEST)[-1].text  # one person, two answers
    assert "1 answered: 1 all clear" in teams.fake.sent("update", WEST)[-1].text
    # "Raise a concern" on the prompt opens the concern dialog for that huddle.
    _, body = await teams.post(
        teams.invoke(
            "task/fetch",
            {
                "data": {
                    "msteams": {"type": "task/fetch"},
                    "huddlebot": actions.huddle_action("answer_concern", 1),
                }
            },
            user=STAFF,
            channel=WEST,
        )
    )
    form = body["task"]["value"]["card"]["content"]
    assert card_errors(form) == [] and form["actions"][0]["data"]["run"] == 1
    assert next(e for e in form["body"] if e.get("id") == "unit")["value"] == "4west"


async def test_good_catch_names_the_mentioned_colleague(teams: TeamsHarness) -> None:
    await teams.install_team()
    activity = teams.channel_message(
        "goodcatch <at>Dana Reyes</at> caught a wrong insulin dose", user=STAFF, channel=WEST
    )
    activity["entities"].append(
        {"mentioned": {"id": DANA, "name": "Dana Reyes"}, "text": "<at>Dana Reyes</at>", "type": "mention"}
    )
    await teams.post(activity)
    await teams.deliver()
    post = [c for c in teams.fake.posts_to(WEST) if "Good catch!" in c.text]
    assert (
        post and "recognised **Dana Reyes**" in post[0].text and "caught a wrong insulin dose" in post[0].text
    )
    assert "<at>" not in post[0].text


async def test_the_dialog_warns_about_patient_identifiers(teams: TeamsHarness) -> None:
    await teams.install_team()
    _, body = await teams.post(
        teams.invoke("composeExtension/fetchTask", {"commandId": "raiseConcern"}, user=STAFF, channel=WEST)
    )
    form = body["task"]["value"]["card"]["content"]
    assert next(e for e in form["body"] if e.get("id") == "unit")["value"] == "4west"
    assert any(e.get("id") == "notify_me" for e in form["body"])  # a sealing key is configured
    data = {
        "huddlebot_form": "concern",
        "text": "MRN 12345678 fell out of bed",
        "unit": "4west",
        "severity": "moderate",
        "concern_type": "falls",
        "category": "safe",
        "anonymity": "named",
    }
    _, body = await teams.post(
        teams.invoke(
            "composeExtension/submitAction",
            {"commandId": "raiseConcern", "data": data},
            user=STAFF,
            channel=WEST,
        )
    )
    warned = body["task"]["value"]["card"]["content"]
    assert "medical record number" in str(warned)
    assert any(e.get("id") == "post_anyway" for e in warned["body"])
    assert next(e for e in warned["body"] if e.get("id") == "text")["value"] == data["text"]  # kept
    assert await rows(teams, "concerns") == []
    _, body = await teams.post(
        teams.invoke(
            "composeExtension/submitAction",
            {"commandId": "raiseConcern", "data": {**data, "post_anyway": "true"}},
            user=STAFF,
            channel=WEST,
        )
    )
    assert "C-1001 was received" in str(body["task"]["value"]["card"]["content"])


async def test_tenant_allowlist_refuses_and_stores_nothing(db_url: str, example_config: OrgConfig) -> None:
    h = await make_teams_harness(
        db_url, example_config, options=dev_options(allowed_tenants=frozenset({"another-tenant"}))
    )
    try:
        status, _ = await h.post(h.prepare(fixture("conversation_update_bot_added_to_team")))
        assert status == 403
        status, _ = await h.post(h.personal_message("concern something", user=STAFF))
        assert status == 403
        for table in metadata.sorted_tables:
            assert await rows(h, table.name) == [], table.name
        assert h.fake.calls == []
    finally:
        await close_harness(h)


async def test_not_an_activity(teams: TeamsHarness) -> None:
    response = await teams.client.post(
        "/api/messages", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    response = await teams.client.post("/api/messages", data=b"type=message")
    assert response.status == 415
    response = await teams.client.post("/api/messages", json=["a list"])
    assert response.status == 400


async def test_a_reporter_answers_by_replying_to_the_bot_in_their_chat(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.personal_message("concern --unit 4west The bed alarm on 12 is broken", user=STAFF))
    await teams.deliver()
    async with teams.core.uow() as tx:
        (dm,) = await tx.posts_for(role="dm", concern_id=1)
    assert dm.message_channel == f"a:1personal-{STAFF}"
    reply = teams.personal_message("It happened again at 3am", user=STAFF)
    reply["replyToId"] = dm.message_ref
    await teams.post(reply)
    messages = await rows(teams, "concern_messages")
    assert [m["author_role"] for m in messages] == ["reporter"]
    await teams.deliver()
    assert any("It happened again at 3am" in c.text for c in teams.fake.posts_to(LEADERS))


async def test_whoami_and_mine_in_a_personal_chat(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.personal_message("whoami", user=DANA))
    assert f'teams: "{DANA}"' in teams.fake.posts_to(f"a:1personal-{DANA}")[-1].text
    await teams.post(teams.personal_message("concern --unit 4west The bed alarm on 12 is broken", user=STAFF))
    await teams.post(teams.personal_message("mine", user=STAFF))
    page = teams.fake.posts_to(f"a:1personal-{STAFF}")[-1]
    assert "C-1001" in page.text and "Your concerns" in page.text
    assert card_errors(page.card) == []
    await teams.post(teams.channel_message("whoami", user=STAFF, channel=WEST))
    assert (
        "personal chat" in teams.fake.posts_to(WEST)[-1].text
        and STAFF not in teams.fake.posts_to(WEST)[-1].text
    )


async def test_a_quoted_reply_in_a_personal_chat_reaches_the_leaders(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.personal_message("concern --unit 4west The bed alarm on 12 is broken", user=STAFF))
    await teams.deliver()
    async with teams.core.uow() as tx:
        (dm,) = await tx.posts_for(role="dm", concern_id=1)
    reply = teams.personal_message(f'<quoted messageId="{dm.message_ref}"/>Still broken tonight', user=STAFF)
    reply["entities"] = [
        {"type": "quotedReply", "quotedReply": {"messageId": dm.message_ref, "preview": "…"}}
    ]
    await teams.post(reply)
    messages = await rows(teams, "concern_messages")
    assert [m["text"] for m in messages] == ["Still broken tonight"]


async def test_replies_in_channels_huddlebot_does_not_use_are_not_even_looked_up(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(
        teams.channel_message(
            "random thread chatter", user=STAFF, channel=GENERAL, mention=False, thread_root="17712"
        )
    )
    assert await rows(teams, "processed_events") == []
