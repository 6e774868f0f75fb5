"""``SqlReadSide``: the dashboard's named queries (``bot.ports.ReadSide``) and its sign-in links.

Every statement is built here and nowhere else. A concern that is still waiting to be posted (an
anonymous one inside its delay) is left out of every query: it is counted nowhere until it is posted.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import AuditEvent, Concern, ConcernStatus, ConcernType, QualityAim, RunStatus, Severity
from bot.read_side import STAFF_SOURCE, ConcernFilter, RunLine, Scope, SignInLink, UnitHuddles, WeekTimes
from storage import tables as t

_OPEN = (ConcernStatus.OPEN, ConcernStatus.ACKNOWLEDGED, ConcernStatus.IN_PROGRESS)
_BY = {"category", "concern_type", "unit_id", "severity"}
_STREAM_BATCH = 1000
# The values ``raised_counts`` counts in its one pass (a concern holds one of each).
_VALUES = {
    "category": [str(a) for a in QualityAim],
    "concern_type": [str(v) for v in ConcernType],
    "severity": [str(v) for v in Severity],
}
# Every status a listed concern can have (never ``waiting``): the list's per-unit branches.
_LISTED = [str(s) for s in ConcernStatus if s != ConcernStatus.WAITING]
# Up to this many (unit, status) branches the list reads each one's newest rows by index; beyond, one scan.
_MAX_BRANCHES = 120


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest rank, as the digest and PostgreSQL's ``percentile_disc`` count it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class SqlReadSide:
    """The read side on ``engine`` (the core's own engine: one pool, one set of connections)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    # --- building blocks ------------------------------------------------------------------------

    def _epoch(self, column: Any) -> Any:
        """Seconds since 1970 of a timestamp column, on either backend."""
        if self.dialect == "postgresql":
            return sa.extract("epoch", column)
        return (sa.func.julianday(column) - 2440587.5) * 86400.0

    @staticmethod
    def _sla() -> Any:
        return t.concerns.c.policy["sla_seconds"].as_float()

    @staticmethod
    def _scope(scope: Scope) -> list[Any]:
        c = t.concerns.c
        conditions: list[Any] = [c.status != ConcernStatus.WAITING]
        if scope.hidden_units:  # concerns routed around these units' leaders (bot.visibility)
            conditions.append(
                sa.not_(sa.and_(c.involves_leader.is_(True), c.unit_id.in_(list(scope.hidden_units))))
            )
        if scope.unit_ids is None:
            return conditions
        either: list[Any] = []
        if scope.unit_ids:
            either.append(c.unit_id.in_(list(scope.unit_ids)))
        if scope.reporter is not None:
            platform, tenant, user_id = scope.reporter
            either.append(
                sa.and_(
                    c.reporter_platform == platform,
                    c.reporter_tenant == tenant,
                    c.reporter_user_id == user_id,
                )
            )
        if scope.reporter_handle:
            either.append(c.reporter_handle == scope.reporter_handle)
        conditions.append(sa.or_(*either) if either else sa.false())
        return conditions

    @staticmethod
    def _filter(where: ConcernFilter) -> list[Any]:
        c = t.concerns.c
        conditions: list[Any] = []
        if where.unit_ids is not None:
            conditions.append(c.unit_id.in_(list(where.unit_ids)))
        for column, values in (
            (c.status, where.statuses),
            (c.severity, where.severities),
            (c.category, where.aims),
            (c.concern_type, where.types),
        ):
            if values:
                conditions.append(column.in_(list(values)))
        if where.raised_from is not None:
            conditions.append(c.created_at >= where.raised_from)
        if where.raised_to is not None:
            conditions.append(c.created_at < where.raised_to)
        for word in (where.words or "").split()[:8]:
            conditions.append(c.text.icontains(word, autoescape=True))
        if where.sources:
            conditions.append(_from_sources(where.sources))
        return conditions

    @staticmethod
    def _period(column: Any, weeks: Sequence[datetime]) -> Any:
        """The period index of ``column`` (see ``ReadSide``): one CASE over the boundaries."""
        return sa.case(
            *((column >= weeks[i + 1], i) for i in range(len(weeks) - 1)),
            else_=None,
        )

    async def _rows(self, statement: Any) -> list[sa.Row[Any]]:
        async with self.engine.connect() as conn:
            return list(await conn.execute(statement))

    # --- the overview ---------------------------------------------------------------------------

    async def open_by_severity_age(
        self, *, scope: Scope, now: datetime, ages: Sequence[timedelta]
    ) -> list[tuple[str, int, int]]:
        c = t.concerns.c
        bucket = sa.case(
            *((c.created_at > now - age, i) for i, age in enumerate(ages)),
            else_=len(ages),
        ).label("bucket")
        statement = (
            sa.select(c.severity, bucket, sa.func.count())
            .where(*self._scope(scope), sa.text(t.OPEN_CONCERNS))
            .group_by(c.severity, bucket)
        )
        return [(row[0], int(row[1]), int(row[2])) for row in await self._rows(statement)]

    async def overdue_acknowledgements(self, *, scope: Scope, now: datetime) -> int:
        c = t.concerns.c
        statement = (
            sa.select(sa.func.count())
            .select_from(t.concerns)
            .where(
                *self._scope(scope),
                sa.text(t.OPEN_CONCERNS),
                c.status == sa.literal_column(f"'{ConcernStatus.OPEN}'"),
                c.acknowledged_at.is_(None),
                self._epoch(c.created_at) + self._sla() < now.timestamp(),
            )
        )
        return int((await self._rows(statement))[0][0])

    async def raised_by_week(
        self, *, scope: Scope, weeks: Sequence[datetime], by: str
    ) -> list[tuple[int, str, int]]:
        c = t.concerns.c
        if by == "escalated":
            value: Any = sa.case((c.escalation_level > 0, "yes"), else_="no")
        elif by in _BY:
            value = c[by]
        else:
            raise ValueError(f"cannot count concerns by {by!r}")
        period = self._period(c.created_at, weeks).label("period")
        value = value.label("value")
        statement = (
            sa.select(period, value, sa.func.count())
            .where(*self._scope(scope), c.created_at >= weeks[-1], c.created_at <= weeks[0])
            .group_by(period, value)
        )
        return [(int(row[0]), str(row[1]), int(row[2])) for row in await self._rows(statement)]

    async def raised_counts(
        self,
        *,
        scope: Scope,
        weeks: Sequence[datetime],
        by: Sequence[str],
        values: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, list[tuple[int, str, int]]]:
        """``raised_by_week`` for several ``by`` at once, from one pass over the window.

        One index-only scan grouped by period and unit, with a conditional count per value
        (``_VALUES``, or ``values`` given: the organisation's own concern types; "escalated" as
        yes/no), instead of a scan for each ``by``.
        """
        counted = {**_VALUES, **(values or {})}
        c = t.concerns.c
        period = self._period(c.created_at, weeks).label("period")
        keys: list[tuple[str, str]] = []
        counts: list[Any] = []
        for name in by:
            if name == "escalated":
                keys.append((name, "yes"))
                counts.append(sa.func.count(sa.case((c.escalation_level > 0, 1))))
            elif name in counted:
                for value in counted[name]:
                    keys.append((name, value))
                    counts.append(sa.func.count(sa.case((c[name] == value, 1))))
            elif name != "unit_id":
                raise ValueError(f"cannot count concerns by {name!r}")
        statement = (
            sa.select(period, c.unit_id, sa.func.count(), *counts)
            .where(*self._scope(scope), c.created_at >= weeks[-1], c.created_at <= weeks[0])
            .group_by(period, c.unit_id)
        )
        sums: dict[tuple[str, int, str], int] = defaultdict(int)
        for row in await self._rows(statement):
            week, unit_id, total = int(row[0]), str(row[1]), int(row[2])
            sums[("unit_id", week, unit_id)] += total
            for (name, value), n in zip(keys, row[3:], strict=True):
                sums[(name, week, value)] += int(n)
            if "escalated" in by:
                sums[("escalated", week, "no")] += total - int(row[3 + keys.index(("escalated", "yes"))])
        found: dict[str, list[tuple[int, str, int]]] = {name: [] for name in by}
        for (name, week, value), n in sums.items():
            if n and name in found:
                found[name].append((week, value, n))
        return found

    async def response_times(
        self, *, scope: Scope, weeks: Sequence[datetime], now: datetime
    ) -> list[WeekTimes]:
        c = t.concerns.c
        period = self._period(c.created_at, weeks).label("period")
        to_ack = self._epoch(c.acknowledged_at) - self._epoch(c.created_at)
        to_resolve = self._epoch(c.resolved_at) - self._epoch(c.created_at)
        judged = sa.or_(
            c.acknowledged_at.is_not(None), self._epoch(c.created_at) + self._sla() <= now.timestamp()
        )
        within = sa.and_(c.acknowledged_at.is_not(None), to_ack <= self._sla())
        window = [*self._scope(scope), c.created_at >= weeks[-1], c.created_at <= weeks[0]]
        counts = (
            sa.func.count(c.acknowledged_at),
            sa.func.count(sa.case((judged, 1))),
            sa.func.count(sa.case((within, 1))),
            sa.func.count(c.resolved_at),
        )
        if self.dialect == "postgresql":
            statement = (
                sa.select(
                    period,
                    *counts,
                    sa.func.percentile_disc(0.5).within_group(to_ack),
                    sa.func.percentile_disc(0.9).within_group(to_ack),
                    sa.func.percentile_disc(0.5).within_group(to_resolve),
                    sa.func.percentile_disc(0.9).within_group(to_resolve),
                )
                .where(*window)
                .group_by(period)
            )
            return [
                WeekTimes(
                    week=int(r[0]),
                    acknowledged=int(r[1]),
                    judged=int(r[2]),
                    within=int(r[3]),
                    resolved=int(r[4]),
                    ack_p50=_float(r[5]),
                    ack_p90=_float(r[6]),
                    resolve_p50=_float(r[7]),
                    resolve_p90=_float(r[8]),
                )
                for r in await self._rows(statement)
            ]
        # SQLite has no percentiles: the counts come from SQL, the durations are ordered here.
        totals = {
            int(r[0]): r for r in await self._rows(sa.select(period, *counts).where(*window).group_by(period))
        }
        acks: dict[int, list[float]] = defaultdict(list)
        resolves: dict[int, list[float]] = defaultdict(list)
        for week, ack, resolve in await self._rows(sa.select(period, to_ack, to_resolve).where(*window)):
            if ack is not None:
                acks[int(week)].append(float(ack))
            if resolve is not None:
                resolves[int(week)].append(float(resolve))
        return [
            WeekTimes(
                week=week,
                acknowledged=int(r[1]),
                judged=int(r[2]),
                within=int(r[3]),
                resolved=int(r[4]),
                ack_p50=_percentile(acks[week], 0.5),
                ack_p90=_percentile(acks[week], 0.9),
                resolve_p50=_percentile(resolves[week], 0.5),
                resolve_p90=_percentile(resolves[week], 0.9),
            )
            for week, r in totals.items()
        ]

    async def huddles_by_unit(
        self, *, unit_ids: Sequence[str] | None, start: datetime, end: datetime
    ) -> list[UnitHuddles]:
        r, h = t.huddle_runs.c, t.huddle_responses.c
        window = [r.scheduled_for >= start, r.scheduled_for < end]
        if unit_ids is not None:
            window.append(r.unit_id.in_(list(unit_ids)))
        runs = (
            sa.select(
                r.unit_id,
                sa.func.count(sa.case((r.status != RunStatus.MISSED, 1))),
                sa.func.count(sa.case((r.status == RunStatus.MISSED, 1))),
            )
            .where(*window)
            .group_by(r.unit_id)
        )
        # A person answers a run once (all clear, concern or good catch); comments come on top.
        # Counted per unit and person first (a hash over few groups, from ``ix_huddle_responses_run_answer``
        # alone), then per unit: the same figures as a COUNT(DISTINCT) without sorting every answer.
        per_person = (
            sa.select(
                r.unit_id.label("unit_id"),
                sa.func.count(sa.case((h.answer != "comment", 1))).label("answers"),
            )
            .select_from(t.huddle_runs.join(t.huddle_responses, h.run_id == r.id))
            .where(*window)
            .group_by(r.unit_id, h.responder_key)
            .subquery()
        )
        answers = sa.select(
            per_person.c.unit_id, sa.func.sum(per_person.c.answers), sa.func.count()
        ).group_by(per_person.c.unit_id)
        found: dict[str, UnitHuddles] = {}
        for unit_id, held, missed in await self._rows(runs):
            found[unit_id] = UnitHuddles(unit_id=unit_id, held=int(held), missed=int(missed))
        for unit_id, count, people in await self._rows(answers):
            base = found.get(unit_id, UnitHuddles(unit_id=unit_id))
            found[unit_id] = UnitHuddles(
                unit_id=unit_id, held=base.held, missed=base.missed, answers=int(count), people=int(people)
            )
        return list(found.values())

    async def good_catches_by_week(
        self, *, unit_ids: Sequence[str] | None, weeks: Sequence[datetime]
    ) -> list[tuple[int, int]]:
        g = t.good_catches.c
        period = self._period(g.created_at, weeks).label("period")
        statement = sa.select(period, sa.func.count()).where(
            g.created_at >= weeks[-1], g.created_at <= weeks[0]
        )
        if unit_ids is not None:
            statement = statement.where(g.unit_id.in_(list(unit_ids)))
        return [(int(row[0]), int(row[1])) for row in await self._rows(statement.group_by(period))]

    # --- concerns -------------------------------------------------------------------------------

    def _concerns(self, scope: Scope, where: ConcernFilter) -> sa.Select[Any]:
        c = t.concerns.c
        return (
            sa.select(t.concerns)
            .where(*self._scope(scope), *self._filter(where))
            .order_by(c.created_at.desc(), c.id.desc())
        )

    @staticmethod
    def _newest(statement: sa.Select[Any], limit: int, before: tuple[datetime, int] | None) -> sa.Select[Any]:
        c = t.concerns.c
        if before is not None:
            at, below = before
            statement = statement.where(sa.or_(c.created_at < at, sa.and_(c.created_at == at, c.id < below)))
        return statement.order_by(c.created_at.desc(), c.id.desc()).limit(limit)

    def _branches(
        self, scope: Scope, where: ConcernFilter, limit: int, before: tuple[datetime, int] | None
    ) -> list[sa.Select[Any]] | None:
        """The list as one small query per (unit, status), or None where one scan does better.

        A scan of the time index newest first, filtering as it goes, reads every row when few match
        (a department's "open and high" read 1,000,000 index entries to find none). Each (unit,
        status) pair instead reads its own newest rows from ``ix_concerns_unit_status_created`` (or
        ``ix_concerns_open``), stopping at ``limit``; the viewer's own concerns outside those units are
        one more branch. The union is ordered and cut again, so the rows are exactly the scan's.
        """
        c = t.concerns.c
        units: list[str] | None
        if scope.unit_ids is None:
            units = None if where.unit_ids is None else list(where.unit_ids)
        else:
            units = [u for u in scope.unit_ids if where.unit_ids is None or u in where.unit_ids]
        if units is None:
            return None
        statuses = [s for s in _LISTED if not where.statuses or s in where.statuses]
        if len(units) * len(statuses) > _MAX_BRANCHES:
            return None
        rest = self._filter(dataclasses.replace(where, unit_ids=None, statuses=()))
        # "waiting" is never listed, and the units whose routed-around concerns this viewer may not see.
        visible = self._scope(dataclasses.replace(scope, unit_ids=None, reporter=None, reporter_handle=None))
        # Each branch picks keys only: the rows are read once, for the ``limit`` that win.
        branches = [
            self._newest(
                sa.select(c.id, c.created_at).where(c.unit_id == unit, c.status == status, *visible, *rest),
                limit,
                before,
            )
            for unit in units
            for status in statuses
        ]
        if scope.unit_ids is not None and (scope.reporter is not None or scope.reporter_handle):
            own = self._scope(dataclasses.replace(scope, unit_ids=()))
            if scope.unit_ids:
                own.append(c.unit_id.not_in(list(scope.unit_ids)))  # those are in the branches above
            branches.append(
                self._newest(sa.select(c.id, c.created_at).where(*own, *self._filter(where)), limit, before)
            )
        return branches

    async def list_concerns(
        self, *, scope: Scope, where: ConcernFilter, limit: int, before: tuple[datetime, int] | None = None
    ) -> list[Concern]:
        if where.sources and STAFF_SOURCE not in where.sources:
            return await self._family_list(scope, where, limit, before)
        branches = self._branches(scope, where, limit, before)
        if branches is None:
            statement = self._newest(
                sa.select(t.concerns).where(*self._scope(scope), *self._filter(where)), limit, before
            )
        elif not branches:
            return []
        else:
            # Each branch as a subquery: SQLite takes no ORDER BY or LIMIT inside a compound SELECT.
            union = sa.union_all(*(sa.select(b.subquery()) for b in branches)).subquery()
            newest = sa.select(union.c.id).order_by(union.c.created_at.desc(), union.c.id.desc()).limit(limit)
            c = t.concerns.c
            statement = (
                sa.select(t.concerns)
                .where(c.id.in_(newest.scalar_subquery()))
                .order_by(c.created_at.desc(), c.id.desc())
            )
        return [Concern(**row._mapping) for row in await self._rows(statement)]

    async def _family_list(
        self, scope: Scope, where: ConcernFilter, limit: int, before: tuple[datetime, int] | None
    ) -> list[Concern]:
        """Only patients' and families' concerns: read from the family table, a few in a hundred.

        Walking the concerns' indexes for them read ~50 rows per match (a department's list: 360 ms
        at 1,000,000 concerns); the family table's ``(unit_id, created_at)`` index names them at once,
        and each is one probe of the concerns' primary key.
        """
        c, f = t.concerns.c, t.family_concerns.c
        statement = (
            sa.select(t.concerns)
            .select_from(t.concerns.join(t.family_concerns, f.concern_id == c.id))
            .where(
                f.source.in_(list(where.sources)),
                *self._scope(scope),
                *self._filter(dataclasses.replace(where, sources=())),
            )
        )
        units = scope.unit_ids if where.unit_ids is None else where.unit_ids
        if units is not None:
            # A family concern's unit is its concern's (neither ever moves), and it is nobody's "own"
            # (no reporter): the units are all of the scope it can match, and the family index's key.
            statement = statement.where(f.unit_id.in_(list(units)))
        rows = await self._rows(self._newest(statement, limit, before))
        return [Concern(**row._mapping) for row in rows]

    async def stream_concerns(self, *, scope: Scope, where: ConcernFilter) -> AsyncIterator[Concern]:
        statement = self._concerns(scope, where).execution_options(yield_per=_STREAM_BATCH)
        async with self.engine.connect() as conn:
            result = await conn.stream(statement)
            async for row in result:
                yield Concern(**row._mapping)

    async def stream_concern_rows(
        self, *, scope: Scope, where: ConcernFilter, fields: Sequence[str]
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Only ``fields`` of every concern matching, newest first, as plain tuples in batches.

        For exports: no record per row, and only the columns written (not the JSON policy and
        the other twenty); a server-side cursor keeps memory flat.
        """
        c = t.concerns.c
        columns = [_SOURCE if name == "source" else c[name] for name in fields]
        statement = sa.select(*columns)
        if "source" in fields:  # by the family table's primary key: one probe per row, or a hash of it
            statement = statement.select_from(
                t.concerns.outerjoin(t.family_concerns, t.family_concerns.c.concern_id == c.id)
            )
        statement = (
            statement.where(*self._scope(scope), *self._filter(where))
            .order_by(c.created_at.desc(), c.id.desc())
            .execution_options(yield_per=_STREAM_BATCH)
        )
        async with self.engine.connect() as conn:
            result = await conn.stream(statement)
            async for batch in result.partitions(_STREAM_BATCH):
                yield [tuple(row) for row in batch]

    async def concern_sources(self, *, concern_ids: Sequence[int]) -> dict[int, str]:
        if not concern_ids:
            return {}
        f = t.family_concerns.c
        statement = sa.select(f.concern_id, f.source).where(f.concern_id.in_(list(concern_ids)))
        return {int(row[0]): str(row[1]) for row in await self._rows(statement)}

    async def audit_trail(self, *, concern_id: int) -> list[AuditEvent]:
        a = t.audit_events.c
        statement = sa.select(t.audit_events).where(a.concern_id == concern_id).order_by(a.id)
        return [AuditEvent(**row._mapping) for row in await self._rows(statement)]

    # --- huddles --------------------------------------------------------------------------------

    async def list_runs(
        self, *, unit_ids: Sequence[str] | None, start: datetime, end: datetime, limit: int | None
    ) -> list[RunLine]:
        r, h = t.huddle_runs.c, t.huddle_responses.c

        def answered(kind: str) -> Any:
            return sa.func.count(sa.case((h.answer == kind, 1)))

        statement = (
            sa.select(
                r.id,
                r.unit_id,
                r.scheduled_for,
                r.status,
                answered("clear"),
                answered("concern"),
                answered("goodcatch"),
                answered("comment"),
                sa.func.count(sa.distinct(h.responder_key)),
            )
            .select_from(t.huddle_runs.outerjoin(t.huddle_responses, h.run_id == r.id))
            .where(r.scheduled_for >= start, r.scheduled_for < end)
            .group_by(r.id, r.unit_id, r.scheduled_for, r.status)
            .order_by(r.scheduled_for.desc(), r.id.desc())
        )
        if unit_ids is not None:
            statement = statement.where(r.unit_id.in_(list(unit_ids)))
        if limit is not None:
            statement = statement.limit(limit)
        return [
            RunLine(
                id=int(row[0]),
                unit_id=row[1],
                scheduled_for=row[2],
                status=row[3],
                clear=int(row[4]),
                concern=int(row[5]),
                goodcatch=int(row[6]),
                comment=int(row[7]),
                people=int(row[8]),
            )
            for row in await self._rows(statement)
        ]

    # --- sign-in links --------------------------------------------------------------------------

    async def add_sign_in_link(self, link: SignInLink, *, now: datetime) -> None:
        s = t.sign_in_links.c
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(t.sign_in_links).where(s.expires_at < now - timedelta(days=1)))
            await conn.execute(
                sa.insert(t.sign_in_links).values(
                    token_hash=link.token_hash,
                    platform=link.platform,
                    tenant=link.tenant,
                    user_id=link.user_id,
                    display_name=link.display_name,
                    created_at=link.created_at,
                    expires_at=link.expires_at,
                )
            )

    async def use_sign_in_link(self, *, token_hash: str, now: datetime) -> SignInLink | None:
        s = t.sign_in_links.c
        statement = (
            sa.update(t.sign_in_links)
            .where(s.token_hash == token_hash, s.used_at.is_(None), s.expires_at > now)
            .values(used_at=now)
            .returning(*t.sign_in_links.c)
        )
        async with self.engine.begin() as conn:
            row = (await conn.execute(statement)).first()
        return SignInLink(**row._mapping) if row else None

    async def shared_secret(self, *, name: str, new: str) -> str:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        async with self.engine.begin() as conn:
            await conn.execute(insert(t.meta).values(key=name, value=new).on_conflict_do_nothing())
            return str(
                (await conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == name))).scalar_one()
            )


# A concern's source: its family concern's (an outer join on the family table's key), else staff.
_SOURCE = sa.func.coalesce(t.family_concerns.c.source, STAFF_SOURCE).label("source")


def _from_sources(sources: Sequence[str]) -> Any:
    """Concerns whose source is one of ``sources``: staff ones have no family row (by its key)."""
    # An alias of its own: an export also joins the family table (for ``_SOURCE``).
    c, f = t.concerns.c, t.family_concerns.alias("source_filter").c
    family = sa.select(f.concern_id).where(f.concern_id == c.id).correlate(t.concerns)
    either: list[Any] = []
    if STAFF_SOURCE in sources:
        either.append(~sa.exists(family))
    others = [s for s in sources if s != STAFF_SOURCE]
    if others:
        either.append(sa.exists(family.where(f.source.in_(others))))
    return sa.or_(*either)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
