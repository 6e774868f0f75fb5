"""Fault drills against real `huddlebot serve` processes delivering to Slack.

Three parts, all on 127.0.0.1, shared by the fault tests and ``bench/fanout.py``:
- ``DrillSlack``: a Slack Web API that records, for each channel, which queued message arrived when, and
  fails on command (an outage answering 5xx, answers dropped after the message was taken, Slack's own
  per-channel and workspace limits, set apart from the product's pacing).
- ``DatabaseProxy``: a TCP proxy in front of PostgreSQL that can cut every connection and refuse new
  ones for a while, as a database restart does, without touching the server other tests use.
- ``queue_messages`` and ``start_server``: queue numbered messages in the outbox; run `huddlebot serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import re
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.bootstrap import build
from bot.config import bundled_example_path, load_config
from bot.model import Address
from bot.publish import post
from bot.settings import Settings
from bot.views import Notice
from tests.replicas.drill import Replica, free_port, spawn_serve

ROOT = Path(__file__).resolve().parents[2]
TEAM = "T0DRILL01"
BOT_USER = "U0DRILLBOT"
TOKEN = "xoxb-drill-token"
_MARK = re.compile(r"drill (\S+) #(\d+)")


def channels(count: int) -> list[str]:
    return [f"CDRILL{n:04}" for n in range(1, count + 1)]


def mark(channel: str, number: int) -> str:
    return f"drill {channel} #{number:04}"


@dataclass
class Arrival:
    channel: str
    number: int
    at: float  # time.monotonic() when Slack took it


@dataclass
class DrillSlack:
    """Slack's Web API as the outbox sees it. Limits are Slack's (1 a second a channel, a workspace cap),
    judged on the fake's own clock, independent of the product's pacing."""

    per_channel: float | None = 1.0  # messages a second a channel; None: no limit
    workspace: float | None = None  # messages a second across the workspace; None: no limit
    fail_5xx: float = 0.0  # share of messages refused with a 503
    fail_429: float = 0.0  # share of messages refused with a 429 regardless of the limits
    drop_answer: float = 0.0  # share of messages TAKEN, whose answer is then lost (a double is possible)
    seed: int = 7
    outage: bool = False  # while set, every chat.postMessage is answered 503
    answer_delay: float = 0.0  # seconds between taking a message and answering (a kill can land between)
    in_flight: int = 0  # messages taken and not yet answered
    arrivals: list[Arrival] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)
    _recent: deque[float] = field(default_factory=deque)
    _runner: web.AppRunner | None = None
    url: str = ""

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._ts = itertools.count(1)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/auth.test", self._auth_test)
        app.router.add_post("/api/chat.postMessage", self._post_message)
        app.router.add_post("/api/chat.update", self._update)
        app.router.add_post("/api/{method}", self._anything)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _refuse(self, why: str) -> None:
        self.refused[why] = self.refused.get(why, 0) + 1

    async def _auth_test(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "team_id": TEAM, "user_id": BOT_USER, "team": "Drill"})

    async def _anything(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _update(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"ok": True, "channel": body.get("channel"), "ts": body.get("ts")})

    def _over_limit(self, channel: str, now: float) -> bool:
        if self.per_channel is not None and now - self._last.get(channel, -1e9) < 1.0 / self.per_channel:
            return True
        if self.workspace is not None:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.workspace:
                return True
        return False

    async def _post_message(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = await request.json()
        channel, text = str(body.get("channel")), str(body.get("text") or "")
        if self.outage:
            self._refuse("outage 503")
            return web.Response(status=503, text="service unavailable")
        roll = self._rng.random()
        if roll < self.fail_5xx:
            self._refuse("injected 5xx")
            return web.Response(status=503, text="service unavailable")
        if roll < self.fail_5xx + self.fail_429:
            self._refuse("injected 429")
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        now = time.monotonic()
        if self._over_limit(channel, now):
            self._refuse("over Slack's limit")
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        self._last[channel] = now
        self._recent.append(now)
        found = _MARK.search(text)
        if found:
            self.arrivals.append(Arrival(found.group(1), int(found.group(2)), now))
        if self.answer_delay:
            self.in_flight += 1
            try:
                await asyncio.sleep(self.answer_delay)
            finally:
                self.in_flight -= 1
        if self._rng.random() < self.drop_answer:
            self._refuse("answer dropped after taking the message")
            if request.transport is not None:
                request.transport.abort()  # the message is Slack's; the sender hears nothing back
            raise asyncio.CancelledError
        return web.json_response({"ok": True, "channel": channel, "ts": f"1764000000.{next(self._ts):06}"})

    def received(self) -> dict[str, list[int]]:
        """Each channel's message numbers in the order they arrived."""
        found: dict[str, list[int]] = {}
        for arrival in self.arrivals:
            found.setdefault(arrival.channel, []).append(arrival.number)
        return found


def order_report(received: dict[str, list[int]], queued: dict[str, int]) -> tuple[int, int, int, int]:
    """(lost, doubled, channels out of order, most doubles in one channel) against what was queued."""
    lost = doubled = out_of_order = worst = 0
    for channel, count in queued.items():
        numbers = received.get(channel, [])
        lost += len(set(range(1, count + 1)) - set(numbers))
        extra = len(numbers) - len(set(numbers))
        doubled += extra
        worst = max(worst, extra)
        # A double is the same message again (sent, not yet marked, at a fault): first arrivals must
        # be in queue order.
        firsts = list(dict.fromkeys(numbers))
        if firsts != sorted(firsts):
            out_of_order += 1
    return lost, doubled, out_of_order, worst


async def queue_messages(url: str, per_channel: dict[str, int], *, start: int = 1) -> float:
    """Queue numbered notices for each channel (round robin, as work arrives); returns the time queued."""
    app = await build(
        config=load_config(bundled_example_path()),
        settings=Settings(database_url=url),
        tenants={"slack": TEAM},
        messengers={},
        migrate=False,
    )
    try:
        longest = max(per_channel.values(), default=0)
        async with app.core.uow() as tx:
            for number in range(start, start + longest):
                for channel, count in per_channel.items():
                    if number < start + count:
                        address = Address("slack", TEAM, channel=channel)
                        await post(tx, app.core, address, Notice(text=mark(channel, number)), role="notice")
    finally:
        await app.close()
    return time.monotonic()


async def start_server(
    url: str, slack: DrillSlack, directory: Path, name: str, *, database_url: str | None = None, **env: str
) -> Replica:
    """A `huddlebot serve` process for the example organisation, delivering to ``slack``."""
    port, log = free_port(), directory / f"{name}.log"
    environment = {
        **os.environ,
        "DATABASE_URL": database_url or url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": "drill-signing-secret",
        "SLACK_API_URL": f"{slack.url}/api/",
        "HUDDLEBOT_LOG_LEVEL": "INFO",
        **env,
    }
    replica = await spawn_serve(environment, port, log, drop=("MICROSOFT_APP_ID", "HUDDLEBOT_TEAMS"))
    await wait_serving(replica)
    return replica


async def wait_serving(replica: Replica, deadline: float = 40.0) -> None:
    """Until the server answers /healthz with its delivery loop running. Not until it is *healthy*: a
    server started with a backlog older than HUDDLEBOT_HEALTH_MAX_LAG is rightly 503 until it catches up."""
    start = time.monotonic()
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - start < deadline:
            if replica.process.returncode is not None:
                break
            try:
                async with http.get(f"http://127.0.0.1:{replica.port}/healthz") as response:
                    if (await response.json()).get("delivery_running"):
                        return
            except (aiohttp.ClientError, ValueError):
                pass
            await asyncio.sleep(0.1)
    tail = (await asyncio.to_thread(replica.log.read_text))[-3000:]
    raise AssertionError(f"the server on port {replica.port} did not start:\n{tail}")


class DatabaseProxy:
    """A TCP proxy in front of a database. ``cut()`` drops every connection and refuses new ones, as a
    restarting server does; ``restore()`` lets connections in again."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.listen_port = free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.close()
            return
        self._pipes |= {writer, up_writer}
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._pipes.discard(writer)
            writer.close()

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._pipes):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._pipes.clear()

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        await self.cut()

    def url(self, database_url: str) -> str:
        from sqlalchemy.engine import make_url

        return (
            make_url(database_url)
            .set(host="127.0.0.1", port=self.listen_port)
            .render_as_string(hide_password=False)
        )
