"""Issue 13 on Slack: the concern form's own types and its two boxes (a leader involved, my words on the
stoplight), the resolve form's stoplight title, "Not possible now" from the card, the stoplight as Block
Kit in the unit's channel, and `/round`."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.slack.blocks import fallback_text, render
from adapters.slack.listeners import NOT_ROUNDING
from bot import stoplight
from bot.due_work import run_due_work
from bot.rounding import MAX_COUNT
from bot.views import ConcernCard, ReporterUpdate, Stoplight, StoplightItem, StoplightUnit
from tests.slack.fake_slack import Message, check_message
from tests.slack.harness import (
    ALEX,
    DANA,
    JO,
    STRANGER,
    WEST,
    WEST_LEADERS,
    SlackHarness,
    assert_modal_within_limits,
    assert_within_limits,
)
from tests.slack.seeds import ROUND_FORM, button, counts, send, submission
from tests.slack.test_slack_concerns import raise_concern
from tests.sql import rows

MED_LEADERS = "C0MEDLEAD"  # the Department of Medicine's leaders' channel: 4 West's next tier
EXEC_LEADERS = "C0EXECLDR"
SAM = "U0SAM001"  # the patient-safety officer
LEE = "U0LEE001"  # Director of Medicine


def _block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def _card(slack: SlackHarness, ref: str, channel: str = WEST_LEADERS) -> Message:
    return next(m for m in slack.fake.top(channel) if ref in m.text)


def _buttons(message: Message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


async def _status(slack: SlackHarness, concern_id: int) -> dict[str, Any]:
    [row] = await rows(
        slack.app,  # type: ignore[arg-type]
        "SELECT status, title, not_possible_reason, involves_leader FROM concerns WHERE id = :id",
        id=concern_id,
    )
    return row


# --- the forms ------------------------------------------------------------------------------------


async def test_the_concern_form_offers_the_organisations_types_and_both_boxes(slack: SlackHarness) -> None:
    await slack.command("/concern", "", user=ALEX)
    form = slack.last_view()
    assert_modal_within_limits(form)  # the fake's checks, and slack_sdk's View model
    options = {o["value"]: o["text"]["text"] for o in _block(form, "type")["element"]["options"]}
    assert options == slack.app.core.config.type_labels()
    assert options["respect"].startswith("Respect")
    leader = _block(form, "involves_leader")["element"]
    assert leader["type"] == "checkboxes" and "initial_options" not in leader
    assert leader["options"][0]["text"]["text"] == "This involves one of this unit's leaders"
    share = _block(form, "share")["element"]
    assert share["options"][0]["text"]["text"] == "You may show my own words on the unit's stoplight report"
    assert "Named concerns only" in share["options"][0]["description"]["text"]


async def test_each_new_form_is_valid_block_kit(slack: SlackHarness) -> None:
    await raise_concern(slack, "Hoist sling frayed on 4 West.")
    card = _card(slack, "C-1001")
    await slack.press(card, "resolve", user=DANA, channel=WEST_LEADERS)
    resolve = slack.last_view()
    await slack.press(card, "not_possible", user=DANA, channel=WEST_LEADERS)
    closing = slack.last_view()
    await slack.press(card, "in_progress", user=DANA, channel=WEST_LEADERS)
    progress = slack.last_view()
    await slack.command("/round", "", user=DANA)
    round_form = slack.last_view()
    for form in (resolve, closing, progress, round_form):
        assert_modal_within_limits(form)
    title = _block(resolve, "title")
    assert title["optional"] and title["label"]["text"] == "Short title for the unit's stoplight report"
    assert title["element"]["max_length"] == 120 and not title["element"]["multiline"]
    assert closing["callback_id"] == "concern_not_possible"
    reason = _block(closing, "reason")
    assert not reason["optional"] and reason["element"]["multiline"] and "C-1001" in reason["label"]["text"]
    assert _block(closing, "title")["optional"]
    assert (
        progress["callback_id"] == "concern_in_progress" and progress["submit"]["text"] == "Mark in progress"
    )
    note = _block(progress, "note")
    assert note["optional"] and note["element"]["multiline"]
    assert note["label"]["text"] == "What is being done (the latest update the unit sees)"
    assert _block(progress, "title") == title
    for count in ("staff", "patients", "families"):
        element = _block(round_form, count)["element"]
        assert element["type"] == "number_input" and element["is_decimal_allowed"] is False
        assert (element["min_value"], element["max_value"]) == ("0", str(MAX_COUNT))


# --- respect concerns, routed around the unit's leaders -------------------------------------------


async def test_a_respect_concern_involving_a_leader_never_reaches_the_units_leaders(
    slack: SlackHarness,
) -> None:
    words = "The charge nurse shouted at a new graduate in front of a family"
    answer = await raise_concern(slack, words, type="respect", involves_leader=["yes"])
    assert answer["response_action"] == "update" and "C-1001" in str(answer["view"])
    row = await _status(slack, 1)
    assert row["involves_leader"] and row["status"] == "open"
    # A day on: its escalation step, the huddles and their summaries, all delivered.
    slack.clock.advance(timedelta(hours=25))
    await run_due_work(slack.app.core)
    await slack.deliver()
    await slack.event(
        {"type": "app_home_opened", "user": DANA, "channel": "D0DANA01", "tab": "home", "event_ts": "1.2"}
    )

    def reached(channel: str) -> list[str]:
        return [
            json.dumps(call.args)
            for call in slack.fake.calls
            if call.args.get("channel") == channel or call.args.get("user_id") == channel
        ]

    unit_leaders = (WEST_LEADERS, DANA, slack.fake.dm_channel(DANA))
    for call in slack.fake.calls:
        said = json.dumps(call.args)
        assert call.args.get("channel") != WEST_LEADERS, (call.method, said[:200])
        if "C-1001" in said or "shouted" in said:
            assert not {call.args.get("channel"), call.args.get("user"), call.args.get("user_id")} & set(
                unit_leaders
            ), (call.method, said[:200])
    assert any("shouted at a new graduate" in text for text in reached(MED_LEADERS))  # the next tier
    assert any("shouted at a new graduate" in text for text in reached(SAM))  # the safety officer
    assert any("C-1001" in text and "Escalated" in text for text in reached(EXEC_LEADERS))
    assert DANA in slack.fake.published  # Dana's Home tab was drawn, without it
    assert "C-1001" not in json.dumps(slack.fake.published[DANA])


# --- the stoplight --------------------------------------------------------------------------------


async def _close(slack: SlackHarness, ref: str, button: str, values: dict[str, str]) -> dict[str, Any]:
    await slack.press(_card(slack, ref), button, user=DANA, channel=WEST_LEADERS)
    answer = await slack.submit(slack.last_view(), values, user=DANA, view_id=f"V{ref}{button}")
    await slack.deliver()
    return answer


async def test_the_weekly_stoplight_shows_titles_and_only_the_words_reporters_allowed(
    slack: SlackHarness,
) -> None:
    await raise_concern(slack, "The sluice room door does not lock", share=["yes"])
    await raise_concern(slack, "Bed 14's call bell cable is frayed")
    await raise_concern(slack, "We need a second bladder scanner on nights")
    done = await _close(slack, "C-1001", "resolve", {"text": "New lock fitted", "title": ""})
    assert done["response_action"] == "update"
    await _close(slack, "C-1002", "resolve", {"text": "Cable replaced", "title": "New call bell cable in 14"})
    await _close(
        slack,
        "C-1003",
        "not_possible",
        {"reason": "The budget is frozen until April", "title": "Second bladder scanner"},
    )
    assert (await _status(slack, 2))["title"] == "New call bell cable in 14"

    # Friday 14:00 in Chicago: the weekly report, in the unit's channel.
    slack.clock.set(datetime(2026, 11, 27, 20, 1, tzinfo=UTC))
    assert await stoplight.send_due(slack.app.core, slack.clock.now()) >= 1
    await slack.deliver()
    [report] = [m for m in slack.fake.top(WEST) if "You said, we did" in m.text]
    assert_within_limits(report.blocks)
    assert report.blocks[0]["type"] == "header" and "4 West Med-Surg" in report.blocks[0]["text"]["text"]
    text = report.text
    assert "🟢 *Done*" in text and "🔴 *Not possible now*" in text and "🟡" not in text
    assert "The sluice room door does not lock" in text  # shared by its reporter
    assert "New call bell cable in 14" in text and "frayed" not in text  # the title, not the words
    assert "Second bladder scanner" in text and "The budget is frozen until April" in text
    assert "Green: done" in text  # the legend
    # Another unit with nothing: the kind line, not silence.
    [micu] = [m for m in slack.fake.top("C0MICU001") if "You said, we did" in m.text]
    assert "Nothing raised this week — thank you for your huddles." in micu.text


# --- "In progress" -------------------------------------------------------------------------------


async def test_in_progress_from_the_card_gives_the_stoplight_its_title_and_latest_update(
    slack: SlackHarness,
) -> None:
    await raise_concern(slack, "Nobody answers the float pool phone after midnight")
    card = _card(slack, "C-1001")
    await slack.press(card, "in_progress", user=DANA, channel=WEST_LEADERS)
    form = slack.last_view()
    assert form["callback_id"] == "concern_in_progress" and form["title"]["text"] == "In progress: C-1001"

    before = await counts(slack)
    long_title = await slack.submit(form, {"note": "On it", "title": "x" * 121}, user=DANA, view_id="VIP1")
    assert long_title["response_action"] == "errors"
    assert long_title["errors"] == {"title": "A short title: at most 120 characters."}
    await slack.deliver()
    assert await counts(slack) == before and (await _status(slack, 1))["status"] == "open"

    update = "Meeting the staffing office on Tuesday about a night number"
    answer = await slack.submit(
        form, {"note": update, "title": "Float pool phone at night"}, user=DANA, view_id="VIP1"
    )
    assert answer["response_action"] == "update" and "C-1001 is now in progress." in str(answer["view"])
    await slack.deliver()
    row = await _status(slack, 1)
    assert (row["status"], row["title"]) == ("in_progress", "Float pool phone at night")
    told = " ".join(m.text for m in slack.fake.channel(slack.fake.dm_channel(ALEX)))
    assert f"Dana Reyes is working on your concern C-1001. {update}" in told  # the reporter, as before
    card = _card(slack, "C-1001")
    assert "In progress" in card.text and "in_progress" not in _buttons(card)
    thread = " ".join(m.text for m in slack.fake.thread(WEST_LEADERS, card.ts))
    assert update in thread

    # Friday 14:00 in Chicago: the unit reads the title and the latest update, in yellow.
    slack.clock.set(datetime(2026, 11, 27, 20, 1, tzinfo=UTC))
    assert await stoplight.send_due(slack.app.core, slack.clock.now()) >= 1
    await slack.deliver()
    [report] = [m for m in slack.fake.top(WEST) if "You said, we did" in m.text]
    assert_within_limits(report.blocks)
    text = report.text
    assert "🟡 *In progress*" in text and "C-1001" in text
    assert "Float pool phone at night" in text and update in text
    assert "Nobody answers" not in text  # the reporter did not share their words


async def test_a_non_leader_pressing_in_progress_is_told_kindly_and_nothing_changes(
    slack: SlackHarness,
) -> None:
    await raise_concern(slack, "Wet floor by the nurses' station, no sign.")
    card = _card(slack, "C-1001")
    kept = copy.deepcopy(card)  # as a card still on someone's screen after it was closed
    before, views = await counts(slack), len(slack.fake.views)
    await slack.press(card, "in_progress", user=JO, channel=WEST_LEADERS)
    refusal = slack.fake.ephemeral[-1]
    assert refusal["user"] == JO and refusal["channel"] == WEST_LEADERS
    assert "Only the leaders of 4 West Med-Surg can change the status of C-1001" in refusal["text"]
    assert "Nothing was changed." in refusal["text"]
    assert len(slack.fake.views) == views  # no form opened
    await slack.deliver()
    assert await counts(slack) == before and (await _status(slack, 1))["status"] == "open"

    # A form sent anyway (kept from before, or forged) is refused on its field, and changes nothing.
    await slack.press(card, "in_progress", user=DANA, channel=WEST_LEADERS)
    form = slack.last_view()
    answer = await slack.submit(form, {"note": "Sign ordered", "title": ""}, user=JO, view_id="VIP2")
    assert answer["response_action"] == "errors" and "Only the leaders" in answer["errors"]["note"]
    await slack.deliver()
    assert await counts(slack) == before and (await _status(slack, 1))["status"] == "open"

    # Closed since: the core says so, and no form opens.
    await _close(slack, "C-1001", "resolve", {"text": "Sign put out and floor dried", "title": ""})
    views = len(slack.fake.views)
    await slack.press(kept, "in_progress", user=DANA, channel=WEST_LEADERS)
    assert "C-1001 is already resolved" in slack.fake.ephemeral[-1]["text"]
    assert len(slack.fake.views) == views and (await _status(slack, 1))["status"] == "resolved"


# --- "Not possible now" ---------------------------------------------------------------------------


async def test_not_possible_now_from_the_card_tells_the_reporter_why(slack: SlackHarness) -> None:
    await raise_concern(slack, "The hoist in bay 2 needs a second sling size")
    card = _card(slack, "C-1001")
    assert "not_possible" in _buttons(card)
    await slack.press(card, "not_possible", user=DANA, channel=WEST_LEADERS)
    form = slack.last_view()
    assert form["callback_id"] == "concern_not_possible" and form["title"]["text"] == "Not possible now"

    empty = await slack.submit(form, {"reason": " ", "title": ""}, user=DANA, view_id="VNP1")
    assert empty["response_action"] == "errors" and "Say why" in empty["errors"]["reason"]
    long_title = await slack.submit(form, {"reason": "Budget", "title": "x" * 121}, user=DANA, view_id="VNP1")
    assert long_title["response_action"] == "errors" and "title" in long_title["errors"]
    assert (await _status(slack, 1))["status"] == "open"

    why = "The supplier has none until March; we have asked the next hospital to lend one."
    answer = await slack.submit(
        form, {"reason": why, "title": "Second sling size"}, user=DANA, view_id="VNP1"
    )
    assert answer["response_action"] == "update" and "closed as not possible now" in str(answer["view"])
    await slack.deliver()
    row = await _status(slack, 1)
    assert (row["status"], row["title"], row["not_possible_reason"]) == (
        "not_possible",
        "Second sling size",
        why,
    )

    [update] = [m for m in slack.fake.channel(slack.fake.dm_channel(ALEX)) if "can't be acted on" in m.text]
    assert update.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Not possible now · C-1001", "emoji": True},
    }
    assert why in update.text and "/concern reopen C-1001" in update.text
    assert update.args["text"].startswith("Not possible now: ")  # the notification says it first
    card = _card(slack, "C-1001")
    assert ":red_circle: *Not possible now:* Dana Reyes" in card.text and why in card.text
    assert "On the unit's stoplight report as: Second sling size" in card.text
    assert _buttons(card) == []  # closed: no more buttons


async def test_a_non_leader_pressing_not_possible_is_told_kindly_and_nothing_changes(
    slack: SlackHarness,
) -> None:
    await raise_concern(slack, "Wet floor by the nurses' station, no sign.")
    card = _card(slack, "C-1001")
    before, views = await counts(slack), len(slack.fake.views)
    await slack.press(card, "not_possible", user=JO, channel=WEST_LEADERS)
    refusal = slack.fake.ephemeral[-1]
    assert refusal["user"] == JO and refusal["channel"] == WEST_LEADERS
    assert "Only the leaders of 4 West Med-Surg can close C-1001. Nothing was changed." in refusal["text"]
    assert len(slack.fake.views) == views  # no form opened
    await slack.deliver()
    assert await counts(slack) == before and (await _status(slack, 1))["status"] == "open"

    # A form sent anyway (kept from before, or forged) is refused on its field, and changes nothing.
    await slack.press(card, "not_possible", user=DANA, channel=WEST_LEADERS)
    answer = await slack.submit(slack.last_view(), {"reason": "No budget"}, user=JO, view_id="VNP2")
    assert answer["response_action"] == "errors" and "Only the leaders" in answer["errors"]["reason"]
    assert (await _status(slack, 1))["status"] == "open"


async def test_an_anonymous_reporter_reads_the_reason_with_their_receipt_code(slack: SlackHarness) -> None:
    answer = await raise_concern(
        slack, "Nobody checks the crash cart on nights.", user=STRANGER, anonymity="anonymous"
    )
    code = answer["view"]["blocks"][-1]["elements"][0]["text"].split("`")[1].split()[-1]
    slack.clock.advance(timedelta(minutes=11))  # past the random hold-back of anonymous concerns
    await slack.deliver()
    ref = code.rsplit("-", 4)[0]
    assert "Anonymous" in _card(slack, ref).text
    await _close(slack, ref, "not_possible", {"reason": "The night pharmacist owns it; we asked them."})
    await slack.command("/concern", f"follow-up {code}", user=STRANGER)
    follow = slack.last_view()
    assert follow["callback_id"] == "concern_follow_up"
    assert "The night pharmacist owns it; we asked them." in json.dumps(follow["blocks"])


# --- /round ---------------------------------------------------------------------------------------


async def test_a_round_becomes_good_catches_a_concern_and_a_tracked_item(slack: SlackHarness) -> None:
    await slack.command("/round", "", user=DANA, channel=WEST)
    form = slack.last_view()
    assert form["callback_id"] == "round"
    unit = _block(form, "unit")["element"]
    assert [o["value"] for o in unit["options"]] == ["4west"]  # the units Dana leads
    assert unit["initial_option"]["value"] == "4west"  # this channel's unit
    values = ROUND_FORM | {
        "wins": f"<@{JO}>: caught a look-alike vial before it was drawn up\n\n"
        "@alex: spotted the wrong wristband"
    }
    answer = await slack.submit(form, values, user=DANA, view_id="VROUND1")
    assert answer["response_action"] == "update", answer
    confirmation = json.dumps(answer["view"])
    assert "Round on 4 West Med-Surg logged (6 staff, 3 patients, 1 families)" in confirmation
    await slack.deliver()

    channel = " ".join(m.text for m in slack.fake.top(WEST))
    assert "Dana Reyes recognised *Jo Martin*: caught a look-alike vial" in channel
    assert "Dana Reyes recognised *Alex Kim*: spotted the wrong wristband" in channel
    assert "recognised you for a good catch" in " ".join(
        m.text for m in slack.fake.channel(slack.fake.dm_channel(JO))
    )
    cards = " ".join(m.text for m in slack.fake.top(WEST_LEADERS))
    assert "Heard on rounds: The hoist battery keeps dying" in cards
    tracked = await rows(
        slack.app,  # type: ignore[arg-type]
        "SELECT status, title FROM concerns WHERE text = 'Heard on rounds: Second bladder scanner'",
    )
    assert tracked == [{"status": "in_progress", "title": "Second bladder scanner"}]
    [logged] = await rows(
        slack.app,  # type: ignore[arg-type]
        "SELECT detail FROM audit_events WHERE action = 'round.logged'",
    )
    detail = logged["detail"] if isinstance(logged["detail"], dict) else json.loads(logged["detail"])
    assert (detail["staff"], detail["patients"], detail["families"], detail["wins"]) == (6, 3, 1, 2)
    assert detail["barriers"] == ["A hoist charger"]

    # The tracked item is yellow on the unit's stoplight.
    await slack.command("/huddle", "stoplight", user=DANA, channel=WEST)
    await slack.deliver()
    [report] = [m for m in slack.fake.top(WEST) if "You said, we did" in m.text]
    assert "🟡 *In progress*" in report.text and "Second bladder scanner" in report.text
    assert_within_limits(report.blocks)


async def test_bad_round_input_is_refused_on_its_field_and_nothing_is_stored(slack: SlackHarness) -> None:
    await slack.command("/round", "", user=DANA, channel=WEST)
    form = slack.last_view()
    before = await counts(slack)
    cases = [
        ({"staff": "-1"}, "staff", f"A whole number from 0 to {MAX_COUNT}."),
        ({"patients": "9999"}, "patients", f"A whole number from 0 to {MAX_COUNT}."),
        ({"families": "2.5"}, "families", f"A whole number from 0 to {MAX_COUNT}."),
        ({"concerns": "\n".join(f"Issue {n}" for n in range(11))}, "concerns", "At most 10 lines"),
        ({"tracked": "x" * 4001}, "tracked", "at most 4,000 characters"),
        ({"wins": "Jo did well"}, "wins", "Line 1: write it as @person: what they did."),
        ({"wins": f"<@{DANA}>: logged a round"}, "wins", "can't give one to yourself"),
        ({"concerns": "Patient DOB 03/04/1950 fell twice"}, "concerns", "patient identifier"),
        ({"unit": "micu"}, "unit", "Only the leaders of Medical ICU"),
    ]
    for n, (change, field, says) in enumerate(cases):
        answer = await slack.submit(form, ROUND_FORM | change, user=DANA, view_id=f"VBAD{n}")
        assert answer["response_action"] == "errors", (change, answer)
        assert says in answer["errors"][field], (change, answer["errors"])
    await slack.deliver()
    assert await counts(slack) == before
    assert not [m for m in slack.fake.top(WEST) if "Good catch" in m.text]


async def test_round_refuses_kindly_whoever_leads_no_unit(slack: SlackHarness) -> None:
    views = len(slack.fake.views)
    answer = await slack.command("/round", "", user=ALEX)
    assert answer["response_type"] == "ephemeral" and NOT_ROUNDING in json.dumps(answer)
    elsewhere = await slack.command("/round", "micu", user=DANA)
    assert "You don't lead Medical ICU" in elsewhere["text"] and "4 West Med-Surg" in elsewhere["text"]
    assert "log a round" in (await slack.command("/round", "help", user=DANA))["text"]
    unknown = await slack.command("/round", "the moon", user=DANA)
    assert "I don't know a unit called 'the moon'" in unknown["text"]
    assert len(slack.fake.views) == views
    # A unit named in the command is chosen in the form, wherever it was typed.
    await slack.command("/round", "micu", user=LEE, channel="C0MEDICIN")
    form = slack.last_view()
    unit = _block(form, "unit")["element"]
    assert unit["initial_option"]["value"] == "micu"
    assert [o["value"] for o in unit["options"]] == ["medicine", "4west", "5east", "micu"]


# --- within Slack's limits, and inert -------------------------------------------------------------

PINGS = "<!channel> <@U0DANA01> & "


def test_the_largest_stoplight_fits_one_message_and_names_every_unit() -> None:
    title, detail = (PINGS + "🚑 " * 50)[:120], ("&<" * 20 + "what was done " * 10)[:160]

    def items(colour: str) -> list[StoplightItem]:
        return [
            StoplightItem(colour=colour, ref=f"C-{n}", title=title, detail=detail)  # type: ignore[arg-type]
            for n in range(stoplight.PER_COLOUR)
        ]

    def unit(name: str) -> StoplightUnit:
        return StoplightUnit(unit_name=name, green=items("green"), yellow=items("yellow"), red=items("red"))

    one = render(Stoplight(title="You said, we did · 4 West", units=[unit("4 West")]))
    assert_within_limits(one)
    assert json.dumps(one, ensure_ascii=False).count("• *C-") >= 30  # most of a full week's lines
    units = [unit(f"Unit {n} <b>") for n in range(8)]
    units.append(StoplightUnit(unit_name="Quiet ward", nothing=stoplight.NOTHING))
    view = Stoplight(
        title="You said, we did · Nursing & Patient Safety " + "x" * 200, units=units, legend="Green"
    )
    blocks = render(view)
    assert_within_limits(blocks)
    assert check_message({"text": fallback_text(view), "blocks": blocks}) is None
    text = json.dumps(blocks, ensure_ascii=False)
    assert blocks[0]["type"] == "header" and "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert all(f"*Unit {n} &lt;b&gt;*" in text for n in range(8))
    assert "Quiet ward*\\n" + stoplight.NOTHING in text and "Green" in text


def test_a_closed_card_and_the_reporters_update_keep_peoples_words_inert() -> None:
    card = ConcernCard(  # type: ignore[call-arg]
        concern_id=1,
        ref="C-1001",
        unit_name="4 West",
        severity="high",
        category="safe",
        concern_type="Respect (disrespectful or abusive behaviour)",
        anonymity="named",
        reporter_label="Alex",
        text="x" * 9000,
        status="Not possible now",
        raised_label="Wed 25 Nov 06:50 CST",
        title=PINGS + "scanner",
        not_possible="Dana Reyes, Wed 25 Nov 07:00 CST. Why: " + PINGS * 300,
    )
    update = ReporterUpdate(ref="C-1001", event="not_possible", text=PINGS * 900)
    for view in (card, update):
        blocks = render(view)
        assert_within_limits(blocks)
        assert "<!channel>" not in json.dumps(blocks)
    assert render(update)[0]["text"]["text"] == "Not possible now · C-1001"


# --- forged and malformed -------------------------------------------------------------------------


async def test_a_forged_round_or_closing_is_refused_kindly_or_with_a_4xx(slack: SlackHarness) -> None:
    await raise_concern(slack, "Hoist sling frayed on 4 West.")
    await slack.command("/round", "", user=DANA, channel=WEST)
    form = slack.last_view()
    before = await counts(slack)
    data = submission(form, ROUND_FORM, user=DANA, view_id="VFORGED")
    data["view"]["state"]["values"]["staff"]["value"]["value"] = 6  # a number where Slack sends a string
    status, answer = await send(slack, "interactive", data)
    assert status == 200 and answer["response_action"] == "errors" and "staff" in answer["errors"]
    card = _card(slack, "C-1001")
    pressed = button(card, "not_possible", user=DANA)
    pressed["actions"][0]["action_id"] = "not_possible_now"  # an action the app never rendered
    assert (await send(slack, "interactive", pressed))[0] == 400
    pressed = button(card, "not_possible", user=DANA)
    pressed["actions"][0]["value"] = '{"v":1,"a":"not_possible","concern":99999}'  # no such concern
    assert (await send(slack, "interactive", pressed))[0] == 200
    assert "I can't find a concern called C-100999" in slack.fake.ephemeral[-1]["text"]
    await slack.deliver()
    assert await counts(slack) == before
