"""`/concern reopen C-1042 why` on Slack: the reporter who raised a concern by name reopens it when it
isn't fixed; the resolved update says exactly how."""

from __future__ import annotations

import json

import sqlalchemy as sa

from bot.commands import ResolveConcern
from bot.model import Person
from storage.engine import create_engine
from tests.slack.harness import ALEX, DANA, SlackHarness
from tests.slack.test_slack_concerns import raise_concern


async def test_the_reporter_reopens_a_resolved_concern_with_a_slash_command(slack: SlackHarness) -> None:
    await raise_concern(slack, "The bed alarm in 12 is unplugged at night.")
    dana = Person("slack", "T0HUDDLE1", DANA, "Dana Reyes")
    reply = await slack.app.core.handle(ResolveConcern(person=dana, ref="C-1001", text="Taped the plug in"))
    assert reply.ok, reply.text
    await slack.deliver()
    sent = json.dumps(slack.fake.called("chat.postMessage"))
    assert "/concern reopen C-1001 why it isn't fixed" in sent  # the reporter is told how
    answer = await slack.command("/concern", "reopen C-1001 It came unplugged again", user=ALEX)
    assert answer["response_type"] == "ephemeral" and "open again" in answer["text"], answer
    engine = create_engine(slack.app.engine_url)
    try:
        async with engine.connect() as conn:
            status = (await conn.execute(sa.text("SELECT status FROM concerns"))).scalar()
    finally:
        await engine.dispose()
    assert status == "acknowledged"  # open again, and its leaders already acknowledged it once
