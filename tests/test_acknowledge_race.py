"""Acknowledgement is a conditional update ("only if not yet acknowledged"), and that condition, not the
database's locking, is what makes two acknowledgements of one concern count once.

On PostgreSQL two leaders' transactions really interleave (READ COMMITTED: both read the concern as
unacknowledged, then both write). SQLite takes its write lock at BEGIN, so its transactions never
interleave by themselves; these tests interleave them by hand: the second leader's transaction works
from the concern as it was read before the first leader's acknowledgement committed. So they prove the
condition on SQLite too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

import bot.concerns
from bot.commands import AcknowledgeConcern, ReplyToConcern, ResolveConcern, SetConcernStatus
from bot.concerns import load_concern
from bot.model import Concern, Person
from tests.conftest import Harness
from tests.sql import scalar

DANA = Person("console", "local", "dana", "Dana Reyes")
LEE = Person("console", "local", "lee", "Lee Okafor")


async def _read_before_the_first_acknowledgement(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], None]:
    """Raise C-1001 and read it; returns a switch that makes the next command's read be that old one."""
    await harness.run("""
        as alex
        /concern --severity high Fire door on 4 West wedged open
    """)
    async with harness.core.uow() as tx:
        before = await load_concern(tx, "C-1001")
    assert before.acknowledged_at is None
    stale: list[Concern] = []
    real = bot.concerns.load_concern

    async def load(tx, ref: str) -> Concern:  # type: ignore[no-untyped-def]
        return stale.pop() if stale else await real(tx, ref)

    monkeypatch.setattr(bot.concerns, "load_concern", load)
    return lambda: stale.append(dataclasses.replace(before))


async def _acknowledgements(harness: Harness) -> int:
    return await scalar(harness, "SELECT COUNT(*) FROM audit_events WHERE action = 'concern.acknowledged'")


async def _assert_acknowledged_once_by_dana(harness: Harness) -> None:
    await harness.app.dispatcher.deliver_all()
    assert await _acknowledgements(harness) == 1
    assert await scalar(harness, "SELECT acknowledged_by FROM concerns") == "Dana Reyes"
    assert (
        await scalar(harness, "SELECT COUNT(*) FROM concern_messages WHERE text LIKE 'Acknowledged by%'") == 1
    )
    assert harness.transcript("@alex").count("was acknowledged by") == 1
    metrics = harness.core.metrics.render().decode()
    assert 'huddlebot_time_to_acknowledge_seconds_count{severity="high"} 1.0' in metrics


@pytest.mark.parametrize("who", [LEE, DANA], ids=["two-leaders", "double-click"])
async def test_a_second_acknowledgement_that_read_the_concern_before_the_first_changes_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, who: Person
) -> None:
    read_stale = await _read_before_the_first_acknowledgement(harness, monkeypatch)
    first = await harness.core.handle(AcknowledgeConcern(person=DANA, ref="C-1001", note="Mine"))
    read_stale()
    second = await harness.core.handle(AcknowledgeConcern(person=who, ref="C-1001", note="Mine"))

    assert first.text.startswith("You acknowledged C-1001")
    assert second.text.startswith("C-1001 was already acknowledged by Dana Reyes")
    assert second.text.endswith("Nothing changed.")
    await _assert_acknowledged_once_by_dana(harness)


@pytest.mark.parametrize(
    "command",
    [
        ReplyToConcern(person=LEE, ref="C-1001", text="Facilities are on their way"),
        SetConcernStatus(person=LEE, ref="C-1001", status="in-progress"),
        ResolveConcern(person=LEE, ref="C-1001", text="Door closer replaced"),
    ],
    ids=["reply", "in-progress", "resolve"],
)
async def test_a_leaders_step_that_read_the_concern_before_its_acknowledgement_does_not_acknowledge_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, command: object
) -> None:
    read_stale = await _read_before_the_first_acknowledgement(harness, monkeypatch)
    await harness.core.handle(AcknowledgeConcern(person=DANA, ref="C-1001"))
    read_stale()
    reply = await harness.core.handle(command)

    assert reply.ok, reply.text
    await _assert_acknowledged_once_by_dana(harness)
