"""Issue 13 on Teams, through POST /api/messages and the fake Bot Connector: the concern dialog's own
types and its two toggles, a respect concern routed around the unit's leaders, the resolve form's
stoplight title, the "In progress" and "Not possible now" forms, the stoplight as a card, and a
leader's round logged in a dialog. What is checked is what people see: the activities the connector
received, and the rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import actions
from bot.due_work import run_due_work
from bot.rounding import MAX_COUNT
from tests.sql import row_counts, rows, scalar
from tests.teams.conftest import DANA, STAFF, UNIT_CHANNELS, TeamsHarness
from tests.teams.fake_connector import Call
from tests.teams.schemas import card_errors, cards_in

WEST = UNIT_CHANNELS["4west"]
LEADERS = UNIT_CHANNELS["4west-leaders"]
LEE = "29:1lee-okafor"  # leads the Department of Medicine, the tier above 4 West
SAM = "29:1sam-patel"  # the patient-safety officer
JO = "29:1jo-martin"  # MICU staff: leads nothing
FRIDAY_STOPLIGHT = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # Fri 14:00 in Chicago, the default


def chat(user: str) -> str:
    """A person's personal chat with the bot, as the fake connector names it."""
    return f"a:1personal-{user}"


def concern_form(text: str, **fields: str) -> dict[str, str]:
    data = {
        "huddlebot_form": "concern",
        "text": text,
        "unit": "4west",
        "severity": "moderate",
        "concern_type": "equipment",
        "category": "safe",
        "anonymity": "named",
    }
    data.update(fields)
    return data


async def raise_by_dialog(h: TeamsHarness, text: str, *, user: str = STAFF, **fields: str) -> dict[str, Any]:
    status, body = await h.post(
        h.invoke(
            "composeExtension/submitAction",
            {"commandId": "raiseConcern", "data": concern_form(text, **fields)},
            user=user,
        )
    )
    assert status == 200
    return body


async def press(
    h: TeamsHarness, verb: str, concern_id: int, *, user: str, name: str = "Dana Reyes", **inputs: str
) -> dict[str, Any]:
    """A leader's card action (``Action.Execute``) in the leaders' channel, with what the form holds."""
    data = {"huddlebot": actions.concern_action(verb, concern_id), **inputs}
    status, body = await h.post(
        h.invoke(
            "adaptiveCard/action",
            {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"},
            user=user,
            user_name=name,
            channel=LEADERS,
        )
    )
    assert status == 200
    return body


def seen(h: TeamsHarness, conversation: str) -> str:
    """Everything the connector was ever asked to show in ``conversation`` (every thread of it), as JSON."""
    return "\n".join(
        json.dumps(c.body, ensure_ascii=False) for c in h.fake.history if c.base_conversation == conversation
    )


def cards_to(h: TeamsHarness, conversation: str) -> list[Call]:
    return [c for c in h.fake.history if c.base_conversation == conversation and c.card is not None]


# --- the concern dialog ----------------------------------------------------------------------------------


async def test_the_concern_dialog_offers_the_organisations_types_and_both_toggles(
    teams: TeamsHarness,
) -> None:
    status, body = await teams.post(
        teams.invoke("composeExtension/fetchTask", {"commandId": "raiseConcern", "context": {}}, user=STAFF)
    )
    assert status == 200
    (dialog,) = cards_in(body)
    assert card_errors(dialog) == []
    fields = {e.get("id"): e for e in dialog["body"] if e.get("id")}
    offered = [(c["value"], c["title"]) for c in fields["concern_type"]["choices"]]
    assert offered == list(teams.core.config.type_labels().items())
    assert ("respect", teams.core.config.type_label("respect")) in offered
    assert fields["involves_leader"]["type"] == fields["share"]["type"] == "Input.Toggle"
    assert "one of this unit's leaders" in fields["involves_leader"]["title"]
    assert "never to this unit's own leaders" in fields["involves_leader"]["title"]
    assert (
        "stoplight report" in fields["share"]["title"] and "Named concerns only" in fields["share"]["title"]
    )


async def test_a_respect_concern_involving_a_leader_never_reaches_the_units_leaders(
    teams: TeamsHarness,
) -> None:
    await teams.install_team()
    text = "The charge nurse mocks new grads at handover in front of patients"
    body = await raise_by_dialog(
        teams, text, concern_type="respect", involves_leader="true", severity="moderate"
    )
    told = json.dumps(body)
    assert "C-1001" in told and "the leaders of Department of Medicine" in told
    assert "never to 4 West Med-Surg's own leaders" in told
    (stored,) = await rows(teams, "SELECT concern_type, involves_leader FROM concerns")
    assert stored["concern_type"] == "respect" and stored["involves_leader"]
    # A day and a half of due work, hour by hour: huddle prompts, reminders, summaries, escalation.
    for _ in range(36):
        teams.clock.advance(timedelta(hours=1))
        await run_due_work(teams.core, teams.app.dispatcher)
    await teams.deliver()
    assert text in seen(teams, chat(LEE))  # the next tier's leader
    assert text in seen(teams, chat(SAM))  # the patient-safety officer
    assert cards_to(teams, WEST), "the unit's channel had its huddles all the same"
    for conversation in (LEADERS, WEST, chat(DANA)):
        shown = seen(teams, conversation)
        assert "C-1001" not in shown and "mocks new grads" not in shown, conversation
    # Nor can the leader it is about open it.
    teams.fake.clear()
    await teams.post(teams.personal_message("show C-1001", user=DANA, name="Dana Reyes"))
    (answer,) = teams.fake.posts_to(chat(DANA))
    assert "mocks new grads" not in answer.text and "Only" in answer.text


# --- resolve with a title, and the weekly stoplight ------------------------------------------------------


async def test_resolve_titles_and_shared_words_make_the_weekly_stoplight_card(teams: TeamsHarness) -> None:
    await teams.install_team()
    await raise_by_dialog(teams, "Bed alarms on 12-18 do not sound at the desk", share="true")  # C-1001
    await raise_by_dialog(teams, "Nobody answers the float pool phone after midnight")  # C-1002
    await raise_by_dialog(teams, "We need a second bladder scanner on nights", share="true")  # C-1003
    await raise_by_dialog(  # C-1004: a confidential reporter's words are never shown, shared or not
        teams, "The hoist sling in room 4 is frayed", anonymity="confidential", share="true"
    )
    await teams.deliver()
    done = "Biomed re-paired the alarms"
    await press(teams, "resolve", 1, user=DANA, what_we_did=done)
    await press(teams, "resolve", 2, user=DANA, what_we_did="The office now forwards to the house supervisor")
    refreshed = await press(
        teams,
        "resolve",
        3,
        user=DANA,
        what_we_did="A second scanner is on 4 West",
        resolve_title="Second bladder scanner",
    )
    assert "On the unit's stoplight as: Second bladder scanner" in json.dumps(refreshed["value"])
    await press(teams, "resolve", 4, user=DANA, what_we_did="New slings")
    assert await scalar(teams, "SELECT title FROM concerns WHERE id = 3") == "Second bladder scanner"

    teams.fake.clear()
    teams.clock.set(FRIDAY_STOPLIGHT)
    await run_due_work(teams.core, teams.app.dispatcher)
    (report,) = [c for c in teams.fake.posts_to(WEST) if "You said, we did" in c.text]
    assert card_errors(report.card) == []
    text = report.text
    assert "🟢 Done" in text
    assert "Second bladder scanner" in text and "We need a second bladder scanner" not in text  # the title
    assert "Bed alarms on 12-18 do not sound at the desk" in text and done in text  # shared, named
    assert "float pool phone" not in text  # not shared: the type only
    assert "hoist sling" not in text and "New slings" not in text  # confidential: nothing but a title
    assert text.count("A concern about equipment") == 2
    containers = [e for e in report.card["body"] if e["type"] == "Container"]
    assert len(containers) == 1 and all(b["wrap"] for b in containers[0]["items"])
    # A unit with nothing to report says so, in its own channel.
    (quiet,) = [c for c in teams.fake.posts_to(UNIT_CHANNELS["micu"]) if "You said, we did" in c.text]
    assert "Nothing raised this week — thank you for your huddles." in quiet.text


# --- not possible now -------------------------------------------------------------------------------------


async def test_not_possible_now_form_tells_the_reporter_why_and_refuses_others(teams: TeamsHarness) -> None:
    await teams.install_team()
    await raise_by_dialog(teams, "We need a second bladder scanner on nights")
    await teams.deliver()
    (posted,) = cards_to(teams, LEADERS)
    assert card_errors(posted.card) == []
    (form,) = [a for a in posted.card["actions"] if a["title"] == "Not possible now"]
    assert form["type"] == "Action.ShowCard"
    reason, title = form["card"]["body"]
    assert reason["isRequired"] is True and reason["isMultiline"] is True and reason["errorMessage"]
    assert "isRequired" not in title and "stoplight" in title["label"]
    assert form["card"]["actions"][0]["verb"] == "not_possible"

    # Someone who does not lead 4 West: the same refusal as the other leaders' buttons, nothing changes.
    before = await row_counts(teams)
    teams.fake.clear()
    refused = await press(teams, "not_possible", 1, user=JO, name="Jo Martin", why_not_possible="Because")
    assert refused["type"] == "application/vnd.microsoft.activity.message"
    assert "Only the leaders of 4 West Med-Surg" in refused["value"]
    await teams.deliver()
    assert await scalar(teams, "SELECT status FROM concerns") == "open"
    after = await row_counts(teams)
    assert {k: v for k, v in after.items() if k != "processed_events"} == {
        k: v for k, v in before.items() if k != "processed_events"
    }
    assert not teams.fake.calls  # nobody was told anything

    why = "The budget is frozen until April; we will ask again then"
    answered = await press(
        teams, "not_possible", 1, user=DANA, why_not_possible=why, not_possible_title="Second bladder scanner"
    )
    card = answered["value"]
    assert "Not possible now" in json.dumps(card) and why in json.dumps(card)
    assert "actions" not in card  # closed: no buttons left
    await teams.deliver()
    (update,) = [c for c in teams.fake.posts_to(chat(STAFF)) if "can't be acted on now · C-1001" in c.text]
    assert why in update.text and update.body["summary"] == "Your concern can't be acted on now · C-1001"
    assert "reopen C-1001" in update.text  # said the Teams way
    (stored,) = await rows(teams, "SELECT status, not_possible_reason, title FROM concerns")
    assert stored == {"status": "not_possible", "not_possible_reason": why, "title": "Second bladder scanner"}


# --- in progress -------------------------------------------------------------------------------------------


async def test_in_progress_form_gives_the_stoplight_its_title_and_latest_update(teams: TeamsHarness) -> None:
    await teams.install_team()
    await raise_by_dialog(teams, "Nobody answers the float pool phone after midnight")
    await teams.deliver()
    (posted,) = cards_to(teams, LEADERS)
    assert card_errors(posted.card) == []
    (form,) = [a for a in posted.card["actions"] if a["title"] == "In progress"]
    assert form["type"] == "Action.ShowCard"
    note, title = form["card"]["body"]
    assert note["isMultiline"] is True and "isRequired" not in note and "latest update" in note["label"]
    assert "isRequired" not in title and "stoplight" in title["label"] and title["maxLength"] == 120
    assert form["card"]["actions"][0]["verb"] == "in_progress"

    # Someone who does not lead 4 West, and a title too long (sent around the form's own limit):
    # each told kindly, nothing changes, nobody else hears of it.
    before = await row_counts(teams)
    teams.fake.clear()
    refused = await press(
        teams, "in_progress", 1, user=JO, name="Jo Martin", in_progress_note="Calling the office"
    )
    assert refused["type"] == "application/vnd.microsoft.activity.message"
    assert "Only the leaders of 4 West Med-Surg can change the status of C-1001" in refused["value"]
    too_long = await press(
        teams, "in_progress", 1, user=DANA, in_progress_note="Calling the office", in_progress_title="x" * 121
    )
    assert too_long["type"] == "application/vnd.microsoft.activity.message"
    assert "The title is 121 characters long; the limit is 120" in too_long["value"]
    await teams.deliver()
    assert await scalar(teams, "SELECT status FROM concerns") == "open"
    after = await row_counts(teams)
    assert {k: v for k, v in after.items() if k != "processed_events"} == {
        k: v for k, v in before.items() if k != "processed_events"
    }
    assert not teams.fake.calls

    update = "Meeting the staffing office on Tuesday about a night number"
    answered = await press(
        teams, "in_progress", 1, user=DANA, in_progress_note=update, in_progress_title="Float pool phone"
    )
    card = answered["value"]  # the refreshed card, as the other forms answer
    assert answered["type"] == "application/vnd.microsoft.card.adaptive" and card_errors(card) == []
    assert "In progress" in json.dumps(card)
    assert "In progress" not in [a["title"] for a in card["actions"]]  # done: the button is gone
    await teams.deliver()
    told = seen(teams, chat(STAFF))
    assert f"Dana Reyes is working on your concern C-1001. {update}" in told
    (stored,) = await rows(teams, "SELECT status, title FROM concerns")
    assert stored == {"status": "in_progress", "title": "Float pool phone"}

    teams.fake.clear()
    teams.clock.set(FRIDAY_STOPLIGHT)
    await run_due_work(teams.core, teams.app.dispatcher)
    (report,) = [c for c in teams.fake.posts_to(WEST) if "You said, we did" in c.text]
    assert card_errors(report.card) == []
    assert "🟡 In progress" in report.text
    assert "**C-1001** Float pool phone" in report.text and update in report.text
    assert "Nobody answers" not in report.text  # the reporter did not share their words


async def test_an_anonymous_reporter_reads_the_not_possible_reason_in_follow_up(teams: TeamsHarness) -> None:
    await teams.install_team()
    body = await raise_by_dialog(
        teams, "The night float is left alone with 8 patients", anonymity="anonymous"
    )
    (receipt,) = cards_in(body)
    code = next(
        b["text"]
        for item in receipt["body"]
        if item["type"] == "Container"
        for b in item["items"]
        if b.get("fontType") == "Monospace"
    )
    teams.clock.advance(timedelta(minutes=11))  # past the random delay
    await teams.deliver()
    concern_id = await scalar(teams, "SELECT id FROM concerns")
    why = "No float budget this quarter; raised with the CNO"
    await press(teams, "not_possible", concern_id, user=DANA, why_not_possible=why)
    status, body = await teams.post(
        teams.invoke("task/submit", {"data": {"huddlebot_form": "follow_up", "code": code}}, user=STAFF)
    )
    assert status == 200
    assert why in json.dumps(body) and "not possible" in json.dumps(body).lower()


# --- the stoplight card within a Teams message ---------------------------------------------------------


async def test_huddle_stoplight_posts_a_card_with_each_colour(teams: TeamsHarness) -> None:
    await teams.install_team()
    for text in ("Bed alarms are silent", "The float phone rings out", "A second scanner, please"):
        await raise_by_dialog(teams, text, share="true")
    await teams.deliver()
    await press(teams, "resolve", 1, user=DANA, what_we_did="Re-paired", resolve_title="Bed alarms")
    await press(teams, "in_progress", 2, user=DANA)
    await press(teams, "not_possible", 3, user=DANA, why_not_possible="Frozen budget")
    teams.fake.clear()
    await teams.post(teams.channel_message("huddle stoplight", user=DANA, channel=WEST))
    await teams.deliver()
    (report,) = [c for c in teams.fake.posts_to(WEST) if "You said, we did" in c.text]
    assert card_errors(report.card) == [] and report.size <= 27_000
    text = report.text
    for mark in ("🟢 Done", "🟡 In progress", "🔴 Not possible now"):
        assert mark in text
    assert "**C-1001** Bed alarms" in text and "**C-1003** A second scanner, please — Frozen budget" in text
    assert report.body["summary"].startswith("You said, we did · 4 West Med-Surg")


# --- rounding ----------------------------------------------------------------------------------------------


def round_data(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"huddlebot_form": "round", "unit": "4west", "staff": "6", "patients": "3"}
    data.update(fields)
    return data


async def submit_round(h: TeamsHarness, data: dict[str, Any], *, user: str = DANA) -> dict[str, Any]:
    activity = h.invoke("task/submit", {"data": data}, user=user, user_name="Dana Reyes")
    activity["conversation"] = {"conversationType": "personal", "id": chat(user)}
    status, body = await h.post(activity)
    assert status == 200
    return body


async def test_round_opens_a_dialog_for_the_units_the_leader_leads(teams: TeamsHarness) -> None:
    await teams.post(teams.personal_message("round", user=DANA, name="Dana Reyes"))
    (opener,) = teams.fake.posts_to(chat(DANA))
    assert card_errors(opener.card) == []
    (button,) = opener.card["actions"]
    assert button["data"]["msteams"] == {"type": "task/fetch"} and button["data"]["unit"] == "4west"

    fetch = teams.invoke("task/fetch", {"data": button["data"]}, user=DANA)
    fetch["conversation"] = {"conversationType": "personal", "id": chat(DANA)}
    status, body = await teams.post(fetch)
    assert status == 200 and body["task"]["value"]["title"] == "Log a round"
    (dialog,) = cards_in(body)
    assert card_errors(dialog) == []
    fields = {e.get("id"): e for e in dialog["body"] if e.get("id")}
    assert [c["value"] for c in fields["unit"]["choices"]] == ["4west"] and fields["unit"]["value"] == "4west"
    numbers = [
        i
        for column in dialog["body"]
        if column["type"] == "ColumnSet"
        for c in column["columns"]
        for i in c["items"]
    ]
    assert [(n["id"], n["type"], n["min"], n["max"]) for n in numbers] == [
        (key, "Input.Number", 0, MAX_COUNT) for key in ("staff", "patients", "families")
    ]
    for key in ("wins", "raise_issues", "track_issues", "barriers"):
        assert fields[key]["isMultiline"] is True

    # Staff lead nothing: a kind no. A unit the leader does not lead: the units they do.
    teams.fake.clear()
    await teams.post(teams.personal_message("round", user=JO, name="Jo Martin"))
    await teams.post(teams.personal_message("round micu", user=DANA, name="Dana Reyes"))
    await teams.post(teams.channel_message("round", user=DANA, channel=WEST))
    (staff,) = teams.fake.posts_to(chat(JO))
    assert "for a unit's leaders" in staff.text and not staff.card.get("actions")
    (other,) = teams.fake.posts_to(chat(DANA))
    assert "You can log a round on 4west (4 West Med-Surg)" in other.text
    (channel,) = teams.fake.posts_to(WEST)
    assert "personal chat" in channel.text


async def test_a_round_makes_a_good_catch_a_concern_and_a_tracked_item(teams: TeamsHarness) -> None:
    await teams.install_team()
    body = await submit_round(
        teams,
        round_data(
            patients=3,  # as a number, as some clients send an Input.Number
            families="",
            wins="@jo: caught a wrong label on a drip\n\n@Alex Kim: found the bed alarm unplugged",
            raise_issues="Call bells in rooms 4 to 6 are slow to reach the desk",
            track_issues="Second bladder scanner",
            barriers="More lift slings on nights",
        ),
    )
    (done,) = cards_in(body)
    assert card_errors(done) == []
    said = json.dumps(done)
    assert (
        "Round logged" in said and "Round on 4 West Med-Surg logged (6 staff, 3 patients, 0 families)" in said
    )
    await teams.deliver()

    catches = [c.text for c in teams.fake.posts_to(WEST) if "Good catch!" in c.text]
    assert len(catches) == 2
    assert any("Jo Martin" in t and "caught a wrong label on a drip" in t for t in catches)
    assert any("Alex Kim" in t for t in catches)  # named as the organisation file names them
    assert "recognised you for a good catch" in seen(teams, chat(JO))
    leaders = seen(teams, LEADERS)
    assert "Heard on rounds: Call bells in rooms 4 to 6" in leaders
    stored = await rows(teams, "SELECT status, title, reporter_name FROM concerns ORDER BY id")
    assert stored == [
        {"status": "open", "title": None, "reporter_name": "Dana Reyes"},
        {"status": "in_progress", "title": "Second bladder scanner", "reporter_name": "Dana Reyes"},
    ]

    teams.fake.clear()
    await teams.post(teams.channel_message("huddle stoplight", user=DANA, channel=WEST))
    await teams.deliver()
    (report,) = [c for c in teams.fake.posts_to(WEST) if "You said, we did" in c.text]
    assert "🟡 In progress" in report.text and "Second bladder scanner" in report.text


async def test_bad_rounds_are_refused_kindly_and_change_nothing(teams: TeamsHarness) -> None:
    await teams.install_team()
    before = await row_counts(teams)
    cases = [
        (round_data(staff="-3"), f"Counts are whole numbers from 0 to {MAX_COUNT}"),
        (round_data(families=str(MAX_COUNT + 1)), f"Counts are whole numbers from 0 to {MAX_COUNT}"),
        (round_data(patients="10^30"), f"Counts are whole numbers from 0 to {MAX_COUNT}"),
        (round_data(staff=10**30), f"Counts are whole numbers from 0 to {MAX_COUNT}"),
        (round_data(barriers="\n".join(f"need {n}" for n in range(11))), "At most 10"),
        (round_data(wins="jo caught a wrong label"), "@colleague: what they did"),
        (round_data(raise_issues="x" * 4_001), "the limit is 4,000"),
        (round_data(unit="micu"), "Only the leaders of Medical ICU"),
        # A good win before a bad issue: the whole round is refused, the good catch included.
        (round_data(wins="@jo: caught it", track_issues="y" * 5_000), "the limit is 4,000"),
    ]
    for data, message in cases:
        body = await submit_round(teams, data)
        (dialog,) = cards_in(body)
        assert card_errors(dialog) == []
        warning = dialog["body"][0]
        assert warning["style"] == "attention" and message in json.dumps(warning), message
        kept = {e["id"]: e.get("value") for e in dialog["body"] if e.get("id") in ("wins", "barriers")}
        assert kept["wins"] == data.get("wins", "") and kept["barriers"] == data.get("barriers", "")
    await teams.deliver()
    after = await row_counts(teams)
    assert {k: v for k, v in after.items() if k != "processed_events"} == {
        k: v for k, v in before.items() if k != "processed_events"
    }
    assert not [c for c in teams.fake.posts_to(WEST) if "Good catch!" in c.text]
