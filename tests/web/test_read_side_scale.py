"""The read side's fast paths give exactly what the plain queries give, on SQLite and PostgreSQL.

``list_concerns`` reads one small query per (unit, status) and a branch for the viewer's own concerns;
``raised_counts`` counts every "raised" table in one pass; ``huddles_by_unit`` counts people per unit
without a COUNT(DISTINCT); exports select only the exported columns. Each is checked against the
straightforward query (or a count in Python) over a varied data set: every status including
``waiting`` (counted nowhere), named, confidential and anonymous reporters, the viewer's own
concerns in other units, escalations, twelve weeks and more — and again after a series of raises,
acknowledgements and resolutions through the console.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.dashboard import AGES, EXPORT_FIELDS, week_bounds
from bot.model import Concern, ConcernStatus, ConcernType, QualityAim, Severity, concern_reference
from bot.read_side import ConcernFilter, Scope
from storage import tables as t
from storage.queries import SqlReadSide
from tests.conftest import Harness

STATUSES = [str(s) for s in ConcernStatus]
OPEN = {"open", "acknowledged", "in_progress"}


def _reads(harness: Harness) -> SqlReadSide:
    reads = harness.app.dashboard.reads
    assert isinstance(reads, SqlReadSide)
    return reads


async def _fill(harness: Harness, now: datetime, count: int = 400) -> list[str]:
    """``count`` concerns over 16 weeks in the organisation's units; returns the unit ids."""
    units = [u.id for u in harness.core.config.units]
    draw = random.Random(12)
    rows: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        anonymity = draw.choice(["named", "named", "confidential", "anonymous"])
        named = anonymity != "anonymous"
        created = now - timedelta(seconds=draw.randrange(0, 16 * 7 * 86400))
        status = draw.choice(STATUSES)
        acknowledged = created + timedelta(seconds=draw.randrange(60, 4 * 86400))
        acked = status not in ("open", "waiting") or draw.random() < 0.1
        resolved = status in ("resolved", "not_possible")
        rows.append(
            {
                "id": n,
                "unit_id": draw.choice(units),
                "severity": draw.choice([str(s) for s in Severity]),
                "category": draw.choice([str(a) for a in QualityAim]),
                "concern_type": draw.choice([str(v) for v in ConcernType]),
                "anonymity": anonymity,
                "text": draw.choice(["=SUM(A1) pump", "wet floor", "-dose missed", 'door, "stuck"']),
                "status": status,
                "reporter_platform": "console" if named else None,
                "reporter_tenant": "local" if named else None,
                "reporter_user_id": draw.choice(["alex", "jo", "dana", "sam"]) if named else None,
                "reporter_name": "Someone" if named else None,
                "reporter_handle": draw.choice(["alex", "jo", "dana", None]) if named else None,
                "notify_sealed": False,
                "phi_flagged": False,
                "acknowledged_at": acknowledged if acked else None,
                "acknowledged_by": "Lead" if acked else None,
                "resolved_at": acknowledged + timedelta(hours=draw.randrange(1, 90)) if resolved else None,
                "resolved_by": "Lead" if resolved else None,
                "resolution": "Done" if resolved else None,
                "escalation_level": draw.choice([0, 0, 0, 1, 2]),
                "policy": {"sla_seconds": draw.choice([900, 3600, 86400]), "chain": [], "immediate": False},
                # A few share an instant, so the list's tie-break on id is exercised too.
                "created_at": created if n % 7 else now - timedelta(days=n % 50),
                "updated_at": created,
            }
        )
    async with _reads(harness).engine.begin() as conn:
        await conn.execute(sa.insert(t.concerns), rows)
        if conn.dialect.name == "postgresql":  # the next concern raised takes the next free id
            await conn.execute(
                sa.text("SELECT setval(pg_get_serial_sequence('concerns', 'id'), :n)"), {"n": count}
            )
    return units


async def _plain_list(
    reads: SqlReadSide, scope: Scope, where: ConcernFilter, limit: int, before: Any
) -> list:
    statement = reads._newest(
        sa.select(t.concerns).where(*reads._scope(scope), *reads._filter(where)), limit, before
    )
    return [row.id for row in await reads._rows(statement)]


async def _all(reads: SqlReadSide) -> list[Concern]:
    return [Concern(**row._mapping) for row in await reads._rows(sa.select(t.concerns))]


async def test_the_list_by_unit_and_status_is_the_plain_scan_row_for_row(harness: Harness) -> None:
    now = harness.core.now()
    units = await _fill(harness, now)
    reads = _reads(harness)
    me = ("console", "local", "jo")
    scopes = [
        Scope(unit_ids=None),
        Scope(unit_ids=tuple(units[:3])),
        Scope(unit_ids=tuple(units[1:4]), reporter=me, reporter_handle="jo"),
        Scope(unit_ids=(), reporter=me, reporter_handle="jo"),
        Scope(unit_ids=(), reporter=None),
    ]
    filters = [
        ConcernFilter(),
        ConcernFilter(unit_ids=tuple(units[:2])),
        ConcernFilter(statuses=("open", "acknowledged"), severities=("high",)),
        ConcernFilter(unit_ids=(units[2],), statuses=("resolved",), aims=("safe", "timely")),
        ConcernFilter(statuses=("waiting",)),  # never listed
        ConcernFilter(types=("falls",), raised_from=now - timedelta(days=30), words="floor"),
    ]
    checked = 0
    for scope in scopes:
        for where in filters:
            for limit in (1, 7, 51):
                fast = [c.id for c in await reads.list_concerns(scope=scope, where=where, limit=limit)]
                assert fast == await _plain_list(reads, scope, where, limit, None), (scope, where, limit)
                if fast:  # the next page, from the last row shown
                    last = (await reads.list_concerns(scope=scope, where=where, limit=limit))[-1]
                    before = (last.created_at, last.id)
                    page = await reads.list_concerns(scope=scope, where=where, limit=limit, before=before)
                    assert [c.id for c in page] == await _plain_list(reads, scope, where, limit, before)
                    checked += 1
    assert checked > 20
    waiting = await reads.list_concerns(scope=Scope(unit_ids=None), where=ConcernFilter(), limit=1000)
    assert waiting and all(c.status != ConcernStatus.WAITING for c in waiting)


async def _check_counts(harness: Harness, now: datetime) -> None:
    """Every figure of the overview equals a count in Python over the stored rows."""
    reads = _reads(harness)
    weeks = week_bounds(now)
    stored = [c for c in await _all(reads) if c.status != ConcernStatus.WAITING]
    units = [u.id for u in harness.core.config.units]
    for scope in (Scope(unit_ids=None), Scope(unit_ids=tuple(units[:3]))):
        seen = [c for c in stored if scope.unit_ids is None or c.unit_id in scope.unit_ids]

        def period(at: datetime) -> int | None:
            if not weeks[-1] <= at <= weeks[0]:
                return None
            return next(i for i in range(len(weeks) - 1) if at >= weeks[i + 1])

        by = ("category", "concern_type", "severity", "escalated", "unit_id")
        fast = await reads.raised_counts(scope=scope, weeks=weeks, by=by)
        for name in by:
            expected: Counter[tuple[int, str]] = Counter()
            for c in seen:
                p = period(c.created_at)
                if p is not None:
                    value = (
                        ("yes" if c.escalation_level > 0 else "no")
                        if name == "escalated"
                        else getattr(c, name)
                    )
                    expected[(p, value)] += 1
            assert {(p, v): n for p, v, n in fast[name]} == dict(expected), name
            plain = await reads.raised_by_week(scope=scope, weeks=weeks, by=name)
            assert sorted(fast[name]) == sorted(plain), name

        ages: Counter[tuple[str, int]] = Counter()
        for c in seen:
            if c.status in OPEN:
                age = now - c.created_at
                bucket = next((i for i, limit in enumerate(AGES) if age < limit), len(AGES))
                ages[(c.severity, bucket)] += 1
        found = await reads.open_by_severity_age(scope=scope, now=now, ages=AGES)
        assert {(s, b): n for s, b, n in found} == dict(ages)
        overdue = sum(
            1
            for c in seen
            if c.status == "open"
            and c.acknowledged_at is None
            and c.created_at + timedelta(seconds=c.policy["sla_seconds"]) < now
        )
        assert await reads.overdue_acknowledgements(scope=scope, now=now) == overdue


async def test_the_overview_counts_are_fresh_counts_after_raises_acks_and_resolves(harness: Harness) -> None:
    now = harness.core.now()
    await _fill(harness, now)
    await _check_counts(harness, now)
    # Now through the product: raise, acknowledge, resolve, an anonymous one still waiting, then posted.
    unit = harness.core.config.units[0].id
    lines = ["as alex", f"in {unit}"]
    lines += [f"/concern --severity high --type falls Floor wet by bed {n}" for n in range(6)]
    lines += ["/concern --anonymous --type violence Visitor shouted"]
    await harness.run("\n".join(lines))
    await _check_counts(harness, harness.core.now())
    stored = sorted(c.id for c in await _all(_reads(harness)) if c.id and c.id > 400 and c.status == "open")
    leader = next(iter(harness.core.config.units[0].leaders), None)
    assert leader is not None and len(stored) >= 4
    if leader is not None and stored:
        refs = [concern_reference(i) for i in stored[:4]]
        script = [f"as {leader}", f"ack {refs[0]}", f"ack {refs[1]}", f"resolve {refs[2]} Dried the floor"]
        await harness.run("\n".join(script))
        after = {c.id: c.status for c in await _all(_reads(harness))}
        assert [after[i] for i in stored[:3]] == ["acknowledged", "acknowledged", "resolved"]
    await _check_counts(harness, harness.core.now())
    await harness.run("tick 11m")  # the anonymous concern is posted: now it counts
    await _check_counts(harness, harness.core.now())


async def test_huddle_people_and_answers_per_unit(harness: Harness) -> None:
    reads = _reads(harness)
    now = harness.core.now()
    units = [u.id for u in harness.core.config.units][:3]
    draw = random.Random(3)
    runs, answers = [], []
    for n in range(1, 40):
        runs.append(
            {
                "id": n,
                "unit_id": units[n % 3],
                "claim_key": f"k{n}",
                "scheduled_for": now - timedelta(days=n),
                "closes_at": now - timedelta(days=n) + timedelta(minutes=30),
                "status": "missed" if n % 5 == 0 else "closed",
            }
        )
        for _ in range(draw.randrange(0, 7)):
            answers.append(
                {
                    "run_id": n,
                    "answer": draw.choice(["clear", "concern", "goodcatch", "comment"]),
                    "responder_key": f"p{draw.randrange(9)}",
                    "responder_name": "P",
                    "created_at": now,
                }
            )
    async with reads.engine.begin() as conn:
        await conn.execute(sa.insert(t.huddle_runs), runs)
        await conn.execute(sa.insert(t.huddle_responses), answers)
    start = now - timedelta(days=28)
    in_window = {r["id"]: r["unit_id"] for r in runs if start <= r["scheduled_for"] < now}
    people: dict[str, set[str]] = defaultdict(set)
    counted: Counter[str] = Counter()
    for a in answers:
        unit = in_window.get(a["run_id"])
        if unit is not None:
            people[unit].add(a["responder_key"])
            counted[unit] += a["answer"] != "comment"
    found = {h.unit_id: h for h in await reads.huddles_by_unit(unit_ids=None, start=start, end=now)}
    assert {u: h.people for u, h in found.items() if h.people} == {u: len(p) for u, p in people.items()}
    assert {u: h.answers for u, h in found.items() if h.answers} == {u: n for u, n in counted.items() if n}


async def test_an_export_row_is_the_pages_line_for_every_viewer(harness: Harness) -> None:
    now = harness.core.now()
    await _fill(harness, now)
    dash = harness.app.dashboard
    reads = _reads(harness)
    from bot.dashboard import viewer_for
    from bot.model import Person

    for handle in ("sam", "dana", "jo", "alex"):
        viewer = viewer_for(harness.core, Person("console", "local", handle, handle))
        where = ConcernFilter()
        expected = [
            tuple(getattr(dash.line(viewer, c), f) for f in EXPORT_FIELDS)
            async for c in reads.stream_concerns(scope=viewer.scope(), where=where)
        ]
        rows = [row async for batch in dash.export_concerns(viewer, where, form="csv") for row in batch]
        assert rows == expected, handle
        assert all(r[EXPORT_FIELDS.index("status")] != "waiting" for r in rows)


def test_the_window_index_reads_no_row_on_postgresql() -> None:
    """The covering index carries every column the overview's scans read (checked by name)."""
    index = next(i for i in t.concerns.indexes if i.name == "ix_concerns_window")
    included = set(index.dialect_options["postgresql"]["include"])
    assert {"unit_id", "category", "concern_type", "status", "escalation_level", "policy"} <= included
    assert {"acknowledged_at", "resolved_at", "severity"} <= included
