"""A real huddlebot serving Slack on 127.0.0.1: the real ``/slack/events`` endpoint, signed requests built
from real Slack payloads (``payloads/``, copied from ../shared/fixtures/real/slack, see SOURCES there), and
the fake Web API recording what the bot sent."""

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

from adapters.http.app import make_web_app
from adapters.slack.platform import SlackPlatform, connect
from adapters.slack.signature import SignatureCheck
from bot.bootstrap import App, build
from bot.clock import ManualClock
from bot.config import OrgConfig
from bot.model import OutboxStatus
from bot.settings import Settings
from tests.slack.fake_slack import TOKEN, FakeSlack

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

DANA = "U0DANA01"  # charge nurse, leads 4 West
ALEX = "U0ALEX01"  # RN on 4 West
JO = "U0JOM001"  # respiratory therapist, MICU (not a 4 West leader)
STRANGER = "U0NEW0001"  # staff the directory does not know
WEST = "C04WEST01"
WEST_LEADERS = "C04WLEAD1"


def payload(name: str) -> Any:
    """A real Slack payload from ``payloads/``."""
    text = (PAYLOADS / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else dict(parse_qsl(text))


def _values(values: dict[str, Any]) -> dict[str, Any]:
    """Slack's ``view.state.values`` for simple {block_id: value} input."""
    state: dict[str, Any] = {}
    for block_id, value in values.items():
        if block_id in ("description", "text"):
            element = {"type": "plain_text_input", "value": value}
        elif block_id in ("notify", "post_anyway"):
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

    async def command(self, command: str, text: str = "", *, user: str = ALEX, channel: str = WEST) -> Any:
        """A slash command, form-encoded like Slack's (from a real captured command)."""
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
            trigger_id=f"trigger.{self.triggers}",
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
        data["trigger_id"] = f"trigger.{self.triggers}"
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
        event = {
            "type": "message",
            "user": user,
            "ts": f"{1_767_406_631 + self.events}.000100",
            "text": text,
            "team": "T0HUDDLE1",
            "thread_ts": thread,
            "channel": channel,
            "event_ts": f"{1_767_406_631 + self.events}.000100",
            "channel_type": "im" if channel.startswith("D") else "channel",
        }
        return await self.event(event, event_id=event_id)

    # --- time and delivery --------------------------------------------------------------------

    async def deliver(self, *, rounds: int = 30) -> None:
        """Deliver the outbox, moving the clock past the 1 message/s per channel pacing as needed."""
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
    fake = FakeSlack()
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
