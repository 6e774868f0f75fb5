"""The validation layer (``adapters/teams/payloads.py``) on the request path: a wrong shape is a 4xx,
one log line naming the kind and the field (never a value), and nothing stored or sent."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from adapters.teams import payloads
from bot import actions
from tests.sql import row_counts
from tests.teams.conftest import DANA, STAFF, UNIT_CHANNELS, TeamsHarness, fixture
from tests.teams.test_teams_bad_input_properties import RECORDED

LEADERS = UNIT_CHANNELS["4west-leaders"]
WEST = UNIT_CHANNELS["4west"]
SECRET = "CANARY-do-not-log"
ERROR_TYPE = "application/vnd.microsoft.error"


async def post_raw(h: TeamsHarness, body: bytes | dict[str, Any]) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await h.client.post("/api/messages", data=data, headers={"Content-Type": "application/json"})
    raw = await response.read()
    return response.status, json.loads(raw) if raw else None


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "huddlebot.teams.http"]


async def refused(
    h: TeamsHarness, caplog: pytest.LogCaptureFixture, activity: dict[str, Any] | bytes, status: int = 400
) -> tuple[str, Any]:
    """Post ``activity``; assert it was refused with ``status``, stored and sent nothing, logged one line
    (without the activity's values); return that line and the answer."""
    before = await row_counts(h)
    h.fake.clear()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        got, body = await post_raw(h, activity)
    assert got == status, body
    assert await row_counts(h) == before
    assert h.fake.calls == []
    (line,) = refusals(caplog)
    assert SECRET not in caplog.text and STAFF not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    return line, body


@pytest.mark.parametrize("name", RECORDED)
def test_every_recorded_payload_has_the_shape_we_read(name: str) -> None:
    assert payloads.check(fixture(name)) is None


async def test_a_message_with_nothing_but_its_type_is_a_400(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    line, body = await refused(teams, caplog, {"type": "message"})
    assert line == "refused a Teams message: id is missing"
    assert body == {"error": "message: id is missing"}
    activity = teams.personal_message(f"help {SECRET}", user=STAFF)
    for field in ("conversation", "from", "serviceUrl", "recipient"):
        broken = {k: v for k, v in activity.items() if k != field}
        line, _ = await refused(teams, caplog, broken)
        assert line == f"refused a Teams message: {field} is missing"


@pytest.mark.parametrize("user", [None, "", "   ", 42, {"id": "29:x"}])
@pytest.mark.parametrize("kind", ["message", "invoke", "conversationUpdate", "installationUpdate"])
async def test_a_request_that_names_no_user_is_refused(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture, kind: str, user: Any
) -> None:
    await teams.install_team()
    if kind == "message":
        activity = teams.personal_message(f"concern --unit 4west {SECRET}", user=STAFF)
    elif kind == "invoke":
        value = {"commandId": "raiseConcern", "data": {"text": SECRET, "unit": "4west"}}
        activity = teams.invoke("composeExtension/submitAction", value, user=STAFF, channel=WEST)
    else:
        activity = teams.prepare(fixture("conversation_update_bot_added_personal"))
        activity["conversation"]["id"] = "a:1personal-new"
        activity["type"] = kind
        activity["action"] = "add"
    activity["from"] = {"name": SECRET} if user is None else {"id": user, "name": SECRET}
    line, body = await refused(teams, caplog, activity)
    assert line.startswith(f"refused a Teams {kind}") and "from.id is " in line
    if kind == "invoke":
        assert body["statusCode"] == 400 and body["type"] == ERROR_TYPE


async def test_an_invoke_of_the_wrong_shape_gets_teams_error_response(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await teams.install_team()
    await teams.post(teams.personal_message("concern --unit 4west The bed alarm is broken", user=DANA))
    good = {"type": "Action.Execute", "verb": "acknowledge", "data": {"huddlebot": "x"}}
    cases = {
        "value.action is missing": {"trigger": "manual"},
        "value.action is not an object": {"action": SECRET},
        "value.action.data is not an object": {"action": {**good, "data": [SECRET]}},
        "value.action.data.huddlebot is not a string": {"action": {**good, "data": {"huddlebot": 1}}},
        "value.action.data.reply_text is not a string": {
            "action": {**good, "data": {"huddlebot": "x", "reply_text": {"t": SECRET}}}
        },
        "value.action.verb is not a string": {"action": {**good, "verb": [1]}},
    }
    for problem, value in cases.items():
        invoke = teams.invoke("adaptiveCard/action", value, user=DANA, channel=LEADERS)
        line, body = await refused(teams, caplog, invoke)
        assert line == f"refused a Teams invoke adaptiveCard/action: {problem}"
        assert body == {
            "statusCode": 400,
            "type": ERROR_TYPE,
            "value": {
                "code": "BadRequest",
                "message": "huddlebot could not read this request. Nothing was changed.",
            },
        }


async def test_dialog_submissions_of_the_wrong_shape(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await teams.install_team()
    form = {"huddlebot_form": "concern", "text": SECRET, "unit": "4west", "anonymity": "named"}
    cases = {
        "value.data.text is not a string": {**form, "text": 12345},
        "value.data.anonymity is not a string": {**form, "anonymity": {"a": 1}},
        "value.data.run is out of range": {**form, "run": 10**30},
        "value.data.run is not an integer": {**form, "run": True},
        "value.data.text is too long": {**form, "text": SECRET + "x" * 100_000},
    }
    for name in ("composeExtension/submitAction", "task/submit"):
        for problem, data in cases.items():
            invoke = teams.invoke(name, {"commandId": "raiseConcern", "data": data}, user=STAFF, channel=WEST)
            line, _ = await refused(teams, caplog, invoke)
            assert line == f"refused a Teams invoke {name}: {problem}"
        line, _ = await refused(teams, caplog, teams.invoke(name, {"data": SECRET}, user=STAFF, channel=WEST))
        assert line.endswith("value.data is not an object")


async def test_messages_of_the_wrong_shape(teams: TeamsHarness, caplog: pytest.LogCaptureFixture) -> None:
    activity = teams.personal_message("help", user=STAFF)
    cases: dict[str, tuple[str, Any]] = {
        "text is not a string": ("text", 12345),
        "entities is not a list": ("entities", {"type": "mention"}),
        "entities[0].mentioned is missing": ("entities", [{"type": "mention", "text": SECRET}]),
        "entities[0].quotedReply is not an object": ("entities", [{"type": "quotedReply", "quotedReply": 1}]),
        "value is not an object": ("value", [SECRET]),
        "conversation.conversationType is not one of the values Teams sends": (
            "conversation",
            {"id": "a:1", "conversationType": SECRET},
        ),
        "serviceUrl is not an http(s) URL": ("serviceUrl", f"ftp://{SECRET}"),
        "channelData.tenant is not an object": ("channelData", {"tenant": SECRET}),
    }
    for problem, (field, value) in cases.items():
        line, _ = await refused(teams, caplog, {**activity, field: value})
        assert line == f"refused a Teams message: {problem}"


async def test_body_size_and_nesting_are_capped(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    activity = teams.personal_message(SECRET, user=STAFF)
    line, _ = await refused(teams, caplog, {**activity, "text": "x" * payloads.MAX_BODY_BYTES}, status=413)
    assert line == "refused a Teams request: is too large"
    for levels in (payloads.MAX_DEPTH, 100_000):  # deeper than Python's recursion limit, too
        nested = json.dumps({**activity, "channelData": "NEST"}).replace(
            '"NEST"', "[" * levels + "]" * levels
        )
        line, _ = await refused(teams, caplog, nested.encode())
        assert line == f"refused a Teams request: is nested more than {payloads.MAX_DEPTH} levels deep"
    line, _ = await refused(teams, caplog, b"\xff\xfe{")
    assert line == "refused a Teams request: is not JSON"
    line, _ = await refused(teams, caplog, b"[1, 2]")
    assert line == "refused a Teams request: is not an Activity (a JSON object)"
    line, _ = await refused(teams, caplog, json.dumps({**activity, "type": 5}).encode())
    assert line == "refused a Teams activity: type is missing or not a string"


async def test_fields_we_do_not_read_may_hold_anything(teams: TeamsHarness) -> None:
    activity = teams.personal_message("help", user=STAFF)
    activity.update(
        attachments=[{"deep": [[[[[[]]]]]]}],
        locale=5,
        localTimestamp=None,
        recipient={**activity["recipient"], "name": ["not", "a", "name"]},
    )
    activity["from"]["aadObjectId"] = {"odd": True}
    assert (await teams.post(activity))[0] == 200
    assert "What you can ask me" in teams.fake.posts_to(f"a:1personal-{STAFF}")[-1].text


async def test_activity_types_we_do_not_act_on_are_accepted_when_they_name_a_user(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    activity = teams.personal_message("", user=STAFF)
    activity["type"] = "typing"
    before = await row_counts(teams)
    assert (await teams.post(activity))[0] == 200
    assert await row_counts(teams) == before and teams.fake.calls == []
    line, _ = await refused(teams, caplog, {"type": "typing"})
    assert line == "refused a Teams activity (other type): serviceUrl is missing"


@pytest.mark.parametrize("concern", [10**30, 2**63, -1, 0, True, 10**12])
async def test_forged_button_ids_are_out_of_date_buttons(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture, concern: Any
) -> None:
    await teams.install_team()
    value = json.dumps({"v": 1, "a": "acknowledge", "concern": concern})
    before = await row_counts(teams)
    with caplog.at_level(logging.INFO):
        status, body = await teams.post(
            teams.invoke(
                "adaptiveCard/action",
                {"action": {"type": "Action.Execute", "verb": "acknowledge", "data": {"huddlebot": value}}},
                user=DANA,
                channel=LEADERS,
            )
        )
    assert status == 200 and body["value"] == "That button is out of date. Please use the latest message."
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    changed = {t for t, n in (await row_counts(teams)).items() if before[t] != n}
    assert changed <= {"processed_events"}
    huge_run = json.dumps({"v": 1, "a": "answer_concern", "run": 10**30})
    status, body = await teams.post(
        teams.invoke("task/fetch", {"data": {"huddlebot": huge_run}}, user=STAFF, channel=WEST)
    )
    assert status == 200 and "run" not in body["task"]["value"]["card"]["content"]["actions"][0]["data"]


async def test_a_valid_activity_still_works_end_to_end(teams: TeamsHarness) -> None:
    await teams.install_team()
    status, _ = await teams.post(
        teams.personal_message("concern --unit 4west The bed alarm on 12 is broken", user=STAFF)
    )
    assert status == 200
    assert (await row_counts(teams))["concerns"] == 1
    value = actions.concern_action("acknowledge", 1)
    status, body = await teams.post(
        teams.invoke(
            "adaptiveCard/action",
            {"action": {"type": "Action.Execute", "verb": "acknowledge", "data": {"huddlebot": value}}},
            user=DANA,
            channel=LEADERS,
        )
    )
    assert status == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"


async def test_a_body_that_is_not_in_its_content_encoding(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await teams.client.post(
            "/api/messages",
            data=json.dumps(teams.personal_message(SECRET, user=STAFF)).encode(),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status == 400
    assert refusals(caplog) == ["refused a Teams request: could not be decoded"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR] and SECRET not in caplog.text
