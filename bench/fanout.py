"""Fan-out: how close to the platform's own rate limits does huddlebot deliver a burst of huddle prompts?

Queues N prompts (one per unit channel) in the outbox, in one workspace or tenant, and lets the real
dispatcher and the real Slack or Teams Messenger deliver them to a fake platform on 127.0.0.1. The fake
enforces the platform's limits (Slack: 1 message a second per channel and a workspace cap; Teams:
7 a second and 60 in 30 seconds per conversation and a tenant cap), answers 429 with Retry-After when
they are exceeded, and injects 429s and 5xx errors at a set rate. Prints the completion time, the floor
the cap imposes, their ratio (target <= 1.1), and the messages lost and doubled (target 0 and 0).

    python bench/fanout.py --platform both --targets 5000 --cap 250 --fail-429 0.01 --fail-5xx 0.01
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import random
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
import sqlalchemy as sa
from aiohttp import web

from adapters.slack.messenger import SlackMessenger
from adapters.slack.platform import web_client
from adapters.teams.options import TeamsOptions
from adapters.teams.platform import TeamsPlatform
from bot.bootstrap import build
from bot.config import bundled_example_path, load_config
from bot.model import Address
from bot.publish import post
from bot.settings import Settings
from bot.views import HuddlePrompt
from storage.conversations import TeamsConversations
from storage.engine import create_engine, database_url
from storage.migrate import upgrade_async
from storage.tables import teams_conversations

TENANT = "T0BENCH01"


@dataclass
class Limits:
    """The fake platform's rules and its record of what it accepted."""

    cap: float  # messages a second across the workspace or tenant
    fail_429: float
    fail_5xx: float
    per_target: list[tuple[int, float]]  # (messages, seconds) windows per channel or conversation
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    accepted: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    _tokens: float = 0.0
    _stamp: float = 0.0
    _recent: dict[str, deque[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tokens, self._stamp = self.cap, time.monotonic()

    def judge(self, target: str) -> int:
        """200, 429 or 503 for one message to ``target``."""
        roll = self.rng.random()
        if roll < self.fail_5xx:
            self.refused["injected 5xx"] += 1
            return 503
        if roll < self.fail_5xx + self.fail_429:
            self.refused["injected 429"] += 1
            return 429
        now = time.monotonic()
        recent = self._recent.setdefault(target, deque())
        for count, seconds in self.per_target:
            if sum(1 for t in recent if now - t < seconds) >= count:
                self.refused["over the per-target limit"] += 1
                return 429
        self._tokens = min(self.cap, self._tokens + (now - self._stamp) * self.cap)
        self._stamp = now
        if self._tokens < 1.0:
            self.refused["over the workspace cap"] += 1
            return 429
        self._tokens -= 1.0
        recent.append(now)
        while recent and now - recent[0] > 60:
            recent.popleft()
        self.accepted[target] += 1
        return 200


def _stats_route(app: web.Application, limits: Limits) -> None:
    async def stats(_: web.Request) -> web.Response:
        return web.json_response({"accepted": dict(limits.accepted), "refused": dict(limits.refused)})

    app.router.add_get("/stats", stats)


async def fake_slack(limits: Limits) -> web.AppRunner:
    ids = itertools.count(1)

    async def post_message(request: web.Request) -> web.Response:
        body = await request.json()
        status = limits.judge(body["channel"])
        if status == 429:
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        if status != 200:
            return web.Response(status=status, text="upstream busy")
        return web.json_response({"ok": True, "channel": body["channel"], "ts": f"1764000000.{next(ids):06}"})

    app = web.Application()
    app.router.add_post("/api/chat.postMessage", post_message)
    _stats_route(app, limits)
    return await _serve(app)


async def fake_teams(limits: Limits) -> web.AppRunner:
    ids = itertools.count(1764000000000)

    async def send(request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        await request.read()
        status = limits.judge(conversation)
        if status == 429:
            return web.json_response(
                {"error": {"code": "Throttled"}}, status=429, headers={"Retry-After": "1"}
            )
        if status != 200:
            return web.json_response({"error": {"code": "ServiceError"}}, status=status)
        return web.json_response({"id": str(next(ids))})

    app = web.Application()
    app.router.add_post("/v3/conversations/{conversation}/activities", send)
    _stats_route(app, limits)
    return await _serve(app)


async def _serve(app: web.Application) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def _fake_process(platform: str, limits: Limits, ports: multiprocessing.Queue, seconds: float) -> None:
    """The fake platform in a process of its own, as a real one would be: it gets its own core."""

    async def serve() -> None:
        runner = await (fake_slack(limits) if platform == "slack" else fake_teams(limits))
        ports.put(runner.addresses[0][1])
        await asyncio.sleep(seconds)  # it stops by itself

    asyncio.run(serve())


async def _stats(url: str) -> dict[str, dict[str, int]]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/stats") as response:
        return await response.json()


async def run(platform: str, args: argparse.Namespace) -> dict[str, float]:
    """Deliver ``args.targets`` prompts on ``platform``; the figures."""
    directory = tempfile.mkdtemp(prefix="huddlebot-fanout-")
    url = database_url(args.database_url or f"sqlite:///{directory}/fanout.db")
    await upgrade_async(url)
    per_target = [(1, 1.0)] if platform == "slack" else [(7, 1.0), (60, 30.0)]
    limits = Limits(cap=args.cap, fail_429=args.fail_429, fail_5xx=args.fail_5xx, per_target=per_target)
    budget = 3 * args.targets / args.cap + 120
    ports: multiprocessing.Queue = multiprocessing.Queue()
    fake = multiprocessing.Process(
        target=_fake_process, args=(platform, limits, ports, budget + 60), daemon=True
    )
    fake.start()
    fake_url = f"http://127.0.0.1:{ports.get(timeout=30)}"
    closers = []
    if platform == "slack":
        session = aiohttp.ClientSession()
        closers.append(session.close)
        settings = Settings(slack_bot_token="xoxb-bench", slack_api_url=fake_url + "/api/")
        messenger = SlackMessenger(web_client(settings, session), tenant_rate=args.cap)
        channels = [f"C{n:06}" for n in range(args.targets)]
    else:
        engine = create_engine(url)
        now = datetime.now(UTC)
        channels = [f"19:unit{n:05}@thread.tacv2" for n in range(args.targets)]
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(teams_conversations),
                [
                    {
                        "conversation_id": c,
                        "kind": "channel",
                        "tenant_id": TENANT,
                        "service_url": fake_url,
                        "bot_id": "28:bench",
                        "team_id": "19:team",
                        "installed_at": now,
                        "updated_at": now,
                    }
                    for c in channels
                ],
            )
        options = TeamsOptions(
            app_id=None,
            password=None,
            app_type="MultiTenant",
            tenant_id=None,
            production=False,
            allowed_tenants=frozenset({TENANT}),
            tenant_rate=args.cap,
        )
        teams = TeamsPlatform(options, store=TeamsConversations(engine))
        closers += [teams.close, engine.dispose]
        messenger = teams.messenger
    app = await build(
        config=load_config(bundled_example_path()),
        settings=Settings(database_url=url),
        tenants={platform: TENANT},
        messengers={platform: messenger},
        migrate=False,
    )
    for start in range(0, args.targets, 500):
        async with app.core.uow() as tx:
            for n, channel in enumerate(channels[start : start + 500], start):
                prompt = HuddlePrompt(
                    run_id=n + 1,
                    unit_name=f"Unit {n:05}",
                    when_label="Wed 25 Nov 07:00 CST",
                    closes_label="07:30 CST",
                    questions=["Look back", "Look ahead", "Follow up"],
                )
                await post(
                    tx,
                    app.core,
                    Address(platform, TENANT, channel=channel),
                    prompt,
                    role="prompt",
                    msg_key=f"bench:{n}",
                    run_id=n + 1,
                )
    stop = asyncio.Event()
    started = time.monotonic()
    delivery = asyncio.create_task(app.dispatcher.run(stop, idle=0.05))
    accepted: dict[str, int] = {}
    while len(accepted) < args.targets and time.monotonic() - started < budget:
        await asyncio.sleep(0.1)
        accepted = (await _stats(fake_url))["accepted"]
    elapsed = time.monotonic() - started
    stop.set()
    await delivery
    async with app.core.uow() as tx:
        _, dead = await tx.outbox_stats(now=app.core.now())
    await app.close()
    for close in reversed(closers):
        await close()
    stats = await _stats(fake_url)
    fake.terminate()
    accepted = stats["accepted"]
    floor = max(0.0, args.targets - args.cap) / args.cap  # the fake's bucket starts full: one second's burst
    lost = sum(1 for c in channels if accepted.get(c, 0) == 0)
    doubled = sum(1 for c in channels if accepted.get(c, 0) > 1)
    print(
        f"\n{platform}: {args.targets} prompts, cap {args.cap:g}/s, injected 429 {args.fail_429:.0%}, "
        f"5xx {args.fail_5xx:.0%}, database {url.split(':')[0]}"
    )
    print(
        f"  completed in {elapsed:.2f} s; floor {floor:.2f} s; ratio {elapsed / floor if floor else 0:.3f} "
        "(target <= 1.1)"
    )
    print(f"  lost {lost} (target 0), doubled {doubled} (target 0), dead letters {dead}")
    print(f"  the fake refused: {stats['refused']}")
    return {"elapsed": elapsed, "floor": floor, "lost": lost, "doubled": doubled}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", choices=["slack", "teams", "both"], default="both")
    parser.add_argument("--targets", type=int, default=5000)
    parser.add_argument("--cap", type=float, default=250.0, help="workspace or tenant cap, messages a second")
    parser.add_argument("--fail-429", type=float, default=0.01)
    parser.add_argument("--fail-5xx", type=float, default=0.01)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    args = parser.parse_args()
    for platform in ["slack", "teams"] if args.platform == "both" else [args.platform]:
        await run(platform, args)


if __name__ == "__main__":
    asyncio.run(main())
