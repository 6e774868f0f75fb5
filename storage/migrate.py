"""Running Alembic migrations from huddlebot (``huddlebot migrate``) rather than the alembic CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.engine import database_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at our migrations and at ``url`` (or ``DATABASE_URL``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``. Safe to run again."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str | None = None, revision: str = "head") -> None:
    """``upgrade`` from inside a running event loop (Alembic's env starts its own loop)."""
    await asyncio.to_thread(upgrade, url, revision)


def head_revision() -> str | None:
    """The newest migration shipped with this version of huddlebot."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(url: str | None = None) -> str | None:
    """The migration the database at ``url`` is at (None for an empty database)."""
    import sqlalchemy as sa

    from storage.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            exists = await conn.run_sync(lambda sync: sa.inspect(sync).has_table("alembic_version"))
            if not exists:
                return None
            return (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
    finally:
        await engine.dispose()
