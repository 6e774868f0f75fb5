"""Slack intake: how many concerns a second does huddlebot take in through ``POST /slack/events`` while it
delivers them, as in production?

The server is ``huddlebot serve`` itself, started as a process with the environment production uses: the
scheduler and the outbox dispatcher run, and deliver every card and direct message to a fake Slack Web
API (``tests/slack/fake_slack.py``, in a process of its own, as Slack is another machine). The
organisation is generated for the run (``--units`` tier-1 units, each with a huddle channel, a leaders'
channel and a leader, under one department and one executive unit; ``--reporters`` staff) and given to
the fake, which refuses any other channel or person; concerns are spread over the units and reporters.
The fake's one leniency, asked for by name (``lenient_triggers``): it takes trigger ids it did not issue,
since the load generator is another process (still once only, and within 3 seconds).

What is measured. On Slack, ``/concern TEXT`` opens the form (``views.open``, no database); the concern
is created by the form's ``view_submission``: the concern, its outbox rows (the leaders' card, the
reporter's direct message) and the audit record are written atomically, and the receipt goes back in the
response. So the *intake* request is the signed ``view_submission``, sent to the real endpoint. It is
compared, in the same run, with a bare Bolt app on the same aiohttp adapter whose ``/concern`` listener
does one SQLAlchemy INSERT and then acks (Bolt's own signature check, same engine settings, in its own
process, no delivery). ``/concern TEXT`` itself (the form opening) is measured too.

Honest counting. Only a successful answer counts toward req/s and the latencies: HTTP 200 with the
expected body (the bare app's "Received."; huddlebot's receipt naming a concern reference; an empty ack
for the form). Everything else is counted in the ``err`` column. Beside accepted req/s it prints what was
delivered during the same seconds (cards/s: concerns whose card reached the leaders' channel; msgs/s: all
messages the fake accepted). After each huddlebot intake window the run waits until the outbox has
drained (``drain s``, not measured as load, so the backlog never runs during another server's window).
At the end it verifies: every accepted concern is stored (the database holds exactly the accepted
references), every card reached the fake exactly once, every outbox row was sent (none pending or dead),
the fake holds as many messages as the outbox sent, every accepted form opened a view, and the bare app
stored a row per accepted request.

Fairness. The servers are measured in rounds; in each round every server gets a warm-up and then a
measured window, and the order rotates from round to round; figures are pooled over the rounds.

Delivery pace. The dispatcher keeps the product's own pace: one message a second per channel, and
``SLACK_WORKSPACE_RATE`` across the workspace (serve's default, 20 a second, unless ``--workspace-rate``
sets it). At the default pace the delivered figures are the pace itself (20 messages, 10 concerns a
second) and each window's backlog drains at that pace afterwards. ``--workspace-rate 1000`` lets the
dispatcher deliver as fast as it can beside intake (the harder case for intake; the organisation has a
leaders' channel per unit, so the per-channel pace hardly binds).

    python bench/slack_intake.py                      # SQLite, and PostgreSQL if HUDDLEBOT_TEST_DATABASE_URL
    python bench/slack_intake.py --pg postgresql://postgres@127.0.0.1:5432/postgres --seconds 2 --rounds 3
    python bench/slack_intake.py --pg postgresql://postgres@127.0.0.1:5432/postgres --workspace-rate 1000

PostgreSQL: ``--pg`` names the server; the run creates its own uniquely named databases there (the user
needs CREATEDB) and drops them at the end. SQLite: files in a temporary directory.

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
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.slack.fake_slack import TEAM, TOKEN  # noqa: E402

SECRET = "bench-signing-secret"
TEXT = "The infusion pump in bay four alarmed twice and nobody came; the alarm volume was turned right down."
CARD = re.compile(r"^(C-\d+) \(")  # a concern card's notification text starts with its reference
REF = re.compile(r"\bC-\d+\b")


# --- the organisation ------------------------------------------------------------------------------


@dataclass
class Org:
    units: list[str]  # tier-1 unit ids
    channels: dict[str, str]  # unit id → its Slack huddle channel
    leaders_channels: list[str]  # every leaders' channel (tier 1, 2 and 3)
    reporters: list[str]  # Slack user ids of the staff who raise concerns
    all_channels: list[str] = field(default_factory=list)  # every channel the organisation names
    people: list[str] = field(default_factory=list)  # every person's Slack user id


def write_org(path: Path, units: int, reporters: int) -> Org:
    """An organisation of ``units`` tier-1 units under one department and one executive unit."""
    people = [
        "  exec0: {name: Exec Leader, slack: U0EXEC000}",
        "  dept0: {name: Dept Leader, slack: U0DEPT000}",
    ]
    people += [f"  lead{i:04d}: {{name: Leader {i}, slack: U1{i:07d}}}" for i in range(units)]
    people += [f"  staff{i:04d}: {{name: Staff {i}, slack: U2{i:07d}}}" for i in range(reporters)]
    lines = [
        "organization: {name: Bench Health, timezone: America/Chicago}",
        "people:",
        *people,
        "safety_officers: [exec0]",
        "units:",
        "  - {id: exec, name: Executive, tier: 3, leaders: [exec0],"
        " channels: {slack: C0EXEC000}, leaders_channel: {slack: C0EXEC001}}",
        "  - {id: dept, name: Department, tier: 2, parent: exec, leaders: [dept0],"
        " channels: {slack: C0DEPT000}, leaders_channel: {slack: C0DEPT001}}",
    ]
    org = Org([], {}, ["C0EXEC001", "C0DEPT001"], [f"U2{i:07d}" for i in range(reporters)])
    org.all_channels = ["C0EXEC000", "C0EXEC001", "C0DEPT000", "C0DEPT001"]
    org.people = ["U0EXEC000", "U0DEPT000", *(f"U1{i:07d}" for i in range(units)), *org.reporters]
    for i in range(units):
        unit, channel, leaders = f"u{i:04d}", f"C1{i:07d}", f"C2{i:07d}"
        lines.append(
            f"  - {{id: {unit}, name: Unit {i}, tier: 1, parent: dept, leaders: [lead{i:04d}],"
            f" channels: {{slack: {channel}}}, leaders_channel: {{slack: {leaders}}}}}"
        )
        org.units.append(unit)
        org.channels[unit] = channel
        org.leaders_channels.append(leaders)
        org.all_channels += [channel, leaders]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return org


# --- the fake Slack Web API (its own process) ------------------------------------------------------


def _fake_slack(conn: Any, org: Org) -> None:
    """Serve ``FakeSlack`` and answer the load generator's questions about what it received.

    The fake knows the organisation's channels and people and refuses any other. Its one leniency,
    asked for by name: it takes trigger ids it did not issue (this process cannot issue them to the load
    generator in time), still only once and only within 3 seconds.
    """
    from tests.slack.fake_slack import FakeSlack

    leaders = set(org.leaders_channels)

    def tally(fake: FakeSlack) -> dict[str, Any]:
        cards: Counter[str] = Counter()
        messages = 0
        for channel, posted in fake.messages.items():
            messages += len(posted)
            if channel in leaders:
                for message in posted:
                    found = CARD.match(str(message.args.get("text") or ""))
                    if message.thread_ts is None and found:
                        cards[found.group(1)] += 1
        return {"messages": messages, "cards": cards, "views": len(fake.views)}

    async def main() -> None:
        fake = FakeSlack(channels=org.all_channels, users=org.people, lenient_triggers=True)
        conn.send(await fake.start())
        while True:
            question = await asyncio.to_thread(conn.recv)
            if question == "stop":
                break
            conn.send(tally(fake))
        await fake.stop()

    asyncio.run(main())


class Fake:
    """The load generator's handle on the fake Slack process."""

    def __init__(self, org: Org) -> None:
        context = mp.get_context("spawn")
        self._conn, child = context.Pipe()
        self.process = context.Process(target=_fake_slack, args=(child, org), daemon=True)
        self.process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the fake Slack did not start")
        self.url: str = self._conn.recv()

    async def tally(self) -> dict[str, Any]:
        def ask() -> dict[str, Any]:
            self._conn.send("tally")
            return self._conn.recv()

        return await asyncio.to_thread(ask)

    def stop(self) -> None:
        self._conn.send("stop")
        self.process.join(10)


# --- the servers ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def _bare_server(url: str, port: int, api: str, pbr: bool, ready: Any) -> None:
    logging.basicConfig(level=logging.WARNING)

    async def main() -> None:
        runner = await _serve_bare(url, port, api, pbr)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        ready.set()
        await stop.wait()
        await runner.cleanup()

    asyncio.run(main())


@dataclass
class Server:
    name: str
    port: int
    url: str  # its database
    stop: Callable[[], None]


def start_bare(url: str, api: str, pbr: bool) -> Server:
    context = mp.get_context("spawn")
    ready = context.Event()
    port = _free_port()
    process = context.Process(target=_bare_server, args=(url, port, api, pbr, ready), daemon=True)
    process.start()
    if not ready.wait(60):
        process.terminate()
        raise RuntimeError("the bare Bolt app did not start")

    def stop() -> None:
        process.terminate()
        process.join(10)

    return Server("bare" if pbr else "bare (default mode)", port, url, stop)


async def start_huddlebot(
    url: str, api: str, config: Path, workspace_rate: float | None, log: Path
) -> Server:
    """``huddlebot serve``, as an operator starts it (its log goes to ``log``)."""
    import aiohttp

    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUDDLEBOT_", "MICROSOFT_"))},
        "DATABASE_URL": url,
        "HUDDLEBOT_CONFIG": str(config),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api,
        "PYTHONPATH": str(ROOT),
    }
    if workspace_rate is not None:
        env["SLACK_WORKSPACE_RATE"] = str(workspace_rate)
    command = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out)  # noqa: ASYNC220
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"huddlebot serve exited ({process.returncode}); see {log}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                process.terminate()
                raise RuntimeError(f"huddlebot serve did not answer /healthz; see {log}")
            await asyncio.sleep(0.1)

    def stop() -> None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    return Server("huddlebot", port, url, stop)


# --- the requests ---------------------------------------------------------------------------------


def _sign(body: bytes) -> dict[str, str]:
    from adapters.slack.signature import SignatureCheck

    ts = str(int(time.time()))
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": SignatureCheck(SECRET).sign(body, ts)}


_ids = itertools.count(1)


def command_body(org: Org) -> bytes:
    n = next(_ids)
    unit = org.units[n % len(org.units)]
    return urlencode(
        {
            "token": "x",
            "team_id": TEAM,
            "channel_id": org.channels[unit],
            "user_id": org.reporters[n % len(org.reporters)],
            "user_name": "staff",
            "command": "/concern",
            "text": f"{TEXT} #{n}",
            "trigger_id": f"{n}.bench",
            "response_url": "https://hooks.slack.com/commands/x",
        }
    ).encode()


def submission_body(org: Org) -> bytes:
    n = next(_ids)
    unit = org.units[n % len(org.units)]
    user = org.reporters[n % len(org.reporters)]

    def select(value: str) -> dict[str, Any]:
        return {"value": {"type": "static_select", "selected_option": {"value": value}}}

    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "bench"},
        "user": {"id": user, "username": "staff", "name": "staff", "team_id": TEAM},
        "api_app_id": "A0BENCH",
        "trigger_id": f"{n}.bench",
        "view": {
            "id": f"V{n:09d}",
            "type": "modal",
            "callback_id": "concern",
            "private_metadata": json.dumps({"v": 1, "ch": org.channels[unit]}),
            "state": {
                "values": {
                    "description": {"value": {"type": "plain_text_input", "value": f"{TEXT} #{n}"}},
                    "severity": select("moderate"),
                    "category": select("safe"),
                    "type": select("equipment"),
                    "unit": select(unit),
                    "anonymity": {"value": {"type": "radio_buttons", "selected_option": {"value": "named"}}},
                }
            },
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


# What a successful answer is, for each request: (status, body) → True, or the reference it names.
def bare_ok(status: int, body: str) -> bool | str:
    return status == 200 and body == "Received."


def receipt_ok(status: int, body: str) -> bool | str:
    if status != 200:
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    if answer.get("response_action") != "update" or answer.get("view", {}).get("title", {}).get("text") != (
        "Concern received"
    ):
        return False
    found = REF.search(json.dumps(answer["view"].get("blocks")))
    return found.group(0) if found else False


def form_ok(status: int, body: str) -> bool | str:
    return status == 200 and body == ""


@dataclass
class Result:
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    cards: int = 0  # cards the fake received during the measured windows
    messages: int = 0  # messages the fake received during the measured windows
    drains: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


@dataclass
class Accepted:
    """What a server answered successfully, warm-ups included (all of it must be stored and delivered)."""

    count: int = 0
    refs: set[str] = field(default_factory=set)


async def load(
    port: int,
    make: Callable[[], bytes],
    ok: Callable[[int, str], bool | str],
    accepted: Accepted,
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
    fake: Fake,
) -> Result:
    import aiohttp

    url = f"http://127.0.0.1:{port}/slack/events"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    result = Result()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker(until: float, record: bool) -> None:
            while time.perf_counter() < until:
                body = make()
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers={**headers, **_sign(body)}) as response:
                        verdict = ok(response.status, await response.text())
                except aiohttp.ClientError:
                    verdict = False
                took = time.perf_counter() - started
                if verdict:
                    accepted.count += 1
                    if isinstance(verdict, str):
                        accepted.refs.add(verdict)
                if not record:
                    continue
                if verdict:
                    result.requests += 1
                    result.latencies.append(took)
                else:
                    result.errors += 1

        await asyncio.gather(*(worker(time.perf_counter() + warmup, False) for _ in range(concurrency)))
        before = await fake.tally()
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + seconds, True) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - start
        after = await fake.tally()
    result.cards = sum(after["cards"].values()) - sum(before["cards"].values())
    result.messages = after["messages"] - before["messages"]
    return result


# --- databases ------------------------------------------------------------------------------------


async def _admin(server: str, statement: str) -> None:
    import sqlalchemy as sa

    from storage.engine import create_engine

    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def fresh_database(backend: str, pg: str | None, workdir: Path, made: list[str]) -> str:
    """A new, migrated database for one server; PostgreSQL names go into ``made`` to be dropped."""
    from sqlalchemy.engine import make_url

    from storage.engine import database_url
    from storage.migrate import upgrade_async

    name = f"huddlebot_bench_intake_{os.getpid()}_{secrets.token_hex(4)}"
    if backend == "sqlite":
        url = database_url(f"sqlite:///{workdir / name}.db")
    else:
        assert pg is not None
        await _admin(database_url(pg), f'CREATE DATABASE "{name}"')
        made.append(name)
        url = make_url(database_url(pg)).set(database=name).render_as_string(hide_password=False)
    await upgrade_async(url)
    return url


async def query(url: str, sql: str) -> list[Any]:
    import sqlalchemy as sa

    from storage.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(sa.text(sql)))
    finally:
        await engine.dispose()


async def outbox_waiting(url: str) -> int:
    return (await query(url, "SELECT count(*) FROM outbox WHERE status = 'pending'"))[0][0]


async def drain(url: str, within: float) -> float | None:
    """Seconds until nothing waits in the outbox (every row sent or dead-lettered; ``verify`` tells)."""
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        if await outbox_waiting(url) == 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.1)
    return None


async def verify(
    huddlebot: Server, bare: list[Server], fake: Fake, accepted: dict[str, Accepted], forms: Accepted
) -> list[tuple[bool, str]]:
    """What the run reported as done, checked against the databases and the fake."""
    checks: list[tuple[bool, str]] = []
    took = accepted["huddlebot"]
    from bot.model import concern_reference

    stored = {concern_reference(row[0]) for row in await query(huddlebot.url, "SELECT id FROM concerns")}
    checks.append(
        (
            stored == took.refs and len(took.refs) == took.count,
            f"huddlebot: {took.count} concerns accepted, {len(took.refs)} distinct references, "
            f"{len(stored)} stored, {len(stored - took.refs)} stored but not accepted, "
            f"{len(took.refs - stored)} accepted but not stored",
        )
    )
    tally = await fake.tally()
    cards: Counter[str] = tally["cards"]
    missing = took.refs - set(cards)
    doubled = sum(1 for ref in took.refs if cards[ref] > 1)
    checks.append(
        (
            not missing and not doubled,
            f"huddlebot: cards in the leaders' channels: {len(missing)} accepted concerns without one, "
            f"{doubled} with more than one",
        )
    )
    statuses = dict(await query(huddlebot.url, "SELECT status, count(*) FROM outbox GROUP BY status"))
    sent = statuses.get("sent", 0)
    checks.append(
        (
            set(statuses) <= {"sent"} and sent == tally["messages"],
            f"huddlebot: outbox rows by status {dict(sorted(statuses.items()))}; "
            f"the fake holds {tally['messages']} messages",
        )
    )
    checks.append(
        (
            tally["views"] == forms.count,
            f"huddlebot: {forms.count} form requests answered, {tally['views']} views opened at the fake",
        )
    )
    for server in bare:
        rows = (await query(server.url, "SELECT count(*) FROM bench_intake"))[0][0]
        done = accepted[server.name].count
        checks.append((rows == done, f"{server.name}: {done} requests answered, {rows} rows stored"))
    return checks


# --- the run --------------------------------------------------------------------------------------


async def run_backend(backend: str, args: argparse.Namespace, work: Path, made: list[str]) -> list[str]:
    """Measure one backend; return the verification lines."""
    org = write_org(work / "org.yaml", args.units, args.reporters)
    fake = Fake(org)
    servers: dict[str, Server] = {}
    try:
        log = work / f"huddlebot-{backend}.log"
        servers["huddlebot"] = await start_huddlebot(
            await fresh_database(backend, args.pg, work, made),
            fake.url,
            work / "org.yaml",
            args.workspace_rate,
            log,
        )
        servers["bare"] = start_bare(await fresh_database(backend, args.pg, work, made), fake.url, True)
        if args.bare_default_mode:
            servers["bare (default mode)"] = start_bare(
                await fresh_database(backend, args.pg, work, made), fake.url, False
            )
        accepted = {name: Accepted() for name in servers}
        forms = Accepted()
        targets: list[tuple[str, str, Callable[[], bytes], Callable[[int, str], bool | str], Accepted]] = [
            ("bare", "/concern TEXT + INSERT", lambda: command_body(org), bare_ok, accepted["bare"]),
            ("huddlebot", "view_submission", lambda: submission_body(org), receipt_ok, accepted["huddlebot"]),
            ("huddlebot", "/concern TEXT (form)", lambda: command_body(org), form_ok, forms),
        ]
        if args.bare_default_mode:
            targets.insert(
                1,
                (
                    "bare (default mode)",
                    "/concern TEXT + INSERT",
                    lambda: command_body(org),
                    bare_ok,
                    accepted["bare (default mode)"],
                ),
            )
        for concurrency in args.levels:
            pooled = {(name, request): Result() for name, request, *_ in targets}
            for round_ in range(args.rounds):
                shift = round_ % len(targets)  # rotate the order: nobody always goes first
                for name, request, make, ok, taken in targets[shift:] + targets[:shift]:
                    server = servers[name]
                    result = await load(
                        server.port,
                        make,
                        ok,
                        taken,
                        concurrency=concurrency,
                        seconds=args.seconds,
                        warmup=args.warmup,
                        fake=fake,
                    )
                    total = pooled[(name, request)]
                    total.requests += result.requests
                    total.seconds += result.seconds
                    total.latencies += result.latencies
                    total.errors += result.errors
                    total.cards += result.cards
                    total.messages += result.messages
                    if request == "view_submission":  # its backlog must not run in another's window
                        waited = await drain(server.url, args.drain_timeout)
                        total.drains.append(float("inf") if waited is None else waited)
            print_level(backend, concurrency, pooled)
        return [
            f"{'OK  ' if good else 'FAIL'} {line}"
            for good, line in await verify(
                servers["huddlebot"],
                [s for n, s in servers.items() if n != "huddlebot"],
                fake,
                accepted,
                forms,
            )
        ] + [f"     huddlebot serve's log ({log.name}): {_log_summary(log)}"]
    finally:
        for server in servers.values():
            server.stop()
        fake.stop()


def _log_summary(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    levels = Counter(level for line in lines for level in ("WARNING", "ERROR") if f" {level} " in line)
    return f"{len(lines)} lines, {levels['WARNING']} warnings, {levels['ERROR']} errors"


HEADER = (
    "backend",
    "app",
    "request",
    "c",
    "req/s",
    "p50 ms",
    "p99 ms",
    "err",
    "vs bare",
    "cards/s",
    "msgs/s",
)
WIDTHS = (10, 19, 22, 3, 7, 7, 7, 5, 7, 8, 7)
HEADER += ("drain s (max)",)
WIDTHS += (13,)


def _line(values: tuple[str, ...]) -> str:
    return "  ".join(f"{v:>{w}}" for v, w in zip(values, WIDTHS, strict=True))


def print_level(backend: str, concurrency: int, pooled: dict[tuple[str, str], Result]) -> None:
    bare = pooled[("bare", "/concern TEXT + INSERT")].rate
    for (name, request), result in pooled.items():
        ratio = f"{result.rate / bare:.2f}" if name != "bare" and bare else ""
        delivered = name == "huddlebot" and request == "view_submission"
        drain = max(result.drains) if result.drains else None
        print(
            _line(
                (
                    backend,
                    name,
                    request,
                    str(concurrency),
                    f"{result.rate:.0f}",
                    f"{result.percentile(0.50):.1f}",
                    f"{result.percentile(0.99):.1f}",
                    str(result.errors),
                    ratio,
                    f"{result.cards / result.seconds:.0f}" if delivered and result.seconds else "",
                    f"{result.messages / result.seconds:.0f}" if delivered and result.seconds else "",
                    (f"{drain:.1f}" if drain != float("inf") else "NOT DRAINED") if drain is not None else "",
                )
            ),
            flush=True,
        )


async def run(args: argparse.Namespace) -> None:
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    print(
        f"# {args.units} units, {args.reporters} reporters; SLACK_WORKSPACE_RATE="
        f"{'serve default (20)' if args.workspace_rate is None else f'{args.workspace_rate:g}'}; "
        f"{args.rounds} rounds x {args.seconds:g} s (+{args.warmup:g} s warm-up) per server and level; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} before the run",
        flush=True,
    )
    print(_line(HEADER), flush=True)
    made: list[str] = []
    checks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="huddlebot-bench-intake-") as tmp:
        try:
            for backend in backends:
                checks += [f"{backend}: {line}" for line in await run_backend(backend, args, Path(tmp), made)]
        finally:
            if args.pg:
                from storage.engine import database_url

                for name in made:
                    await _admin(database_url(args.pg), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(
            "\nreq/s counts successful answers only (err: the others). vs bare = req/s / the bare Bolt app's "
            "req/s (/concern + INSERT, same backend, concurrency and rounds). cards/s, msgs/s: delivered "
            "to the fake during the measured seconds of the view_submission windows. drain s: the longest "
            "wait, after a window, until the outbox had nothing pending."
        )
        print("\nverification:")
        for line in checks:
            print("  " + line)
        if args.keep_logs:
            _keep_logs(Path(tmp), Path(args.keep_logs))


def _keep_logs(work: Path, into: Path) -> None:
    for log in work.glob("*.log"):
        (into / log.name).write_bytes(log.read_bytes())


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so SIGTERM, like Ctrl-C, still stops the servers and drops the databases


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupted)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg",
        default=os.environ.get("HUDDLEBOT_TEST_DATABASE_URL"),
        help="a PostgreSQL server URL: the run makes (and drops) databases of its own there",
    )
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="measured seconds per server, level, round"
    )
    parser.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds before each window")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per level (pooled)")
    parser.add_argument("--units", type=int, default=200, help="tier-1 units (each a leaders' channel)")
    parser.add_argument("--reporters", type=int, default=200, help="staff raising concerns")
    parser.add_argument(
        "--workspace-rate", type=float, help="SLACK_WORKSPACE_RATE for serve (default: unset, serve's 20)"
    )
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to wait for the outbox")
    parser.add_argument(
        "--bare-default-mode", action="store_true", help="also the bare app in Bolt's default mode"
    )
    parser.add_argument("--keep-logs", metavar="DIR", help="copy huddlebot serve's logs there")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
