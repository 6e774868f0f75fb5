"""Teams: message activities that each produce one reply, huddlebot against bare botbuilder bots.

Four processes on loopback, as in production each server has a core of its own to fight for:

* a fake Bot Connector that answers every reply (``POST …/v3/conversations/{id}/activities[/{id}]``)
  and counts them;
* a bare botbuilder bot on ``CloudAdapter`` (the SDK's current sample:
  ``ConfigurationBotFrameworkAuthentication`` + ``CloudAdapter.process``), replying once to each message;
* the same bare bot on the legacy ``BotFrameworkAdapter`` (which caches its connector client);
* ``huddlebot serve`` itself (Teams in development mode, ``HUDDLEBOT_TEAMS=1``; its scheduler and outbox
  dispatcher run as in production; SQLite or PostgreSQL), answering ``@huddlebot huddle status`` in a unit
  channel: a read (two queries in one transaction; nothing is stored), then one reply.

Authentication is off for all of them (no credentials): the comparison is the turn and the reply.
For each concurrency the servers are measured in rounds: in every round each server gets a warm-up and
then a measured window, and the order rotates from round to round (so no server always runs first or
right after another's load); figures are pooled over the rounds. Only answers with a 2xx status count
toward req/s and the latencies; the others are the ``err`` column. Each window's replies are counted at
the fake connector, only those that answer the request (the echo; the unit's status, not an error card),
and must equal its successful answers (``replies``). It prints requests/s, p50 and p99,
the servers' CPU time per request, and huddlebot's ratio to each bare bot, pooled and per round.

    python bench/teams_messages.py                      # SQLite; 3 rounds x 2 s; concurrency 1, 16, 64
    python bench/teams_messages.py --rounds 5 --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python bench/teams_messages.py --text help          # the adapter alone: no database work

``--database-url`` names a PostgreSQL server: the run creates a database of its own there (the user needs
CREATEDB) and drops it at the end; the database named in the URL is only used to connect.

The target (issue 4): huddlebot ≥ 3× the bare CloudAdapter bot.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHANNEL = "19:4west@thread.tacv2"
BOT = "28:608cacfd-1cea-40c9-b678-4b93e69bb72b"
TENANT = "b28fdbfd-2b78-4f93-b0f8-8881793f0f8f"
# What a reply that answers the request holds, by server: the bare bots echo; huddlebot's `huddle status`
# names the unit's open concerns. (`--text help` is checked by the count of replies alone.)
ANSWERS = {"cloud": b"You said", "legacy": b"You said", "huddlebot": b"Open concerns"}


# --- the servers (each runs in its own process: ``--serve ROLE``) -------------------------------------


async def serve_connector(port: int) -> None:
    from aiohttp import web

    ids = itertools.count(1771290200000)
    replies = {"any": 0, **dict.fromkeys(ANSWERS, 0)}

    async def activity(request: web.Request) -> web.Response:
        body = await request.read()
        replies["any"] += 1
        for role, words in ANSWERS.items():  # a reply that answers what was asked, not an error card
            replies[role] += words in body
        return web.json_response({"id": str(next(ids))})

    async def count(request: web.Request) -> web.Response:
        return web.json_response(replies)

    app = web.Application()
    app.router.add_get("/count", count)
    app.router.add_post("/{tail:.*}", activity)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def _bare_bot() -> Any:
    from botbuilder.core import ActivityHandler, MessageFactory, TurnContext

    class EchoBot(ActivityHandler):
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await turn_context.send_activity(MessageFactory.text(f"You said {turn_context.activity.text}"))

    return EchoBot()


async def serve_bare_cloud(port: int) -> None:
    """The Bot Framework's Python sample shape (botbuilder-integration-aiohttp's CloudAdapter)."""
    from types import SimpleNamespace

    from aiohttp import web
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    config = SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant", APP_TENANTID="")
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    bot = _bare_bot()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


async def serve_bare_legacy(port: int) -> None:
    """The same bot on the legacy BotFrameworkAdapter (connector clients cached per service URL)."""
    from aiohttp import web
    from botbuilder.core import BotFrameworkAdapter, BotFrameworkAdapterSettings
    from botbuilder.schema import Activity

    adapter = BotFrameworkAdapter(BotFrameworkAdapterSettings("", ""))
    bot = _bare_bot()

    async def messages(request: web.Request) -> web.Response:
        activity = Activity().deserialize(await request.json())
        response = await adapter.process_activity(
            activity, request.headers.get("Authorization", ""), bot.on_turn
        )
        if response:
            return web.json_response(data=response.body, status=response.status)
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


# --- the load generator ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def activity(message_id: int, connector: str, text: str = "huddle status") -> dict[str, Any]:
    """A channel message that @mentions the bot (the shape of the recorded Teams payload)."""
    return {
        "type": "message",
        "id": str(message_id),
        "channelId": "msteams",
        "serviceUrl": f"{connector}/amer/{TENANT}/",
        "from": {
            "id": "29:1dana-reyes",
            "name": "Dana Reyes",
            "aadObjectId": "7a9b12a6-4f02-43f1-b6f9-fd10e047f903",
        },
        "conversation": {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": TENANT,
            "id": f"{CHANNEL};messageid={message_id}",
        },
        "recipient": {"id": BOT, "name": "huddlebot"},
        "text": f"<at>huddlebot</at> {text}",
        "textFormat": "plain",
        "entities": [
            {"mentioned": {"id": BOT, "name": "huddlebot"}, "text": "<at>huddlebot</at>", "type": "mention"}
        ],
        "channelData": {
            "channel": {"id": CHANNEL},
            "team": {"id": "19:team@thread.tacv2"},
            "tenant": {"id": TENANT},
        },
        "locale": "en-US",
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_ready(url: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.1)


@dataclass
class Window:
    """What one server did in the measured windows of one level (pooled over rounds)."""

    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    replies: int = 0
    cpu: float = 0.0
    rounds: list[float] = field(default_factory=list)  # req/s of each round

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")


async def load(
    url: str, connector: str, concurrency: int, seconds: float, ids: itertools.count, text: str
) -> tuple[int, int, float, list[float]]:
    """Successful answers, errors, elapsed seconds and the successful answers' latencies."""
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.monotonic() < stop:
            body = json.dumps(activity(next(ids), connector, text))
            start = time.perf_counter()
            try:
                async with session.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    await response.read()
                    ok = 200 <= response.status < 300
            except aiohttp.ClientError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1

    connector_ = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector_) as session:
        began = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    return len(latencies), errors, elapsed, latencies


async def replies(connector: str, role: str, text: str) -> int:
    """Replies the connector received so far that answer ``role``'s request (any reply for other texts)."""
    async with aiohttp.ClientSession() as session, session.get(f"{connector}/count") as response:
        counts = await response.json()
    return counts[role] if text.strip() == "huddle status" else counts["any"]


def start_huddlebot(port: int, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    """``huddlebot serve`` as an operator starts it, Teams in development mode (no credentials)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUDDLEBOT_", "MICROSOFT_"))},
        "DATABASE_URL": database_url,
        "HUDDLEBOT_TEAMS": "1",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out)


async def run(args: argparse.Namespace) -> None:
    from storage.migrate import upgrade_async

    work = Path(tempfile.mkdtemp(prefix="huddlebot-bench-"))
    database_url = f"sqlite:///{work / 'huddlebot.db'}"
    if args.database_url:
        database_url = await _fresh_database(args.database_url)
    servers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        await upgrade_async(database_url)
        ports = {name: free_port() for name in ("connector", "cloud", "legacy", "huddlebot")}
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for name in ("connector", "cloud", "legacy"):
            command = [sys.executable, __file__, "--serve", name, "--port", str(ports[name])]
            servers[name] = subprocess.Popen(command, env=env, cwd=work, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
        log = work / "huddlebot-serve.log"
        servers["huddlebot"] = start_huddlebot(ports["huddlebot"], database_url, log)
        connector = f"http://127.0.0.1:{ports['connector']}"
        await wait_ready(f"{connector}/count")
        await wait_ready(f"http://127.0.0.1:{ports['huddlebot']}/healthz")
        for name in ("cloud", "legacy"):
            await wait_ready(f"http://127.0.0.1:{ports[name]}/api/messages")
        ids = itertools.count(1_800_000_000_000)
        targets = {
            "bare CloudAdapter": ("cloud", f"http://127.0.0.1:{ports['cloud']}/api/messages"),
            "bare BotFrameworkAdapter": ("legacy", f"http://127.0.0.1:{ports['legacy']}/api/messages"),
            "huddlebot": ("huddlebot", f"http://127.0.0.1:{ports['huddlebot']}/api/messages"),
        }
        print(
            f"# '@huddlebot {args.text}' in a unit channel; {args.rounds} rounds x {args.seconds:g} s "
            f"(+{args.warmup:g} s warm-up) per server and level, order rotating; "
            f"database {database_url.split('@')[-1]}; {os.cpu_count()} CPUs; "
            f"load average {os.getloadavg()[0]:.1f} before the run"
        )
        print(
            f"{'server':<26}{'conc.':>6}{'ok':>8}{'err':>6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'CPU ms/req':>12}{'replies':>9}"
        )
        mismatches = 0
        order = list(targets)
        for concurrency in args.concurrency:
            pooled = {label: Window() for label in targets}
            for round_ in range(args.rounds):
                shift = round_ % len(order)
                for label in order[shift:] + order[:shift]:
                    role, url = targets[label]
                    await load(url, connector, concurrency, args.warmup, ids, args.text)
                    before_replies = await replies(connector, role, args.text)
                    before_cpu = cpu_seconds(servers[role].pid)
                    ok, errors, elapsed, latencies = await load(
                        url, connector, concurrency, args.seconds, ids, args.text
                    )
                    window = pooled[label]
                    window.cpu += cpu_seconds(servers[role].pid) - before_cpu
                    window.replies += await replies(connector, role, args.text) - before_replies
                    window.ok += ok
                    window.errors += errors
                    window.seconds += elapsed
                    window.latencies += latencies
                    window.rounds.append(ok / elapsed if elapsed else 0.0)
            for label, window in pooled.items():
                mismatches += window.replies != window.ok
                print(
                    f"{label:<26}{concurrency:>6}{window.ok:>8}{window.errors:>6}{window.rps:>9.0f}"
                    f"{window.percentile(0.5):>9.2f}{window.percentile(0.99):>9.2f}"
                    f"{window.cpu * 1000 / max(1, window.ok):>12.2f}{window.replies:>9}"
                    + ("  (replies != ok)" if window.replies != window.ok else "")
                )
            ours = pooled["huddlebot"]
            for label in ("bare CloudAdapter", "bare BotFrameworkAdapter"):
                base = pooled[label]
                per_round = " ".join(
                    f"{a / b:.1f}" for a, b in zip(ours.rounds, base.rounds, strict=True) if b
                )
                print(
                    f"{'':<32}ratio huddlebot / {label} = {ours.rps / base.rps:.2f}×"
                    f"  (per round: {per_round})"
                )
        print("\nverification:")
        print(
            f"  {'OK  ' if not mismatches else 'FAIL'} every measured window: replies at the connector = "
            f"successful answers ({mismatches} windows differ)"
        )
        if args.text.strip() == "huddle status":
            print(
                "       (a window's replies are those that answer its request: 'You said …' from the bare "
                "bots, the unit's status from huddlebot; `huddle status` reads and stores nothing)"
            )
        else:
            print(f"       (for '{args.text}' every reply counts)")
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        problems = sum(1 for line in lines if " WARNING " in line or " ERROR " in line)
        print(f"       huddlebot serve's log: {len(lines)} lines, {problems} warnings or errors")
    finally:
        for process in servers.values():
            process.terminate()
        for process in servers.values():
            process.wait(timeout=30)
        if args.database_url:
            await _drop_database(database_url, args.database_url)
        shutil.rmtree(work, ignore_errors=True)


async def _admin(url: str, statement: str) -> None:
    import sqlalchemy as sa

    from storage.engine import create_engine

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def _fresh_database(server_url: str) -> str:
    """A throwaway PostgreSQL database on ``server_url``'s server (never the one named in it)."""
    from sqlalchemy.engine import make_url

    from storage.engine import database_url

    name = f"huddlebot_bench_teams_{os.getpid()}_{secrets.token_hex(4)}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    return make_url(database_url(server_url)).set(database=name).render_as_string(hide_password=False)


async def _drop_database(url: str, server_url: str) -> None:
    from sqlalchemy.engine import make_url

    await _admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="measured seconds per server, level, round"
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before each window")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per level (pooled)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to run huddlebot on (a database of the run's own is made there and "
        "dropped at the end); default SQLite",
    )
    parser.add_argument(
        "--text",
        default="huddle status",
        help="what is said to the bot (default 'huddle status': one transaction; 'help' touches no database)",
    )
    parser.add_argument("--serve", choices=["connector", "cloud", "legacy"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        import logging

        logging.basicConfig(level=logging.ERROR)
        server = {
            "connector": lambda: serve_connector(args.port),
            "cloud": lambda: serve_bare_cloud(args.port),
            "legacy": lambda: serve_bare_legacy(args.port),
        }[args.serve]
        asyncio.run(server())
        return
    signal.signal(signal.SIGTERM, _interrupted)
    asyncio.run(run(args))


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so SIGTERM, like Ctrl-C, still stops the servers and drops the database


if __name__ == "__main__":
    main()
