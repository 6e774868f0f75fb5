"""The storage port's promises that the use cases lean on: rows added to a transaction are written in
order, all or nothing, and visible to its own reads; a dead idle connection never reaches a request."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.errors import Conflict
from bot.model import AuditEvent, Concern, OutboxItem
from storage.engine import create_engine
from storage.transaction import SqlUnitOfWork

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def _concern(key: str) -> Concern:
    return Concern(
        unit_id="4west",
        severity="moderate",
        category="safe",
        concern_type="equipment",
        anonymity="named",
        text="The pump alarmed twice",
        created_at=NOW,
        policy={"sla_seconds": 3600},
        idempotency_key=key,
    )


def _post(n: int, concern_id: int) -> OutboxItem:
    # Rows differ in which columns they leave empty, as a card, a DM and a thread reply do.
    shapes = [
        {"channel": "C04WEST01"},
        {"user_id": "U0ALEX01"},
        {"channel": "C04WEST01", "thread_key": f"concern:{concern_id}:card", "sealed": True},
    ]
    return OutboxItem(
        op="post",
        role="card",
        view=f'{{"kind":"text","n":{n}}}',
        created_at=NOW,
        due_at=NOW,
        platform="slack",
        tenant="T0TEST",
        msg_key=f"post:{concern_id}:{n}",
        target="slack:T0TEST:somewhere",
        concern_id=concern_id,
        **shapes[n % 3],
    )


async def _select(engine, sql: str) -> list[dict]:
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(sa.text(sql))]


async def test_rows_added_in_one_transaction_are_written_in_the_order_they_were_added(db_url: str) -> None:
    engine = create_engine(db_url)
    uow = SqlUnitOfWork(engine)
    try:
        async with uow() as tx:
            concern = await tx.insert(_concern("order"))
            assert concern.id is not None
            for n in range(250):  # more than one statement's worth of outbox rows
                tx.add(_post(n, concern.id))
                if n % 50 == 0:
                    tx.add(
                        AuditEvent(
                            at=NOW, actor="dana", action="test", concern_id=concern.id, detail={"n": n}
                        )
                    )
        posts = await _select(engine, "SELECT * FROM outbox ORDER BY id")
        audit = await _select(engine, "SELECT * FROM audit_events ORDER BY id")
    finally:
        await engine.dispose()
    assert [p["msg_key"] for p in posts] == [f"post:{concern.id}:{n}" for n in range(250)]
    assert [(p["channel"], p["user_id"], p["thread_key"], bool(p["sealed"])) for p in posts[:3]] == [
        ("C04WEST01", None, None, False),
        (None, "U0ALEX01", None, False),
        ("C04WEST01", None, f"concern:{concern.id}:card", True),
    ]
    assert all(p["status"] == "pending" and p["attempts"] == 0 for p in posts)
    assert [a["action"] for a in audit] == ["test"] * 5


async def test_a_transaction_reads_the_rows_it_added(db_url: str) -> None:
    engine = create_engine(db_url)
    uow = SqlUnitOfWork(engine)
    try:
        async with uow() as tx:
            concern = await tx.insert(_concern("read"))
            assert concern.id is not None
            tx.add(_post(0, concern.id))
            found = await tx.post_by_key(msg_key=f"post:{concern.id}:0")
    finally:
        await engine.dispose()
    assert found is not None and found.channel == "C04WEST01"


async def test_a_row_that_cannot_be_written_undoes_the_whole_transaction(db_url: str) -> None:
    engine = create_engine(db_url)
    uow = SqlUnitOfWork(engine)
    try:
        with pytest.raises(Conflict):
            async with uow() as tx:
                concern = await tx.insert(_concern("undo"))
                assert concern.id is not None
                tx.add(_post(0, concern.id))
                tx.add(_post(0, concern.id))  # the same msg_key twice: the unique key refuses it
        counts = [
            (await _select(engine, f"SELECT COUNT(*) AS n FROM {table}"))[0]["n"]
            for table in ("concerns", "outbox", "audit_events")
        ]
    finally:
        await engine.dispose()
    assert counts == [0, 0, 0]


async def test_a_concern_added_whole_is_stored_whole_or_not_at_all(db_url: str) -> None:
    # Raising a concern only reserves an id and adds rows: on PostgreSQL they are one statement with
    # no BEGIN around it, so that statement alone must be all or nothing.
    engine = create_engine(db_url)
    uow = SqlUnitOfWork(engine)
    try:
        async with uow() as tx:
            concern_id, existing = await tx.new_concern_id(idempotency_key="whole")
            concern = _concern("whole")
            concern.id = concern_id
            tx.add(concern)
            tx.add(_post(0, concern_id))
        with pytest.raises(Conflict):
            async with uow() as tx:
                second_id, _ = await tx.new_concern_id(idempotency_key="half")
                second = _concern("half")
                second.id = second_id
                tx.add(second)
                tx.add(_post(1, second_id))
                tx.add(_post(0, concern_id))  # a msg_key already taken: the statement fails
        async with uow() as tx:
            again, found = await tx.new_concern_id(idempotency_key="whole")
        stored = await _select(engine, "SELECT id, idempotency_key FROM concerns")
        posts = await _select(engine, "SELECT msg_key FROM outbox")
    finally:
        await engine.dispose()
    assert existing is None
    assert stored == [{"id": concern_id, "idempotency_key": "whole"}]
    assert posts == [{"msg_key": f"post:{concern_id}:0"}]
    assert found is not None and found.id == concern_id and again != concern_id


@pytest.mark.parametrize("adds_only", [True, False])
async def test_every_unit_of_work_is_all_or_nothing_on_a_reused_connection(
    db_url: str, adds_only: bool
) -> None:
    # One pooled connection serves a concern's autocommit unit of work, then ordinary ones: each
    # must still be one transaction, whether it began lazily or not.
    engine = create_engine(db_url, pool_size=1, max_overflow=0)
    uow = SqlUnitOfWork(engine)
    try:
        async with uow(adds_only=True) as tx:
            first, _ = await tx.new_concern_id(idempotency_key="first")
            concern = _concern("first")
            concern.id = first
            tx.add(concern)
        with pytest.raises(RuntimeError):
            async with uow(adds_only=adds_only) as tx:
                await tx.insert(_concern("second"))  # a statement that needs the transaction
                tx.add(_post(0, first))
                await tx.get(Concern, first)  # writes the added row, inside the transaction
                raise RuntimeError("the use case failed halfway")
        stored = await _select(engine, "SELECT idempotency_key FROM concerns")
        posts = await _select(engine, "SELECT id FROM outbox")
    finally:
        await engine.dispose()
    assert stored == [{"idempotency_key": "first"}]
    assert posts == []


async def _backend_pid(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()


async def _kill(url: str, pid: int) -> None:
    admin = create_engine(url)
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("ping_after_idle", "pause"),
    [
        pytest.param(0.05, 0.1, id="idle-long-enough-to-be-pinged"),  # a firewall dropped it, say
        pytest.param(60, 0.05, id="used-a-moment-ago-but-its-socket-closed"),  # PostgreSQL restarted
    ],
)
async def test_a_pooled_connection_that_died_is_replaced_unseen(
    postgres_url: str, ping_after_idle: float, pause: float
) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0, ping_after_idle=ping_after_idle)
    try:
        dead = await _backend_pid(engine)
        await _kill(postgres_url, dead)
        await asyncio.sleep(pause)
        assert await _backend_pid(engine) != dead
    finally:
        await engine.dispose()
