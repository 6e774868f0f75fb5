"""A drill: an organisation of many Teams units, real `huddlebot serve` processes sharing a drill clock
file, and a fake Bot Connector that records what each channel received."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import aiohttp
import sqlalchemy as sa

from storage.conversations import TeamsConversations
from storage.engine import create_engine
from tests.teams.fake_connector import Call, FakeConnector

ROOT = Path(__file__).resolve().parents[2]
TENANT = "tenant-drill"
CHICAGO = -6  # CST in November


def organisation(units: int) -> str:
    """A department of ``units`` units, each with 07:00 and 19:00 huddles and a leaders' channel."""
    people = [
        "  boss: {name: Dana Boss, teams: '29:boss'}",
        "  officer: {name: Sam Officer, teams: '29:officer'}",
    ]
    dept = "19:dept@thread.tacv2"
    lines = [f"  - {{id: dept, name: Department, tier: 2, leaders: [boss], channels: {{teams: '{dept}'}}}}"]
    for n in range(1, units + 1):
        people.append(f"  lead{n:02}: {{name: Lead {n:02}, teams: '29:lead{n:02}'}}")
        lines.append(
            f"  - {{id: u{n:02}, name: Unit {n:02}, tier: 1, parent: dept, leaders: [lead{n:02}],"
            f" channels: {{teams: '{unit_channel(n)}'}}, leaders_channel: {{teams: '{leaders_channel(n)}'}},"
            " huddles: [{at: '07:00', window: 30m}, {at: '19:00', window: 30m}]}"
        )
    header = [
        "organization: {name: Drill Health, timezone: America/Chicago}",
        "people:",
        *people,
        "safety_officers: [officer]",
        "escalation: {acknowledge_within: {high: 1h}, anonymous_delay: {min: 1m, max: 2m}}",
        "digest: {enabled: false}",
        "units:",
    ]
    return "\n".join([*header, *lines]) + "\n"


def unit_channel(n: int) -> str:
    return f"19:u{n:02}@thread.tacv2"


def leaders_channel(n: int) -> str:
    return f"19:u{n:02}-lead@thread.tacv2"


def chicago(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """25 November 2026 at ``hour:minute:second`` in Chicago, as a UTC instant."""
    return datetime(2026, 11, 25, 0, minute, second, tzinfo=UTC) + timedelta(hours=hour - CHICAGO)


def kind(call: Call) -> str:
    """What a person would call a message: a new post, or a reply in a thread (``;messageid=``)."""
    if call.thread is None:
        for marker, name in (
            ("Safety huddle", "prompt"),
            ("Escalated to", "escalation"),
            ("IV pump alarm", "card"),
        ):
            if marker in call.text:
                return name
    for marker, name in (("Huddle summary", "summary"), ("This huddle closes in", "reminder")):
        if marker in call.text:
            return name
    return "other"


async def install(url: str, fake: FakeConnector, units: int) -> None:
    """Store the conversation references Teams would have given at install, all on ``fake``, which
    knows them too. The replicas run in development mode (no MICROSOFT_APP_ID, so no token): the fake
    is told by name to take calls without one, as the Bot Framework Emulator does."""
    fake.require_token = False
    engine = create_engine(url)
    store = TeamsConversations(engine)
    channels = [
        "19:dept@thread.tacv2",
        *(unit_channel(n) for n in range(1, units + 1)),
        *(leaders_channel(n) for n in range(1, units + 1)),
    ]
    for channel in channels:
        fake.install(channel)
        await store.save(
            conversation_id=channel,
            kind="channel",
            tenant_id=TENANT,
            service_url=fake.url,
            bot_id="28:huddlebot",
            team_id="19:team@thread.tacv2",
        )
    fake.install("a:officer-chat")
    await store.save(
        conversation_id="a:officer-chat",
        kind="personal",
        tenant_id=TENANT,
        service_url=fake.url,
        bot_id="28:huddlebot",
        user_id="29:officer",
    )
    await engine.dispose()


async def spawn_serve(env: dict[str, str], port: int, log: Path, *, drop: tuple[str, ...] = ()) -> Replica:
    """Start `huddlebot serve` on ``port`` from this checkout, its output appended to ``log``.

    ``drop`` names platform settings of the developer's environment that the drill must not inherit.
    """
    env = {
        **env,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    for unwanted in (*drop, "MICROSOFT_APP_PASSWORD", "HUDDLEBOT_ENV"):
        env.pop(unwanted, None)
    handle = log.open("a")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        "--port",
        str(port),
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=handle,
    )
    return Replica(process, port, log, handle)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Replica:
    """One `huddlebot serve` process."""

    process: asyncio.subprocess.Process
    port: int
    log: Path
    _handle: IO[str] = field(repr=False)

    async def stop(self, *, kill: bool = False) -> None:
        if self.process.returncode is None:
            self.process.kill() if kill else self.process.terminate()
        await asyncio.wait_for(self.process.wait(), 20)
        self._handle.close()


@dataclass
class Drill:
    """The shared environment of a drill's replicas."""

    url: str
    config: Path
    clock_file: Path
    directory: Path

    def set_time(self, instant: datetime) -> None:
        self.clock_file.write_text(instant.isoformat())

    async def start_replica(self, name: str) -> Replica:
        port, log = free_port(), self.directory / f"{name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "HUDDLEBOT_CONFIG": str(self.config),
            "HUDDLEBOT_TEAMS": "1",
            "HUDDLEBOT_TEAMS_TENANTS": TENANT,
            "HUDDLEBOT_DRILL_CLOCK_FILE": str(self.clock_file),
            "HUDDLEBOT_DUE_EVERY": "0.2",
            "HUDDLEBOT_LOG_LEVEL": "INFO",
        }
        replica = await spawn_serve(env, port, log, drop=("SLACK_BOT_TOKEN", "MICROSOFT_APP_ID"))
        await wait_healthy(replica)
        await self._first_pass_done()
        return replica

    async def _first_pass_done(self, deadline: float = 20.0) -> None:
        """Huddles due before a database's first look for due work are skipped by design: so wait for
        that first look before moving the clock on."""
        engine = create_engine(self.url)
        start = time.monotonic()
        try:
            while time.monotonic() - start < deadline:
                async with engine.connect() as conn:
                    query = sa.text("SELECT count(*) FROM meta WHERE key = 'schedule_epoch'")
                    if (await conn.execute(query)).scalar():
                        return
                await asyncio.sleep(0.1)
        finally:
            await engine.dispose()
        raise AssertionError("the replica never looked for due work")

    async def pending_due(self, now: datetime) -> int:
        engine = create_engine(self.url)
        try:
            async with engine.connect() as conn:
                query = sa.text("SELECT count(*) FROM outbox WHERE status = 'pending' AND due_at <= :now")
                return int((await conn.execute(query, {"now": now})).scalar() or 0)
        finally:
            await engine.dispose()

    async def settle(self, now: datetime, deadline: float = 40.0) -> None:
        """Let the replicas look for due work at ``now``, then wait until nothing due is left unsent."""
        await asyncio.sleep(1.0)  # HUDDLEBOT_DUE_EVERY=0.2: several passes in each replica
        start = time.monotonic()
        while time.monotonic() - start < deadline:
            if await self.pending_due(now) == 0:
                await asyncio.sleep(0.3)
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"outbox still has {await self.pending_due(now)} due rows at {now}")


async def wait_healthy(replica: Replica, deadline: float = 40.0) -> None:
    start = time.monotonic()
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - start < deadline:
            try:
                async with http.get(f"http://127.0.0.1:{replica.port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    tail = (await asyncio.to_thread(replica.log.read_text))[-3000:]
    raise AssertionError(f"replica on port {replica.port} did not become healthy:\n{tail}")
