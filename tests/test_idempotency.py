"""Doing the same thing twice — due work run again, by two replicas at once, a retried request — changes
things once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.commands import AnswerHuddle, RaiseConcern
from bot.config import OrgConfig
from bot.due_work import run_due_work
from bot.model import Address, Person, concern_reference
from tests.conftest import Harness, make_harness
from tests.sql import row_counts, rows, scalar

ALEX = Person("console", "local", "alex", "Alex Kim")
IN_4WEST = Address("console", "local", channel="4west")
TIER_ONE = ["4west", "5east", "micu", "sicu"]


async def test_due_work_run_twice_at_the_same_instant_opens_nothing_twice(harness: Harness) -> None:
    await run_due_work(harness.core, harness.app.dispatcher)  # 06:50: the bot starts
    harness.clock.advance(timedelta(minutes=10))  # 07:00 sharp

    first = await run_due_work(harness.core, harness.app.dispatcher)
    after_first = await row_counts(harness)
    second = await run_due_work(harness.core, harness.app.dispatcher)

    assert first.opened == 4 and second.opened == 0
    assert second.delivery.sent == 0
    assert await row_counts(harness) == after_first
    assert harness.transcript("4west").count("Safety huddle ·") == 1


async def test_two_replicas_running_due_work_at_once_post_each_prompt_once(
    harness: Harness, db_url: str, example_config: OrgConfig
) -> None:
    other = await make_harness(db_url, example_config, start=harness.clock.now())
    try:
        await run_due_work(harness.core)
        for replica in (harness, other):
            replica.clock.advance(timedelta(minutes=10))
        reports = await asyncio.gather(*(run_due_work(r.core) for r in (harness, other, harness, other)))
        assert sum(report.opened for report in reports) == 4
        runs = await rows(harness, "SELECT unit_id FROM huddle_runs ORDER BY unit_id")
        assert [r["unit_id"] for r in runs] == TIER_ONE
        prompts = await rows(harness, "SELECT channel FROM outbox WHERE role = 'prompt' ORDER BY channel")
        assert [p["channel"] for p in prompts] == TIER_ONE

        await asyncio.gather(harness.app.dispatcher.deliver_all(), other.app.dispatcher.deliver_all())
        posted = harness.messenger.messages | other.messenger.messages
        assert len(posted) == 4
    finally:
        await other.app.close()


async def test_a_retried_request_with_the_same_idempotency_key_raises_one_concern(harness: Harness) -> None:
    command = RaiseConcern(
        person=ALEX,
        where=IN_4WEST,
        text="Blood warmer alarm silenced and left",
        severity="high",
        idempotency_key="slack:T0HOSP:trigger-123",
    )
    first = await harness.core.handle(command)
    second = await harness.core.handle(command)
    assert first.ok and first.ref == "C-1001"
    assert second.text == "This concern was already received as C-1001; it was not raised twice."
    assert await scalar(harness, "SELECT COUNT(*) FROM concerns") == 1
    assert await scalar(harness, "SELECT COUNT(*) FROM outbox WHERE role = 'card'") == 1


async def test_the_same_request_arriving_twice_at_once_raises_one_concern(harness: Harness) -> None:
    command = RaiseConcern(
        person=ALEX, where=IN_4WEST, text="Blood warmer alarm silenced", idempotency_key="teams:act-77"
    )
    replies = await asyncio.gather(harness.core.handle(command), harness.core.handle(command))
    assert all(reply.ok for reply in replies)
    assert await scalar(harness, "SELECT COUNT(*) FROM concerns") == 1
    stored = concern_reference(await scalar(harness, "SELECT id FROM concerns"))
    assert [reply.ref for reply in replies] == [stored, stored]
    metrics = harness.core.metrics.render().decode()
    assert 'huddlebot_concerns_raised_total{anonymity="named",severity="moderate"} 1.0' in metrics
    assert await scalar(harness, "SELECT COUNT(*) FROM audit_events WHERE action = 'concern.raised'") == 1


async def test_a_platform_retry_of_a_handled_event_does_nothing(harness: Harness) -> None:
    await harness.run("tick 10m")
    answer = AnswerHuddle(person=ALEX, where=IN_4WEST, answer="comment", text="Tele box 4 missing")
    first = await harness.core.handle(answer, event_key="slack:Ev0001")
    before = await row_counts(harness)
    retry = await harness.core.handle(answer, event_key="slack:Ev0001")
    assert first.ok and retry.silent and retry.code == "duplicate"
    assert await row_counts(harness) == before
    assert await scalar(harness, "SELECT COUNT(*) FROM huddle_responses") == 1
