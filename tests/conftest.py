"""Shared fixtures: a database per backend (SQLite always, PostgreSQL when configured) and a harness
that wires a real huddlebot (real storage, real core, the console Messenger) with a manual clock."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from adapters.console.messenger import ConsoleMessenger
from adapters.console.session import ConsoleSession
from bot.bootstrap import App, build
from bot.clock import ManualClock
from bot.config import OrgConfig, bundled_example_path, load_config
from bot.core import Core
from bot.sealing import Sealer
from bot.settings import Settings
from storage.engine import create_engine, database_url
from storage.migrate import upgrade
from storage.tables import metadata

PG_URL = os.environ.get("HUDDLEBOT_TEST_DATABASE_URL")
# The overview keeps figures that are slow to count as a snapshot (bot/trends.py). How slow depends on
# the machine, so tests count every time unless they test the snapshot itself (tests/web/test_trends.py).
os.environ.setdefault("HUDDLEBOT_DASHBOARD_SNAPSHOT_MS", "3600000")
REQUIRE_PG = os.environ.get("HUDDLEBOT_REQUIRE_POSTGRES") == "1"
SEAL_KEY = Sealer.new_key()
# Wednesday 25 November 2026, 06:50 in Chicago: ten minutes before the 07:00 huddles.
START = datetime(2026, 11, 25, 12, 50, tzinfo=UTC)


def _postgres_reachable(url: str) -> str | None:
    async def probe() -> None:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        finally:
            await engine.dispose()

    try:
        asyncio.run(probe())
    except Exception as error:  # any failure means "not reachable"
        return f"{type(error).__name__}: {error}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database, or a skip (a failure when CI requires PostgreSQL)."""
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("HUDDLEBOT_REQUIRE_POSTGRES=1 but HUDDLEBOT_TEST_DATABASE_URL is not set")
        pytest.skip(
            "PostgreSQL tests need HUDDLEBOT_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1/test)"
        )
    problem = _postgres_reachable(PG_URL)
    if problem:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL at HUDDLEBOT_TEST_DATABASE_URL is required but unreachable: {problem}")
        pytest.skip(f"PostgreSQL at HUDDLEBOT_TEST_DATABASE_URL is unreachable: {problem}")

    # Each test session gets a database of its own, so sessions running at once (CI, a developer,
    # several terminals) never see each other's rows; it is dropped at the end.
    name = f"huddlebot_test_{os.getpid()}_{secrets.token_hex(3)}"
    session_url = make_url(database_url(PG_URL)).set(database=name).render_as_string(hide_password=False)

    async def admin(statement: str) -> None:
        engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(session_url)
        yield session_url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(table.name for table in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy (far quicker than migrating)."""
    path = tmp_path_factory.mktemp("template") / "huddlebot.db"
    upgrade(database_url(f"sqlite:///{path}"))
    return path


def _fresh_sqlite(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "huddlebot.db"
    shutil.copyfile(template, path)  # the migration's engine is disposed, so there is no -wal file to copy
    return database_url(f"sqlite:///{path}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database: a SQLite file, and (when available) PostgreSQL, emptied."""
    if request.param == "sqlite":
        return _fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
    url = request.getfixturevalue("postgres_url")
    asyncio.run(_truncate(url))
    return url


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database only (for tests that do not depend on the backend)."""
    return _fresh_sqlite(sqlite_template, tmp_path)


@pytest.fixture(scope="session")
def example_config() -> OrgConfig:
    """The bundled example organisation."""
    return load_config(bundled_example_path())


@dataclass
class Harness:
    """A wired huddlebot on the console platform, driven like a person at a terminal."""

    app: App
    clock: ManualClock
    messenger: ConsoleMessenger
    session: ConsoleSession
    out: list[str] = field(default_factory=list)

    @property
    def core(self) -> Core:
        return self.app.core

    async def run(self, script: str) -> str:
        """Run console lines; return what was printed for them."""
        start = len(self.out)
        for line in script.strip().splitlines():
            await self.session.execute(line)
        return "\n".join(self.out[start:])

    def transcript(self, channel: str) -> str:
        """A channel (``4west``, ``4west-leaders``) or DM (``@alex``) as its members see it."""
        return self.messenger.transcript(channel)


async def make_harness(
    url: str, config: OrgConfig, *, seal_key: str | None = SEAL_KEY, start: datetime = START
) -> Harness:
    """Build a harness on ``url`` (already migrated)."""
    out: list[str] = []
    clock = ManualClock(start)
    messenger = ConsoleMessenger(output=out.append)
    settings = Settings(database_url=url, huddlebot_seal_key=seal_key)
    app = await build(
        config=config,
        settings=settings,
        clock=clock,
        tenants={"console": "local"},
        messengers={"console": messenger},
        migrate=False,
    )
    session = ConsoleSession(app, messenger, clock, output=out.append)
    return Harness(app=app, clock=clock, messenger=messenger, session=session, out=out)


@pytest.fixture
async def harness(db_url: str, example_config: OrgConfig) -> AsyncIterator[Harness]:
    """A huddlebot on each backend, with the example organisation, 'notify me' enabled."""
    h = await make_harness(db_url, example_config)
    yield h
    await h.app.close()
