"""What people read in Teams, as the Microsoft 365 Agents Playground showed it (issue 10): a help card
in lines, `--unit` where the hint says so, dialog names as the manifest has them, how to reopen, and
"this thread" only where there is one."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.teams import cards
from adapters.teams.package import load_template
from adapters.teams.words import FOLLOW_UP_DIALOG, RAISE_DIALOG, teams_words
from bot import actions
from bot.views import Notice, ReporterUpdate
from storage.tables import metadata
from tests.teams.conftest import DANA, STAFF, TENANT, UNIT_CHANNELS, TeamsHarness
from tests.teams.schemas import card_errors

WEST = UNIT_CHANNELS["4west"]
LEADERS = UNIT_CHANNELS["4west-leaders"]
GROUP_CHAT = "19:huddle-group@thread.v2"


def text_blocks(node: Any) -> list[str]:
    """Every TextBlock's text in a card."""
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "TextBlock" else []
        return own + [t for value in node.values() for t in text_blocks(value)]
    if isinstance(node, list):
        return [t for item in node for t in text_blocks(item)]
    return []


def single_newlines(text: str) -> list[str]:
    """Line breaks Teams' card markdown would swallow (a single ``\\n``, not a blank line)."""
    return re.findall(r"(?<!\n)\n(?!\n)", text)


async def concern_of(h: TeamsHarness) -> dict[str, Any]:
    async with h.core.uow.engine.connect() as conn:  # type: ignore[attr-defined]
        (row,) = (await conn.execute(sa.select(metadata.tables["concerns"]))).all()
    return dict(row._mapping)


def group_message(h: TeamsHarness, text: str, *, user: str = STAFF) -> dict[str, Any]:
    """An @mention of the bot in a group chat (no team, no channel, no threads)."""
    activity = h.channel_message(text, user=user, channel=GROUP_CHAT)
    activity["conversation"] = {"conversationType": "groupChat", "id": GROUP_CHAT, "tenantId": TENANT}
    for key in ("channel", "team", "teamsChannelId", "teamsTeamId"):
        activity["channelData"].pop(key, None)
    return activity


# --- the help card --------------------------------------------------------------------------------------


@pytest.mark.parametrize("greeting", [False, True])
def test_the_help_card_is_lines_not_one_paragraph(greeting: bool) -> None:
    card = cards.help_card(greeting=greeting)
    assert card_errors(card) == []
    blocks = text_blocks(card)
    assert [b for b in blocks if single_newlines(b)] == []
    assert len(blocks) >= len(cards.HELP_LINES) + 1  # a TextBlock a line
    said = "\n".join(blocks)
    for command in ("concern", "huddle now", "huddle status", "goodcatch", "mine", "reopen", "ack", "show"):
        assert command in said, command
    assert "`huddle status --unit 4west`" in said
    assert "**reopen** *C-1042 why it isn't fixed*" in said
    assert f"**{FOLLOW_UP_DIALOG}**" in said and f"**{RAISE_DIALOG}**" in said


async def test_help_in_teams_shows_the_lines(teams: TeamsHarness) -> None:
    await teams.post(teams.personal_message("help", user=STAFF))
    (answer,) = teams.fake.posts_to(f"a:1personal-{STAFF}")
    assert [b for b in text_blocks(answer.card) if single_newlines(b)] == []
    assert "reopen" in answer.text


# --- huddle status --unit -------------------------------------------------------------------------------


async def test_huddle_status_takes_unit_as_the_hint_says_in_a_group_chat(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(group_message(teams, "huddle status"))
    hint = teams.fake.posts_to(GROUP_CHAT)[-1].text
    assert "Say it with --unit UNIT" in hint
    for said in ("huddle status --unit 4west", "huddle status 4west", "huddle status —unit 4west"):
        await teams.post(group_message(teams, said))
        answer = teams.fake.posts_to(GROUP_CHAT)[-1].text
        assert "I don't know a unit" not in answer, said
        assert "huddle is open for 4 West" in answer or "Open concerns: 0" in answer, said
    await teams.post(group_message(teams, "huddle status --unit nowhere"))
    assert "I don't know a unit called 'nowhere'" in teams.fake.posts_to(GROUP_CHAT)[-1].text
    await teams.post(group_message(teams, "huddle status --unit"))
    assert "--unit needs a value" in teams.fake.posts_to(GROUP_CHAT)[-1].text
    await teams.post(group_message(teams, "huddle status --everywhere"))
    usage = teams.fake.posts_to(GROUP_CHAT)[-1].text
    assert "I don't know the option --everywhere" in usage and "huddle status [--unit UNIT]" in usage


async def test_huddle_now_takes_unit_too(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(group_message(teams, "huddle now --unit 4west", user=DANA))
    assert "I don't know a unit" not in teams.fake.posts_to(GROUP_CHAT)[-1].text
    async with teams.core.uow() as tx:
        assert await tx.open_run(unit_id="4west") is not None


# --- the follow-up dialog's name ------------------------------------------------------------------------


def test_the_dialogs_are_named_as_in_the_manifest() -> None:
    titles = {c["id"]: c["title"] for c in load_template()["composeExtensions"][0]["commands"]}
    assert titles == {"raiseConcern": RAISE_DIALOG, "followUpConcern": FOLLOW_UP_DIALOG}
    assert all(len(title) <= 32 for title in titles.values())  # the manifest schema's limit


async def test_the_anonymous_receipt_names_the_follow_up_dialog_as_the_manifest_does(
    teams: TeamsHarness,
) -> None:
    await teams.install_team()
    data = {
        "huddlebot_form": "concern",
        "text": "Nobody double-checks insulin at night",
        "unit": "4west",
        "severity": "high",
        "concern_type": "medication",
        "category": "safe",
        "anonymity": "anonymous",
    }
    _, body = await teams.post(
        teams.invoke("composeExtension/submitAction", {"commandId": "raiseConcern", "data": data}, user=STAFF)
    )
    receipt = "\n".join(text_blocks(body["task"]["value"]["card"]["content"]))
    assert f"huddlebot's *{FOLLOW_UP_DIALOG}* dialog" in receipt
    assert "/concern" not in receipt and "anonymous concern* dialog" not in receipt
    code = body["task"]["value"]["card"]["content"]["body"][-1]["items"][1]["text"]
    assert f"and the code {code}" in receipt
    _, body = await teams.post(
        teams.invoke("composeExtension/fetchTask", {"commandId": "followUpConcern"}, user=STAFF)
    )
    assert body["task"]["value"]["title"] == FOLLOW_UP_DIALOG
    await teams.post(teams.personal_message("concern follow-up", user=STAFF))
    assert f"*{FOLLOW_UP_DIALOG}*" in teams.fake.posts_to(f"a:1personal-{STAFF}")[-1].text


def test_the_anonymous_nudge_names_the_dialog() -> None:
    text = (
        "There is news on your anonymous concern C-1042. "
        "Read it with /concern follow-up and your receipt code."
    )
    card = cards.reporter_update(ReporterUpdate(ref="C-1042", event="nudge", text=text))
    said = "\n".join(text_blocks(card))
    assert f"Read it with huddlebot's *{FOLLOW_UP_DIALOG}* dialog and your receipt code." in said


# --- reopen ---------------------------------------------------------------------------------------------


async def test_the_resolved_update_says_how_to_reopen_and_it_works(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.personal_message("concern --unit 4west The bed alarm on 12 is broken", user=STAFF))
    concern = await concern_of(teams)
    value = actions.concern_action("resolve", concern["id"])
    await teams.post(
        teams.invoke(
            "adaptiveCard/action",
            {
                "action": {
                    "type": "Action.Execute",
                    "verb": "resolve",
                    "data": {"huddlebot": value, "what_we_did": "Replaced the alarm"},
                }
            },
            user=DANA,
            channel=LEADERS,
        )
    )
    assert (await concern_of(teams))["status"] == "resolved"
    await teams.deliver()
    chat = f"a:1personal-{STAFF}"
    resolved = next(c for c in teams.fake.posts_to(chat) if "was resolved" in c.text)
    ref = f"C-{1000 + concern['id']}"
    assert f"If it isn't fixed, reopen it: reopen {ref} why it isn't fixed" in resolved.text
    assert "reopen it and say why" not in resolved.text
    await teams.post(teams.personal_message(f"reopen {ref} It went off again at 3am", user=STAFF))
    assert (await concern_of(teams))["status"] == "acknowledged"
    assert "is open again" in teams.fake.posts_to(chat)[-1].text


async def test_a_receipt_code_typed_in_a_chat_is_not_used(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.personal_message("reopen C-1001-ABCD-EFGH-JKMN-PQRS not fixed", user=STAFF))
    answer = teams.fake.posts_to(f"a:1personal-{STAFF}")[-1].text
    assert "looks like a receipt code" in answer and "Nothing was changed" in answer
    assert f"*{FOLLOW_UP_DIALOG}*" in answer
    async with teams.core.uow.engine.connect() as conn:  # type: ignore[attr-defined]
        assert (await conn.execute(sa.text("SELECT COUNT(*) FROM processed_events"))).scalar() == 0


# --- "this thread" only where there is one --------------------------------------------------------------


async def test_a_personal_chat_is_not_called_a_thread(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.personal_message("concern --unit 4west The bed alarm on 12 is broken", user=STAFF))
    await teams.deliver()
    chat = f"a:1personal-{STAFF}"
    received = next(c for c in teams.fake.posts_to(chat) if "Updates will come here" in c.text)
    assert "thread" not in received.text
    assert "reply to this message" in received.text
    # The card in the leaders' channel is the root of the concern's thread: there, it says so.
    card = next(c for c in teams.fake.posts_to(LEADERS) if "Acknowledge" in json.dumps(c.body))
    assert "Reply in this thread to answer the reporter." in card.text
    # The same card shown in a leader's personal chat (``show``) says how to answer from there.
    await teams.post(teams.personal_message("show C-1001", user=DANA))
    shown = teams.fake.posts_to(f"a:1personal-{DANA}")[-1]
    assert "thread" not in shown.text and "write `reply C-1001 your answer` to me" in shown.text


def test_render_says_thread_only_where_there_is_one() -> None:
    received = ReporterUpdate(
        ref="C-1042",
        event="received",
        text="Updates will come here, and you can answer in this thread.",
    )
    in_chat = "\n".join(text_blocks(cards.render(received, threaded=False)))
    assert in_chat.endswith("Updates will come here, and you can answer by replying to this message.")
    assert "in this thread" in "\n".join(text_blocks(cards.render(received, threaded=True)))
    assert teams_words("see /concern follow-up C-1042-ABCD-EFGH-JKMN-PQRS") == (
        f"see huddlebot's *{FOLLOW_UP_DIALOG}* dialog (under the message box, **+** or **…**) "
        "and the code C-1042-ABCD-EFGH-JKMN-PQRS"
    )


async def test_a_private_note_about_a_channel_thread_does_not_call_the_chat_a_thread(
    teams: TeamsHarness,
) -> None:
    await teams.install_team()
    await teams.post(teams.personal_message("concern --unit 4west The bed alarm on 12 is broken", user=STAFF))
    await teams.deliver()
    async with teams.core.uow() as tx:
        (card,) = await tx.posts_for(role="card", concern_id=1)
    await teams.post(
        teams.channel_message(
            "I saw it too", user=STAFF, channel=LEADERS, mention=False, thread_root=card.message_ref
        )
    )
    note = teams.fake.posts_to(f"a:1personal-{STAFF}")[-1].text
    assert "Only leaders' replies in its thread reach the reporter of C-1001" in note


def test_a_reminder_in_a_chat_without_threads() -> None:
    reminder = Notice(
        text="This huddle closes in 10 min. 3 answered so far. "
        "If you haven't yet, use the buttons on the prompt or reply in this thread."
    )
    said = "\n".join(text_blocks(cards.render(reminder, threaded=False)))
    assert said.endswith("If you haven't yet, use the buttons on the prompt.")
    assert "reply in this thread" in "\n".join(text_blocks(cards.render(reminder)))


def test_slack_style_commands_become_teams_commands() -> None:
    assert teams_words("/concern ack C-1042") == "ack C-1042"
    assert teams_words("/concern reopen C-1042 why") == "reopen C-1042 why"
    assert (
        teams_words("/huddle status, /goodcatch, /concern text") == "huddle status, goodcatch, concern text"
    )
