"""The outbox under faults: each conversation's messages arrive in the order they were queued — through
a failed send, a worker that died holding a row, and a database that goes away — while other
conversations go on; the delivery loop never ends, and /healthz says when delivery is stopped or behind.
Both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from adapters.http.app import SCHEDULER_KEY, make_web_app
from bot.errors import TransientDeliveryError
from bot.model import Address
from bot.outbox import Dispatcher
from bot.ports import Delivered
from bot.publish import post
from bot.views import Notice, View
from tests.conftest import Harness
from tests.sql import rows

WARD, OTHER = "4west-leaders", "5north-leaders"


class Recording:
    """A platform that records what each channel received, and fails on command."""

    platform = "console"

    def __init__(self) -> None:
        self.received: dict[str, list[str]] = {}
        self.fail_next: dict[str, int] = {}  # channel -> how many posts to refuse with a 503
        self.calls = 0

    async def post(self, address: Address, view: View) -> Delivered:
        self.calls += 1
        channel = address.channel or ""
        if self.fail_next.get(channel, 0) > 0:
            self.fail_next[channel] -= 1
            raise TransientDeliveryError("HTTP 503")
        assert isinstance(view, Notice)
        self.received.setdefault(channel, []).append(view.text)
        return Delivered(message_ref=f"m{self.calls}", channel=channel)

    async def update(self, channel: str, message_ref: str, view: View) -> None:
        raise AssertionError("no updates here")

    def min_interval(self, address: Address) -> float:
        return 0.0


async def queue(harness: Harness, channel: str, *texts: str) -> None:
    async with harness.core.uow() as tx:
        for text in texts:
            await post(
                tx,
                harness.core,
                Address("console", "local", channel=channel),
                Notice(text=text),
                role="notice",
            )


def dispatcher(harness: Harness, platform: Recording, **options: Any) -> Dispatcher:
    return Dispatcher(uow=harness.core.uow, clock=harness.clock, messengers={"console": platform}, **options)


async def test_a_failed_send_holds_its_conversation_while_others_go_on(harness: Harness) -> None:
    platform = Recording()
    platform.fail_next[WARD] = 1
    await queue(harness, WARD, "ward 1", "ward 2", "ward 3")
    await queue(harness, OTHER, "other 1", "other 2")

    await dispatcher(harness, platform).deliver_all()
    assert platform.received == {OTHER: ["other 1", "other 2"]}  # the ward waits behind its first message
    held = await rows(harness, "SELECT attempts, last_error FROM outbox WHERE status = 'pending' ORDER BY id")
    assert held[0] == {"attempts": 1, "last_error": "HTTP 503"} and len(held) == 3

    await queue(harness, WARD, "ward 4")  # queued while the ward is held: still behind
    harness.clock.advance(timedelta(minutes=5))
    await dispatcher(harness, platform).deliver_all()
    assert platform.received[WARD] == ["ward 1", "ward 2", "ward 3", "ward 4"]
    assert await rows(harness, "SELECT id FROM outbox WHERE status = 'pending'") == []


async def test_a_row_leased_by_a_worker_that_died_holds_the_rest_of_its_conversation(
    harness: Harness,
) -> None:
    await queue(harness, WARD, "ward 1")
    now = harness.clock.now()
    async with harness.core.uow() as tx:  # a worker leases the first message, then its process dies
        (_leased,) = await tx.claim_outbox(
            now=now, lease_until=now + timedelta(seconds=10), platforms=["console"], limit=1
        )
    await queue(harness, WARD, "ward 2", "ward 3")
    await queue(harness, OTHER, "other 1")

    platform = Recording()
    survivor = dispatcher(harness, platform)
    await survivor.deliver_all()
    assert platform.received == {OTHER: ["other 1"]}  # "ward 2" must not overtake the leased "ward 1"

    harness.clock.advance(timedelta(seconds=11))  # the dead worker's lease runs out
    await survivor.deliver_all()
    assert platform.received[WARD] == ["ward 1", "ward 2", "ward 3"]


class FlakyUnitOfWork:
    """The real unit of work, except that the database 'goes away' while ``down`` is set."""

    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner = inner
        self.down = False
        self.refused = 0
        self.engine = getattr(inner, "engine", None)

    @asynccontextmanager
    async def __call__(self, **options: Any) -> AsyncIterator[Any]:
        if self.down:
            self.refused += 1
            raise ConnectionRefusedError("the database is restarting")
        async with self.inner(**options) as tx:
            yield tx


async def test_the_delivery_loop_outlives_a_database_that_goes_away_and_resumes_by_itself(
    harness: Harness,
) -> None:
    platform = Recording()
    flaky = FlakyUnitOfWork(harness.core.uow)
    worker = dispatcher(harness, platform, max_db_backoff=0.05)
    worker.uow = flaky  # type: ignore[assignment]
    worker.metrics = harness.core.metrics
    stop = asyncio.Event()
    loop = asyncio.create_task(worker.run(stop, idle=0.02))
    try:
        await queue(harness, WARD, "before")
        await until(lambda: platform.received.get(WARD) == ["before"])
        flaky.down = True
        await until(lambda: flaky.refused >= 10)  # many passes fail...
        assert worker.running and not loop.done()  # ...and the loop goes on
        await queue(harness, WARD, "during 1", "during 2")
        flaky.down = False
        await until(lambda: platform.received.get(WARD) == ["before", "during 1", "during 2"])
    finally:
        stop.set()
        await asyncio.wait_for(loop, 10)
    assert not worker.running
    failed = harness.core.metrics.failed_passes._value.get()  # what /metrics shows
    assert failed >= 10


class LosesTheFirstRecord(FlakyUnitOfWork):
    """The database goes away right after a message went out, before it is marked as sent."""

    def __init__(self, inner: Callable[..., Any], platform: Recording) -> None:
        super().__init__(inner)
        self.platform = platform
        self.lost = 0

    @asynccontextmanager
    async def __call__(self, **options: Any) -> AsyncIterator[Any]:
        if self.platform.received and self.lost < 3:
            self.lost += 1
            raise ConnectionResetError("connection lost")
        async with self.inner(**options) as tx:
            yield tx


async def test_a_message_sent_while_the_database_blinks_is_recorded_once_it_is_back_not_sent_again(
    harness: Harness,
) -> None:
    platform = Recording()
    worker = dispatcher(harness, platform, max_db_backoff=0.01)
    worker.uow = LosesTheFirstRecord(harness.core.uow, platform)  # type: ignore[assignment]
    await queue(harness, WARD, "only once")
    await worker.deliver_all()
    harness.clock.advance(timedelta(minutes=5))
    await dispatcher(harness, platform).deliver_all()
    assert platform.received == {WARD: ["only once"]}
    assert [r["status"] for r in await rows(harness, "SELECT status FROM outbox")] == ["sent"]


class FakeJobs:
    running = True


async def test_healthz_is_503_when_delivery_is_not_running_or_is_behind(harness: Harness) -> None:
    web_app = make_web_app(harness.app)
    web_app[SCHEDULER_KEY] = FakeJobs()
    harness.app.settings.huddlebot_health_max_lag = 120
    platform = Recording()
    harness.app.dispatcher.messengers["console"] = platform
    async with TestClient(TestServer(web_app)) as client:
        response = await client.get("/healthz")
        assert response.status == 503
        assert "the delivery loop is not running" in (await response.json())["problems"]

        stop = asyncio.Event()
        loop = asyncio.create_task(harness.app.dispatcher.run(stop, idle=0.02))
        try:
            await until(lambda: harness.app.dispatcher.running)
            response = await client.get("/healthz")
            assert response.status == 200, await response.text()

            platform.fail_next[WARD] = 10**6  # the platform refuses everything from now on
            await queue(harness, WARD, "stuck")
            harness.clock.advance(timedelta(seconds=121))  # the row first fell due 121 s ago
            response = await client.get("/healthz")
            body = await response.json()
            assert response.status == 503
            assert body["oldest_due_outbox_seconds"] >= 121
            assert any("has waited" in problem for problem in body["problems"])
        finally:
            stop.set()
            await asyncio.wait_for(loop, 10)


async def until(condition: Callable[[], bool], deadline: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        assert loop.time() - start < deadline, "timed out"
        await asyncio.sleep(0.01)
