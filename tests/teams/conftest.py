"""A real huddlebot serving ``POST /api/messages`` (real core, real storage, the real Teams adapter),
driven by activities built from the recorded Teams payloads, with a fake Bot Connector on loopback."""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.http.app import make_web_app
from adapters.teams.options import TeamsOptions
from adapters.teams.platform import TeamsPlatform
from bot.bootstrap import App, build
from bot.clock import ManualClock
from bot.config import OrgConfig
from bot.core import Core
from bot.due_work import post_due_anonymous
from bot.outbox import DeliveryReport
from bot.settings import Settings
from storage.conversations import TeamsConversations
from tests.conftest import SEAL_KEY, START
from tests.teams.fake_connector import FakeConnector, load

# Real payloads and schemas from public sources, copied from ../shared/fixtures/real (see its SOURCES.md).
REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
FIXTURES = REAL / "teams"
SCHEMAS = REAL / "schemas"

# The ids of the "bot added to a team" fixture (Microsoft's docs example), used throughout.
TENANT = "b28fdbfd-2b78-4f93-b0f8-8881793f0f8f"
TEAM = "19:zFLSDFWsesfzcmKArqKJ-65aOXJz@sgf462H2wz41@thread.tacv2"
GENERAL = "19:0b7f32667e064dd9b25d7969801541f4@thread.tacv2"
BOT = "28:608cacfd-1cea-40c9-b678-4b93e69bb72b"
APP_ID = "608cacfd-1cea-40c9-b678-4b93e69bb72b"
# The example organisation's Teams channels (bot/huddlebot.example.yaml).
UNIT_CHANNELS = {
    "4west": "19:4west@thread.tacv2",
    "4west-leaders": "19:4west-leaders@thread.tacv2",
    "micu": "19:micu@thread.tacv2",
    "sicu": "19:sicu@thread.tacv2",
    "sicu-leaders": "19:sicu-leaders@thread.tacv2",
    "medicine": "19:medicine@thread.tacv2",
    "surgery": "19:surgery@thread.tacv2",
    "nursing-safety": "19:nursing-safety@thread.tacv2",
}
DANA = "29:1dana-reyes"  # leader of 4 West
STAFF = "29:198PbJuwlbYy4Gp7p3PZrunMBts-QmZieTANExeuaryFy4cfQknJFVwlT8esy8B9zQNy3qcVqoBZKj2oYDP6HHQ"
STAFF_AAD = "7a9b12a6-4f02-43f1-b6f9-fd10e047f903"


def fixture(name: str) -> dict[str, Any]:
    """A recorded Teams activity, as recorded."""
    return load(str(FIXTURES / f"{name}.json"))


def dev_options(**overrides: Any) -> TeamsOptions:
    """Teams without credentials (development), unpaced so a manual clock need not move."""
    values: dict[str, Any] = {
        "app_id": None,
        "password": None,
        "app_type": "MultiTenant",
        "tenant_id": None,
        "production": False,
        "interval": 0.0,
        "tenant_rate": 0.0,
    }
    values.update(overrides)
    return TeamsOptions(**values)


@dataclass
class TeamsHarness:
    """huddlebot on Teams, with the fake connector behind it."""

    app: App
    platform: TeamsPlatform
    fake: FakeConnector
    client: TestClient
    clock: ManualClock
    ids: itertools.count = field(default_factory=lambda: itertools.count(1771290107000))

    @property
    def core(self) -> Core:
        return self.app.core

    async def post(
        self, activity: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        self.teams_knows(activity)
        response = await self.client.post("/api/messages", json=activity, headers=headers or {})
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body

    def teams_knows(self, activity: dict[str, Any]) -> None:
        """Teams sends a bot activities only from where the bot is a member, so its Bot Connector (the
        fake) knows those conversations too; once the bot is removed, the connector refuses it there."""
        conversation = (activity.get("conversation") or {}).get("id")
        channel_data = activity.get("channelData") or {}
        team = (channel_data.get("team") or {}).get("id")
        bot = (activity.get("recipient") or {}).get("id")
        removed = any(m.get("id") == bot for m in activity.get("membersRemoved") or [])
        if removed or channel_data.get("eventType") == "teamDeleted":
            self.fake.uninstall(conversation, team=team)
        elif team:
            self.fake.install(team=team)
        elif conversation:
            self.fake.install(conversation)

    async def deliver(self) -> DeliveryReport:
        await post_due_anonymous(self.app.core)  # as the server's due work does
        return await self.app.dispatcher.deliver_all()

    def prepare(self, activity: dict[str, Any], *, tenant: str = TENANT) -> dict[str, Any]:
        """A recorded activity moved onto the fake connector, in our tenant, addressed to our bot."""
        activity = copy.deepcopy(activity)
        activity["serviceUrl"] = self.fake.service_url(activity["serviceUrl"])
        activity.setdefault("channelData", {})["tenant"] = {"id": tenant}
        if "tenantId" in activity.get("conversation", {}):
            activity["conversation"]["tenantId"] = tenant
        activity["recipient"] = {"id": BOT, "name": "huddlebot"}
        for member in activity.get("membersAdded", []):  # the docs' examples name the bot "28:<BOT ID>"
            if member.get("id", "").startswith("28:"):
                member["id"] = BOT
        return activity

    def channel_message(
        self,
        text: str,
        *,
        user: str,
        channel: str,
        name: str = "Test User",
        mention: bool = True,
        thread_root: str | None = None,
    ) -> dict[str, Any]:
        """A channel message (from the recorded @mention), at the top or as a reply in a thread."""
        activity = self.prepare(fixture("message_channel"))
        message_id = str(next(self.ids))
        activity["id"] = message_id
        activity["from"] = {"id": user, "name": name, "aadObjectId": "00000000-aaaa-bbbb-cccc-000000000001"}
        activity["conversation"]["id"] = f"{channel};messageid={thread_root or message_id}"
        activity["channelData"]["channel"] = {"id": channel}
        activity["channelData"]["teamsChannelId"] = channel
        activity["channelData"]["team"] = {"id": TEAM}
        activity["channelData"]["teamsTeamId"] = TEAM
        activity["attachments"] = []
        if mention:
            activity["text"] = f"<at>huddlebot</at> {text}"
            activity["entities"] = [
                {
                    "mentioned": {"id": BOT, "name": "huddlebot"},
                    "text": "<at>huddlebot</at>",
                    "type": "mention",
                }
            ]
        else:
            activity["text"] = text
            activity["entities"] = []
        return activity

    def personal_message(self, text: str, *, user: str, name: str = "Test User") -> dict[str, Any]:
        """A 1:1 message to the bot (from the recorded personal message)."""
        activity = self.prepare(fixture("message_personal"))
        activity["id"] = str(next(self.ids))
        activity["from"] = {"id": user, "name": name}
        activity["conversation"] = {"conversationType": "personal", "id": f"a:1personal-{user}"}
        activity["text"] = text
        activity["attachments"] = []
        return activity

    def invoke(
        self,
        name: str,
        value: dict[str, Any],
        *,
        user: str,
        user_name: str = "Test User",
        aad: str | None = None,
        channel: str | None = None,
        reply_to: str | None = None,
    ) -> dict[str, Any]:
        """An invoke (from the recorded ``adaptiveCard/action``), in a channel or a personal chat."""
        activity = self.prepare(fixture("invoke_adaptive_card_action_execute"))
        activity["id"] = f"f:{next(self.ids)}-invoke"
        activity["name"] = name
        activity["value"] = value
        activity["from"] = {"id": user, "name": user_name, **({"aadObjectId": aad} if aad else {})}
        if channel is not None:
            activity["conversation"] = {
                "isGroup": True,
                "conversationType": "channel",
                "tenantId": TENANT,
                "id": f"{channel};messageid={reply_to}" if reply_to else channel,
            }
            activity["channelData"]["channel"] = {"id": channel}
            activity["channelData"]["team"] = {"id": TEAM}
        if reply_to:
            activity["replyToId"] = reply_to
        return activity

    async def install_team(self) -> None:
        """The bot is added to the example team (the recorded conversationUpdate)."""
        status, _ = await self.post(self.prepare(fixture("conversation_update_bot_added_to_team")))
        assert status == 200


async def make_teams_harness(
    db_url: str,
    config: OrgConfig,
    *,
    options: TeamsOptions | None = None,
    token_source: Any = None,
    seal_key: str | None = SEAL_KEY,
) -> TeamsHarness:
    fake = FakeConnector()
    fake.team_channels[TEAM] = [{"id": GENERAL}] + [
        {"id": channel, "name": unit} for unit, channel in UNIT_CHANNELS.items()
    ]
    await fake.start()
    clock = ManualClock(START)
    platform = TeamsPlatform(
        options or dev_options(),
        store_factory=lambda app: TeamsConversations(app.core.uow.engine),
        # The Bot Connector takes no call without the bot's token, in development as in production.
        token_source=token_source or fake.tokens(),
    )
    app = await build(
        config=config,
        settings=Settings(database_url=db_url, huddlebot_seal_key=seal_key),
        clock=clock,
        tenants={"teams": platform.tenant},
        messengers={"teams": platform.messenger},
        migrate=False,
    )
    web_app = make_web_app(app)
    platform.install(web_app, app)
    client = TestClient(TestServer(web_app, host="127.0.0.1"))
    await client.start_server()
    return TeamsHarness(app=app, platform=platform, fake=fake, client=client, clock=clock)


async def close_harness(h: TeamsHarness) -> None:
    await h.client.close()
    await h.platform.close()
    await h.fake.close()
    await h.app.close()


@pytest.fixture
async def teams(db_url: str, example_config: OrgConfig) -> AsyncIterator[TeamsHarness]:
    """huddlebot on Teams (development mode: no credentials), on each database backend."""
    h = await make_teams_harness(db_url, example_config)
    yield h
    await close_harness(h)
