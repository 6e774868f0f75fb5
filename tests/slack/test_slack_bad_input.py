"""Bad input from Slack, case by case (issue 10): each malformed payload the issue measured is refused with a
400 where nobody waits, or answered kindly where a person does; either way with one log line naming the
kind of payload and the field (never a value) and not one row changed. The three wrong changes (a form
with no user, or an empty one, stored a named concern; a button with a plain-string user acknowledged)
are refused. Socket Mode goes through the same check."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from multidict import CIMultiDict

from adapters.slack.payloads import OTHER_WORKSPACE, UNKNOWN_COMMAND, UNREADABLE_COMMAND, UNREADABLE_FIELD
from adapters.slack.translate import FormContext, button_command, person
from bot.config import OrgConfig
from bot.errors import Refusal
from bot.model import Address
from tests.conftest import START
from tests.slack.fake_slack import APP_TOKEN
from tests.slack.harness import ALEX, DANA, WEST, WEST_LEADERS, SlackHarness, make_slack
from tests.slack.seeds import (
    FORM,
    Scene,
    all_counts,
    button,
    command,
    envelope,
    message,
    nested,
    send,
    stage,
    submission,
)

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set the field at a dotted path (``actions.0.value``) to ``value``."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = data
        for step in parents:
            node = node[step]
        node[last] = value

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = data
        for step in parents:
            node = node[step]
        del node[last]

    return mutate


@pytest.fixture
async def scene(slack: SlackHarness) -> Scene:
    return await stage(slack)


async def _sent(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture, kind: str, data: Any
) -> tuple[int, Any, list[str]]:
    """Send ``data``; assert nothing changed and nothing was logged at ERROR or with a traceback.
    Returns the status, the answer and the lines huddlebot logged."""
    caplog.set_level(logging.INFO)
    before = await all_counts(slack)
    start = len(caplog.records)
    status, answer = await send(slack, kind, data)
    records = caplog.records[start:]
    assert all(r.levelno < logging.ERROR and not r.exc_info for r in records), [
        r.getMessage() for r in records
    ]
    assert await all_counts(slack) == before
    return status, answer, [r.getMessage() for r in records if r.name.startswith("huddlebot")]


def _one_line(lines: list[str], kind: str, where: str) -> str:
    """The one line the check logged: the kind of payload and the field, no value."""
    [line] = lines
    assert line.startswith(
        (f"slack: refused a payload ({kind}; 400): ", f"slack: a payload did not fit ({kind}); ")
    ), line
    assert f": {where} (" in line, line
    assert ALEX not in line and DANA not in line
    return line


# --- buttons (block_actions): a 400, nothing acknowledged ---------------------------------------------

BUTTON_CASES: list[tuple[str, Mutation, str]] = [
    ("actions: []", _set("actions", []), "actions"),
    ('actions: "x"', _set("actions", "x"), "actions"),
    ("actions: [null]", _set("actions", [None]), "actions[0]"),
    ("action_id: 123", _set("actions.0.action_id", 123), "actions[0].action_id"),
    ("an action_id not ours", _set("actions.0.action_id", "channel-post"), "actions[0].action_id"),
    ("channel not an object", _set("channel", "C04WLEAD1"), "channel"),
    ("container not an object", _set("container", [1]), "container"),
    ("a value nested 1,000 deep", _set("actions.0.value", "[" * 1000 + "]" * 1000), "actions[0].value"),
    ("a value longer than Slack allows", _set("actions.0.value", "9" * 2001), "actions[0].value"),
    ("user a plain string", _set("user", DANA), "user"),
    ("no user", _drop("user"), "user"),
    ('user.id ""', _set("user.id", ""), "user.id"),
    ("user.id a number", _set("user.id", 7), "user.id"),
    ('event: "message"', _set("event", "message"), "event"),
    ("a function token", _set("bot_access_token", "xoxb-elsewhere"), "bot_access_token"),
    ("a command in a button", _set("command", "/concern"), "command"),
]


@pytest.mark.parametrize(("case", "mutate", "where"), BUTTON_CASES, ids=[c[0] for c in BUTTON_CASES])
async def test_a_malformed_button_is_refused_with_400_and_nothing_changes(
    slack: SlackHarness,
    scene: Scene,
    caplog: pytest.LogCaptureFixture,
    case: str,
    mutate: Mutation,
    where: str,
) -> None:
    data = button(scene.card, "acknowledge", user=DANA)  # a leader: as it is, it would acknowledge
    mutate(data)
    status, _, lines = await _sent(slack, caplog, "interactive", data)
    assert status == 400, case
    _one_line(lines, "block_actions", where)
    await slack.deliver()
    assert "Acknowledged" not in scene.card.text and not slack.fake.ephemeral


@pytest.mark.parametrize("depth", [40, 1000, 100_000])
async def test_a_button_value_nested_deep_in_the_json_is_refused(
    slack: SlackHarness, scene: Scene, caplog: pytest.LogCaptureFixture, depth: int
) -> None:
    data = button(scene.card, "acknowledge", user=DANA)
    data["actions"][0]["value"] = nested(depth)
    status, _, lines = await _sent(slack, caplog, "interactive", data)
    assert status == 400
    _one_line(lines, "interactive", "body")


@pytest.mark.parametrize(
    ("action_id", "field"),
    [("answer_clear", "run"), ("answer_concern", "run"), ("acknowledge", "concern"), ("reply", "concern")],
)
async def test_an_id_no_row_can_have_is_a_stale_button_kindly(
    slack: SlackHarness, scene: Scene, caplog: pytest.LogCaptureFixture, action_id: str, field: str
) -> None:
    message = scene.prompt if field == "run" else scene.card
    data = button(message, action_id, user=DANA)
    value = json.loads(data["actions"][0]["value"])
    value[field] = 10**30  # an OverflowError in the database before
    data["actions"][0]["value"] = json.dumps(value)
    status, _, lines = await _sent(slack, caplog, "interactive", data)
    assert status == 200 and lines == []
    [note] = slack.fake.ephemeral
    assert note["user"] == DANA and "That button is out of date" in note["text"]


def test_translate_takes_no_id_a_row_cannot_have() -> None:
    who, where = person("T0HUDDLE1", ALEX), Address("slack", "T0HUDDLE1", channel=WEST)
    for bad in (10**30, 2**63, 0, -4, True):
        with pytest.raises(Refusal):
            button_command(json.dumps({"v": 1, "a": "answer_clear", "run": bad}), who, where)
        assert FormContext.load(json.dumps({"v": 1, "run": bad, "concern": bad})) == FormContext()
    assert (
        button_command('{"v":1,"a":"answer_clear","run":9223372036854775807}', who, where).run_id == 2**63 - 1
    )


# --- forms (view_submission): refused when Slack's structure is broken, kindly when a value is --------

FORM_CASES: list[tuple[str, str, Mutation, str]] = [
    ("view: null", "concern", _set("view", None), "view"),
    ("no user", "concern", _drop("user"), "user"),
    ('user.id ""', "concern", _set("user.id", ""), "user.id"),
    ("user a plain string", "concern", _set("user", ALEX), "user"),
    ("state: null", "concern", _set("view.state", None), "view.state"),
    ("values a list", "concern", _set("view.state.values", []), "view.state.values"),
    ("a block not an object", "concern", _set("view.state.values.unit", "4west"), "view.state.values.unit"),
    (
        "an element not an object",
        "concern",
        _set("view.state.values.unit.value", "4west"),
        "view.state.values.unit.value",
    ),
    (
        "selected_option: [1]",
        "concern",
        _set("view.state.values.unit.value.selected_option", [1]),
        "view.state.values.unit.value.selected_option",
    ),
    (
        'selected_options: "yes"',
        "concern",
        _set("view.state.values.notify.value.selected_options", "yes"),
        "view.state.values.notify.value.selected_options",
    ),
    (
        "a good catch's selected_user an object",
        "good_catch",
        _set("view.state.values.recipient.value.selected_user", {"id": DANA}),
        "view.state.values.recipient.value.selected_user",
    ),
    ("a form not ours", "concern", _set("view.callback_id", "feedback_form"), "view.callback_id"),
    ("private_metadata a number", "concern", _set("view.private_metadata", 7), "view.private_metadata"),
]


def _valid_form(scene: Scene, form: str) -> dict[str, Any]:
    """A submission that, as it is, would store something: a named concern, or a good catch."""
    if form == "concern":
        values = {**FORM, "description": "Bed 12 alarm switched off twice", "notify": []}
    else:
        values = {"recipient": DANA, "text": "Spotted the wrong wristband"}
    return submission(scene.forms[form], values, user=ALEX, view_id="V0BADFORM1")


@pytest.mark.parametrize(("case", "form", "mutate", "where"), FORM_CASES, ids=[c[0] for c in FORM_CASES])
async def test_a_form_slack_could_not_have_sent_is_refused_with_400_and_nothing_is_stored(
    slack: SlackHarness,
    scene: Scene,
    caplog: pytest.LogCaptureFixture,
    case: str,
    form: str,
    mutate: Mutation,
    where: str,
) -> None:
    data = _valid_form(scene, form)
    mutate(data)
    status, _, lines = await _sent(slack, caplog, "interactive", data)
    assert status == 400, case
    _one_line(lines, "view_submission", where)


@pytest.mark.parametrize(
    ("block", "field", "value"),
    [
        ("description", "value", 12345),
        ("anonymity", "selected_option.value", {"level": "named"}),
        ("notify", "selected_options.0.value", 1),
    ],
)
async def test_a_value_of_the_wrong_type_in_a_form_is_a_kind_field_error(
    slack: SlackHarness, scene: Scene, caplog: pytest.LogCaptureFixture, block: str, field: str, value: Any
) -> None:
    data = _valid_form(scene, "concern")
    data["view"]["state"]["values"]["notify"]["value"]["selected_options"] = [{"value": "yes"}]
    _set(f"view.state.values.{block}.value.{field}", value)(data)
    status, answer, lines = await _sent(slack, caplog, "interactive", data)
    assert status == 200
    assert answer == {"response_action": "errors", "errors": {block: UNREADABLE_FIELD}}
    where = f"view.state.values.{block}.value.{field}".replace(".0.", "[0].")
    _one_line(lines, "view_submission", where)


async def test_the_same_forms_as_they_are_do_store(slack: SlackHarness, scene: Scene) -> None:
    """The control: what the cases above break is a submission that works."""
    before = await all_counts(slack)
    status, answer = await send(slack, "interactive", _valid_form(scene, "concern"))
    assert status == 200 and "C-1002" in str(answer)
    assert (await all_counts(slack))["concerns"] == before["concerns"] + 1


async def test_a_form_out_of_date_with_an_id_no_row_can_have_says_so(
    slack: SlackHarness, scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    data = submission(scene.forms["reply"], {"text": "Plumber called."}, user=DANA, view_id="V0BADFORM2")
    data["view"]["private_metadata"] = json.dumps({"v": 1, "concern": 10**30})
    status, answer, lines = await _sent(slack, caplog, "interactive", data)
    assert status == 200 and lines == []
    assert answer["response_action"] == "update" and "This form is out of date." in str(answer["view"])


async def test_closing_a_form_is_acknowledged_and_a_broken_close_refused(
    slack: SlackHarness, scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    data = _valid_form(scene, "concern")
    data["type"] = "view_closed"
    status, _, lines = await _sent(slack, caplog, "interactive", data)
    assert (status, lines) == (200, [])
    data["view"] = "concern"
    status, _, lines = await _sent(slack, caplog, "interactive", data)
    assert status == 400
    _one_line(lines, "view_closed", "view")


async def test_an_interactive_payload_of_a_kind_we_do_not_serve_is_refused(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    for data in ({"type": "shortcut", "callback_id": "x", "user": {"id": ALEX}}, ["block_actions"], "x"):
        status, _, lines = await _sent(slack, caplog, "interactive", data)
        assert status == 400
        _one_line(lines, "interactive", "type" if isinstance(data, dict) else "payload")


# --- events: a 400, nothing handled -------------------------------------------------------------------


def _reply(**changes: Any) -> dict[str, Any]:
    event = message(DANA, WEST_LEADERS, "Plumber called.", thread="1767400000.000100")
    event.update(changes)
    return envelope(event, event_id="Ev0BADEVENT1")


EVENT_CASES: list[tuple[str, Callable[[], dict[str, Any]], str, str]] = [
    ('event: "message"', lambda: {**_reply(), "event": "message"}, "event_callback", "event"),
    ("event: null", lambda: {**_reply(), "event": None}, "event_callback", "event"),
    ("text: 12345", lambda: _reply(text=12345), "message event", "event.text"),
    ("user an object", lambda: _reply(user={"id": DANA}), "message event", "event.user"),
    ("channel an object", lambda: _reply(channel={"id": WEST_LEADERS}), "message event", "event.channel"),
    ("a person's message naming nobody", lambda: _reply(user=None), "message event", "event.user"),
    ("thread_ts a number", lambda: _reply(thread_ts=1767400000.0001), "message event", "event.thread_ts"),
    ("event_id an object", lambda: {**_reply(), "event_id": {}}, "message event", "event_id"),
    (
        "authorizations a string",
        lambda: {**_reply(), "authorizations": "x"},
        "message event",
        "authorizations",
    ),
    (
        "a mention naming nobody",
        lambda: envelope({"type": "app_mention", "channel": WEST, "text": "<@U0BOT0001>", "ts": "1.2"}),
        "app_mention event",
        "event.user",
    ),
    (
        "the Home tab of an empty user",
        lambda: envelope({"type": "app_home_opened", "user": "", "tab": "home"}),
        "app_home_opened event",
        "event.user",
    ),
    ("an envelope of another type", lambda: {**_reply(), "type": "block_actions"}, "event", "type"),
    (
        "url_verification's challenge an object",
        lambda: {"type": "url_verification", "challenge": {}},
        "url_verification",
        "challenge",
    ),
]


@pytest.mark.parametrize(("case", "make", "kind", "where"), EVENT_CASES, ids=[c[0] for c in EVENT_CASES])
async def test_a_malformed_event_is_refused_with_400_and_not_handled(
    slack: SlackHarness,
    scene: Scene,
    caplog: pytest.LogCaptureFixture,
    case: str,
    make: Callable[[], dict[str, Any]],
    kind: str,
    where: str,
) -> None:
    status, _, lines = await _sent(slack, caplog, "event", make())
    assert status == 400, case
    _one_line(lines, kind, where)
    assert not slack.fake.ephemeral


async def test_a_reply_in_a_concern_thread_with_a_numeric_text_does_not_reach_the_concern(
    slack: SlackHarness, scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    event = message(DANA, WEST_LEADERS, "Plumber called.", thread=scene.card.ts, ts="1767406700.000100")
    event["text"] = 12345
    status, _, lines = await _sent(slack, caplog, "event", envelope(event, event_id="Ev0BADEVENT2"))
    assert status == 400
    _one_line(lines, "message event", "event.text")
    await slack.deliver()
    assert "Acknowledged" not in scene.card.text


async def test_events_we_do_not_act_on_are_acknowledged_quietly(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    reaction = envelope({"type": "reaction_added", "user": ALEX, "reaction": "eyes", "item": {}})
    for data in (reaction, {"type": "app_rate_limited", "minute_rate_limited": 1518467820}):
        status, _, lines = await _sent(slack, caplog, "event", data)
        assert (status, lines) == (200, [])
    status, answer, _ = await _sent(slack, caplog, "event", {"type": "url_verification", "challenge": "c4ll"})
    assert (status, answer) == (200, {"challenge": "c4ll"})


# --- slash commands: a 400 when nobody is named, else an ephemeral word ---------------------------------


@pytest.mark.parametrize(
    ("case", "mutate", "where"),
    [
        ("no user_id", _drop("user_id"), "user_id"),
        ('user_id ""', _set("user_id", ""), "user_id"),
        ("no command", _drop("command"), "command"),
    ],
)
async def test_a_command_that_names_nobody_is_refused_with_400(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture, case: str, mutate: Mutation, where: str
) -> None:
    data = command("/huddle", "now", user=DANA)  # as it is, it would start the huddle
    mutate(data)
    status, _, lines = await _sent(slack, caplog, "command", data)
    assert status == 400, case
    _one_line(lines, "slash command", where)
    assert not slack.fake.top(WEST)


@pytest.mark.parametrize(
    ("case", "mutate", "text", "where"),
    [
        ("a command not ours", _set("command", "/speakup"), UNKNOWN_COMMAND, "command"),
        ("a typed command", _set("type", "view_submission"), UNREADABLE_COMMAND, "type"),
        ("an event in a command", _set("event", "message"), UNREADABLE_COMMAND, "event"),
        ("text over 40,000 characters", _set("text", "now " * 10_001), UNREADABLE_COMMAND, "body"),
    ],
)
async def test_a_command_someone_typed_that_does_not_fit_gets_a_kind_word(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture, case: str, mutate: Mutation, text: str, where: str
) -> None:
    data = command("/huddle", "now", user=DANA)
    mutate(data)
    status, answer, lines = await _sent(slack, caplog, "command", data)
    assert status == 200, case
    assert answer == {"response_type": "ephemeral", "text": text}
    _one_line(lines, "slash command", where)


async def test_a_command_that_mentions_payload_is_still_a_command(slack: SlackHarness) -> None:
    """Bolt reads any form body holding the word "payload" as interactivity (and finds nothing); the
    checked payload is what Bolt is given."""
    status, answer = await send(
        slack, "command", command("/concern", "help", user=ALEX) | {"user_name": "payload"}
    )
    assert status == 200 and "/concern follow-up CODE" in answer["text"]


# --- the body itself ----------------------------------------------------------------------------------


async def test_a_body_that_cannot_be_read_is_refused_with_400(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    cases = [
        (b'{"type": "event_callback", "event": ', "application/json", "event", "body"),
        (b"payload=%7B%22type%22%3A", "application/x-www-form-urlencoded", "interactive", "body"),
        ("payload=caf\u00e9".encode("latin-1"), "application/x-www-form-urlencoded", "request", "body"),
        (b"command=%2Fhuddle&user_id=U0ALEX01", "text/plain", "request", "Content-Type"),
    ]
    for body, content_type, kind, where in cases:
        before = await all_counts(slack)
        start = len(caplog.records)
        status, _ = await slack.post(body, content_type)
        assert status == 400, body
        _one_line(
            [r.getMessage() for r in caplog.records[start:] if r.name.startswith("huddlebot")], kind, where
        )
        assert await all_counts(slack) == before


async def test_a_duplicate_content_type_is_a_400_with_one_line_and_no_traceback(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = await all_counts(slack)
    body = json.dumps({"type": "url_verification", "challenge": "c4ll"}).encode()
    headers = CIMultiDict([("Content-Type", "application/json"), ("Content-Type", "text/plain")])
    response = await slack.client.post("/slack/events", data=body, headers=headers)
    assert response.status == 400
    lines = [r for r in caplog.records if r.name == "aiohttp.server"]
    [line] = [r.getMessage() for r in lines]
    assert line == "http: refused a request aiohttp could not parse (400): duplicate Content-Type header " + (
        "(BadHttpMessage)"
    )
    assert not any(r.exc_info or r.exc_text or r.levelno >= logging.ERROR for r in caplog.records)
    assert await all_counts(slack) == before


# --- Socket Mode: the same check, then acknowledged and dropped ---------------------------------------


@pytest.fixture
async def socket_slack(sqlite_url: str, example_config: OrgConfig) -> AsyncIterator[SlackHarness]:
    harness = await make_slack(sqlite_url, example_config, start=START, seal_key=None, app_token=APP_TOKEN)
    yield harness
    await harness.close()


async def test_socket_mode_checks_every_envelope_the_same_way(
    socket_slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    slack, fake = socket_slack, socket_slack.fake
    caplog.set_level(logging.INFO)
    before = await all_counts(slack)

    bad_command = command("/huddle", "now", user=DANA)
    del bad_command["user_id"]
    reply = await fake.push("slash_commands", bad_command, "env-1")
    assert reply == {"envelope_id": "env-1"}  # acknowledged, so Slack does not send it again; dropped

    reply = await fake.push("slash_commands", command("/speakup", "now", user=DANA), "env-2")
    assert reply["payload"] == {"response_type": "ephemeral", "text": UNKNOWN_COMMAND}

    await fake.push(
        "slash_commands", command("/concern", "", user=ALEX, trigger=fake.issue_trigger()), "env-3"
    )
    form = slack.last_view()
    data = submission(form, {**FORM, "description": "Bed 12 alarm", "notify": []}, user=ALEX, view_id="V0S1")
    broken = copy.deepcopy(data)
    del broken["user"]
    assert (await fake.push("interactive", broken, "env-4")) == {"envelope_id": "env-4"}
    broken = copy.deepcopy(data)
    broken["view"]["state"]["values"]["description"]["value"]["value"] = 12345
    reply = await fake.push("interactive", broken, "env-5")
    assert reply["payload"] == {"response_action": "errors", "errors": {"description": UNREADABLE_FIELD}}

    event = envelope(message(DANA, WEST_LEADERS, "Plumber called.", thread="1767400000.000100"))
    event["event"] = "message"
    assert (await fake.push("events_api", event, "env-6")) == {"envelope_id": "env-6"}

    lines = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith(("slack: refused a payload", "slack: a payload"))
    ]
    assert len(lines) == 5, lines
    assert not any(r.levelno >= logging.ERROR or r.exc_info for r in caplog.records)
    assert await all_counts(slack) == before

    reply = await fake.push("interactive", data, "env-7")  # the control: as it is, it is raised
    assert "C-1001" in str(reply["payload"])


async def test_a_signed_payload_from_another_workspace_is_answered_and_not_acted_on(
    slack: SlackHarness, scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    """The app installed in a second workspace by mistake: its people are not ours, nothing of theirs
    reaches our units. The person who typed is told why; a click or an event is only acknowledged."""
    typed = command("/concern", "A wet floor by bed 4", user=ALEX)
    typed["team_id"] = "T0ELSEWHERE"
    status, answer, lines = await _sent(slack, caplog, "command", typed)
    assert status == 200 and answer["text"] == OTHER_WORKSPACE
    assert any("another workspace (T0ELSEWHERE)" in line for line in lines)
    pressed = button(scene.card, "acknowledge", user=DANA)  # a leader's click, from elsewhere
    pressed["team"]["id"] = "T0ELSEWHERE"
    status, answer, _ = await _sent(slack, caplog, "interactive", pressed)
    assert status == 200 and not answer
    await slack.deliver()
    assert "Acknowledged" not in scene.card.text and not slack.fake.ephemeral
