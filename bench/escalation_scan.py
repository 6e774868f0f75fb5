"""How long does finding and claiming the due escalation set take with 1,000,000 concerns stored?

Seeds PostgreSQL (or SQLite) with N concerns, of which 1% are open and unacknowledged, their next
escalation spread over the next day, so a few dozen are due "now". Then it times the claim that
``run_due_work`` performs (one indexed UPDATE ... RETURNING, rolled back after each try so every try
sees the same data) and prints the query plan, next to the same query without the partial index as the
baseline measured in the same run.

    python bench/escalation_scan.py --url postgresql://postgres@127.0.0.1:5432/test --concerns 1000000

The target (issue 5): < 50 ms to find and claim the due set, by an index.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

import sqlalchemy as sa

from storage.engine import create_engine, database_url
from storage.migrate import upgrade_async
from storage.transaction import SqlTx

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
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


async def seed(url: str, n: int) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        count = (await conn.execute(sa.text("SELECT count(*) FROM concerns"))).scalar()
        if count == n:
            return
        await conn.execute(sa.text("TRUNCATE concerns RESTART IDENTITY CASCADE"))
        await conn.execute(sa.text(SEED_PG), {"now": NOW, "n": n})
        await conn.execute(sa.text("ANALYZE concerns"))
    await engine.dispose()


async def time_claim(url: str, *, tries: int, without_index: bool) -> tuple[list[float], int, str]:
    engine = create_engine(url)
    timings: list[float] = []
    claimed = 0
    plan = ""
    async with engine.connect() as conn:
        for attempt in range(tries + 1):
            transaction = await conn.begin()
            if without_index:
                await conn.execute(sa.text("DROP INDEX ix_concerns_due_escalation"))
            if attempt == 0:  # the plan of the "find" half, before anything is claimed
                explain = await conn.execute(
                    sa.text(
                        "EXPLAIN ANALYZE SELECT id FROM concerns WHERE acknowledged_at IS NULL "
                        "AND next_escalation_at <= :now AND status = 'open' "
                        "ORDER BY next_escalation_at LIMIT 500"
                    ),
                    {"now": NOW},
                )
                plan = "\n".join(row[0] for row in explain)
            start = time.perf_counter()
            rows = await SqlTx(conn).claim_escalations(now=NOW, limit=500)
            elapsed = time.perf_counter() - start
            if attempt > 0:  # the first try warms the caches
                timings.append(elapsed * 1000)
            claimed = len(rows)
            await transaction.rollback()
    await engine.dispose()
    return timings, claimed, plan


def summary(label: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{label:28} p50 {statistics.median(ordered):8.2f} ms   p99 {p99:8.2f} ms   ({len(ordered)} tries)"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--concerns", type=int, default=1_000_000)
    parser.add_argument("--tries", type=int, default=30)
    args = parser.parse_args()
    url = database_url(args.url)
    await upgrade_async(url)
    started = time.perf_counter()
    await seed(url, args.concerns)
    took = time.perf_counter() - started
    print(f"seeded {args.concerns:,} concerns ({args.concerns // 100:,} open) in {took:.1f} s")
    indexed, claimed, plan = await time_claim(url, tries=args.tries, without_index=False)
    baseline, _, _ = await time_claim(url, tries=max(5, args.tries // 3), without_index=True)
    print(f"due set claimed per try: {claimed} concerns")
    print(summary("claim, partial index", indexed))
    print(summary("claim, no index (baseline)", baseline))
    print(f"ratio indexed/baseline p50: {statistics.median(indexed) / statistics.median(baseline):.3f}")
    print(f"target < 50 ms: {'met' if statistics.median(indexed) < 50 else 'NOT met'}")
    print("query plan (find):\n" + plan)


if __name__ == "__main__":
    asyncio.run(main())
