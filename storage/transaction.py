"""``SqlTx``: the core's ``Tx`` port on one SQLAlchemy connection; ``SqlUnitOfWork`` opens them."""

from __future__ import annotations

import functools
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.errors import Conflict
from bot.family import FamilyConcern
from bot.model import (
    ANONYMOUS_IDS,
    AuditEvent,
    Concern,
    ConcernMessage,
    ConcernStatus,
    GoodCatch,
    HuddleResponse,
    HuddleRun,
    OutboxItem,
    OutboxStatus,
    Round,
    RoundIssue,
    RunStatus,
    SealedAddress,
)
from storage import tables as t

# Any fixed number: the advisory lock that makes outbox claims take turns across replicas.
_OUTBOX_CLAIM_LOCK = 0x6875_6464_6C65  # "huddle"

R = TypeVar("R")

TABLES: dict[type, sa.Table] = {
    Concern: t.concerns,
    ConcernMessage: t.concern_messages,
    SealedAddress: t.sealed_addresses,
    HuddleRun: t.huddle_runs,
    HuddleResponse: t.huddle_responses,
    GoodCatch: t.good_catches,
    AuditEvent: t.audit_events,
    OutboxItem: t.outbox,
    FamilyConcern: t.family_concerns,
    Round: t.rounds,
    RoundIssue: t.round_issues,
}


@functools.cache
def _existing_concern() -> sa.Select[Any]:
    """NULL, and the id of the concern holding ``:key`` (NULL if none): ``_new_concern_id``'s shape."""
    c = t.concerns.c
    existing = sa.select(c.id).where(c.idempotency_key == sa.bindparam("key")).scalar_subquery()
    return sa.select(sa.null(), existing)


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def _values(record: Any) -> dict[str, Any]:
    """The row for ``record``. A None is left out: the column is NULL either way, and fewer bound
    parameters make a cheaper statement (most of a new row's columns are still empty)."""
    return {
        name: value for name in _field_names(type(record)) if (value := getattr(record, name)) is not None
    }


# Statements are built once and given their values as parameters: building ``insert().values(...)``
# anew for every row was most of a concern's intake cost.
@functools.cache
def _insert(table: sa.Table) -> sa.Insert:
    return sa.insert(table).returning(table.c.id) if "id" in table.c else sa.insert(table)


@functools.lru_cache(maxsize=256)
def _insert_rows(
    shape: tuple[tuple[sa.Table, tuple[str, ...], int], ...],
) -> tuple[sa.TextClause, tuple[tuple[str, int, int, str], ...]]:
    """One statement writing rows into one or more tables, and where each of its parameters comes
    from: ``shape`` names each table's columns and row count; a parameter is ``(name, part, row,
    column)``.

    Several tables go into one statement as data-modifying CTEs (PostgreSQL only), so a use case's
    rows cost one round trip, not one each. SQLAlchemy compiles a multi-row INSERT anew on every
    call, which costs more than the round trips it saves; as typed text, compiled once per shape, it
    is cached like any other statement.
    """
    parts, binds, sources = [], [], []
    for p, (table, columns, count) in enumerate(shape):
        rows = []
        for r in range(count):
            names = [f"p{p}_{r}_{c}" for c in columns]
            binds += [sa.bindparam(n, type_=table.c[c].type) for n, c in zip(names, columns, strict=True)]
            sources += [(n, p, r, c) for n, c in zip(names, columns, strict=True)]
            rows.append("(" + ", ".join(f":{n}" for n in names) + ")")
        parts.append(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {', '.join(rows)}")
    ctes = ", ".join(f"w{p} AS ({part})" for p, part in enumerate(parts[:-1]))
    statement = sa.text((f"WITH {ctes} " if ctes else "") + parts[-1]).bindparams(*binds)
    return statement, tuple(sources)


@functools.cache
def _column_names(table: sa.Table) -> tuple[str, ...]:
    return tuple(column.name for column in table.c)


@functools.cache
def _new_concern_id(dialect: str) -> sa.Select[Any]:
    """A fresh concern id, and the id of the concern holding ``:key`` (NULL if none), as one row.

    PostgreSQL takes the id from the table's sequence (never handed out twice, even to replicas);
    SQLite has one writer at a time, holding the write lock, so the next id is the largest plus one,
    which is what SQLite itself would pick.
    """
    c = t.concerns.c
    if dialect == "postgresql":
        new_id = sa.func.nextval(sa.func.pg_get_serial_sequence(t.concerns.name, c.id.name))
    else:  # below the anonymous range, whose random ids must not move the named count on
        named = c.id < ANONYMOUS_IDS.start
        new_id = sa.select(sa.func.coalesce(sa.func.max(c.id), 0) + 1).where(named).scalar_subquery()
    existing = sa.select(c.id).where(c.idempotency_key == sa.bindparam("key")).scalar_subquery()
    return sa.select(new_id, existing)


@functools.cache
def _insert_if_absent(table: sa.Table, dialect: str) -> sa.Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing().returning(next(iter(table.primary_key.columns)))


def _load(kind: type[R], row: sa.Row[Any]) -> R:
    return kind(**row._mapping)


# A PostgreSQL statement takes at most 32,767 parameters; SQLite's default build 32,766.
_MAX_PARAMS = 30_000
_MAX_ROWS = 100


class SqlTx:
    """One transaction. Every method is one statement (or two), and its name says what it reads.

    Rows given to ``add`` are written together just before the next statement or the commit, whichever
    comes first: reads in the transaction still see them, and their order is kept.

    With ``begin_lazily`` (PostgreSQL, for units of work that mostly add rows) the connection starts in
    autocommit and the transaction begins with the first statement that needs one. If all the block
    did was reserve ids and add rows (raising a concern), they are committed as one statement, atomic
    by itself: two round trips instead of four.
    """

    def __init__(self, conn: AsyncConnection, *, begin_lazily: bool = False) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self._pending: list[tuple[sa.Table, dict[str, Any]]] = []
        self._autocommit = begin_lazily
        self.commit_callbacks: list[Callable[[], None]] = []

    @property
    def autocommitting(self) -> bool:
        """True while no transaction has begun (only with ``begin_lazily``)."""
        return self._autocommit

    def add(self, record: Any) -> None:
        self._pending.append((TABLES[type(record)], _values(record)))

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.commit_callbacks.append(callback)

    async def _begin(self) -> None:
        if self._autocommit:
            self._autocommit = False
            if self.conn.in_transaction():  # SQLAlchemy's own bookkeeping of autocommitted statements
                await self.conn.commit()
            await self.conn.execution_options(isolation_level=self.conn.default_isolation_level)

    async def flush(self) -> None:
        """Write what ``add`` holds: in one statement on PostgreSQL, one per table on SQLite.

        A table's rows go into one VALUES list, in the order they were added, so their ids keep that
        order (the dispatcher sends a target's rows in id order). Rows of one table never share a
        statement as separate parts: PostgreSQL runs a statement's CTEs in no set order.
        """
        pending, self._pending = self._pending, []
        by_table: dict[sa.Table, list[dict[str, Any]]] = {}
        for table, values in pending:
            by_table.setdefault(table, []).append(values)
        statements: list[list[tuple[sa.Table, tuple[str, ...], list[dict[str, Any]]]]] = []
        size = 0
        for table, rows in by_table.items():
            present = set().union(*rows)
            columns = tuple(name for name in _column_names(table) if name in present)
            for start in range(0, len(rows), _MAX_ROWS):
                chunk = rows[start : start + _MAX_ROWS]
                cost = len(columns) * len(chunk)
                if not statements or self.dialect != "postgresql" or start > 0 or size + cost > _MAX_PARAMS:
                    statements.append([])
                    size = 0
                statements[-1].append((table, columns, chunk))
                size += cost
        if len(statements) > 1:
            await self._begin()
        for parts in statements:
            await self._write(parts)

    async def _write(self, parts: list[tuple[sa.Table, tuple[str, ...], list[dict[str, Any]]]]) -> None:
        statement, sources = _insert_rows(
            tuple((table, columns, len(rows)) for table, columns, rows in parts)
        )
        params = {name: parts[p][2][r].get(c) for name, p, r, c in sources}
        await self.conn.execute(statement, params)

    async def _execute(self, statement: Any, params: Any = None) -> Any:
        await self._begin()
        if self._pending:
            await self.flush()
        return await self.conn.execute(statement, params)

    async def new_concern_id(
        self, *, idempotency_key: str | None, anonymous: bool = False
    ) -> tuple[int, Concern | None]:
        if self._pending:  # keep the order of what was added: it is written first, in the transaction
            await self._begin()
            await self.flush()
        # An anonymous concern's id is random, and it takes no number from the named ones' count: a
        # gap there would show where it was sent (a collision is a Conflict: the command runs again).
        statement = _existing_concern() if anonymous else _new_concern_id(self.dialect)
        new_id, existing = (await self.conn.execute(statement, {"key": idempotency_key})).one()
        if anonymous:
            new_id = ANONYMOUS_IDS.start + secrets.randbelow(len(ANONYMOUS_IDS))
        return new_id, (await self.get(Concern, existing) if existing is not None else None)

    def _pk(self, table: sa.Table) -> sa.Column[Any]:
        return next(iter(table.primary_key.columns))

    async def insert(self, record: R) -> R:
        table = TABLES[type(record)]
        result = await self._execute(_insert(table), _values(record))
        if "id" in table.c and getattr(record, "id", 0) is None:
            record.id = result.scalar_one()  # type: ignore[attr-defined]
        return record

    async def insert_if_absent(self, record: R) -> R | None:
        table = TABLES[type(record)]
        row = (await self._execute(_insert_if_absent(table, self.dialect), _values(record))).first()
        if row is None:
            return None
        if "id" in table.c:
            record.id = row[0]  # type: ignore[attr-defined]
        return record

    async def get(self, kind: type[R], key: Any) -> R | None:
        table = TABLES[kind]
        row = (await self._execute(sa.select(table).where(self._pk(table) == key))).first()
        return _load(kind, row) if row else None

    async def update(
        self, kind: type[Any], key: Any, *, where: dict[str, Any] | None = None, **values: Any
    ) -> bool:
        table = TABLES[kind]
        conditions = [self._pk(table) == key]
        for column, expected in (where or {}).items():
            conditions.append(table.c[column].is_(None) if expected is None else table.c[column] == expected)
        result = await self._execute(sa.update(table).where(*conditions).values(**values))
        return result.rowcount == 1

    async def find_concerns(
        self,
        *,
        unit_ids: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        reporter: tuple[str, str, str] | None = None,
        limit: int = 100,
    ) -> list[Concern]:
        c = t.concerns.c
        query = sa.select(t.concerns).order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        if unit_ids is not None:
            query = query.where(c.unit_id.in_(list(unit_ids)))
        if statuses is not None:
            query = query.where(c.status.in_([str(s) for s in statuses]))
        else:  # an anonymous concern counts from when its leaders get it, not from when it was sent
            query = query.where(c.status != ConcernStatus.WAITING)
        if created_from is not None:
            query = query.where(c.created_at >= created_from)
        if created_to is not None:
            query = query.where(c.created_at <= created_to)
        if reporter is not None:
            query = query.where(
                c.reporter_platform == reporter[0],
                c.reporter_tenant == reporter[1],
                c.reporter_user_id == reporter[2],
            )
        return [_load(Concern, row) for row in await self._execute(query)]

    async def stoplight_concerns(
        self, *, unit_ids: Sequence[str], start: datetime, end: datetime, per_colour: int
    ) -> list[tuple[Concern, str, int]]:
        c = t.concerns.c
        units = c.unit_id.in_(list(unit_ids))
        # Three branches, each on its own index (ix_concerns_resolved, ix_concerns_open,
        # ix_concerns_not_possible): a unit's years of resolved concerns are never read. Routed-around
        # concerns never count; each unit's colour keeps its first ``per_colour`` rows and its total.
        branches = [
            sa.select(c.id, c.unit_id, sa.literal("green").label("colour")).where(
                units, c.status == ConcernStatus.RESOLVED, c.resolved_at > start, c.resolved_at <= end
            ),
            sa.select(c.id, c.unit_id, sa.literal("yellow").label("colour")).where(
                units, c.status == ConcernStatus.IN_PROGRESS
            ),
            sa.select(c.id, c.unit_id, sa.literal("red").label("colour")).where(
                units,
                c.status == ConcernStatus.NOT_POSSIBLE,
                c.not_possible_at > start,
                c.not_possible_at <= end,
            ),
        ]
        picked = sa.union_all(*(b.where(c.involves_leader.is_(False)) for b in branches)).subquery()
        window = {"partition_by": (picked.c.unit_id, picked.c.colour)}
        ranked = sa.select(
            picked.c.id,
            picked.c.colour,
            sa.func.row_number().over(order_by=picked.c.id, **window).label("n"),
            sa.func.count().over(**window).label("total"),
        ).subquery()
        query = (
            sa.select(t.concerns, ranked.c.colour, ranked.c.total)
            .join(ranked, ranked.c.id == c.id)
            .where(ranked.c.n <= per_colour)
            .order_by(c.id)
        )
        names = _column_names(t.concerns)
        found = []
        for row in await self._execute(query):
            values = row._mapping
            concern = Concern(**{k: values[k] for k in names})
            found.append((concern, str(values["colour"]), int(values["total"])))
        return found

    async def claim_escalations(self, *, now: datetime, limit: int) -> list[Concern]:
        """Claim every due escalation step in one statement: each returned row's level is already
        raised by one and its next step cleared; the caller sets the next step in the same transaction.
        Replicas never claim the same step: rows are locked, and PostgreSQL re-checks the condition."""
        c = t.concerns.c
        due = (
            sa.select(c.id)
            .where(c.acknowledged_at.is_(None), c.next_escalation_at <= now, c.status == ConcernStatus.OPEN)
            .order_by(c.next_escalation_at)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        statement = (
            sa.update(t.concerns)
            .where(c.id.in_(due.scalar_subquery()), c.acknowledged_at.is_(None), c.next_escalation_at <= now)
            .values(escalation_level=c.escalation_level + 1, next_escalation_at=None)
            .returning(*t.concerns.c)
        )
        return [_load(Concern, row) for row in await self._execute(statement)]

    async def claim_anonymous_posts(self, *, now: datetime, limit: int) -> list[Concern]:
        c = t.concerns.c
        due = (
            sa.select(c.id)
            .where(c.status == ConcernStatus.WAITING, c.created_at <= now)
            .order_by(c.created_at)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        statement = (
            sa.update(t.concerns)
            .where(c.id.in_(due.scalar_subquery()), c.status == ConcernStatus.WAITING)
            # Its retries are long over: the key (which for some platforms holds a timestamp) goes.
            .values(status=ConcernStatus.OPEN, idempotency_key=None)
            .returning(*t.concerns.c)
        )
        return [_load(Concern, row) for row in await self._execute(statement)]

    async def claim_nudges(self, *, now: datetime, limit: int) -> list[Concern]:
        c = t.concerns.c
        waiting = [ConcernStatus.ACKNOWLEDGED, ConcernStatus.IN_PROGRESS]
        due = (
            sa.select(c.id).where(c.nudge_at <= now, c.status.in_(waiting)).order_by(c.nudge_at).limit(limit)
        )
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        statement = (
            sa.update(t.concerns)
            .where(c.id.in_(due.scalar_subquery()), c.nudge_at <= now)
            .values(nudge_at=None)
            .returning(*t.concerns.c)
        )
        return [_load(Concern, row) for row in await self._execute(statement)]

    async def concern_messages(self, *, concern_id: int) -> list[ConcernMessage]:
        m = t.concern_messages.c
        query = sa.select(t.concern_messages).where(m.concern_id == concern_id).order_by(m.id)
        return [_load(ConcernMessage, row) for row in await self._execute(query)]

    async def latest_leader_messages(self, *, concern_ids: Sequence[int]) -> dict[int, str]:
        m = t.concern_messages.c
        newest = (
            sa.select(sa.func.max(m.id))
            .where(m.concern_id.in_(sorted(set(concern_ids))), m.author_role == "leader")
            .group_by(m.concern_id)
        )
        query = sa.select(m.concern_id, m.text).where(m.id.in_(newest))
        return {int(i): str(text) for i, text in await self._execute(query)} if concern_ids else {}

    async def open_run(self, *, unit_id: str) -> HuddleRun | None:
        r = t.huddle_runs.c
        query = (
            sa.select(t.huddle_runs)
            .where(r.unit_id == unit_id, r.status == RunStatus.OPEN)
            .order_by(r.scheduled_for.desc())
            .limit(1)
        )
        row = (await self._execute(query)).first()
        return _load(HuddleRun, row) if row else None

    async def due_closing_runs(self, *, now: datetime, limit: int) -> list[HuddleRun]:
        r = t.huddle_runs.c
        query = (
            sa.select(t.huddle_runs)
            .where(r.status == RunStatus.OPEN, r.closes_at <= now)
            .order_by(r.closes_at)
            .limit(limit)
        )
        return [_load(HuddleRun, row) for row in await self._execute(query)]

    async def runs_between(
        self, *, unit_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[HuddleRun]:
        r = t.huddle_runs.c
        query = (
            sa.select(t.huddle_runs)
            .where(r.unit_id.in_(list(unit_ids)), r.scheduled_for >= start, r.scheduled_for < end)
            .order_by(r.scheduled_for)
        )
        return [_load(HuddleRun, row) for row in await self._execute(query)]

    async def responses(self, *, run_id: int) -> list[HuddleResponse]:
        h = t.huddle_responses.c
        query = sa.select(t.huddle_responses).where(h.run_id == run_id).order_by(h.id)
        return [_load(HuddleResponse, row) for row in await self._execute(query)]

    async def good_catches_between(self, *, unit_id: str, start: datetime, end: datetime) -> list[GoodCatch]:
        g = t.good_catches.c
        query = (
            sa.select(t.good_catches)
            .where(g.unit_id == unit_id, g.created_at >= start, g.created_at <= end)
            .order_by(g.id)
        )
        return [_load(GoodCatch, row) for row in await self._execute(query)]

    async def rounds_done(
        self, *, unit_ids: Sequence[str] | None, start: datetime, end: datetime
    ) -> list[tuple[str, str, int]]:
        r = t.rounds.c
        query = (
            sa.select(r.leader, r.unit_id, sa.func.count())
            .where(r.logged_at >= start, r.logged_at <= end)
            .group_by(r.leader, r.unit_id)
        )
        if unit_ids is not None:
            query = query.where(r.unit_id.in_(list(unit_ids)))
        return [(str(a), str(b), int(n)) for a, b, n in await self._execute(query)]

    async def round_outcomes(
        self, *, unit_ids: Sequence[str] | None, start: datetime, end: datetime
    ) -> list[tuple[str, str, str, int]]:
        r, i, c = t.rounds.c, t.round_issues.c, t.concerns.c
        query = (
            sa.select(r.leader, r.unit_id, c.status, sa.func.count())
            .select_from(
                t.rounds.join(t.round_issues, i.round_id == r.id).join(t.concerns, c.id == i.concern_id)
            )
            .where(r.logged_at >= start, r.logged_at <= end)
            .group_by(r.leader, r.unit_id, c.status)
        )
        if unit_ids is not None:
            query = query.where(r.unit_id.in_(list(unit_ids)))
        return [(str(a), str(b), str(s), int(n)) for a, b, s, n in await self._execute(query)]

    async def last_round(self, *, leader: str, unit_id: str) -> Round | None:
        r = t.rounds.c
        query = (
            sa.select(t.rounds)
            .where(r.leader == leader, r.unit_id == unit_id)
            .order_by(r.logged_at.desc(), r.id.desc())
            .limit(1)
        )
        row = (await self._execute(query)).first()
        return None if row is None else _load(Round, row)

    async def family_sources(
        self, *, unit_ids: Sequence[str], created_from: datetime, created_to: datetime
    ) -> dict[int, str]:
        f = t.family_concerns.c
        query = sa.select(f.concern_id, f.source).where(  # ix_family_concerns_unit_created
            f.unit_id.in_(list(unit_ids)), f.created_at >= created_from, f.created_at <= created_to
        )
        return {int(row[0]): str(row[1]) for row in await self._execute(query)}

    async def post_by_key(self, *, msg_key: str) -> OutboxItem | None:
        row = (await self._execute(sa.select(t.outbox).where(t.outbox.c.msg_key == msg_key))).first()
        return _load(OutboxItem, row) if row else None

    async def posts_for(
        self, *, role: str, concern_id: int | None = None, run_id: int | None = None
    ) -> list[OutboxItem]:
        o = t.outbox.c
        query = sa.select(t.outbox).where(o.role == role, o.op == "post").order_by(o.id)
        if concern_id is not None:
            query = query.where(o.concern_id == concern_id)
        if run_id is not None:
            query = query.where(o.run_id == run_id)
        return [_load(OutboxItem, row) for row in await self._execute(query)]

    async def post_by_message_ref(
        self, *, platform: str, channel: str, message_ref: str
    ) -> OutboxItem | None:
        o = t.outbox.c
        query = (
            sa.select(t.outbox)
            .where(
                o.platform == platform,
                o.message_channel == channel,
                o.message_ref == message_ref,
                o.op == "post",
            )
            .limit(1)
        )
        row = (await self._execute(query)).first()
        return _load(OutboxItem, row) if row else None

    async def supersede_pending_updates(self, *, ref_key: str) -> int:
        o = t.outbox.c
        result = await self._execute(
            sa.update(t.outbox)
            .where(o.ref_key == ref_key, o.status == OutboxStatus.PENDING, o.lease_until.is_(None))
            .values(status=OutboxStatus.SUPERSEDED)
        )
        return result.rowcount

    async def claim_outbox(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        platforms: Sequence[str],
        limit: int,
        skip_targets: Sequence[str] = (),
    ) -> list[OutboxItem]:
        o = t.outbox.c
        ahead = t.outbox.alias("ahead")
        a = ahead.c
        # Only the head of each conversation's queue: a row waits while an earlier row of its
        # conversation is leased (being sent by some worker, or held until its retry) or due. That is
        # what keeps each conversation's order through failures, retries and crashes (a dead worker's
        # lease runs out, and its row is the head again), and a pass never takes rows it must give back.
        ahead_of_it = (
            sa.select(a.id)
            .where(
                a.target == o.target,
                a.status == OutboxStatus.PENDING,
                a.id < o.id,
                sa.or_(a.lease_until >= now, a.due_at <= now),
            )
            .exists()
        )
        due = (
            sa.select(o.id)
            .where(
                o.status == OutboxStatus.PENDING,
                o.due_at <= now,
                o.platform.in_(list(platforms)),
                sa.or_(o.lease_until.is_(None), o.lease_until < now),
                ~ahead_of_it,
            )
            .order_by(o.id)
            .limit(limit)
        )
        if skip_targets:  # paced by this worker right now: claiming them would only give them back
            due = due.where(o.target.not_in(list(skip_targets)))
        if self.dialect == "postgresql":
            # Claims take turns across replicas: a claim must see the leases of the one before it,
            # or two replicas could each take a different row of one conversation at the same time.
            await self._execute(sa.select(sa.func.pg_advisory_xact_lock(_OUTBOX_CLAIM_LOCK)))
            due = due.with_for_update(skip_locked=True)
        statement = (
            sa.update(t.outbox)
            .where(o.id.in_(due.scalar_subquery()))
            .values(lease_until=lease_until)
            .returning(*t.outbox.c)
        )
        rows = [_load(OutboxItem, row) for row in await self._execute(statement)]
        return sorted(rows, key=lambda item: item.id or 0)

    async def release_outbox(self, *, ids: Sequence[int]) -> None:
        if ids:
            await self._execute(
                sa.update(t.outbox).where(t.outbox.c.id.in_(list(ids))).values(lease_until=None)
            )

    async def renew_outbox_leases(self, *, ids: Sequence[int], lease_until: datetime) -> None:
        o = t.outbox.c
        if ids:
            await self._execute(
                sa.update(t.outbox)
                .where(o.id.in_(list(ids)), o.status == OutboxStatus.PENDING, o.lease_until.is_not(None))
                .values(lease_until=lease_until)
            )

    async def outbox_stats(
        self, *, now: datetime, platforms: Sequence[str] | None = None
    ) -> tuple[datetime | None, int]:
        o = t.outbox.c
        oldest = sa.select(sa.func.min(o.due_at)).where(o.status == OutboxStatus.PENDING, o.due_at <= now)
        if platforms is not None:
            oldest = oldest.where(o.platform.in_(list(platforms)))
        dead = sa.select(sa.func.count()).select_from(t.outbox).where(o.status == OutboxStatus.DEAD)
        row = (await self._execute(sa.select(oldest.scalar_subquery(), dead.scalar_subquery()))).one()
        due = row[0]
        if isinstance(due, str):  # SQLite hands an aggregate back untyped
            due = datetime.fromisoformat(due)
        if due is not None and due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        return due, int(row[1])

    async def outbox_items(
        self, *, status: str, limit: int = 100, platform: str | None = None
    ) -> list[OutboxItem]:
        o = t.outbox.c
        query = sa.select(t.outbox).where(o.status == status).order_by(o.id).limit(limit)
        if platform is not None:
            query = query.where(o.platform == platform)
        return [_load(OutboxItem, row) for row in await self._execute(query)]

    async def claim_event(self, *, key: str, at: datetime) -> bool:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = insert(t.processed_events).values(key=key, at=at).on_conflict_do_nothing()
        result = await self._execute(statement)
        return result.rowcount == 1

    async def get_meta(self, *, key: str) -> str | None:
        return (await self._execute(sa.select(t.meta.c.value).where(t.meta.c.key == key))).scalar()

    async def set_meta(self, *, key: str, value: str) -> None:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = insert(t.meta).values(key=key, value=value)
        await self._execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def _lost_a_race(error: sa.exc.IntegrityError) -> bool:
    """True if ``error`` is a unique key refusing a row: a twin committed the same thing first."""
    return getattr(error.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(error.orig)


class SqlUnitOfWork:
    """Each call opens one transaction on ``engine``: committed at the end, rolled back on error.

    A commit that loses a race on a unique key raises ``Conflict``; nothing of it is stored.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._lazy = engine.dialect.name == "postgresql"
        # Where a unit of work only adds rows, its connection starts in autocommit: see ``SqlTx``.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT") if self._lazy else engine

    @asynccontextmanager
    async def __call__(self, *, adds_only: bool = False) -> AsyncIterator[SqlTx]:
        lazy = self._lazy and adds_only
        async with (self._autocommit if lazy else self.engine).connect() as conn:
            tx = SqlTx(conn, begin_lazily=lazy)
            try:
                yield tx
                await tx.flush()
                if not tx.autocommitting:  # in autocommit every statement has committed already
                    await conn.commit()
            except sa.exc.IntegrityError as error:
                await conn.rollback()
                if _lost_a_race(error):
                    raise Conflict(str(error.orig).splitlines()[0]) from error
                raise
            except BaseException:
                await conn.rollback()
                raise
            for callback in tx.commit_callbacks:
                callback()
