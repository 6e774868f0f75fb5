"""How long does finding and claiming the due escalation set take with 1,000,000 concerns stored?

Backends: PostgreSQL and SQLite. The benchmark works in a database of its own and touches no other:
on PostgreSQL it creates a uniquely named database on the server ``--url`` points at (the database named
in the URL is only used to connect; the user needs CREATEDB) and drops it at the end, also after an error
or Ctrl-C; on SQLite (``--url sqlite``, the default) it uses a file in a temporary directory that is
removed at the end.

It migrates that database, seeds N concerns, of which 1% are open and unacknowledged, their next
escalation spread over the next day, so a few dozen are due "now". Then it times the claim that
``run_due_work`` performs (one indexed UPDATE ... RETURNING, rolled back after each try so every try
sees the same data) and prints the query plan, next to the same query without the partial index (dropped
inside the rolled-back transaction) as the baseline measured in the same run.

    python bench/escalation_scan.py --url postgresql://postgres@127.0.0.1:5432/postgres --concerns 1000000
    python bench/escalation_scan.py --concerns 1000000            # SQLite, in a temporary file

The target (issue 5): < 50 ms to find and claim the due set, by an index.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from storage.engine import create_engine, database_url, redacted
from storage.migrate import upgrade_async
from storage.transaction import SqlTx

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SQLITE_NOW = NOW.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")  # as SQLite stores it
SEED_PG = """
INSERT INTO concerns (unit_id, severity, category, concern_type, anonymity, text, status, notify_sealed,
                      phi_flagged, escalation_level, policy, created_at, acknowledged_at, next_escalation_at)
SELECT 'unit-' || (g % 50), 'high', 'safe', 'other', 'named', 'bench concern ' || g,
       CASE WHEN g % 100 = 0 THEN 'open' ELSE 'resolved' END, false, false, 0,
       '{"sla_seconds": 3600, "chain": [{"unit": "medicine"}]}'::jsonb,
       CAST(:now AS timestamptz) - interval '30 days' + (g % 2592000) * interval '1 second',
       CASE WHEN g % 100 = 0 THEN NULL ELSE CAST(:now AS timestamptz) - interval '29 days' END,
       CASE WHEN g % 100 = 0
            THEN CAST(:now AS timestamptz) - interval '10 minutes' + (g % 86400) * interval '1 second'
            ELSE NULL END
FROM generate_series(1, :n) AS g
"""
# The same rows on SQLite. Times are text in SQLAlchemy's SQLite format ('YYYY-MM-DD HH:MM:SS.ffffff',
# UTC), so they compare with the claim's bound parameters exactly as the product's own rows do.
SEED_SQLITE = """
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < :n)
INSERT INTO concerns (unit_id, severity, category, concern_type, anonymity, text, status, notify_sealed,
                      phi_flagged, escalation_level, policy, created_at, acknowledged_at, next_escalation_at)
SELECT 'unit-' || (x % 50), 'high', 'safe', 'other', 'named', 'bench concern ' || x,
       CASE WHEN x % 100 = 0 THEN 'open' ELSE 'resolved' END, 0, 0, 0,
       '{"sla_seconds": 3600, "chain": [{"unit": "medicine"}]}',
       strftime('%Y-%m-%d %H:%M:%S', :now, '-30 days', '+' || (x % 2592000) || ' seconds') || '.000000',
       CASE WHEN x % 100 = 0 THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%S', :now, '-29 days') || '.000000' END,
       CASE WHEN x % 100 = 0
            THEN strftime('%Y-%m-%d %H:%M:%S', :now, '-10 minutes', '+' || (x % 86400) || ' seconds')
                 || '.000000'
            ELSE NULL END
FROM g
"""
FIND = (
    "SELECT id FROM concerns WHERE acknowledged_at IS NULL AND next_escalation_at <= :now "
    "AND status = 'open' ORDER BY next_escalation_at LIMIT 500"
)


@asynccontextmanager
async def own_database(url: str) -> AsyncIterator[str]:
    """A new, empty database for this run only; dropped (or deleted) when the block ends, however."""
    if url == "sqlite" or make_url(url).get_backend_name() == "sqlite":
        if url != "sqlite":
            raise SystemExit("for SQLite, give --url sqlite: the benchmark makes its own temporary file")
        with tempfile.TemporaryDirectory(prefix="huddlebot-bench-escalation-") as tmp:
            yield database_url(f"sqlite:///{Path(tmp) / 'bench.db'}")
        return
    server = database_url(url)
    name = f"huddlebot_bench_escalation_{os.getpid()}_{secrets.token_hex(4)}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server: str, statement: str) -> None:
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def seed(url: str, n: int) -> None:
    engine = create_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    now = SQLITE_NOW if sqlite else NOW
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(SEED_SQLITE if sqlite else SEED_PG), {"now": now, "n": n})
        async with engine.begin() as conn:
            await conn.execute(sa.text("ANALYZE concerns" if not sqlite else "ANALYZE"))
            count = "SELECT count(*) FROM concerns"
            stored = (await conn.execute(sa.text(count))).scalar()
            open_ = (await conn.execute(sa.text(count + " WHERE status = 'open'"))).scalar()
    finally:
        await engine.dispose()
    if stored != n or open_ != n // 100:  # what the run reports must be what is stored
        raise SystemExit(f"seeding stored {stored} concerns ({open_} open), not {n} ({n // 100} open)")


async def time_claim(url: str, *, tries: int, without_index: bool) -> tuple[list[float], int, str]:
    engine = create_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    timings: list[float] = []
    claimed = 0
    plan = ""
    try:
        async with engine.connect() as conn:
            for attempt in range(tries + 1):
                transaction = await conn.begin()
                if without_index:
                    await conn.execute(sa.text("DROP INDEX ix_concerns_due_escalation"))
                if attempt == 0:  # the plan of the "find" half, before anything is claimed
                    explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ANALYZE "
                    rows = await conn.execute(sa.text(explain + FIND), {"now": SQLITE_NOW if sqlite else NOW})
                    plan = "\n".join(str(row[-1] if sqlite else row[0]) for row in rows)
                start = time.perf_counter()
                claimed_rows = await SqlTx(conn).claim_escalations(now=NOW, limit=500)
                elapsed = time.perf_counter() - start
                if attempt > 0:  # the first try warms the caches
                    timings.append(elapsed * 1000)
                claimed = len(claimed_rows)
                await transaction.rollback()
    finally:
        await engine.dispose()
    return timings, claimed, plan


def expected_due(n: int) -> int:
    """How many of the seeded concerns are due at NOW (open, and next step at most NOW)."""
    return sum(1 for g in range(100, n + 1, 100) if (g % 86400) <= 600)


def summary(label: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{label:28} p50 {statistics.median(ordered):8.2f} ms   p99 {p99:8.2f} ms   ({len(ordered)} tries)"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url",
        default="sqlite",
        help="'sqlite' (a temporary file, the default) or a PostgreSQL server URL: a database of the "
        "benchmark's own is created on that server and dropped at the end",
    )
    parser.add_argument("--concerns", type=int, default=1_000_000)
    parser.add_argument("--tries", type=int, default=30)
    args = parser.parse_args()
    async with own_database(args.url) as url:
        print(f"database: {redacted(url)} (created for this run; removed at the end)")
        await upgrade_async(url)
        started = time.perf_counter()
        await seed(url, args.concerns)
        took = time.perf_counter() - started
        print(f"seeded {args.concerns:,} concerns ({args.concerns // 100:,} open) in {took:.1f} s")
        indexed, claimed, plan = await time_claim(url, tries=args.tries, without_index=False)
        tries = max(5, args.tries // 3)
        baseline, without, _ = await time_claim(url, tries=tries, without_index=True)
        due = expected_due(args.concerns)
        print(f"due set claimed per try: {claimed} concerns (expected {due}; without the index {without})")
        if claimed != due or without != due:
            print("WARNING: the claim did not return the due set: the timings below do not measure it")
        print(summary("claim, partial index", indexed))
        print(summary("claim, no index (baseline)", baseline))
        print(f"ratio indexed/baseline p50: {statistics.median(indexed) / statistics.median(baseline):.3f}")
        print(f"target < 50 ms: {'met' if statistics.median(indexed) < 50 else 'NOT met'}")
        print("query plan (find):\n" + plan)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so SIGTERM, like Ctrl-C, still drops the database


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupted)
    asyncio.run(main())
