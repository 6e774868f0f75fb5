"""Two real `huddlebot serve` processes on one PostgreSQL, walked through a day of 50 units by a shared
drill clock: every huddle prompt, reminder and summary is posted exactly once, every escalation step
happens once, whichever replica gets there first. Teams is the platform (a fake Bot Connector here)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from bot.bootstrap import build
from bot.clock import ManualClock
from bot.commands import RaiseConcern
from bot.model import Address, Person
from bot.settings import Settings
from storage.conversations import TeamsConversations
from storage.engine import create_engine
from tests.conftest import _truncate
from tests.teams.fake_connector import Call, FakeConnector

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
TENANT = "tenant-drill"
UNITS = 50
ESCALATED = 10  # the first ten units each get one unacknowledged high concern at 06:00
CHICAGO = -6  # CST in November


def _config() -> str:
    people = [
        "  boss: {name: Dana Boss, teams: '29:boss'}",
        "  officer: {name: Sam Officer, teams: '29:officer'}",
    ]
    units = [
        "  - {id: dept, name: Department, tier: 2, leaders: [boss],"
        " channels: {teams: '19:dept@thread.tacv2'}}"
    ]
    for n in range(1, UNITS + 1):
        people.append(f"  lead{n:02}: {{name: Lead {n:02}, teams: '29:lead{n:02}'}}")
        units.append(
            f"  - {{id: u{n:02}, name: Unit {n:02}, tier: 1, parent: dept, leaders: [lead{n:02}],"
            f" channels: {{teams: '19:u{n:02}@thread.tacv2'}},"
            f" leaders_channel: {{teams: '19:u{n:02}-lead@thread.tacv2'}},"
            " huddles: [{at: '07:00', window: 30m}, {at: '19:00', window: 30m}]}"
        )
    return (
        "\n".join(
            [
                "organization: {name: Drill Health, timezone: America/Chicago}",
                "people:",
                *people,
                "safety_officers: [officer]",
                "escalation: {acknowledge_within: {high: 1h}, anonymous_delay: {min: 1m, max: 2m}}",
                "digest: {enabled: false}",
                "units:",
                *units,
            ]
        )
        + "\n"
    )


def _at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 25, 0, minute, second, tzinfo=UTC) + timedelta(hours=hour - CHICAGO)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _wait_healthy(port: int, log: Path, deadline: float = 40.0) -> None:
    start = time.monotonic()
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - start < deadline:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    tail = (await asyncio.to_thread(log.read_text))[-3000:]
    raise AssertionError(f"replica on port {port} did not become healthy:\n{tail}")


async def _settle(url: str, now: datetime, deadline: float = 30.0) -> None:
    """Let both replicas look for due work at ``now``, then wait until nothing due is left unsent."""
    await asyncio.sleep(1.0)  # HUDDLEBOT_DUE_EVERY=0.2: several passes in each replica
    engine = create_engine(url)
    start = time.monotonic()
    try:
        while time.monotonic() - start < deadline:
            async with engine.connect() as conn:
                waiting = (
                    await conn.execute(
                        sa.text("SELECT count(*) FROM outbox WHERE status = 'pending' AND due_at <= :now"),
                        {"now": now},
                    )
                ).scalar()
            if waiting == 0:
                await asyncio.sleep(0.3)
                return
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()
    raise AssertionError(f"outbox still has {waiting} due rows at {now}")


def _kind(call: Call) -> str:
    """What a person would call the message: a new post, or a reply in a thread (``;messageid=``)."""
    if call.thread is None:
        for marker, kind in (
            ("Safety huddle", "prompt"),
            ("Escalated to", "escalation"),
            ("IV pump alarm", "card"),
        ):
            if marker in call.text:
                return kind
    for marker, kind in (("Huddle summary", "summary"), ("This huddle closes in", "reminder")):
        if marker in call.text:
            return kind
    return "other"


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    asyncio.run(_truncate(postgres_url))
    return postgres_url


async def test_two_replicas_post_every_huddle_once_and_escalate_each_step_once(
    pg_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "drill.yaml"
    config.write_text(_config(), encoding="utf-8")
    clock_file = tmp_path / "clock"
    clock_file.write_text(_at(6).isoformat())
    fake = FakeConnector()
    await fake.start()
    engine = create_engine(pg_url)
    store = TeamsConversations(engine)
    for name in [
        "dept",
        *(f"u{n:02}" for n in range(1, UNITS + 1)),
        *(f"u{n:02}-lead" for n in range(1, UNITS + 1)),
    ]:
        await store.save(
            conversation_id=f"19:{name}@thread.tacv2",
            kind="channel",
            tenant_id=TENANT,
            service_url=fake.url,
            bot_id="28:huddlebot",
            team_id="19:team@thread.tacv2",
        )
    await store.save(
        conversation_id="a:officer-chat",
        kind="personal",
        tenant_id=TENANT,
        service_url=fake.url,
        bot_id="28:huddlebot",
        user_id="29:officer",
    )
    await engine.dispose()

    # Ten unacknowledged high concerns at 06:00, raised from a third process's point of view.
    raiser = await build(
        config=config,
        settings=Settings(database_url=pg_url),
        clock=ManualClock(_at(6)),
        tenants={"teams": TENANT},
        messengers={},
        migrate=False,
    )
    for n in range(1, ESCALATED + 1):
        reply = await raiser.core.handle(
            RaiseConcern(
                person=Person("teams", TENANT, f"29:staff{n:02}", f"Staff {n:02}"),
                where=Address("teams", TENANT, channel=f"19:u{n:02}@thread.tacv2"),
                text=f"IV pump alarm ignored on unit {n:02}",
                severity="high",
                concern_type="equipment",
            )
        )
        assert reply.ok, reply.text
    await raiser.close()

    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "HUDDLEBOT_CONFIG": str(config),
        "HUDDLEBOT_TEAMS": "1",
        "HUDDLEBOT_TEAMS_TENANTS": TENANT,
        "HUDDLEBOT_DRILL_CLOCK_FILE": str(clock_file),
        "HUDDLEBOT_DUE_EVERY": "0.2",
        "HUDDLEBOT_LOG_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("SLACK_BOT_TOKEN", None)
    replicas, logs = [], []
    try:
        for index in range(2):
            port, log = _free_port(), tmp_path / f"replica{index}.log"
            logs.append(log)
            handle = log.open("w")
            replicas.append(
                await asyncio.create_subprocess_exec(
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
            )
            await _wait_healthy(port, log)

        for step in [
            _at(6, 59),
            _at(7, 0, 30),
            _at(7, 21),
            _at(7, 31),
            _at(8, 0, 30),
            _at(9, 0, 30),
            _at(19, 0, 30),
            _at(19, 21),
            _at(19, 31),
        ]:
            clock_file.write_text(step.isoformat())
            await _settle(pg_url, step)
    finally:
        for replica in replicas:
            replica.terminate()
        for replica in replicas:
            await asyncio.wait_for(replica.wait(), 20)
        await fake.close()

    posts = [c for c in fake.history if c.op in ("send", "reply")]
    per_unit: Counter[tuple[str | None, str]] = Counter()
    for call in posts:
        per_unit[(call.base_conversation, _kind(call))] += 1
    for n in range(1, UNITS + 1):
        channel = f"19:u{n:02}@thread.tacv2"
        assert per_unit[(channel, "prompt")] == 2, channel
        assert per_unit[(channel, "summary")] == 2, channel
        assert per_unit[(channel, "reminder")] == 2, channel
    for n in range(1, ESCALATED + 1):
        assert per_unit[(f"19:u{n:02}-lead@thread.tacv2", "card")] == 1
    assert per_unit[("19:dept@thread.tacv2", "escalation")] == ESCALATED  # step 1, once per concern
    officer = sum(
        count
        for (conv, kind), count in per_unit.items()
        if kind == "escalation" and conv != "19:dept@thread.tacv2"
    )
    assert officer == ESCALATED  # step 2, once per concern

    engine = create_engine(pg_url)
    async with engine.connect() as conn:
        runs = (await conn.execute(sa.text("SELECT status, count(*) FROM huddle_runs GROUP BY status"))).all()
        steps = (
            await conn.execute(
                sa.text(
                    "SELECT concern_id, count(*) FROM audit_events "
                    "WHERE action = 'concern.escalated' GROUP BY concern_id"
                )
            )
        ).all()
        dead = (await conn.execute(sa.text("SELECT count(*) FROM outbox WHERE status = 'dead'"))).scalar()
    await engine.dispose()
    assert dict(runs) == {"closed": 2 * UNITS}
    assert sorted(count for _, count in steps) == [2] * ESCALATED
    assert dead == 0
    opened_by = [log.read_text().count("huddle run") for log in logs]
    print(f"huddle runs opened per replica: {opened_by}")
    assert sum(opened_by) == 2 * UNITS, opened_by  # each run opened by exactly one of the two replicas
