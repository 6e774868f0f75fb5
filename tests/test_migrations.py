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


async def test_rounds_logged_before_0009_are_copied_from_the_audit_log(db_url: str) -> None:
    """A hospital that logged rounds with the first version keeps them: counted as done, with the
    concerns their issues became (a reference to a concern that does not exist is left out)."""
    import sqlalchemy as sa
    from alembic import command

    from storage.migrate import alembic_config

    config = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, config, "0008")
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO concerns (id, unit_id, severity, category, concern_type, anonymity, text, "
                    "status, notify_sealed, phi_flagged, escalation_level, policy, created_at, updated_at) "
                    "VALUES (7, '4west', 'low', 'safe', 'other', 'named', 'Heard on rounds: x', 'open', "
                    "false, false, 0, '{}', '2026-11-20 10:00:00+00', '2026-11-20 10:00:00+00')"
                )
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO audit_events (at, actor, action, detail) VALUES "
                    "('2026-11-20 16:00:00+00', 'dana', 'round.logged', :detail)"
                ),
                {
                    "detail": '{"unit": "4west", "staff": 6, "patients": 3, "families": 1, "wins": 1, '
                    '"concerns": ["C-1007"], "tracked": ["C-9999"], "barriers": ["a second scanner"]}'
                },
            )
        await upgrade_async(db_url)
        async with engine.connect() as conn:
            rounds = (
                await conn.execute(sa.text("SELECT leader, unit_id, staff, wins, barriers FROM rounds"))
            ).all()
            issues = (await conn.execute(sa.text("SELECT concern_id, kind FROM round_issues"))).all()
    finally:
        await engine.dispose()
    assert [(r[0], r[1], r[2], r[3]) for r in rounds] == [("dana", "4west", 6, 1)]
    assert [tuple(i) for i in issues] == [(7, "raised")]
