"""A request aiohttp cannot parse, on the Teams route of a server that serves no Slack: a 400 with one
INFO line, and no traceback anyone could write into the log."""

from __future__ import annotations

import json
import logging

import pytest
from multidict import CIMultiDict

from tests.teams.conftest import TeamsHarness


async def test_a_duplicate_content_type_is_a_400_without_a_traceback(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = CIMultiDict([("Content-Type", "application/json"), ("Content-Type", "text/plain")])
    response = await teams.client.post("/api/messages", data=json.dumps({"type": "message"}), headers=headers)
    assert response.status == 400
    [line] = [r.getMessage() for r in caplog.records if r.name == "aiohttp.server"]
    assert line.startswith("http: refused a request aiohttp could not parse (400): duplicate Content-Type")
    assert not any(r.exc_info or r.exc_text or r.levelno >= logging.ERROR for r in caplog.records)
