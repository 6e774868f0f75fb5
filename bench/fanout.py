"""Fan-out: a burst of messages to many channels, delivered by a real `huddlebot serve` to a fake platform.

Queues ``--per-channel`` numbered notices for each of ``--targets`` channels in one transaction, and lets a
real `huddlebot serve` process (its dispatcher and Messenger, paced at the product's own defaults:
``SLACK_WORKSPACE_RATE`` and 1 s a channel on Slack; the Teams adapter's tenant rate and per-conversation
interval on Teams) deliver them to a fake platform on 127.0.0.1 whose limits are set apart, by flags:
Slack's 1 message a second a channel and a workspace limit (``--slack-cap``); Teams' per-conversation
windows (7/1 s, 8/2 s, 60/30 s, 1800/h) and a tenant limit (``--teams-cap``). The fake also refuses 1% with
a 429 and 1% with a 5xx, and takes 0.5% of the messages and then drops the answer, so that doubles are
possible and counted.

Prints per run: messages, channels, completion time (queue commit to the last message's first arrival),
the product's own pacing floor and the platform's floor and the ratio to each (the target is <= 1.1 of the
binding, i.e. larger, floor), messages lost and doubled (and how many answers the fake dropped: the only
honest source of doubles), per-conversation order violations, queue-to-delivery p50/p99, dead letters and
what the fake refused.

``--fault`` (Slack only) does something to the running system once ``--fault-at`` of the messages have
arrived, and prints the time to recover:
  db-restart  the server's database connections cut and new ones refused for ``--down`` s (a TCP proxy in
              front of PostgreSQL), then let in again; recovery is from then to the next delivery (<= 10 s)
  kill        SIGKILL of the server, a new one started at once; from the kill to the next delivery (<= 15 s)
  5xx-burst   the fake Slack answers every message with 503 for ``--down`` s; from then to the next delivery

It creates a database of its own on the server of ``--database-url`` (a unique name, dropped at the end,
even on error or Ctrl-C; nothing else is touched) and migrates it; ``--database-url sqlite`` uses a
temporary SQLite file instead (not with db-restart). Everything is on 127.0.0.1 and bounded in time.

    .venv/bin/python bench/fanout.py --platform slack --targets 200 --per-channel 5
    .venv/bin/python bench/fanout.py --fault db-restart --targets 100 --per-channel 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import aiohttp
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.engine import make_url

from adapters.slack.messenger import MIN_INTERVAL
from adapters.teams.options import TeamsOptions
from bot.bootstrap import build
from bot.config import bundled_example_path, load_config
from bot.model import Address
from bot.publish import post
from bot.settings import Settings
from bot.views import Notice
from storage.engine import create_engine, database_url, redacted
from storage.migrate import upgrade_async
from storage.tables import teams_conversations

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the drill's fakes live in tests/

from tests.faults.slack_drill import (  # noqa: E402
    TEAM,
    Arrival,
    DatabaseProxy,
    DrillSlack,
    mark,
    order_report,
    start_server,
)
from tests.replicas.drill import Replica, free_port, spawn_serve, wait_healthy  # noqa: E402

TEAMS_TENANT = "tenant-fanout"
TEAMS_WINDOWS = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))  # Teams' limits in one conversation
TEAMS_MAX_BYTES = 28_000
_MARK = re.compile(r"drill (\S+?) #(\d+)")


# --- the fake Teams (the fake Slack is tests/faults/slack_drill.DrillSlack) -------------------------------


@dataclass
class DrillTeams:
    """The Bot Connector as the outbox sees it, with Teams' limits on its own clock: the per-conversation
    windows and a tenant limit. Records which numbered message reached which conversation, and when;
    refuses unknown conversations and activities over 28 KB; injects 429s, 5xx, dropped answers."""

    tenant: float | None = 50.0  # requests a second for the app in the tenant; None: no limit
    fail_5xx: float = 0.0
    fail_429: float = 0.0
    drop_answer: float = 0.0
    seed: int = 7
    outage: bool = False
    conversations: set[str] = field(default_factory=set)
    arrivals: list[Arrival] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    _sent: dict[str, deque[float]] = field(default_factory=dict)
    _recent: deque[float] = field(default_factory=deque)
    _runner: web.AppRunner | None = None
    url: str = ""

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._ids = itertools.count(1764000000000)

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * TEAMS_MAX_BYTES)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _refuse(self, why: str, status: int, code: str) -> web.Response:
        self.refused[why] = self.refused.get(why, 0) + 1
        headers = {"Retry-After": "1"} if status == 429 else None
        return web.json_response({"error": {"code": code, "message": why}}, status=status, headers=headers)

    def _over_limit(self, conversation: str, now: float) -> bool:
        sent = self._sent.setdefault(conversation, deque())
        while sent and now - sent[0] >= 3600:
            sent.popleft()
        for count, seconds in TEAMS_WINDOWS:
            if sum(1 for t in itertools.islice(reversed(sent), count) if now - t < seconds) >= count:
                return True
        if self.tenant is not None:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.tenant:
                return True
        return False

    async def _send(self, request: web.Request) -> web.StreamResponse:
        conversation = unquote(request.match_info["conversation"])
        raw = await request.read()
        if conversation not in self.conversations:
            return self._refuse("unknown conversation", 404, "ConversationNotFound")
        if len(raw) > TEAMS_MAX_BYTES:
            return self._refuse("activity too large", 413, "MessageSizeTooBig")
        if self.outage:
            return self._refuse("outage 503", 503, "ServiceUnavailable")
        roll = self._rng.random()
        if roll < self.fail_5xx:
            return self._refuse("injected 5xx", 503, "ServiceUnavailable")
        if roll < self.fail_5xx + self.fail_429:
            return self._refuse("injected 429", 429, "Throttled")
        now = time.monotonic()
        if self._over_limit(conversation, now):
            return self._refuse("over Teams' limit", 429, "Throttled")
        self._sent[conversation].append(now)
        self._recent.append(now)
        found = _MARK.search(raw.decode("utf-8", "replace"))
        if found:
            self.arrivals.append(Arrival(found.group(1), int(found.group(2)), now))
        if self._rng.random() < self.drop_answer:
            self.refused["answer dropped after taking the message"] = (
                self.refused.get("answer dropped after taking the message", 0) + 1
            )
            if request.transport is not None:
                request.transport.abort()  # Teams has the message; the sender hears nothing back
            raise asyncio.CancelledError
        return web.json_response({"id": str(next(self._ids))}, status=201)


class FanoutSlack(DrillSlack):
    """``DrillSlack``, telling which of Slack's limits refused a message: a channel's or the workspace's."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.limits: Counter[str] = Counter()

    def _over_limit(self, channel: str, now: float) -> bool:
        if self.per_channel is not None and now - self._last.get(channel, -1e9) < 1.0 / self.per_channel:
            self.limits["a channel's 1/s"] += 1
            return True
        if super()._over_limit(channel, now):
            self.limits["the workspace's"] += 1
            return True
        return False


# --- floors ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Floors:
    """The shortest possible completion times: under the product's own pacing, under the platform's."""

    product: float
    product_why: str
    platform: float
    platform_why: str

    @property
    def binding(self) -> tuple[str, float]:
        if self.product >= self.platform:
            return "the product's own pacing", self.product
        return "the platform's limits", self.platform


def _bucket_floor(messages: int, rate: float) -> float:
    """A token bucket of ``rate`` a second holding one second's worth, full at the start."""
    return max(0.0, messages - max(1.0, rate)) / rate


def _window_floor(messages: int, count: float, seconds: float) -> float:
    """At most ``count`` messages in any ``seconds``-long window."""
    return max(0.0, math.ceil(messages / count) - 1) * seconds


def slack_floors(messages: int, per_channel: int, rate: float, cap: float | None) -> Floors:
    chan = (per_channel - 1) * MIN_INTERVAL
    product = max(_bucket_floor(messages, rate), chan)
    platform = max(_window_floor(messages, cap, 1.0) if cap else 0.0, _window_floor(per_channel, 1, 1.0))
    return Floors(
        product,
        f"SLACK_WORKSPACE_RATE {rate:g}/s (bursts of {max(1.0, rate):g}), {MIN_INTERVAL:g} s between "
        "messages to a channel",
        platform,
        f"{cap:g}/s in a workspace, 1/s a channel" if cap else "no workspace limit, 1/s a channel",
    )


def teams_floors(messages: int, per_channel: int, options: TeamsOptions, cap: float | None) -> Floors:
    product = max(_bucket_floor(messages, options.tenant_rate), (per_channel - 1) * options.interval)
    windows = [_window_floor(per_channel, count, seconds) for count, seconds in TEAMS_WINDOWS]
    platform = max([_window_floor(messages, cap, 1.0) if cap else 0.0, *windows])
    return Floors(
        product,
        f"tenant rate {options.tenant_rate:g}/s (the Teams adapter's default), {options.interval:g} s "
        "between messages to a conversation",
        platform,
        (f"{cap:g}/s in a tenant, " if cap else "no tenant limit, ")
        + "7/1 s, 8/2 s, 60/30 s, 1800/h a conversation",
    )


# --- the database ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def own_database(url: str) -> AsyncIterator[str]:
    """A new, empty, migrated database for this run only; dropped (or deleted) when the block ends."""
    if url == "sqlite":
        with tempfile.TemporaryDirectory(prefix="huddlebot-bench-fanout-") as tmp:
            own = database_url(f"sqlite:///{Path(tmp) / 'fanout.db'}")
            await upgrade_async(own)
            yield own
        return
    server = database_url(url)
    if make_url(server).get_backend_name() != "postgresql":
        raise SystemExit("--database-url: a PostgreSQL server URL, or 'sqlite'")
    name = f"huddlebot_bench_fanout_{os.getpid()}_{secrets.token_hex(4)}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    try:
        own = make_url(server).set(database=name).render_as_string(hide_password=False)
        await upgrade_async(own)
        yield own
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server: str, statement: str) -> None:
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def _outbox_counts(url: str) -> Counter[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(sa.text("SELECT status, count(*) FROM outbox GROUP BY status"))
            return Counter({str(status): int(count) for status, count in rows})
    finally:
        await engine.dispose()


async def _leased(url: str) -> tuple[list[tuple[str, int]], float]:
    """The queued messages whose rows are leased now (being sent, or held for a retry), as (channel,
    number) (a message's number is its rank among its conversation's rows); and in how many seconds the
    last of those leases runs out."""
    engine = create_engine(url)
    query = sa.text(
        "SELECT o.target, (SELECT count(*) FROM outbox p WHERE p.target = o.target AND p.id <= o.id), "
        "o.lease_until FROM outbox o WHERE o.status = 'pending' AND o.lease_until > :now"
    )
    try:
        async with engine.connect() as conn:
            now = datetime.now(UTC)
            sqlite = engine.dialect.name == "sqlite"
            rows = (await conn.execute(query, {"now": now.replace(tzinfo=None) if sqlite else now})).all()
    finally:
        await engine.dispose()
    held = [(str(target).rsplit(":", 1)[-1], int(number)) for target, number, _ in rows]
    ends = [datetime.fromisoformat(str(until)) for _, _, until in rows]  # SQLite answers with text
    ends = [end if end.tzinfo else end.replace(tzinfo=UTC) for end in ends]
    return held, max(((end - now).total_seconds() for end in ends), default=0.0)


async def install_teams(url: str, teams: DrillTeams, conversations: list[str]) -> None:
    """The conversation references Teams would have given at install, all on the fake."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(teams_conversations),
                [
                    {
                        "conversation_id": c,
                        "kind": "channel",
                        "tenant_id": TEAMS_TENANT,
                        "service_url": teams.url,
                        "bot_id": "28:huddlebot",
                        "team_id": "19:team@thread.tacv2",
                        "installed_at": now,
                        "updated_at": now,
                    }
                    for c in conversations
                ],
            )
    finally:
        await engine.dispose()
    teams.conversations.update(conversations)


async def queue(url: str, platform: str, tenant: str, channels: list[str], per_channel: int) -> float:
    """Queue ``per_channel`` numbered notices for each channel (round robin, as work arrives) in one
    transaction; returns the moment it committed (time.monotonic())."""
    app = await build(
        config=load_config(bundled_example_path()),
        settings=Settings(database_url=url),
        tenants={platform: tenant},
        messengers={},
        migrate=False,
    )
    try:
        async with app.core.uow() as tx:
            for number in range(1, per_channel + 1):
                for channel in channels:
                    address = Address(platform, tenant, channel=channel)
                    await post(tx, app.core, address, Notice(text=mark(channel, number)), role="notice")
        return time.monotonic()
    finally:
        await app.close()


async def start_teams_server(url: str, directory: Path, name: str) -> Replica:
    """A `huddlebot serve` process serving Teams only (development mode: no app id, so no token)."""
    port, log = free_port(), directory / f"{name}.log"
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "HUDDLEBOT_TEAMS": "1",
        "HUDDLEBOT_TEAMS_TENANTS": TEAMS_TENANT,
        "HUDDLEBOT_LOG_LEVEL": "INFO",
    }
    replica = await spawn_serve(environment, port, log, drop=("SLACK_BOT_TOKEN", "MICROSOFT_APP_ID"))
    await wait_healthy(replica)
    return replica


# --- what arrived -----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """First arrivals of the queued messages, kept up to date from the fake's record."""

    queued: dict[str, int]
    arrivals: list[Arrival]
    firsts: dict[tuple[str, int], float] = field(default_factory=dict)
    _seen: int = 0

    def update(self) -> int:
        for arrival in self.arrivals[self._seen :]:
            key = (arrival.channel, arrival.number)
            if arrival.channel in self.queued and key not in self.firsts:
                self.firsts[key] = arrival.at
        self._seen = len(self.arrivals)
        return len(self.firsts)

    @property
    def total(self) -> int:
        return sum(self.queued.values())

    def first_new_after(self, moment: float) -> float | None:
        """When the first message not delivered before ``moment`` arrived, if one has."""
        self.update()
        later = [at for at in self.firsts.values() if at > moment]
        return min(later) if later else None


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


def _late_messages(received: dict[str, list[int]]) -> int:
    """Messages whose first arrival came after a message queued later for the same channel."""
    late = 0
    for numbers in received.values():
        highest = 0
        for number in dict.fromkeys(numbers):
            if number < highest:
                late += 1
            highest = max(highest, number)
    return late


async def _until(condition: Callable[[], bool], deadline: float, every: float = 0.05) -> bool:
    """Wait until ``condition()`` holds or ``deadline`` (time.monotonic()) passes; whether it holds."""
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)
    return True


async def _drained(url: str, deadline: float) -> None:
    """Wait (until ``deadline``) for the outbox to have nothing pending."""
    for _ in range(10_000):
        if time.monotonic() > deadline or not (await _outbox_counts(url))["pending"]:
            return
        await asyncio.sleep(0.2)


async def _health(port: int) -> str:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            body = await response.json(content_type=None)
            problems = "; ".join(body.get("problems") or []) if isinstance(body, dict) else ""
            return f"{response.status}" + (f" ({problems})" if problems else "")
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        return f"no answer ({type(error).__name__})"


# --- one run --------------------------------------------------------------------------------------------


async def run(platform: str, args: argparse.Namespace) -> dict[str, float]:
    """One fan-out on ``platform`` (with ``args.fault``, if any); prints and returns the figures."""
    messages = args.targets * args.per_channel
    settings = Settings()
    if platform == "slack":
        floors = slack_floors(messages, args.per_channel, settings.slack_workspace_rate, args.slack_cap)
        fake: DrillSlack | DrillTeams = FanoutSlack(
            per_channel=1.0,
            workspace=args.slack_cap,
            fail_5xx=args.fail_5xx,
            fail_429=args.fail_429,
            drop_answer=args.drop_answer,
            seed=args.seed,
        )
        channels = [f"CFAN{n:05}" for n in range(1, args.targets + 1)]
        tenant = TEAM
    else:
        options = TeamsOptions.from_env(settings, {**os.environ, "HUDDLEBOT_TEAMS": "1"})
        assert options is not None
        floors = teams_floors(messages, args.per_channel, options, args.teams_cap)
        fake = DrillTeams(
            tenant=args.teams_cap,
            fail_5xx=args.fail_5xx,
            fail_429=args.fail_429,
            drop_answer=args.drop_answer,
            seed=args.seed,
        )
        channels = [f"19:fan{n:05}@thread.tacv2" for n in range(1, args.targets + 1)]
        tenant = TEAMS_TENANT
    queued = dict.fromkeys(channels, args.per_channel)
    tally = Tally(queued, fake.arrivals)
    budget = 3 * max(floors.product, floors.platform) + 60 + (args.down if args.fault else 0)
    servers: list[Replica] = []
    proxy: DatabaseProxy | None = None
    fault_line = ""
    recovered: float | None = None
    directory = Path(tempfile.mkdtemp(prefix="huddlebot-bench-fanout-logs-"))
    load_before = os.getloadavg()[0]
    async with own_database(args.database_url) as url:
        try:
            await fake.start()
            server_url = url
            if args.fault == "db-restart":
                target = make_url(url)
                proxy = DatabaseProxy(target.host or "127.0.0.1", target.port or 5432)
                await proxy.start()
                server_url = proxy.url(url)
            if isinstance(fake, DrillSlack):
                servers.append(await start_server(url, fake, directory, "server-1", database_url=server_url))
            else:
                await install_teams(url, fake, channels)
                servers.append(await start_teams_server(server_url, directory, "server-1"))
            queued_at = await queue(url, platform, tenant, channels, args.per_channel)
            deadline = queued_at + budget
            if args.fault:
                trigger = math.ceil(args.fault_at * messages)
                if not await _until(lambda: tally.update() >= trigger, deadline):
                    raise SystemExit(
                        f"{platform}: only {tally.update()} of {trigger} arrived before the fault"
                    )
                fault_line, recovered = await _fault(args, fake, servers, proxy, tally, directory, url)
            await _until(lambda: tally.update() >= messages, deadline)
            complete = tally.update() >= messages
            elapsed = (max(tally.firsts.values()) if tally.firsts else time.monotonic()) - queued_at
            # A message whose answer was dropped may be sent again after every message's first arrival:
            # wait for the outbox to be empty (bounded), so that every double is counted.
            await _drained(url, min(deadline, time.monotonic() + 30))
            await asyncio.sleep(1.0)
            counts = await _outbox_counts(url)
            health = await _health(servers[-1].port)
        finally:
            for server in servers:
                with contextlib.suppress(Exception):
                    await server.stop()
            if proxy is not None:
                await proxy.close()
            await fake.close()
    load_after = os.getloadavg()[0]
    tally.update()
    received: dict[str, list[int]] = {}
    for arrival in fake.arrivals:
        if arrival.channel in queued:
            received.setdefault(arrival.channel, []).append(arrival.number)
    lost, doubled, out_of_order, worst = order_report(received, queued)
    late = _late_messages(received)
    dropped = fake.refused.get("answer dropped after taking the message", 0)
    latencies = [at - queued_at for at in tally.firsts.values()]
    first = min(latencies) if latencies else float("nan")
    logs = "\n".join(server.log.read_text() for server in servers)
    binding_name, binding = floors.binding

    def ratio(floor: float) -> str:
        return f"{elapsed / floor:.3f}" if floor > 0 else "n/a (floor 0)"

    print(
        f"\n{platform}{' --fault ' + args.fault if args.fault else ''}: {messages} messages "
        f"({args.targets} channels x {args.per_channel}), {len(servers)} `huddlebot serve` process(es) on "
        f"{make_url(url).get_backend_name()}; load average {load_before:.1f} before, {load_after:.1f} after "
        f"({os.cpu_count()} cores)"
    )
    print(f"  the product's pacing (its defaults, as `huddlebot serve` runs): {floors.product_why}")
    print(
        f"  the fake platform's limits: {floors.platform_why}; injected 429 {args.fail_429:.1%}, "
        f"5xx {args.fail_5xx:.1%}, answers dropped after taking the message {args.drop_answer:.1%}"
    )
    print(
        f"  completed in {elapsed:.2f} s (queue commit to the last message's first arrival)"
        + ("" if complete else f" -- INCOMPLETE: stopped after {budget:.0f} s")
        + f"; first delivery {first:.2f} s after the commit (work queued by another process is found by "
        "the server's 1 s poll)"
    )
    print(f"  the product's own pacing floor {floors.product:.2f} s: ratio {ratio(floors.product)}")
    print(f"  the platform's floor {floors.platform:.2f} s: ratio {ratio(floors.platform)}")
    print(
        f"  binding floor ({binding_name}) {binding:.2f} s: ratio {ratio(binding)} (target <= 1.1"
        + (", the fault's time included)" if args.fault else ")")
    )
    print(
        f"  lost {lost} (target 0); doubled {doubled} (answers dropped {dropped}; doubles beyond them "
        f"{max(0, doubled - dropped)}; most in one channel {worst}); out of order {out_of_order} "
        f"channel(s), {late} message(s) (target 0)"
    )
    print(
        f"  queue to first delivery: p50 {_percentile(latencies, 0.5):.2f} s, p99 "
        f"{_percentile(latencies, 0.99):.2f} s, max {max(latencies, default=float('nan')):.2f} s"
    )
    print(
        f"  outbox at the end: {dict(counts)}; /healthz {health}; server logs: "
        f"{logs.count('Traceback')} traceback(s), {logs.count(' ERROR ')} ERROR line(s)"
    )
    limits = f" (Slack's limits: {dict(fake.limits)})" if isinstance(fake, FanoutSlack) else ""
    print(f"  the fake refused: {dict(sorted(fake.refused.items()))}{limits}")
    if fault_line:
        print(f"  {fault_line}")
    if complete and not (lost or out_of_order or "Traceback" in logs):
        shutil.rmtree(directory, ignore_errors=True)
    else:
        print(f"  the servers' logs are kept in {directory}")
    return {
        "elapsed": elapsed,
        "lost": lost,
        "doubled": doubled,
        "out_of_order": out_of_order,
        "recovered": recovered if recovered is not None else float("nan"),
    }


async def _fault(
    args: argparse.Namespace,
    fake: DrillSlack | DrillTeams,
    servers: list[Replica],
    proxy: DatabaseProxy | None,
    tally: Tally,
    directory: Path,
    url: str,
) -> tuple[str, float | None]:
    """Do ``args.fault`` now; wait (bounded) for the next delivery; a line saying how long it took."""
    limit = 60.0
    if args.fault == "db-restart":
        assert proxy is not None
        await proxy.cut()
        await asyncio.sleep(args.down / 2)
        health = await _health(servers[-1].port)
        await asyncio.sleep(args.down / 2)
        await proxy.restore()
        since, what, target = time.monotonic(), f"the database back after {args.down:g} s away", 10.0
        held, leases = await _leased(url)
        extra = f"; /healthz while it was away: {health}"
    elif args.fault == "kill":
        await servers[-1].stop(kill=True)
        since, what, target = time.monotonic(), "SIGKILL of the server (a new one started at once)", 15.0
        held, leases = await _leased(url)
        assert isinstance(fake, DrillSlack)
        started = time.monotonic()
        servers.append(await start_server(url, fake, directory, f"server-{len(servers) + 1}"))
        extra = f"; the new server was healthy after {time.monotonic() - started:.1f} s"
    else:
        fake.outage = True
        await asyncio.sleep(args.down / 2)
        health = await _health(servers[-1].port)
        await asyncio.sleep(args.down / 2)
        fake.outage = False
        since, what, target = time.monotonic(), f"the end of a {args.down:g} s 503 outage", None
        held, leases = await _leased(url)
        extra = f"; /healthz during it: {health}"
    tally.update()
    held = [key for key in held if key not in tally.firsts]  # sent before (not yet marked sent): not held
    await _until(lambda: tally.first_new_after(since) is not None, since + limit)
    first = tally.first_new_after(since)
    if first is None:
        return f"fault {args.fault}: NO delivery within {limit:.0f} s of {what}{extra}", None
    recovered = first - since
    await _until(lambda: tally.update() >= 0 and all(key in tally.firsts for key in held), since + limit)
    taken = [tally.firsts[key] - since for key in held if key in tally.firsts]
    over = (
        f"; the {len(held)} row(s) leased at that moment (being sent or held for a retry; the last "
        f"lease ran out {leases:.1f} s later): "
        + (
            f"the first delivered {min(taken):.2f} s after, the last {max(taken):.2f} s after"
            if len(taken) == len(held)
            else f"{len(held) - len(taken)} NOT delivered within {limit:.0f} s"
        )
        if held
        else "; no row was leased at that moment"
    )
    goal = f" (target <= {target:g} s)" if target else ""
    return f"fault {args.fault}: next delivery {recovered:.2f} s after {what}{goal}{extra}{over}", recovered


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    parser.add_argument("--platform", choices=["slack", "teams", "both"], default="slack")
    parser.add_argument("--targets", type=int, default=200, help="channels (default 200)")
    parser.add_argument("--per-channel", type=int, default=5, help="messages to each channel (default 5)")
    parser.add_argument(
        "--slack-cap",
        type=float,
        default=30.0,
        help="the fake Slack's workspace limit, messages a second (default 30; Slack publishes no "
        "number); 0: none. The product paces at SLACK_WORKSPACE_RATE regardless",
    )
    parser.add_argument(
        "--teams-cap",
        type=float,
        default=50.0,
        help="the fake Teams' limit for the app in a tenant, requests a second (default 50, Teams' "
        "documented global limit); 0: none. The product paces at its own default regardless",
    )
    parser.add_argument(
        "--fail-429", type=float, default=0.01, help="share refused with a 429 (default 0.01)"
    )
    parser.add_argument(
        "--fail-5xx", type=float, default=0.01, help="share refused with a 503 (default 0.01)"
    )
    parser.add_argument(
        "--drop-answer",
        type=float,
        default=0.005,
        help="share taken by the fake whose answer is then dropped (default 0.005): each may double",
    )
    parser.add_argument("--seed", type=int, default=7, help="the fake's random seed")
    parser.add_argument(
        "--fault",
        choices=["db-restart", "kill", "5xx-burst"],
        help="Slack only: a fault mid-delivery, and the time to recover (see above)",
    )
    parser.add_argument("--fault-at", type=float, default=0.3, help="share delivered before the fault")
    parser.add_argument("--down", type=float, default=5.0, help="seconds the database or Slack is away")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL server to create (and drop) a database of the bench's own on; or 'sqlite'",
    )
    args = parser.parse_args()
    args.slack_cap = args.slack_cap or None
    args.teams_cap = args.teams_cap or None
    if args.fault and args.platform != "slack":
        parser.error("--fault runs on Slack only: add --platform slack")
    if args.fault == "db-restart" and args.database_url == "sqlite":
        parser.error("--fault db-restart needs PostgreSQL")
    print(
        f"database server: {redacted(database_url(args.database_url))}"
        if args.database_url != "sqlite"
        else "database: a temporary SQLite file"
    )
    for platform in ["slack", "teams"] if args.platform == "both" else [args.platform]:
        await run(platform, args)


def _entry() -> None:
    async def guarded() -> None:
        task = asyncio.ensure_future(main())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)  # cleanup runs: servers stopped, database dropped
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(guarded())


if __name__ == "__main__":
    _entry()
