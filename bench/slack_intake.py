"""Slack intake: how many concerns per second does huddlebot take in through ``POST /slack/events``?

What is measured. On Slack, ``/concern TEXT`` opens the form (``views.open``, no database); the concern is
created by the form's ``view_submission``: the concern, its outbox rows (the leaders' card, the
reporter's DM) and the audit record are written atomically (on PostgreSQL: one round trip reserves the id
and checks the request's idempotency key, one statement writes all the rows), and the receipt goes back
in the response.
So the *intake* request is the signed ``view_submission`` (Slack's JSON in a ``payload=`` form field), sent
to the real endpoint of a real huddlebot (signature check, Bolt, listeners, core, storage). It is compared,
in the same run, with a bare Bolt app on the same aiohttp adapter whose ``/concern`` listener does one
SQLAlchemy INSERT and then acks (Bolt's own signature check, same engine and pool settings: both check
a pooled connection only when it sat idle for a second). Each runs in its own
server process; this process is the load generator. Also measured: ``/concern TEXT`` itself (the form
opening, with ``views.open`` answered by a local fake Web API), and both apps in Bolt's two modes
(``process_before_response`` True / False).

    python bench/slack_intake.py                      # SQLite, and PostgreSQL if HUDDLEBOT_TEST_DATABASE_URL
    python bench/slack_intake.py --pg postgresql://postgres@127.0.0.1:5432/test --seconds 5

The target (issue 3): at least 0.7 of the bare figure, and p99 < 100 ms at c=16 on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import multiprocessing as mp
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
TEAM = "T0BENCH01"
ALEX, WEST = "U0ALEX01", "C04WEST01"
TEXT = "The infusion pump in bay four alarmed twice and nobody came; the alarm volume was turned right down."


# --- the servers (each in its own process) -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _fake_api(port: int) -> Any:
    from aiohttp import web

    async def method(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        if name == "auth.test":
            return web.json_response({"ok": True, "team_id": TEAM, "user_id": "U0BOT", "bot_id": "B0BOT"})
        return web.json_response({"ok": True, "view": {"id": "V0"}, "channel": WEST, "ts": "1.1"})

    app = web.Application()
    app.router.add_post("/api/{method}", method)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def _serve_bare(url: str, port: int, api: str, pbr: bool) -> Any:
    import sqlalchemy as sa
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from storage.engine import create_engine

    engine = create_engine(url)
    table = sa.Table(
        "bench_intake",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(64)),
        sa.Column("text", sa.Text),
        sa.Column("created_at", sa.Float),
    )
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
    bolt = AsyncApp(
        name="slack_bolt.bench",
        client=AsyncWebClient(token=TOKEN, base_url=api),
        signing_secret=SECRET,
        process_before_response=pbr,
    )

    @bolt.command("/concern")
    async def concern(ack: Any, body: dict[str, Any]) -> None:
        async with engine.begin() as conn:
            await conn.execute(
                table.insert().values(user_id=body["user_id"], text=body["text"], created_at=time.time())
            )
        await ack("Received.")

    async def handle(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def _serve_huddlebot(url: str, port: int, api: str, pbr: bool) -> Any:
    from aiohttp import web

    from adapters.http.app import make_web_app
    from adapters.slack.platform import connect
    from bot.bootstrap import build
    from bot.config import bundled_example_path
    from bot.settings import Settings

    settings = Settings(
        database_url=url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=api,
        huddlebot_seal_key=None,
    )
    platform = await connect(settings, process_before_response=pbr)
    app = await build(
        config=bundled_example_path(),
        settings=settings,
        tenants={"slack": platform.tenant},
        messengers={"slack": platform.messenger},
        migrate=False,
    )
    web_app = make_web_app(app)
    platform.install(web_app, app)
    web_app.on_cleanup.append(lambda _: platform.close())
    web_app.on_cleanup.append(lambda _: app.close())
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def _server(kind: str, url: str, port: int, pbr: bool, ready: Any) -> None:
    logging.basicConfig(level=logging.WARNING)

    async def main() -> None:
        api_port = _free_port()
        api = await _fake_api(api_port)
        api_url = f"http://127.0.0.1:{api_port}/api/"
        serve = _serve_huddlebot if kind == "huddlebot" else _serve_bare
        runner = await serve(url, port, api_url, pbr)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        ready.set()
        await stop.wait()
        await runner.cleanup()
        await api.cleanup()

    asyncio.run(main())


# --- the requests ---------------------------------------------------------------------------------


def _sign(body: bytes) -> dict[str, str]:
    from adapters.slack.signature import SignatureCheck

    ts = str(int(time.time()))
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": SignatureCheck(SECRET).sign(body, ts)}


_ids = itertools.count(1)


def command_body(text: str = TEXT) -> bytes:
    n = next(_ids)
    return urlencode(
        {
            "token": "x",
            "team_id": TEAM,
            "channel_id": WEST,
            "user_id": ALEX,
            "user_name": "alex",
            "command": "/concern",
            "text": f"{text} #{n}",
            "trigger_id": f"{n}.bench",
            "response_url": "https://hooks.slack.com/commands/x",
        }
    ).encode()


def submission_body() -> bytes:
    n = next(_ids)

    def select(value: str) -> dict[str, Any]:
        return {"value": {"type": "static_select", "selected_option": {"value": value}}}

    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "bench"},
        "user": {"id": ALEX, "username": "alex", "name": "alex", "team_id": TEAM},
        "api_app_id": "A0BENCH",
        "trigger_id": f"{n}.bench",
        "view": {
            "id": f"V{n:09d}",
            "type": "modal",
            "callback_id": "concern",
            "private_metadata": json.dumps({"v": 1, "ch": WEST}),
            "state": {
                "values": {
                    "description": {"value": {"type": "plain_text_input", "value": f"{TEXT} #{n}"}},
                    "severity": select("moderate"),
                    "category": select("safe"),
                    "type": select("equipment"),
                    "unit": select("4west"),
                    "anonymity": {"value": {"type": "radio_buttons", "selected_option": {"value": "named"}}},
                }
            },
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def load(port: int, make: Any, *, concurrency: int, seconds: float, warmup: float = 0.5) -> Result:
    import aiohttp

    url = f"http://127.0.0.1:{port}/slack/events"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker(until: float, record: bool) -> None:
            nonlocal errors
            while time.perf_counter() < until:
                for body in make():
                    started = time.perf_counter()
                    async with session.post(url, data=body, headers={**headers, **_sign(body)}) as response:
                        await response.read()
                        ok = response.status == 200
                    if record:
                        latencies.append(time.perf_counter() - started)
                        errors += not ok

        await asyncio.gather(*(worker(time.perf_counter() + warmup, False) for _ in range(concurrency)))
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + seconds, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return Result(len(latencies), elapsed, latencies, errors)


# --- the run --------------------------------------------------------------------------------------


async def _fresh_database(kind: str, pg: str | None, workdir: Path, name: str) -> str:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from storage.engine import create_engine, database_url
    from storage.migrate import upgrade_async

    if kind == "sqlite":
        path = workdir / f"{name}-{next(_ids)}.db"
        url = database_url(f"sqlite:///{path}")
    else:
        assert pg is not None
        admin = create_engine(pg, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            await conn.execute(sa.text(f"CREATE DATABASE {name}"))
        await admin.dispose()
        url = make_url(database_url(pg)).set(database=name).render_as_string(hide_password=False)
    await upgrade_async(url)
    return url


async def _drop_databases(pg: str, names: list[str]) -> None:
    import sqlalchemy as sa

    from storage.engine import create_engine

    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        for name in names:
            await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    await admin.dispose()


def _start(kind: str, url: str, pbr: bool) -> tuple[Any, int]:
    context = mp.get_context("spawn")
    ready = context.Event()
    port = _free_port()
    process = context.Process(target=_server, args=(kind, url, port, pbr, ready), daemon=True)
    process.start()
    if not ready.wait(60):
        process.terminate()
        raise RuntimeError(f"the {kind} server did not start")
    return process, port


def _stop(process: Any) -> None:
    process.terminate()
    process.join(10)


async def run(args: argparse.Namespace) -> None:
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    header = ("backend", "app", "request", "pbr", "c", "req/s", "p50 ms", "p99 ms", "err", "vs bare")
    widths = (10, 9, 22, 5, 3, 7, 7, 7, 4, 7)
    line = lambda values: "  ".join(f"{v:>{w}}" for v, w in zip(values, widths, strict=True))  # noqa: E731
    print(line(header), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for pbr in (True, False):
                targets = [
                    ("bare", "/concern TEXT + INSERT", command_body),
                    ("huddlebot", "view_submission", submission_body),
                ]
                if pbr:
                    targets.append(("huddlebot", "/concern TEXT (form)", command_body))
                servers = {}
                for kind in ("bare", "huddlebot"):
                    url = await _fresh_database(backend, args.pg, Path(tmp), f"slack_intake_{kind}")
                    servers[kind] = _start(kind, url, pbr)
                try:
                    for concurrency in args.levels:
                        # Rounds interleave the apps, so a busy moment on the machine hits all of them alike.
                        pooled = {target[:2]: Result(0, 0.0, [], 0) for target in targets}
                        for _ in range(args.rounds):
                            for kind, request, make in targets:
                                result = await load(
                                    servers[kind][1],
                                    lambda make=make: [make()],
                                    concurrency=concurrency,
                                    seconds=args.seconds,
                                )
                                total = pooled[(kind, request)]
                                total.requests += result.requests
                                total.seconds += result.seconds
                                total.latencies += result.latencies
                                total.errors += result.errors
                        bare = pooled[("bare", "/concern TEXT + INSERT")].rate
                        for (kind, request), result in pooled.items():
                            submit = request == "view_submission"
                            ratio = f"{result.rate / bare:.2f}" if submit and bare else ""
                            print(
                                line(
                                    (
                                        backend,
                                        kind,
                                        request,
                                        str(pbr),
                                        str(concurrency),
                                        f"{result.rate:.0f}",
                                        f"{result.percentile(0.50):.1f}",
                                        f"{result.percentile(0.99):.1f}",
                                        str(result.errors),
                                        ratio,
                                    )
                                ),
                                flush=True,
                            )
                finally:
                    for process, _port in servers.values():
                        _stop(process)
        if args.pg:
            await _drop_databases(args.pg, ["slack_intake_bare", "slack_intake_huddlebot"])
    print(
        "\nvs bare = huddlebot's view_submission req/s / the bare Bolt app's /concern + INSERT req/s, "
        "same backend, mode and concurrency. pbr = process_before_response. Latencies pooled over rounds."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg", default=os.environ.get("HUDDLEBOT_TEST_DATABASE_URL"), help="PostgreSQL admin URL"
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per app, level and round")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per level (pooled)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
