"""Engine setup: SQLite for a single machine (one writer connection, WAL), PostgreSQL for production."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_URL = "sqlite:///./huddlebot.db"


def database_url(url: str | None = None) -> str:
    """The async URL to use: ``url``, else ``DATABASE_URL``, else ``./huddlebot.db``."""
    raw = url or os.environ.get("DATABASE_URL") or DEFAULT_URL
    parsed = make_url(raw)
    driver = {
        "sqlite": "sqlite+aiosqlite",
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
    }
    if parsed.drivername in driver:
        parsed = parsed.set(drivername=driver[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


def redacted(url: str) -> str:
    """``url`` with its password hidden, for logs."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(url: str | None = None, **overrides: Any) -> AsyncEngine:
    """An async engine for ``url`` (see ``database_url``), tuned for its backend."""
    url = database_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        # SQLite takes one writer at a time: one pooled connection queues writers in the process
        # instead of letting them fight over the file lock (p99 1-60 ms instead of 0.6-0.9 s).
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60, **overrides)
        _tune_sqlite(engine)
        return engine
    options: dict[str, Any] = {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}
    options.update(overrides)
    return create_async_engine(url, **options)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that later writes can fail with
        # SQLITE_BUSY without waiting, whatever the busy timeout says.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
