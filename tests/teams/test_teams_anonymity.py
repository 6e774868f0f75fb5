"""An anonymous concern raised through the Teams dialog leaves no trace of who raised it: not the Teams
user id, not the Entra object id, not their chat's id, in any table, in the outbox, or in the log."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.config import OrgConfig
from bot.model import parse_reference
from storage.tables import metadata
from tests.teams.conftest import DANA, UNIT_CHANNELS, TeamsHarness, close_harness, make_teams_harness

ANON = "29:1anonymous-nurse-who-must-stay-unknown"
ANON_AAD = "9e3f0c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
LEADERS = UNIT_CHANNELS["4west-leaders"]


async def dump(h: TeamsHarness) -> str:
    """Every value of every row of every table, as one text."""
    parts = []
    async with h.core.uow.engine.connect() as conn:  # type: ignore[attr-defined]
        for table in metadata.sorted_tables:
            for row in await conn.execute(sa.select(table)):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def form(**extra: str) -> dict[str, str]:
    return {
        "huddlebot_form": "concern",
        "text": "Night shift was told not to report the fall in room 4",
        "unit": "4west",
        "severity": "high",
        "concern_type": "falls",
        "category": "safe",
        "anonymity": "anonymous",
        **extra,
    }


@pytest.mark.parametrize("where", ["channel", "personal chat"])
@pytest.mark.parametrize("notify", ["false", "true"])
async def test_anonymous_via_the_dialog_stores_no_teams_identity(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture, where: str, notify: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="huddlebot")  # our own log, at its most talkative
    await teams.install_team()
    invoke = teams.invoke(
        "composeExtension/submitAction",
        {"commandId": "raiseConcern", "data": form(notify_me=notify)},
        user=ANON,
        user_name="Secret Nurse",
        aad=ANON_AAD,
        channel=UNIT_CHANNELS["4west"] if where == "channel" else None,
    )
    chat_id = invoke["conversation"]["id"]
    status, body = await teams.post(invoke)
    assert status == 200
    receipt = str(body["task"]["value"]["card"]["content"])
    assert "Your receipt code" in receipt  # shown in the dialog only
    found = re.search(r"(C-\d{7})-([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})", receipt)
    assert found, receipt  # an anonymous concern's reference is random, from a range of its own
    ref, code = found.groups()

    # The leaders get the card after the random delay; they answer; the reporter can follow up.
    teams.clock.advance(timedelta(minutes=11))
    await teams.deliver()
    (card,) = [c for c in teams.fake.posts_to(LEADERS) if ref in c.text]
    assert "Reporter: Anonymous" in card.text
    async with teams.core.uow() as tx:
        (row,) = await tx.posts_for(role="card", concern_id=parse_reference(ref))
    await teams.post(
        teams.channel_message(
            "Thank you. Can you tell us which night?",
            user=DANA,
            name="Dana Reyes",
            channel=LEADERS,
            mention=False,
            thread_root=row.message_ref,
        )
    )
    await teams.deliver()
    status, body = await teams.post(
        teams.invoke(
            "task/submit",
            {"data": {"huddlebot_form": "follow_up", "code": f"{ref}-{code}", "text": "Tuesday"}},
            user=ANON,
            aad=ANON_AAD,
        )
    )
    followed = str(body["task"]["value"]["card"]["content"])
    assert "Can you tell us which night?" in followed and "without your name" in followed
    await teams.deliver()

    stored = await dump(teams)
    secrets = [ANON, ANON_AAD, "Secret Nurse", "anonymous-nurse"]
    if where == "personal chat":
        secrets.append(chat_id)  # a personal chat's id names its person; a team channel's does not
    for secret in secrets:
        assert secret not in stored, secret
        assert secret not in caplog.text, secret
    nudges = teams.fake.sent("create_conversation")
    if notify == "true":  # the sealed relay found the reporter, and nothing of it was kept
        assert any(c.body["members"] == [{"id": ANON}] for c in nudges)
        # The nudge names nothing: an admin's export of the chat shows an anonymous concern, not which.
        (nudge,) = [c for c in teams.fake.history if "There is news on an anonymous concern" in c.text]
        for pointer in (ref, ref.removeprefix("C-"), "4 West", "night"):
            assert pointer not in nudge.text, pointer
    else:
        assert not any(c.body["members"] == [{"id": ANON}] for c in nudges)


async def test_no_notify_toggle_without_a_sealing_key(db_url: str, example_config: OrgConfig) -> None:
    h = await make_teams_harness(db_url, example_config, seal_key=None)
    try:
        _, body = await h.post(
            h.invoke("composeExtension/fetchTask", {"commandId": "raiseConcern"}, user=ANON)
        )
        ids = [e.get("id") for e in body["task"]["value"]["card"]["content"]["body"]]
        assert "notify_me" not in ids and "anonymity" in ids
    finally:
        await close_harness(h)
