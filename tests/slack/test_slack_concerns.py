"""Concerns through Slack: leader buttons, refusals, the PHI warning, anonymity, follow-up, event retries."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from bot.model import Concern, ConcernMessage
from storage.engine import create_engine
from storage.tables import metadata
from tests.slack.harness import ALEX, DANA, JO, STRANGER, WEST, WEST_LEADERS, SlackHarness

FORM = {"severity": "moderate", "category": "safe", "type": "falls", "unit": "4west", "anonymity": "named"}


async def raise_concern(
    slack: SlackHarness, text: str, *, user: str = ALEX, view_id: str | None = None, **values: Any
) -> dict[str, Any]:
    await slack.command("/concern", "", user=user)
    view_id = view_id or f"V{len(slack.fake.views)}"
    answer = await slack.submit(
        slack.last_view(), {**FORM, "description": text, **values}, user=user, view_id=view_id
    )
    await slack.deliver()
    return answer


async def concern(slack: SlackHarness, concern_id: int = 1) -> Concern:
    async with slack.app.core.uow() as tx:
        found = await tx.get(Concern, concern_id)
    assert found is not None
    return found


async def test_a_non_leader_pressing_acknowledge_is_told_politely_and_nothing_changes(
    slack: SlackHarness,
) -> None:
    await raise_concern(slack, "Wet floor by the nurses' station, no sign.")
    [card] = slack.fake.top(WEST_LEADERS)
    updates_before = len(slack.fake.called("chat.update"))

    await slack.press(card, "acknowledge", user=JO, channel=WEST_LEADERS)

    refusal = slack.fake.ephemeral[-1]
    assert refusal["user"] == JO and refusal["channel"] == WEST_LEADERS
    assert (
        "Only the leaders of 4 West Med-Surg can acknowledge C-1001. Nothing was changed." in refusal["text"]
    )
    await slack.deliver()
    assert (await concern(slack)).status == "open"
    assert len(slack.fake.called("chat.update")) == updates_before


async def test_leader_buttons_acknowledge_and_in_progress_update_the_card(slack: SlackHarness) -> None:
    await raise_concern(slack, "Call bell in room 4 does not ring at the desk.")
    [card] = slack.fake.top(WEST_LEADERS)

    await slack.press(card, "acknowledge", user=DANA, channel=WEST_LEADERS)
    assert "You acknowledged C-1001" in slack.fake.ephemeral[-1]["text"]
    await slack.deliver()
    assert "Acknowledged (Dana Reyes" in card.text
    actions = [e["action_id"] for b in card.blocks if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["reply", "in_progress", "resolve", "not_possible"]

    await slack.press(card, "in_progress", user=DANA, channel=WEST_LEADERS)
    answer = await slack.submit(slack.last_view(), {"note": "", "title": ""}, user=DANA)  # both optional
    assert answer["response_action"] == "update" and "C-1001 is now in progress." in str(answer["view"])
    await slack.deliver()
    assert "In progress" in card.text
    assert (await concern(slack)).status == "in_progress"


async def test_the_reply_button_opens_a_modal_and_the_reporter_hears_it(slack: SlackHarness) -> None:
    await raise_concern(slack, "Hoist sling frayed on 4 West.")
    [card] = slack.fake.top(WEST_LEADERS)
    await slack.press(card, "reply", user=DANA, channel=WEST_LEADERS)
    form = slack.last_view()
    assert form["callback_id"] == "concern_reply" and form["title"]["text"] == "Reply to C-1001"
    answer = await slack.submit(form, {"text": "Can you show me which one after handover?"}, user=DANA)
    assert answer["response_action"] == "update"
    await slack.deliver()
    dm = slack.fake.dm_channel(ALEX)
    assert "Can you show me which one after handover?" in " ".join(m.text for m in slack.fake.channel(dm))

    # A non-leader's reply form gets the refusal as a field error.
    await slack.press(card, "reply", user=JO, channel=WEST_LEADERS)
    answer = await slack.submit(slack.last_view(), {"text": "me too"}, user=JO)
    assert answer["response_action"] == "errors"
    assert "Only the leaders of 4 West Med-Surg" in answer["errors"]["text"]


async def test_patient_identifiers_are_flagged_then_posted_only_when_confirmed(
    slack_sqlite: SlackHarness,
) -> None:
    slack = slack_sqlite
    await slack.command("/concern", "")
    text = "Patient DOB 03/04/1950 given the wrong dose"
    answer = await slack.submit(slack.last_view(), {**FORM, "description": text}, user=ALEX, view_id="V1")
    assert answer["response_action"] == "update"  # the form comes back with the warning and a box to tick
    warned = answer["view"]
    assert "date of birth" in str(warned["blocks"][0])
    assert any(b.get("block_id") == "post_anyway" for b in warned["blocks"])
    assert (
        next(b for b in warned["blocks"] if b.get("block_id") == "description")["element"]["initial_value"]
        == text
    )

    again = await slack.submit(warned, {**FORM, "description": text}, user=ALEX, view_id="V1")
    assert again["response_action"] == "errors" and "patient identifier" in again["errors"]["description"]
    async with slack.app.core.uow() as tx:
        assert await tx.find_concerns() == []

    done = await slack.submit(
        warned, {**FORM, "description": text, "post_anyway": ["yes"]}, user=ALEX, view_id="V1"
    )
    assert done["response_action"] == "update" and "C-1001" in str(done["view"])
    assert (await concern(slack)).phi_flagged


async def test_a_refusal_in_the_form_lands_on_its_field(slack_sqlite: SlackHarness) -> None:
    await slack_sqlite.command("/concern", "", channel="C0NOWHERE")
    form = slack_sqlite.last_view()
    unit = next(b for b in form["blocks"] if b.get("block_id") == "unit")
    assert "initial_option" not in unit["element"]  # not a unit's channel: nothing to default to
    answer = await slack_sqlite.submit(
        form, {**FORM, "unit": None, "description": "Fridge at 9°C"}, user=ALEX
    )
    assert answer["response_action"] == "errors" and "Which unit" in answer["errors"]["unit"]


async def _rows_mentioning(url: str, needle: str) -> list[str]:
    engine = create_engine(url)
    found = []
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(sa.select(table)):
                if needle in " ".join(str(v) for v in row):
                    found.append(table.name)
    await engine.dispose()
    return found


@pytest.mark.parametrize("notify", [False, True])
async def test_an_anonymous_concern_keeps_no_slack_user_id_anywhere(
    slack: SlackHarness, notify: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await raise_concern(
        slack,
        "The night agency nurse was left alone with 8 patients.",
        user=STRANGER,
        view_id="V0ANONFORM1",
        anonymity="anonymous",
        type="staffing",
        notify=["yes"] if notify else [],
    )
    code = answer["view"]["blocks"][-1]["elements"][0]["text"].split("`")[1].split()[-1]
    assert re.match(r"C-\d{7}-", code)  # an anonymous concern's reference is random, of its own range
    slack.clock.advance(timedelta(minutes=11))  # past the random hold-back of anonymous concerns
    await slack.deliver()
    [card] = slack.fake.top(WEST_LEADERS)
    assert "Anonymous" in card.text and STRANGER not in str(card.args)

    assert await _rows_mentioning(slack.app.engine_url, STRANGER) == []
    assert await _rows_mentioning(slack.app.engine_url, "testuser") == []
    assert await _rows_mentioning(slack.app.engine_url, "V0ANONFORM1") == []  # not even the form's id
    # (aiosqlite's own DEBUG lines echo SQL parameters; `huddlebot` keeps that logger at WARNING.)
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records if r.name != "aiosqlite")
    assert STRANGER not in logged and "agency nurse" not in logged

    # Dana replies in the thread; the reporter reads it with the receipt code, in a modal.
    await slack.reply_in_thread(
        user=DANA, channel=WEST_LEADERS, thread=card.ts, text="Thank you, escalating."
    )
    await slack.deliver()
    if notify:  # the sealed relay nudges the reporter, with no content
        nudge = slack.fake.top(slack.fake.dm_channel(STRANGER))
        assert nudge and "There is news on an anonymous concern you raised" in nudge[-1].text
        assert code.rsplit("-", 4)[0] not in nudge[-1].text  # it does not say which
    await slack.command("/concern", f"follow-up {code}", user=STRANGER)
    follow = slack.last_view()
    assert follow["callback_id"] == "concern_follow_up" and code not in str(follow["blocks"])
    assert "Thank you, escalating." in str(follow["blocks"])
    answer = await slack.submit(follow, {"text": "It happened again last night."}, user=STRANGER)
    assert answer["response_action"] == "update" and "without your name" in str(answer["view"])
    await slack.deliver()
    thread = " ".join(m.text for m in slack.fake.thread(WEST_LEADERS, card.ts))
    assert "The reporter (anonymous):* It happened again last night." in thread

    # …and with text on the command line, the answer is ephemeral.
    reply = await slack.command("/concern", f"follow-up {code} One more thing.", user=STRANGER)
    assert (
        reply["response_type"] == "ephemeral" and "passed to the leaders, without your name" in reply["text"]
    )
    assert await _rows_mentioning(slack.app.engine_url, STRANGER) == []


async def test_a_wrong_receipt_code_is_refused_ephemerally(slack_sqlite: SlackHarness) -> None:
    reply = await slack_sqlite.command("/concern", "follow-up C-1001-AAAA-BBBB-CCCC-DDDD")
    assert reply["response_type"] == "ephemeral" and "doesn't match any concern" in reply["text"]
    assert not slack_sqlite.fake.views


async def test_an_event_retry_is_handled_once(slack: SlackHarness) -> None:
    await raise_concern(slack, "Sharps bin overfull in the dirty utility.")
    [card] = slack.fake.top(WEST_LEADERS)
    for retry in (None, 1, 2):
        status, _ = (
            await slack.reply_in_thread(
                user=DANA, channel=WEST_LEADERS, thread=card.ts, text="Emptied it.", event_id="Ev0RETRY001"
            )
            if retry is None
            else await _retry(slack, card.ts, retry)
        )
        assert status == 200
    async with slack.app.core.uow() as tx:
        messages = await tx.concern_messages(concern_id=1)
    assert [m.text for m in messages if m.author_role == "leader"] == ["Emptied it."]


async def _retry(slack: SlackHarness, thread: str, retry: int) -> Any:
    event = {
        "type": "message",
        "user": DANA,
        "ts": "1767406999.000100",
        "text": "Emptied it.",
        "thread_ts": thread,
        "channel": WEST_LEADERS,
        "channel_type": "channel",
    }
    return await slack.event(event, event_id="Ev0RETRY001", retry=retry)


async def test_a_retry_of_an_event_that_failed_is_handled(
    slack_sqlite: SlackHarness, monkeypatch: Any
) -> None:
    slack = slack_sqlite
    await raise_concern(slack, "Oxygen cylinder empty on the resus trolley.")
    [card] = slack.fake.top(WEST_LEADERS)
    real = slack.app.core.handle
    calls = {"n": 0}

    async def flaky(command: Any, *, event_key: str | None = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("database went away")
        return await real(command, event_key=event_key)

    monkeypatch.setattr(slack.app.core, "handle", flaky)
    status, _ = await slack.reply_in_thread(
        user=DANA, channel=WEST_LEADERS, thread=card.ts, text="Replaced it.", event_id="Ev0FLAKY01"
    )
    assert status == 500  # not handled, so Slack retries
    status, _ = await _retry_flaky(slack, card.ts)
    assert status == 200
    async with slack.app.core.uow() as tx:
        texts = [m.text for m in await tx.concern_messages(concern_id=1) if m.author_role == "leader"]
    assert texts == ["Replaced it."]


async def _retry_flaky(slack: SlackHarness, thread: str) -> Any:
    event = {
        "type": "message",
        "user": DANA,
        "ts": "1767407000.000100",
        "text": "Replaced it.",
        "thread_ts": thread,
        "channel": WEST_LEADERS,
        "channel_type": "channel",
    }
    return await slack.event(event, event_id="Ev0FLAKY01", retry=1)


async def test_bot_messages_edits_and_top_level_chatter_are_ignored(slack_sqlite: SlackHarness) -> None:
    slack = slack_sqlite
    await raise_concern(slack, "Bed rails left down.")
    [card] = slack.fake.top(WEST_LEADERS)
    base = {"type": "message", "ts": "1767409999.000100", "channel": WEST_LEADERS, "channel_type": "channel"}
    for extra in (
        {"user": DANA, "text": "morning all"},  # not in a thread
        {"bot_id": "B0OTHER", "user": "U0OTHERBOT", "text": "beep", "thread_ts": card.ts},
        {"subtype": "message_changed", "thread_ts": card.ts, "message": {"text": "edited"}},
        {"subtype": "channel_join", "user": DANA, "text": "joined"},
    ):
        status, _ = await slack.event({**base, **extra})
        assert status == 200
    async with slack.app.core.uow() as tx:
        assert await tx.concern_messages(concern_id=1) == []
        assert (await tx.get(Concern, 1)).acknowledged_at is None  # type: ignore[union-attr]
    assert ConcernMessage  # (imported for the type)


async def test_a_direct_message_to_the_bot_is_not_taken_as_a_concern(slack_sqlite: SlackHarness) -> None:
    status, _ = await slack_sqlite.event(
        {
            "type": "message",
            "user": ALEX,
            "text": "I want to report something",
            "ts": "1.2",
            "channel": "D0ALEX01",
            "channel_type": "im",
        }
    )
    assert status == 200
    assert "/concern" in slack_sqlite.fake.ephemeral[-1]["text"]
    async with slack_sqlite.app.core.uow() as tx:
        assert await tx.find_concerns() == []


async def test_the_concern_form_from_a_channel_that_is_not_a_unit_offers_every_unit(
    slack_sqlite: SlackHarness,
) -> None:
    await slack_sqlite.command("/concern", "", channel=WEST)
    form = slack_sqlite.last_view()
    units = next(b for b in form["blocks"] if b.get("block_id") == "unit")["element"]["options"]
    assert [o["value"] for o in units][:3] == ["nursing-safety", "medicine", "surgery"]
    assert any(b.get("block_id") == "notify" for b in form["blocks"])  # a seal key is configured


async def test_the_form_opens_without_touching_the_database(
    slack_sqlite: SlackHarness, monkeypatch: Any
) -> None:
    def no_database() -> Any:
        raise AssertionError("/concern must open the form before any slow work")

    monkeypatch.setattr(slack_sqlite.app.core, "uow", no_database)
    assert await slack_sqlite.command("/concern", "Lift out of order") == ""
    assert slack_sqlite.fake.called("views.open")


async def test_an_immediate_concern_alerts_the_leaders_at_once(slack_sqlite: SlackHarness) -> None:
    await raise_concern(slack_sqlite, "Oxygen supply alarm on the whole ward", severity="immediate")
    for leader in (DANA, "U0LEE001"):  # the unit's leader and the department's
        alerts = slack_sqlite.fake.top(slack_sqlite.fake.dm_channel(leader))
        assert any("Immediate concern: stop the line" in m.text for m in alerts)


async def test_bolt_never_logs_a_payload(
    slack_sqlite: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data = json.dumps(
        {
            "type": "view_submission",
            "user": {"id": ALEX},
            "team": {"id": "T0HUDDLE1"},
            "view": {
                "id": "V9",
                "type": "modal",
                "callback_id": "from_another_app",
                "state": {
                    "values": {"x": {"y": {"type": "plain_text_input", "value": "Bed 7 patient fell"}}}
                },
                "private_metadata": "x",
            },
            "secret": "Bed 7 patient fell at 3am",
        }
    )
    status, _ = await slack_sqlite.post(
        urlencode({"payload": data}).encode(), "application/x-www-form-urlencoded"
    )
    assert status == 400  # not one of our forms: refused before Bolt, with one line naming only the field
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiosqlite")
    assert "Bed 7 patient" not in logged and ALEX not in logged
