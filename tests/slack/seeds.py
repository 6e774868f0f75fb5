"""Valid payloads of every kind huddlebot accepts from Slack, built from the real captured ones in
``payloads/`` (their ids adapted to the example organisation's workspace) and from what the app itself
put in front of people: its huddle prompt and concern card buttons, and its own forms.

The bad-input tests start from these and break them. Every seed here changes nothing when sent as it is
(a read, a form opened, a refusal; a thread message records only its event id), and none is one change
away from a payload that would: each that could store something is refused twice over (an empty text
*and* an unknown unit, a non-leader *and* an empty reply, ...). So after any single mutation, a changed
row count can only mean bad input was acted on.
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from adapters.slack import modals
from adapters.slack.translate import FormContext
from storage.tables import metadata
from tests.slack.fake_slack import Message
from tests.slack.harness import (
    ALEX,
    DANA,
    JO,
    WEST,
    WEST_LEADERS,
    SlackHarness,
    _values,  # Slack's view.state.values for simple input
    payload,
)
from tests.sql import row_counts

TEAM = "T0HUDDLE1"
FORM = {"severity": "moderate", "category": "safe", "type": "falls", "unit": "4west", "anonymity": "named"}
ROUND_FORM = {
    "unit": "4west",
    "staff": "6",
    "patients": "3",
    "families": "1",
    "wins": "@jo: caught a look-alike vial",
    "concerns": "The hoist battery keeps dying",
    "tracked": "Second bladder scanner",
    "barriers": "A hoist charger",
}
# Tables a handled request may add to: the event ids of Slack events (Slack retries; each is handled
# once). Nothing else may change.
DEDUPE_TABLES = ("processed_events",)


@dataclass(frozen=True)
class Seed:
    """One valid payload: ``kind`` is ``command`` (form fields), ``interactive`` or ``event`` (JSON)."""

    name: str
    kind: str
    data: dict[str, Any]


def nested(depth: int) -> str:
    """A stand-in for a JSON array nested ``depth`` deep, written out by ``encode`` (``json.dumps`` itself
    gives up near 1,000 levels)."""
    return f"<nested {depth} deep>"


_NESTED = re.compile(r'"<nested (\d+) deep>"')


def _dumps(data: Any) -> str:
    return _NESTED.sub(lambda m: "[" * int(m.group(1)) + '"x"' + "]" * int(m.group(1)), json.dumps(data))


def encode(kind: str, data: Any) -> tuple[bytes, str]:
    """The body and content type Slack would send for ``data`` (each ``nested(n)`` written out)."""
    if kind == "command":
        return urlencode(data).encode(), "application/x-www-form-urlencoded"
    if kind == "interactive":
        return urlencode({"payload": _dumps(data)}).encode(), "application/x-www-form-urlencoded"
    return _dumps(data).encode(), "application/json"


async def send(slack: SlackHarness, kind: str, data: Any) -> tuple[int, Any]:
    """Sign and post ``data`` to ``/slack/events``; the status and the decoded answer."""
    body, content_type = encode(kind, data)
    return await slack.post(body, content_type)


async def counts(slack: SlackHarness) -> dict[str, int]:
    """Every table's row count but the dedupe tables': ``tests.sql.row_counts`` in one statement (it opens
    a connection a table, which would make the property tests three times slower)."""
    names = [table.name for table in metadata.sorted_tables if table.name not in DEDUPE_TABLES]
    engine = slack.app.core.uow.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        found = (
            await conn.execute(sa.text("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {n})" for n in names)))
        ).one()
    return dict(zip(names, found, strict=True))


async def all_counts(slack: SlackHarness) -> dict[str, int]:
    """Every table's row count, the dedupe tables' too (``tests.sql.row_counts``)."""
    return await row_counts(slack.app)  # type: ignore[arg-type]


# --- builders, from the real payloads -------------------------------------------------------------


def command(name: str, text: str = "", *, user: str = ALEX, channel: str = WEST, trigger: str = "") -> dict:
    form = payload("slash_command.txt")
    form.update(
        team_id=TEAM,
        channel_id=channel,
        channel_name="unit",
        user_id=user,
        user_name="testuser",
        command=name,
        text=text,
        trigger_id=trigger or "10520020890661.10229338706656.2e2188a074adf3bf9f8456b30180f405",
    )
    return form


def _user(user: str) -> dict[str, Any]:
    return {"id": user, "username": "testuser", "name": "testuser", "team_id": TEAM}


def button(message: Message, action_id: str, *, user: str, trigger: str = "") -> dict[str, Any]:
    """Pressing a button of a message the bot posted (the real block_actions payload, adapted)."""
    element = next(
        e
        for block in message.blocks
        if block["type"] == "actions"
        for e in block["elements"]
        if e["action_id"] == action_id
    )
    data = copy.deepcopy(payload("block_actions.json"))
    data.update(
        user=_user(user),
        team={"id": TEAM, "domain": "example-health"},
        channel={"id": message.channel, "name": "unit"},
        message={"ts": message.ts, "type": "message"},
        trigger_id=trigger or data["trigger_id"],
    )
    data["container"] = {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": message.channel,
        "is_ephemeral": False,
    }
    if message.thread_ts:
        data["container"]["thread_ts"] = message.thread_ts
    data["actions"] = [
        {
            "action_id": action_id,
            "block_id": "actions",
            "text": element["text"],
            "value": element["value"],
            "type": "button",
            "action_ts": "1771287154.085947",
        }
    ]
    return data


def submission(view: dict[str, Any], values: dict[str, Any], *, user: str, view_id: str) -> dict[str, Any]:
    """Sending one of the app's forms (the real view_submission payload, adapted)."""
    data = copy.deepcopy(payload("view_submission.json"))
    data["user"] = _user(user)
    data["team"] = {"id": TEAM, "domain": "example-health"}
    data["view"].update(
        id=view_id,
        team_id=TEAM,
        app_installed_team_id=TEAM,
        root_view_id=view_id,
        callback_id=view["callback_id"],
        private_metadata=view.get("private_metadata", ""),
        blocks=view["blocks"],
        title=view["title"],
        state={"values": _values(values)},
    )
    return data


def closed(view: dict[str, Any], *, user: str, view_id: str) -> dict[str, Any]:
    """Closing one of the app's forms without sending it."""
    data = submission(view, {}, user=user, view_id=view_id)
    data["type"] = "view_closed"
    data["is_cleared"] = False
    return data


def envelope(event: dict[str, Any], *, event_id: str = "Ev0SEED00001", real: str = "") -> dict[str, Any]:
    """An Events API callback (a real envelope, adapted)."""
    data = copy.deepcopy(payload(real or "event_message_thread_reply.json"))
    data.update(team_id=TEAM, event_id=event_id, event_time=int(time.time()), event=event)
    data["authorizations"] = [
        {"enterprise_id": None, "team_id": TEAM, "user_id": "U0BOT0001", "is_bot": True}
    ]
    data.pop("enterprise_id", None)
    data.pop("context_team_id", None)
    return data


def message(user: str, channel: str, text: str, *, thread: str | None = None, ts: str = "") -> dict:
    event = copy.deepcopy(payload("event_message_thread_reply.json")["event"])
    event.update(user=user, channel=channel, text=text, team=TEAM, ts=ts or "1767406631.679539")
    event["event_ts"] = event["ts"]
    event["channel_type"] = "im" if channel.startswith("D") else "channel"
    if thread:
        event["thread_ts"] = thread
    else:
        event.pop("thread_ts", None)
        event.pop("parent_user_id", None)
    return event


def mention(user: str, channel: str) -> dict[str, Any]:
    event = copy.deepcopy(payload("event_app_mention.json")["event"])
    event.update(user=user, channel=channel, team=TEAM, text="<@U0BOT0001> hello")
    event["blocks"][0]["elements"][0]["elements"][0]["user_id"] = "U0BOT0001"
    return event


# --- the scene ------------------------------------------------------------------------------------


@dataclass
class Scene:
    """What the app put in front of people: a huddle prompt, a concern card, and its forms."""

    prompt: Message
    card: Message
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    seeds: list[Seed] = field(default_factory=list)

    def seed(self, name: str) -> Seed:
        return next(s for s in self.seeds if s.name == name)


async def stage(slack: SlackHarness) -> Scene:
    """Dana starts 4 West's huddle, Alex raises C-1001 (named) and it reaches the leaders; then every
    form the app has is opened once. Returns the scene and the seeds."""
    assert "Huddle started" in (await slack.command("/huddle", "now", user=DANA))["text"]
    await slack.command("/concern", "", user=ALEX)
    concern_form = slack.last_view()
    answer = await slack.submit(
        concern_form,
        {**FORM, "description": "Wet floor by the nurses' station"},
        user=ALEX,
        view_id="V0SEED1",
    )
    assert "C-1001" in str(answer)
    await slack.deliver()
    [prompt] = slack.fake.top(WEST)
    [card] = slack.fake.top(WEST_LEADERS)
    await slack.press(card, "reply", user=DANA, channel=WEST_LEADERS)
    reply_form = slack.last_view()
    await slack.press(card, "resolve", user=DANA, channel=WEST_LEADERS)
    resolve_form = slack.last_view()
    await slack.press(card, "not_possible", user=DANA, channel=WEST_LEADERS)
    not_possible_form = slack.last_view()
    await slack.press(card, "in_progress", user=DANA, channel=WEST_LEADERS)
    in_progress_form = slack.last_view()
    await slack.command("/round", "", user=DANA)
    round_form = slack.last_view()
    await slack.press(prompt, "answer_goodcatch", user=ALEX, channel=WEST)
    good_catch_form = slack.last_view()
    follow_up_form = modals.follow_up_form(
        FormContext(code="C-1001-AAAA-BBBB-CCCC-DDDD"), "Leaders: we have called the plumber."
    )
    scene = Scene(
        prompt=prompt,
        card=card,
        forms={
            "concern": concern_form,
            "reply": reply_form,
            "resolve": resolve_form,
            "not_possible": not_possible_form,
            "in_progress": in_progress_form,
            "round": round_form,
            "good_catch": good_catch_form,
            "follow_up": follow_up_form,
        },
    )
    scene.seeds = _seeds(scene)
    return scene


FRESH = "V0FRESH"  # a form's view id the tests replace with a new one each time (else it is a re-send)


def storing_seeds(scene: Scene) -> list[Seed]:
    """Forms that, sent as they are, do store something: a named concern, a good catch."""
    forms = scene.forms
    concern = {**FORM, "description": "Bed 12 alarm switched off twice", "notify": []}
    good_catch = {"recipient": DANA, "text": "Spotted the wrong wristband"}
    return [
        Seed(
            "a named concern", "interactive", submission(forms["concern"], concern, user=ALEX, view_id=FRESH)
        ),
        Seed(
            "a good catch",
            "interactive",
            submission(forms["good_catch"], good_catch, user=ALEX, view_id=FRESH),
        ),
    ]


def _seeds(scene: Scene) -> list[Seed]:
    forms, card, prompt = scene.forms, scene.card, scene.prompt
    unknown_thread = "1767400000.000100"
    return [
        # Slash commands: reads, help, forms opened, refusals.
        Seed("huddle status", "command", command("/huddle", "status")),
        Seed("huddle now, not a leader", "command", command("/huddle", "now")),
        Seed("concern help", "command", command("/concern", "help")),
        Seed("concern opens the form", "command", command("/concern", "Sink blocked in the sluice")),
        Seed("concern show", "command", command("/concern", "show C-1001")),
        Seed("concern follow-up, wrong code", "command", command("/concern", "follow-up C-1001-AAAA")),
        Seed("goodcatch opens the form", "command", command("/goodcatch", "")),
        Seed("goodcatch help", "command", command("/goodcatch", "help", channel=WEST_LEADERS)),
        Seed("round opens the form", "command", command("/round", "4west", user=DANA)),
        Seed("round, not a leader", "command", command("/round", "")),
        # Buttons: a non-leader on the card (refused), forms opened by the card and the prompt.
        Seed("acknowledge, not a leader", "interactive", button(card, "acknowledge", user=ALEX)),
        Seed("in progress, not a leader", "interactive", button(card, "in_progress", user=ALEX)),
        Seed("in progress button", "interactive", button(card, "in_progress", user=DANA)),
        Seed("reply button", "interactive", button(card, "reply", user=DANA)),
        Seed("resolve button", "interactive", button(card, "resolve", user=DANA)),
        Seed("not possible button", "interactive", button(card, "not_possible", user=DANA)),
        Seed("not possible, not a leader", "interactive", button(card, "not_possible", user=JO)),
        Seed("raise a concern button", "interactive", button(prompt, "answer_concern", user=ALEX)),
        Seed("good catch button", "interactive", button(prompt, "answer_goodcatch", user=ALEX)),
        # The app's forms, each refused twice over.
        Seed(
            "concern form, empty and no such unit",
            "interactive",
            submission(
                forms["concern"], {**FORM, "description": "", "unit": "nowhere"}, user=ALEX, view_id="V0SEED2"
            ),
        ),
        # Jo is neither a leader of 4 West nor C-1001's reporter (who may answer the leaders).
        Seed(
            "reply form, not a leader and empty",
            "interactive",
            submission(forms["reply"], {"text": ""}, user=JO, view_id="V0SEED3"),
        ),
        Seed(
            "resolve form, not a leader and empty",
            "interactive",
            submission(forms["resolve"], {"text": ""}, user=JO, view_id="V0SEED4"),
        ),
        Seed(
            "not possible form, not a leader and no reason",
            "interactive",
            submission(forms["not_possible"], {"reason": "", "title": "Scanner"}, user=JO, view_id="V0SEED8"),
        ),
        Seed(
            "in progress form, not a leader and a title too long",
            "interactive",
            submission(
                forms["in_progress"],
                {"note": "Sign ordered", "title": "x" * 121},
                user=JO,
                view_id="V0SEED10",
            ),
        ),
        # Alex leads no unit, and there is no unit "nowhere".
        Seed(
            "round form, not a leader and no such unit",
            "interactive",
            submission(forms["round"], ROUND_FORM | {"unit": "nowhere"}, user=ALEX, view_id="V0SEED9"),
        ),
        Seed(
            "good catch form, nobody and nothing",
            "interactive",
            submission(forms["good_catch"], {"recipient": None, "text": ""}, user=ALEX, view_id="V0SEED5"),
        ),
        Seed(
            "follow-up form, wrong code and empty",
            "interactive",
            submission(forms["follow_up"], {"text": ""}, user=ALEX, view_id="V0SEED6"),
        ),
        Seed("concern form closed", "interactive", closed(forms["concern"], user=ALEX, view_id="V0SEED7")),
        # Events: the real envelopes; a thread the bot never started, a mention, the Home tab, a DM.
        Seed(
            "reply in an unknown thread",
            "event",
            envelope(message(DANA, WEST_LEADERS, "Plumber called.", thread=unknown_thread)),
        ),
        Seed("a message, no thread", "event", envelope(message(ALEX, WEST, "Morning all"))),
        Seed(
            "app mention",
            "event",
            envelope(mention(ALEX, WEST), real="event_app_mention.json", event_id="Ev0SEED00002"),
        ),
        Seed(
            "home opened",
            "event",
            envelope(
                {
                    "type": "app_home_opened",
                    "user": ALEX,
                    "channel": "D0ALEX001",
                    "tab": "home",
                    "event_ts": "1767406631.679539",
                },
                event_id="Ev0SEED00003",
            ),
        ),
        Seed("url verification", "event", payload("url_verification.json")),
    ]
