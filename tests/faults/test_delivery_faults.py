"""Real `huddlebot serve` processes delivering to a Slack on 127.0.0.1 through ordinary faults: the
database's connections killed, the database away for seconds, the process killed with SIGKILL, Slack
answering 503 for seconds. Each time every queued message arrives, each channel's messages arrive in the
order they were queued, nothing is doubled but what was in flight at a crash, and delivery resumes by
itself: no restart by hand. Each drill stops by itself (every wait is bounded)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from storage.engine import create_engine
from tests.conftest import _truncate
from tests.faults.slack_drill import (
    DatabaseProxy,
    DrillSlack,
    channels,
    order_report,
    queue_messages,
    start_server,
)

CHANNELS = channels(6)


@pytest.fixture
async def pg(postgres_url: str) -> str:
    await _truncate(postgres_url)
    return postgres_url


@pytest.fixture
async def slack() -> AsyncIterator[DrillSlack]:
    fake = DrillSlack()
    await fake.start()
    yield fake
    await fake.close()


async def until(condition: Callable[[], bool], deadline: float, what: str) -> float:
    """Wait (at most ``deadline`` s) for ``condition``; returns the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > deadline:
            raise AssertionError(f"timed out after {deadline} s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def arrived(slack: DrillSlack) -> int:
    return len({(a.channel, a.number) for a in slack.arrivals})


async def health(port: int) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status, await response.json()


def assert_delivered_in_order(slack: DrillSlack, queued: dict[str, int], *, max_doubles: int = 0) -> None:
    lost, _doubled, out_of_order, worst = order_report(slack.received(), queued)
    assert (lost, out_of_order) == (0, 0), slack.received()
    assert worst <= max_doubles, slack.received()


async def test_killing_the_database_connections_mid_delivery_stops_nothing(
    pg: str, slack: DrillSlack, tmp_path: Path
) -> None:
    queued = dict.fromkeys(CHANNELS, 8)
    await queue_messages(pg, queued)
    server = await start_server(pg, slack, tmp_path, "server")
    try:
        await until(lambda: arrived(slack) >= 12, 30, "deliveries to start")
        engine = create_engine(pg, isolation_level="AUTOCOMMIT")
        killed = 0
        try:
            for _ in range(3):  # the server's connections die while messages are in flight
                async with engine.connect() as conn:
                    result = await conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                    killed += len(result.fetchall())
                await asyncio.sleep(0.7)
        finally:
            await engine.dispose()
        assert killed > 0
        await until(lambda: arrived(slack) == 48, 40, "every message after the connections were killed")
        assert server.process.returncode is None  # the same process: nobody restarted it
        assert (await health(server.port))[0] == 200
    finally:
        await server.stop()
    assert_delivered_in_order(slack, queued)


async def test_a_database_away_for_seconds_delays_delivery_and_it_resumes_by_itself(
    pg: str, slack: DrillSlack, tmp_path: Path
) -> None:
    target = make_url(pg)
    proxy = DatabaseProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    queued = dict.fromkeys(CHANNELS, 8)
    await queue_messages(pg, queued)
    server = await start_server(pg, slack, tmp_path, "server", database_url=proxy.url(pg))
    try:
        await until(lambda: arrived(slack) >= 12, 30, "deliveries to start")
        await proxy.cut()  # a restart: every connection dropped, new ones refused
        await asyncio.sleep(4)
        during = arrived(slack)
        assert during < 48
        status, body = await health(server.port)
        assert status == 503 and "the database is unreachable" in body["problems"]
        await proxy.restore()
        back = time.monotonic()
        await until(lambda: arrived(slack) > during, 10, "the first delivery after the database came back")
        resumed = time.monotonic() - back
        await until(lambda: arrived(slack) == 48, 40, "every message after the database came back")
        assert server.process.returncode is None
        assert (await health(server.port))[0] == 200
    finally:
        await server.stop()
        await proxy.close()
    assert_delivered_in_order(slack, queued, max_doubles=1)  # one sent while its record could not be
    assert resumed < 10
    log = server.log.read_text()
    assert "Traceback" not in log
    assert log.count("outbox delivery pass failed") == 1  # said once, not every pass


async def test_kill_9_mid_delivery_then_a_restart_keeps_each_channels_order(
    pg: str, slack: DrillSlack, tmp_path: Path
) -> None:
    slack.answer_delay = 0.4  # Slack takes its time answering: the kill lands with messages in flight
    queued = dict.fromkeys(CHANNELS, 10)
    await queue_messages(pg, queued)
    first = await start_server(pg, slack, tmp_path, "first")
    await until(lambda: arrived(slack) >= 20 and slack.in_flight >= 3, 30, "deliveries in flight")
    await first.stop(kill=True)  # SIGKILL: its leased rows are left behind
    killed_at, before = time.monotonic(), arrived(slack)
    # More work arrives while no server runs: it must queue behind what the dead process held.
    more = dict.fromkeys(CHANNELS, 2)
    await queue_messages(pg, more, start=11)
    second = await start_server(pg, slack, tmp_path, "second")
    try:
        await until(lambda: arrived(slack) > before, 20, "the first delivery after the kill")
        flowing_after = time.monotonic() - killed_at
        await until(lambda: arrived(slack) == 72, 40, "every message after the restart")
    finally:
        await second.stop()
    assert_delivered_in_order(slack, dict.fromkeys(CHANNELS, 12), max_doubles=1)
    assert flowing_after < 15, flowing_after


async def test_slack_answering_503_for_seconds_loses_and_doubles_nothing_and_health_says_so(
    db_url: str, slack: DrillSlack, tmp_path: Path
) -> None:
    url = db_url
    queued = dict.fromkeys(CHANNELS, 6)
    await queue_messages(url, queued)
    server = await start_server(url, slack, tmp_path, "server", HUDDLEBOT_HEALTH_MAX_LAG="3")
    try:
        await until(lambda: arrived(slack) >= 8, 30, "deliveries to start")
        slack.outage = True
        await asyncio.sleep(6)
        status, body = await health(server.port)
        assert status == 503, body
        assert any("has waited" in problem for problem in body["problems"]), body
        slack.outage = False
        await until(lambda: arrived(slack) == 36, 45, "every message after the outage")
        await until(lambda: slack.refused.get("outage 503", 0) > 0, 1, "the outage to have refused something")
        assert (await health(server.port))[0] == 200
    finally:
        await server.stop()
    assert_delivered_in_order(slack, queued)
