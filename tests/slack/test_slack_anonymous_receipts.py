"""An anonymous form submitted twenty times at once (double clicks, Slack's retries) through the real
Slack endpoint: one concern, and every answer shows the same receipt code — if Slack drops the first
answer, the next one still gives the reporter their way back. No answer or stored row names the person."""

from __future__ import annotations

import asyncio
import re

import sqlalchemy as sa

from storage.engine import create_engine
from storage.tables import metadata
from tests.slack.harness import STRANGER, SlackHarness

FORM = {
    "severity": "moderate",
    "category": "safe",
    "type": "staffing",
    "unit": "4west",
    "anonymity": "anonymous",
    "description": "We were told not to report the near miss on the night of the outage.",
}
CODE = re.compile(r"C-\d{7}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


async def test_twenty_submissions_of_one_anonymous_form_all_show_the_same_receipt(
    slack: SlackHarness,
) -> None:
    await slack.command("/concern", "", user=STRANGER)
    form = slack.last_view()
    answers = await asyncio.gather(
        *(slack.submit(form, FORM, user=STRANGER, view_id="V0DOUBLE01") for _ in range(20))
    )
    codes = {code for answer in answers for code in CODE.findall(str(answer))}
    assert len(codes) == 1, codes
    assert all(CODE.search(str(answer)) for answer in answers)  # every answer carries it
    (code,) = codes

    engine = create_engine(slack.app.engine_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM concerns"))).scalar() == 1
            rows = [row for table in metadata.sorted_tables for row in await conn.execute(sa.select(table))]
    finally:
        await engine.dispose()
    stored = " ".join(str(value) for row in rows for value in row)
    secret = code.split("-", 2)[2]
    for trace in (STRANGER, "testuser", code, secret, secret.replace("-", "")):
        assert trace not in stored, trace


async def test_the_form_says_what_notify_me_sends_and_that_immediate_is_not_delayed(
    slack: SlackHarness,
) -> None:
    await slack.command("/concern", "", user=STRANGER)
    form = str(slack.last_view()["blocks"])
    assert "There is news on an anonymous concern you raised." in form  # exactly what it will send
    assert "could show that you raised an anonymous concern" in form
    assert "An *immediate* one goes at once: its timing is not hidden." in form
