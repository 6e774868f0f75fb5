"""Two real `huddlebot serve` processes on one PostgreSQL, walked through a day of 50 units by a shared
drill clock: every huddle prompt, reminder and summary is posted exactly once, every escalation step
happens once, whichever replica gets there first. Teams is the platform (a fake Bot Connector here)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.bootstrap import build
from bot.clock import ManualClock
from bot.commands import RaiseConcern
from bot.model import Address, Person
from bot.settings import Settings
from storage.engine import create_engine
from tests.conftest import _truncate
from tests.replicas.drill import (
    TENANT,
    Drill,
    chicago,
    install,
    kind,
    leaders_channel,
    organisation,
    unit_channel,
)
from tests.teams.fake_connector import FakeConnector

pytestmark = pytest.mark.postgres

UNITS = 50
ESCALATED = 10  # the first ten units each get one unacknowledged high concern at 06:00


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    asyncio.run(_truncate(postgres_url))
    return postgres_url


async def _raise_concerns(drill: Drill) -> None:
    """Ten unacknowledged high concerns at 06:00, raised from a third process's point of view."""
    raiser = await build(
        config=drill.config,
        settings=Settings(database_url=drill.url),
        clock=ManualClock(chicago(6)),
        tenants={"teams": TENANT},
        messengers={},
        migrate=False,
    )
    for n in range(1, ESCALATED + 1):
        reply = await raiser.core.handle(
            RaiseConcern(
                person=Person("teams", TENANT, f"29:staff{n:02}", f"Staff {n:02}"),
                where=Address("teams", TENANT, channel=unit_channel(n)),
                text=f"IV pump alarm ignored on unit {n:02}",
                severity="high",
                concern_type="equipment",
            )
        )
        assert reply.ok, reply.text
    await raiser.close()


async def test_two_replicas_post_every_huddle_once_and_escalate_each_step_once(
    pg_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "drill.yaml"
    config.write_text(organisation(UNITS), encoding="utf-8")
    drill = Drill(url=pg_url, config=config, clock_file=tmp_path / "clock", directory=tmp_path)
    drill.set_time(chicago(6))
    fake = FakeConnector()
    await fake.start()
    await install(pg_url, fake, UNITS)
    await _raise_concerns(drill)
    replicas = []
    try:
        replicas = [await drill.start_replica("replica-a"), await drill.start_replica("replica-b")]
        for step in [
            chicago(6, 59),
            chicago(7, 0, 30),
            chicago(7, 21),
            chicago(7, 31),
            chicago(8, 0, 30),
            chicago(9, 0, 30),
            chicago(19, 0, 30),
            chicago(19, 21),
            chicago(19, 31),
        ]:
            drill.set_time(step)
            await drill.settle(step)
    finally:
        for replica in replicas:
            await replica.stop()
        await fake.close()

    received: Counter[tuple[str | None, str]] = Counter()
    for call in fake.history:
        if call.op in ("send", "reply"):
            received[(call.base_conversation, kind(call))] += 1
    for n in range(1, UNITS + 1):
        for what in ("prompt", "reminder", "summary"):
            assert received[(unit_channel(n), what)] == 2, (unit_channel(n), what)  # 07:00 and 19:00
    for n in range(1, ESCALATED + 1):
        assert received[(leaders_channel(n), "card")] == 1
    assert received[("19:dept@thread.tacv2", "escalation")] == ESCALATED  # step 1, once per concern
    assert received[("a:officer-chat", "escalation")] == ESCALATED  # step 2, once per concern

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
    opened_by = [(await asyncio.to_thread(r.log.read_text)).count("huddle run") for r in replicas]
    print(f"huddle runs opened per replica: {opened_by}")
    assert sum(opened_by) == 2 * UNITS, opened_by  # each run opened by exactly one of the two replicas
