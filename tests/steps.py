"""Small steps shared by the console tests: letting time pass quietly, reading a receipt code."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.due_work import run_due_work
from tests.conftest import Harness


async def quiet(harness: Harness, *, minutes: int = 0, hours: int = 0, passes: int = 1) -> None:
    """Let time pass with nobody typing, then run due work ``passes`` times at the new instant.

    Quicker than ``tick`` (which runs due work every minute) for stretches where nothing is due.
    """
    harness.clock.advance(timedelta(hours=hours, minutes=minutes))
    for _ in range(passes):
        await run_due_work(harness.core, harness.app.dispatcher)


def receipt_code(out: str) -> str:
    """The receipt code an anonymous reporter was shown."""
    found = re.search(r"Your receipt code: (\S+)", out)
    assert found, out
    return found.group(1)


def receipt_ref(code: str) -> str:
    """The concern reference a receipt code names (an anonymous concern's is random, e.g. C-4821377)."""
    found = re.match(r"(C-\d+)-", code)
    assert found, code
    return found.group(1)
