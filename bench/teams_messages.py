"""Teams: message activities that each produce one reply, huddlebot against bare botbuilder bots.

Four processes on loopback, as in production each server has a core of its own to fight for:

* a fake Bot Connector that answers every reply (``POST …/v3/conversations/{id}/activities[/{id}]``);
* a bare botbuilder bot on ``CloudAdapter`` (the SDK's current sample:
  ``ConfigurationBotFrameworkAuthentication`` + ``CloudAdapter.process``), replying once to each message;
* the same bare bot on the legacy ``BotFrameworkAdapter`` (which caches its connector client);
* huddlebot serving ``POST /api/messages`` (real core, SQLite or PostgreSQL, the real Teams adapter),
  answering ``@huddlebot huddle status`` in a unit channel: a dedupe row and two queries in one
  transaction, then one reply.

Authentication is off for all of them (no credentials): the comparison is the turn and the reply.
For each concurrency the load generator (this process) posts activities for a fixed time and prints
requests/s, p50 and p99 latency, the servers' CPU time per request, and huddlebot's ratio to each bare bot.

    python bench/teams_messages.py                      # SQLite, 5 s per level, concurrency 1, 16, 64
    python bench/teams_messages.py --seconds 10 --database-url postgresql://postgres@127.0.0.1:5432/test
    python bench/teams_messages.py --text help          # the adapter alone: no database work

The target (issue 4): huddlebot ≥ 3× the bare CloudAdapter bot.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHANNEL = "19:4west@thread.tacv2"
BOT = "28:608cacfd-1cea-40c9-b678-4b93e69bb72b"
TENANT = "b28fdbfd-2b78-4f93-b0f8-8881793f0f8f"


# --- the servers (each runs in its own process: ``--serve ROLE``) -------------------------------------


async def serve_connector(port: int) -> None:
    from aiohttp import web

    ids = itertools.count(1771290200000)
    replies = 0

    async def activity(request: web.Request) -> web.Response:
        nonlocal replies
        await request.read()
        replies += 1
        return web.json_response({"id": str(next(ids))})

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"replies": replies})

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


async def serve_huddlebot(port: int, database_url: str) -> None:
    """huddlebot as ``huddlebot serve`` wires it (without the scheduler), Teams in development mode."""
    from aiohttp import web

    from adapters.http.app import make_web_app
    from adapters.teams.options import TeamsOptions
    from adapters.teams.platform import TeamsPlatform
    from bot.bootstrap import build
    from bot.config import bundled_example_path
    from bot.settings import Settings
    from storage.conversations import TeamsConversations

    options = TeamsOptions(
        app_id=None, password=None, app_type="MultiTenant", tenant_id=None, production=False, tenant_rate=0.0
    )
    platform = TeamsPlatform(options, store_factory=lambda app: TeamsConversations(app.core.uow.engine))
    app = await build(
        config=bundled_example_path(),
        settings=Settings(database_url=database_url),
        tenants={"teams": platform.tenant},
        messengers={"teams": platform.messenger},
        migrate=True,
    )
    web_app = make_web_app(app)
    platform.install(web_app, app)
    runner = web.AppRunner(web_app, access_log=None)
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


async def load(
    url: str, connector: str, concurrency: int, seconds: float, ids: itertools.count, text: str
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.monotonic() < stop:
            body = json.dumps(activity(next(ids), connector, text))
            start = time.perf_counter()
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                await response.read()
                if response.status >= 300:
                    errors += 1
            latencies.append(time.perf_counter() - start)

    connector_ = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector_) as session:
        began = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": errors,
    }


async def replies(connector: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{connector}/count") as response:
        return (await response.json())["replies"]


async def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="huddlebot-bench-"))
    database_url = f"sqlite:///{work / 'huddlebot.db'}"
    if args.database_url:
        database_url = await _fresh_database(args.database_url)
    ports = {name: free_port() for name in ("connector", "cloud", "legacy", "huddlebot")}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    servers: dict[str, subprocess.Popen[bytes]] = {}
    for name in ("connector", "cloud", "legacy", "huddlebot"):
        command = [
            sys.executable,
            __file__,
            "--serve",
            name,
            "--port",
            str(ports[name]),
            "--database-url",
            database_url,
        ]
        servers[name] = subprocess.Popen(command, env=env, cwd=work, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    connector = f"http://127.0.0.1:{ports['connector']}"
    try:
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
            f"# '@huddlebot {args.text}' in a unit channel; {args.seconds:g} s per level; "
            f"database {database_url.split('@')[-1]}; {os.cpu_count()} CPUs; "
            f"load average {os.getloadavg()[0]:.1f} before the run"
        )
        header = f"{'server':<26}{'conc.':>6}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        print(header + f"{'CPU ms/req':>12}")
        for concurrency in args.concurrency:
            results: dict[str, dict[str, float]] = {}
            for label, (role, url) in targets.items():
                await load(url, connector, min(concurrency, 16), 1.0, ids, args.text)  # warm up
                before_replies, before_cpu = await replies(connector), cpu_seconds(servers[role].pid)
                result = await load(url, connector, concurrency, args.seconds, ids, args.text)
                result["cpu_ms"] = (
                    (cpu_seconds(servers[role].pid) - before_cpu) * 1000 / max(1, result["requests"])
                )
                result["replies"] = await replies(connector) - before_replies
                results[label] = result
                print(
                    f"{label:<26}{concurrency:>6}{result['requests']:>10.0f}{result['rps']:>9.0f}"
                    f"{result['p50']:>9.2f}{result['p99']:>9.2f}{result['cpu_ms']:>12.2f}"
                    + (f"  errors={result['errors']:.0f}" if result["errors"] else "")
                    + (
                        f"  replies={result['replies']:.0f}"
                        if abs(result["replies"] - result["requests"]) > concurrency
                        else ""
                    )
                )
            ours = results["huddlebot"]["rps"]
            cloud, legacy = results["bare CloudAdapter"]["rps"], results["bare BotFrameworkAdapter"]["rps"]
            print(
                f"{'':<32}ratio huddlebot / bare CloudAdapter = {ours / cloud:.1f}×, "
                f"/ bare BotFrameworkAdapter = {ours / legacy:.1f}×"
            )
    finally:
        for process in servers.values():
            process.terminate()
        for process in servers.values():
            process.wait(timeout=10)
        if args.database_url:
            await _drop_database(database_url, args.database_url)


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

    name = f"huddlebot_bench_teams_{os.getpid()}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    return make_url(database_url(server_url)).set(database=name).render_as_string(hide_password=False)


async def _drop_database(url: str, server_url: str) -> None:
    from sqlalchemy.engine import make_url

    await _admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per server and level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to run huddlebot on (a throwaway database is made there); default SQLite",
    )
    parser.add_argument(
        "--text",
        default="huddle status",
        help="what is said to the bot (default 'huddle status': one transaction; 'help' touches no database)",
    )
    parser.add_argument(
        "--serve", choices=["connector", "cloud", "legacy", "huddlebot"], help=argparse.SUPPRESS
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        import logging

        logging.basicConfig(level=logging.ERROR)
        server = {
            "connector": lambda: serve_connector(args.port),
            "cloud": lambda: serve_bare_cloud(args.port),
            "legacy": lambda: serve_bare_legacy(args.port),
            "huddlebot": lambda: serve_huddlebot(args.port, args.database_url),
        }[args.serve]
        asyncio.run(server())
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
