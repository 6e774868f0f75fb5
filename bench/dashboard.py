"""Benchmark the dashboard on PostgreSQL: overview, filtered concern list, 100,000-row CSV export.

It creates a database of its own (dropped at the end, even on error or Ctrl-C), fills it with
``--concerns`` concerns over three years in 200 units (1 executive, 19 departments, 180 wards) and
two years of daily huddle runs with their answers, then serves the real dashboard (the aiohttp app,
the core, storage) and times, over loopback:

- the overview (as the safety officer: every unit) — target p95 < 150 ms;
- a filtered concern list (a department's leader: open or acknowledged, high, in the department's
  units; and the officer: every open concern with a word) — target p95 < 100 ms;
- a CSV export of about 100,000 rows (target < 5 s), streamed, with the process's RSS sampled while
  it runs.

For each page it records the SQL the page ran (as sent to PostgreSQL, with its parameters), runs the
same statements straight through asyncpg in the same run (no SQLAlchemy, no web app: what psql would
send), and prints the ratio of the page's time to theirs, and each statement's plan
(EXPLAIN ANALYZE, BUFFERS).

    .venv/bin/python bench/dashboard.py [--concerns 1000000] [--rounds 40] [--plans]
        [--url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from aiohttp import CookieJar  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from adapters.http.app import make_web_app  # noqa: E402
from bot.bootstrap import build  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.model import Person  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.engine import database_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
DEPARTMENTS = 19
WARDS = 180


def organisation() -> str:
    people = ["  sam: {name: Sam Officer}", "  chief: {name: Chief Exec}"]
    units = ["  - {id: exec, name: Executive, tier: 3, leaders: [chief]}"]
    for d in range(1, DEPARTMENTS + 1):
        people.append(f"  d{d:02}: {{name: Department Lead {d}}}")
        units.append(f"  - {{id: d{d:02}, name: Department {d}, tier: 2, parent: exec, leaders: [d{d:02}]}}")
    for w in range(1, WARDS + 1):
        dept = (w - 1) % DEPARTMENTS + 1
        rhythm = f"rounding: [{{units: [w{w:03}], days: weekdays, at: '10:00'}}]"
        people.append(f"  w{w:03}: {{name: Ward Lead {w}, {rhythm}}}")
        units.append(f"  - {{id: w{w:03}, name: Ward {w}, tier: 1, parent: d{dept:02}, leaders: [w{w:03}]}}")
    return (
        "organization: {name: Bench Health, timezone: America/Chicago}\n"
        "people:\n" + "\n".join(people) + "\nsafety_officers: [sam]\ndigest: {enabled: false}\n"
        "units:\n" + "\n".join(units) + "\n"
    )


def unit_ids() -> list[str]:
    return [
        "exec",
        *(f"d{d:02}" for d in range(1, DEPARTMENTS + 1)),
        *(f"w{w:03}" for w in range(1, WARDS + 1)),
    ]


FILL = """
SELECT setseed(0.42);
INSERT INTO concerns (id, unit_id, severity, category, concern_type, anonymity, text, status,
    reporter_platform, reporter_tenant, reporter_user_id, reporter_name, reporter_handle,
    notify_sealed, phi_flagged, acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution,
    escalation_level, policy, created_at, updated_at)
SELECT g, u.units[1 + (g * 7919) % array_length(u.units, 1)], s.sev,
    (ARRAY['safe','timely','effective','efficient','equitable','patient-centred'])[1 + (g * 31) % 6],
    (ARRAY['falls','medication','equipment','staffing','infection','violence','other'])[1 + (g * 17) % 7],
    an.anonymity,
    'Concern ' || g || ': ' || (ARRAY['the floor by bed 4 was wet','two pumps were mislabelled',
        'night shift was short again','the hoist failed','a visitor shouted at staff',
        'a dose was nearly missed','the door alarm was off'])[1 + (g * 13) % 7],
    CASE WHEN t.created < $1::timestamptz - interval '30 days' AND (g % 20) <> 0 THEN 'resolved'
         WHEN g % 4 = 0 THEN 'open' WHEN g % 4 = 1 THEN 'acknowledged'
         WHEN g % 4 = 2 THEN 'in_progress' ELSE 'resolved' END,
    CASE WHEN an.anonymity <> 'anonymous' THEN 'slack' END,
    CASE WHEN an.anonymity <> 'anonymous' THEN 'T1' END,
    CASE WHEN an.anonymity <> 'anonymous' THEN 'U' || (g % 5000) END,
    CASE WHEN an.anonymity <> 'anonymous' THEN 'Staff ' || (g % 5000) END,
    NULL, false, false,
    CASE WHEN g % 4 <> 0 OR t.created < $1::timestamptz - interval '30 days'
         THEN t.created + (random() * 2 * s.sla) * interval '1 second' END,
    'Leader', CASE WHEN (t.created < $1::timestamptz - interval '30 days' AND (g % 20) <> 0) OR g % 4 = 3
         THEN t.created + (s.sla * 3 + random() * 86400 * 5) * interval '1 second' END,
    'Leader', 'Done', CASE WHEN g % 9 = 0 THEN 1 ELSE 0 END,
    jsonb_build_object('sla_seconds', s.sla, 'chain', '[]'::jsonb, 'immediate', s.sev = 'immediate'),
    t.created, t.created
FROM generate_series(1::bigint, $2::bigint) AS g
CROSS JOIN LATERAL (SELECT $3::text[] AS units) AS u
CROSS JOIN LATERAL (SELECT $1::timestamptz - ((random() + 0 * g) * 3 * 365 * 86400) * interval '1 second'
    AS created) AS t
CROSS JOIN LATERAL (SELECT (ARRAY['low','moderate','high','immediate'])[1 + (g * 3) % 4] AS sev) AS s0
CROSS JOIN LATERAL (SELECT s0.sev, CASE s0.sev WHEN 'immediate' THEN 900 WHEN 'high' THEN 3600
    WHEN 'moderate' THEN 86400 ELSE 259200 END AS sla) AS s
CROSS JOIN LATERAL (SELECT (ARRAY['named','named','named','confidential','anonymous'])[1 + (g * 11) % 5]
    AS anonymity) AS an;
-- One in fifty from a patient or family, by a hash of the id: spread over every unit.
INSERT INTO family_concerns (concern_id, unit_id, source, urgency, words, language, created_at)
SELECT id, unit_id, (ARRAY['patient','family','family'])[1 + (id / 3) % 3],
    (ARRAY['wait','today','now'])[1 + id % 3], 'Family words ' || id, 'en',
    created_at
FROM concerns WHERE abs(hashtext(id::text)) % 50 = 0;
-- One closed concern in a hundred was "not possible now" rather than resolved.
UPDATE concerns SET status = 'not_possible', not_possible_at = resolved_at, not_possible_by = 'Leader',
    not_possible_reason = 'No budget this year', resolved_at = NULL, resolved_by = NULL, resolution = NULL
WHERE status = 'resolved' AND id % 100 = 7;
"""

RUNS = """
INSERT INTO huddle_runs (unit_id, claim_key, scheduled_for, closes_at, status, opened_at, closed_at)
SELECT u, '07:00@' || d::date, d, d + interval '30 minutes',
    CASE WHEN (hashtext(u || d::text) % 10) = 0 THEN 'missed' ELSE 'closed' END, d, d + interval '30 minutes'
FROM unnest($2::text[]) AS u
CROSS JOIN generate_series($1::timestamptz - interval '730 days', $1::timestamptz - interval '1 day',
    interval '1 day') AS d;
INSERT INTO huddle_responses (run_id, answer, text, responder_key, responder_name, created_at)
SELECT r.id, (ARRAY['clear','clear','clear','concern','goodcatch','comment'])[1 + (r.id + i) % 6],
    NULL, 'slack:T1:U' || ((r.id * 7 + i) % 40), 'Staff ' || ((r.id * 7 + i) % 40), r.scheduled_for
FROM huddle_runs r CROSS JOIN LATERAL generate_series(1, 3 + r.id % 6) AS i
WHERE r.status = 'closed';
INSERT INTO good_catches (unit_id, giver_name, recipient_label, text, created_at)
SELECT ($2::text[])[1 + g % array_length($2::text[], 1)], 'Staff', 'A colleague', 'Caught it',
    $1::timestamptz - (random() * 730 * 86400) * interval '1 second'
FROM generate_series(1, 60000) AS g;
-- Each ward's leader rounds on four weekdays in five at 10:00 Chicago, each round raising one issue.
INSERT INTO rounds (unit_id, leader, logged_at, staff, patients, families, wins, barriers, heard)
SELECT u, u, d + interval '16 hours', 3 + abs(hashtext(u || d::text)) % 6, 2, 1, 0, '[]'::jsonb, '[]'::jsonb
FROM unnest($2::text[]) AS u
CROSS JOIN generate_series($1::timestamptz - interval '730 days', $1::timestamptz - interval '1 day',
    interval '1 day') AS d
WHERE u LIKE 'w%' AND extract(isodow FROM d) < 6 AND abs(hashtext(u || d::text)) % 5 <> 0;
INSERT INTO round_issues (round_id, concern_id, kind)
SELECT id, 1 + abs(hashtext(id::text)) % (SELECT max(id) FROM concerns), 'raised' FROM rounds;
"""


async def fill(url: str, concerns: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        for statement in FILL.strip().split(";\n"):
            if statement.strip():
                args = [NOW, concerns, unit_ids()] if "$3" in statement else []
                await conn.execute(statement, *args)
        await conn.execute("SELECT setval(pg_get_serial_sequence('concerns', 'id'), $1)", concerns + 1)
        for statement in RUNS.strip().split(";\n"):
            await conn.execute(statement, *([NOW, unit_ids()] if "$1" in statement else []))
        await conn.execute("VACUUM ANALYZE")
        counts = {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")
            for table in (
                "concerns",
                "family_concerns",
                "huddle_runs",
                "huddle_responses",
                "good_catches",
                "rounds",
                "round_issues",
            )
        }
        print(
            f"filled in {time.perf_counter() - started:.0f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
    finally:
        await conn.close()


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered) + 0.5) - 1)]


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Recorder:
    """The statements the app sends while recording is on (as asyncpg gets them)."""

    def __init__(self, engine: Any) -> None:
        self.on = False
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if self.on:
            self.statements.append((statement, tuple(parameters or ())))


async def timed(label: str, rounds: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    await call()  # warm
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return times


async def direct(
    url: str, statements: list[tuple[str, tuple[Any, ...]]], rounds: int, plans: bool
) -> list[float]:
    """The same statements, one after another, straight through asyncpg."""
    conn = await asyncpg.connect(url)
    try:
        totals = []
        for _ in range(rounds + 1):
            start = time.perf_counter()
            for statement, params in statements:
                await conn.fetch(statement, *params)
            totals.append((time.perf_counter() - start) * 1000)
        if plans:
            for statement, params in statements:
                plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *params)
                print("    " + " ".join(statement.split())[:300])
                for row in plan:
                    print("      " + row[0])
        return totals[1:]
    finally:
        await conn.close()


def report(label: str, page: list[float], straight: list[float], target: float) -> None:
    p50, p95 = statistics.median(page), pct(page, 0.95)
    d50, d95 = statistics.median(straight), pct(straight, 0.95)
    verdict = "meets" if p95 < target else "MISSES"
    print(
        f"{label:50} page p50 {p50:7.1f} ms  p95 {p95:7.1f} ms ({verdict} < {target:.0f} ms)  | "
        f"same SQL straight p50 {d50:7.1f} ms p95 {d95:7.1f} ms | "
        f"ratio p50 {p50 / d50:4.2f}x p95 {p95 / d95:4.2f}x"
    )


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concerns", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--plans", action="store_true", help="print EXPLAIN ANALYZE of every statement")
    parser.add_argument(
        "--url", default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()

    name = f"huddlebot_bench_dashboard_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(args.url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    raw_url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, database_url(raw_url))
        await fill(raw_url, args.concerns)
        await run(raw_url, args)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return 0


async def run(raw_url: str, args: argparse.Namespace) -> None:
    app = await build(
        config=parse_config(organisation()),
        settings=Settings(database_url=raw_url),
        clock=ManualClock(NOW),
        tenants={"console": "local"},
        messengers={},
        migrate=False,
    )
    recorder = Recorder(app.core.uow.engine)  # type: ignore[attr-defined]
    server = TestServer(make_web_app(app))
    await server.start_server()

    async def signed_in(handle: str) -> TestClient:
        client = TestClient(server, cookie_jar=CookieJar(unsafe=True))
        await client.start_server()
        url = await app.sign_in.link_for(Person("console", "local", handle, handle))
        token = url.split("token=", 1)[1]
        response = await client.post("/dashboard/sign-in", data={"token": token}, allow_redirects=False)
        assert response.status == 303, await response.text()
        return client

    officer, department = await signed_in("sam"), await signed_in("d01")
    trends = app.dashboard.trends
    snapshot_after = trends.snapshot_after
    try:
        # What `serve` does at start and then every 30 s (bot/trends.py): count the officers' twelve
        # weeks in the background. Its time is what the snapshot saves each page.
        warm = []
        for _ in range(max(3, args.rounds // 4)):
            trends._started = False  # the bench repeats the first run on purpose
            start = time.perf_counter()
            await trends.keep_warm()
            warm.append((time.perf_counter() - start) * 1000)
        print(
            f"{'background count, officers (each 30 s)':50} page p50 {statistics.median(warm):7.1f} ms  "
            f"p95 {pct(warm, 0.95):7.1f} ms (off the page: not a page time)"
        )
        pages: list[tuple[str, TestClient, str, float]] = [
            ("overview, safety officer (all units)", officer, "/dashboard/overview.json", 150),
            ("overview page (HTML + SVG), officer", officer, "/dashboard/", 150),
            ("overview, officer, no snapshot", officer, "/dashboard/overview.json?", 150),
            ("overview, department leader (10 units)", department, "/dashboard/overview.json", 150),
            (
                "list: dept, open+ack, high",
                department,
                "/dashboard/concerns?status=open&status=acknowledged&severity=high",
                100,
            ),
            (
                "list: officer, open, falls, 2nd aim",
                officer,
                "/dashboard/concerns?status=open&type=falls&aim=timely",
                100,
            ),
            ("stoplight: officer, executive roll-up (200 units)", officer, "/dashboard/stoplight.json", 150),
            ("stoplight: department leader (10 units)", department, "/dashboard/stoplight.json", 150),
            (
                "list: dept, from patients and families",
                department,
                "/dashboard/concerns?source=patient_family",
                100,
            ),
            (
                "list: officer, from patients and families",
                officer,
                "/dashboard/concerns?source=patient_family",
                100,
            ),
            (
                "list: officer, one ward, last 90 days",
                officer,
                "/dashboard/concerns?unit=w007&from=2026-08-27",
                100,
            ),
        ]
        for label, client, path, target in pages:

            async def get(client: TestClient = client, path: str = path) -> None:
                response = await client.get(path)
                assert response.status == 200, (path, response.status)
                await response.read()

            # The baseline: the same page counting its twelve weeks on every request, as before.
            trends.snapshot_after = float("inf") if "no snapshot" in label else snapshot_after
            if "no snapshot" in label:
                trends._kept.clear()
            page_times = await timed(label, args.rounds, get)
            if path.startswith("/dashboard/overview.json"):
                as_of = (await (await client.get(path)).json())["figures_as_of"]
                label += " [snapshot]" if as_of else " [counted]"
            recorder.statements.clear()
            recorder.on = True
            await get()
            recorder.on = False
            sql = [(s, p) for s, p in recorder.statements if "audit_events" not in s and "sign_in" not in s]
            straight = await direct(
                raw_url, sql, args.rounds, args.plans and label.startswith(("overview, s", "list: d"))
            )
            report(label, page_times, straight, target)

        # The export: about 100,000 rows (the officer, everything raised in the last ~110 days).
        since = (NOW - timedelta(days=round(110 * 1_000_000 / args.concerns))).date().isoformat()
        peak = [rss_mib()]
        sampling = True

        async def sample() -> None:
            while sampling:
                peak.append(rss_mib())
                await asyncio.sleep(0.02)

        sampler = asyncio.create_task(sample())
        before = rss_mib()
        start = time.perf_counter()
        response = await officer.get(f"/dashboard/concerns.csv?from={since}")
        rows = 0
        first_byte = None
        async for chunk in response.content.iter_chunked(65536):
            if first_byte is None:
                first_byte = time.perf_counter() - start
            rows += chunk.count(b"\r\n")
        elapsed = time.perf_counter() - start
        sampling = False
        await sampler
        rows -= 1  # the header
        verdict = "meets" if elapsed < 5 else "MISSES"
        print(
            f"CSV export: {rows:,} rows in {elapsed:.2f} s ({verdict} < 5 s), "
            f"first byte after {first_byte or 0:.3f} s; RSS {before:.0f} MiB before, "
            f"peak {max(peak):.0f} MiB while streaming (+{max(peak) - before:.0f} MiB)"
        )
        recorder.statements.clear()
        recorder.on = True
        await (await officer.get(f"/dashboard/concerns.csv?from={since}")).read()
        recorder.on = False
        sql = [(s, p) for s, p in recorder.statements if "FROM concerns" in s]
        straight = await direct(raw_url, sql, 2, args.plans)
        fetched = statistics.median(straight) / 1000
        print(
            f"    same SELECT straight through asyncpg (all rows fetched): {fetched:.2f} s; "
            f"ratio {elapsed / fetched:.2f}x"
        )
    finally:
        await officer.close()
        await department.close()
        await server.close()
        await app.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
