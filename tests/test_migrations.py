"""Alembic migrations build exactly the schema the code expects, on SQLite and PostgreSQL, and can be
walked down and up again."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.engine import create_engine
from storage.migrate import current_revision, head_revision, upgrade_async
from storage.tables import metadata


async def _drift(url: str) -> list:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()


async def test_migrations_match_the_tables_and_walk_down_and_up(db_url: str) -> None:
    assert await current_revision(db_url) == head_revision()
    assert await _drift(db_url) == []
    await upgrade_async(db_url)  # again: nothing to do, nothing breaks
    from alembic import command

    from storage.migrate import alembic_config

    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "base")
    assert await current_revision(db_url) is None
    await upgrade_async(db_url)
    assert await current_revision(db_url) == head_revision()
    assert await _drift(db_url) == []
