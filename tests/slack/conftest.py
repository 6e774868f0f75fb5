"""Fixtures for the Slack adapter: a huddlebot serving Slack on each database backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import OrgConfig
from tests.conftest import SEAL_KEY, START
from tests.slack.harness import SlackHarness, make_slack


@pytest.fixture
async def slack(db_url: str, example_config: OrgConfig) -> AsyncIterator[SlackHarness]:
    """Slack in front of a real huddlebot (SQLite, and PostgreSQL when configured), 'notify me' on."""
    harness = await make_slack(db_url, example_config, start=START, seal_key=SEAL_KEY)
    yield harness
    await harness.close()


@pytest.fixture
async def slack_sqlite(sqlite_url: str, example_config: OrgConfig) -> AsyncIterator[SlackHarness]:
    """The same on SQLite only, for tests about Slack itself rather than storage."""
    harness = await make_slack(sqlite_url, example_config, start=START, seal_key=SEAL_KEY)
    yield harness
    await harness.close()
