"""A real huddlebot serving Slack on 127.0.0.1: the real ``/slack/events`` endpoint, signed requests built
from real Slack payloads (``payloads/``, copied from ../shared/fixtures/real/slack, see SOURCES there), and
the fake Web API recording what the bot sent.

The fake's workspace is the organisation's: its units' channels, the people of its directory and the
test's own (``PEOPLE``), so a message to a channel nobody declared is refused as Slack would refuse it.
Trigger ids come from the fake, which knows when it issued them (they expire after 3 seconds)."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from adapters.http.app import make_web_app
from adapters.slack.blocks import MESSAGE_TEXT_LIMIT, measure
from adapters.slack.platform import SlackPlatform, connect
from adapters.slack.signature import SignatureCheck
from bot.bootstrap import App, build
from bot.clock import ManualClock
from bot.config import OrgConfig
from bot.due_work import post_due_anonymous
from bot.model import OutboxStatus
from bot.settings import Settings
from tests.slack.fake_slack import TOKEN, FakeSlack, check_blocks, check_view

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

DANA = "U0DANA01"  # charge nurse, leads 4 West
ALEX = "U0ALEX01"  # RN on 4 West
JO = "U0JOM001"  # respiratory therapist, MICU (not a 4 West leader)
STRANGER = "U0NEW0001"  # staff the directory does not know
WEST = "C04WEST01"
WEST_LEADERS = "C04WLEAD1"
PEOPLE = (DANA, ALEX, JO, STRANGER)  # in the workspace, with the directory's people


def workspace(config: OrgConfig) -> tuple[list[str], list[str]]:
    """The channels (every unit's, and its leaders') and people (with a Slack id) of ``config``."""
    channels = [
        channel
        for unit in config.units
        for channel in (
            unit.channels.on("slack"),
            unit.leaders_channel.on("slack") if unit.leaders_channel else None,
        )
        if channel
    ]
    people = [p.slack for p in config.people.values() if p.slack]
    return sorted(set(channels)), sorted({*people, *PEOPLE})


def assert_within_limits(blocks: list[dict[str, Any]]) -> None:
    """A message's blocks are within Slack's limits: the fake's checks (50 blocks, 3000 a section, in
    UTF-16 units), 12,000 units of text in all (``measure``), and slack_sdk's own models."""
    check_blocks(blocks, limit=50, surface="message")
    size = measure(blocks)
    assert size.blocks <= 50 and size.text <= MESSAGE_TEXT_LIMIT, size
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    for kind, text in _all_texts(blocks):
        text.encode("utf-16-le")  # strict: no half of a surrogate pair
        if kind == "mrkdwn":  # people's text is escaped there, and no entity is cut in two
            for at in [i for i, ch in enumerate(text) if ch == "&"]:
                assert text.startswith(("&amp;", "&lt;", "&gt;"), at), text[at : at + 6]


def assert_modal_within_limits(view: dict[str, Any]) -> None:
    """A modal is within Slack's limits: the fake's checks and slack_sdk's ``View`` model."""
    check_view(view)
    View(**view).validate_json()


def _all_texts(node: Any) -> list[tuple[str, str]]:
    """Every text object's (type, text) in ``node``."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if isinstance(node.get("text"), str):
            found.append((str(node.get("type")), node["text"]))
        for value in node.values():
            if isinstance(value, dict | list):
                found += _all_texts(value)
    elif isinstance(node, list):
        for item in node:
            found += _all_texts(item)
    return found


def payload(name: str) -> Any:
    """A real Slack payload from ``payloads/``."""
    text = (PAYLOADS / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else dict(parse_qsl(text))


ROUND_LISTS = ("wins", "concerns", "tracked", "barriers")  # the round form's one-a-line inputs


def _values(values: dict[str, Any]) -> dict[str, Any]:
    """Slack's ``view.state.values`` for simple {block_id: value} input."""
    state: dict[str, Any] = {}
    for block_id, value in values.items():
        if block_id in ("description", "text", "reason", "note", "title", *ROUND_LISTS):
            element = {"type": "plain_text_input", "value": value}
        elif block_id in ("staff", "patients", "families"):
            element = {"type": "number_input", "value": value}
        elif block_id in ("notify", "post_anyway", "share", "involves_leader"):
            element = {"type": "checkboxes", "selected_options": [{"value": v} for v in value]}
        elif block_id == "anonymity":
            element = {"type": "radio_buttons", "selected_option": {"value": value}}
        elif block_id == "recipient":
            element = {"type": "users_select", "selected_user": value}
        else:
            element = {"type": "static_select", "selected_option": {"value": value} if value else None}
        state[block_id] = {"value": element}
    return state


@dataclass
class SlackHarness:
    app: App
    platform: SlackPlatform
    fake: FakeSlack
    client: TestClient
    clock: ManualClock
    check: SignatureCheck
    events: int = 0
    triggers: int = 0
    opened: list[dict[str, Any]] = field(default_factory=list)

    # --- sending signed requests --------------------------------------------------------------

    async def post(self, body: bytes, content_type: str, *, headers: dict[str, str] | None = None) -> Any:
        ts = str(int(time.time()))
        signed = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": self.check.sign(body, ts),
        }
        signed.update(headers or {})
        response = await self.client.post("/slack/events", data=body, headers=signed)
        text = await response.text()
        await self.platform.listeners.drain()  # type: ignore[union-attr]
        return response.status, (json.loads(text) if text.startswith("{") else text)

    async def command(
        self, command: str, text: str = "", *, user: str = ALEX, channel: str = WEST, trigger_age: float = 0.0
    ) -> Any:
        """A slash command, form-encoded like Slack's (from a real captured command); its trigger id was
        issued ``trigger_age`` seconds ago (Slack's expire after 3)."""
        self.triggers += 1
        form = payload("slash_command.txt")
        form.update(
            team_id="T0HUDDLE1",
            channel_id=channel,
            channel_name="unit",
            user_id=user,
            user_name="testuser",
            command=command,
            text=text,
            trigger_id=self.fake.issue_trigger(age=trigger_age),
        )
        status, body = await self.post(urlencode(form).encode(), "application/x-www-form-urlencoded")
        assert status == 200, (status, body)
        return body

    async def interact(self, data: dict[str, Any]) -> Any:
        body = urlencode({"payload": json.dumps(data)}).encode()
        status, answer = await self.post(body, "application/x-www-form-urlencoded")
        assert status == 200, (status, answer)
        return answer

    async def press(self, message: Any, action_id: str, *, user: str, channel: str) -> Any:
        """Press a button of a message the fake recorded (a real block_actions payload, adapted)."""
        button = next(
            e
            for block in message.blocks
            if block["type"] == "actions"
            for e in block["elements"]
            if e["action_id"] == action_id
        )
        self.triggers += 1
        data = copy.deepcopy(payload("block_actions.json"))
        data["user"] = {"id": user, "username": "testuser", "name": "testuser", "team_id": "T0HUDDLE1"}
        data["team"] = {"id": "T0HUDDLE1", "domain": "example-health"}
        data["channel"] = {"id": channel, "name": "unit"}
        data["container"] = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        if message.thread_ts:
            data["container"]["thread_ts"] = message.thread_ts
        data["message"] = {"ts": message.ts, "type": "message"}
        data["trigger_id"] = self.fake.issue_trigger()
        data["actions"] = [
            {
                "action_id": action_id,
                "block_id": "actions",
                "text": button["text"],
                "value": button["value"],
                "type": "button",
                "action_ts": "1771287154.085947",
            }
        ]
        return await self.interact(data)

    async def submit(
        self, view: dict[str, Any], values: dict[str, Any], *, user: str, view_id: str = "V0001"
    ) -> Any:
        """Submit a modal the bot opened (a real view_submission payload, adapted)."""
        data = copy.deepcopy(payload("view_submission.json"))
        data["user"] = {"id": user, "username": "testuser", "name": "testuser", "team_id": "T0HUDDLE1"}
        data["team"] = {"id": "T0HUDDLE1", "domain": "example-health"}
        data["view"].update(
            id=view_id,
            callback_id=view["callback_id"],
            private_metadata=view.get("private_metadata", ""),
            blocks=view["blocks"],
            title=view["title"],
            state={"values": _values(values)},
        )
        return await self.interact(data)

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
    ) -> Any:
        """An Events API callback (a real envelope, adapted)."""
        self.events += 1
        data = copy.deepcopy(payload("event_message_thread_reply.json"))
        data["team_id"] = "T0HUDDLE1"
        data["event_id"] = event_id or f"Ev{self.events:010d}"
        data["event"] = event
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        status, body = await self.post(json.dumps(data).encode(), "application/json", headers=headers)
        return status, body

    async def reply_in_thread(
        self, *, user: str, channel: str, thread: str, text: str, event_id: str | None = None
    ) -> Any:
        self.events += 1
        ts = f"{1_767_406_631 + self.events}.000100"
        self.fake.person_message(channel, user, ts, thread_ts=thread)  # it is in Slack before its event
        event = {
            "type": "message",
            "user": user,
            "ts": ts,
            "text": text,
            "team": "T0HUDDLE1",
            "thread_ts": thread,
            "channel": channel,
            "event_ts": ts,
            "channel_type": "im" if channel.startswith("D") else "channel",
        }
        return await self.event(event, event_id=event_id)

    # --- time and delivery --------------------------------------------------------------------

    async def deliver(self, *, rounds: int = 30) -> None:
        """Deliver the outbox, moving the clock past the 1 message/s per channel pacing as needed.

        Anonymous concerns whose delay is over are posted first, as the server's due work does."""
        await post_due_anonymous(self.app.core)
        for _ in range(rounds):
            await self.app.dispatcher.deliver_all()
            async with self.app.core.uow() as tx:
                pending = await tx.outbox_items(status=OutboxStatus.PENDING, limit=1000)
            if not [r for r in pending if r.due_at <= self.clock.now() + timedelta(seconds=5)]:
                return
            self.clock.advance(timedelta(seconds=1.5))

    def last_view(self) -> dict[str, Any]:
        return self.fake.views[-1]

    async def close(self) -> None:
        await self.client.close()
        await self.platform.close()
        await self.app.close()
        await self.fake.stop()


async def make_slack(
    url: str, config: OrgConfig, *, start: datetime, seal_key: str | None, app_token: str | None = None
) -> SlackHarness:
    channels, people = workspace(config)
    fake = FakeSlack(channels=channels, users=people)
    await fake.start()
    settings = Settings(
        database_url=url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_app_token=app_token,
        slack_api_url=fake.url,
        huddlebot_seal_key=seal_key,
    )
    platform = await connect(settings)
    clock = ManualClock(start)
    app = await build(
        config=config,
        settings=settings,
        clock=clock,
        tenants={"slack": platform.tenant},
        messengers={"slack": platform.messenger},
        migrate=False,
    )
    web_app = make_web_app(app)
    platform.install(web_app, app)
    client = TestClient(TestServer(web_app, host="127.0.0.1"))
    await client.start_server()
    return SlackHarness(app, platform, fake, client, clock, SignatureCheck(SECRET))
