"""Anonymous means anonymous: the reporter's identity is written nowhere — not in any table, not in
the logs, not in the outbox — even after a follow-up, an answer, a sealed nudge and a reopen."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot.config import OrgConfig, bundled_example_path, parse_config
from bot.model import Address
from bot.sealing import Sealer
from tests.conftest import SEAL_KEY, Harness, make_harness
from tests.sql import as_text, dump, rows
from tests.steps import quiet, receipt_code, receipt_ref

# A reporter in the directory, with a handle, a name and platform ids found nowhere else.
HANDLE, NAME, SLACK_ID, TEAMS_ID = "quillon", "Quillon Vasquez-Oduya", "U0QUILL99", "29:1quillon-vq"
IDENTIFYING = [HANDLE, "Quillon", "Vasquez", "Oduya", SLACK_ID, TEAMS_ID]


@pytest.fixture(scope="module")
def config_with_reporter() -> OrgConfig:
    text = bundled_example_path().read_text(encoding="utf-8")
    person = f'  {HANDLE}: {{name: {NAME}, slack: {SLACK_ID}, teams: "{TEAMS_ID}"}}\n'
    assert "\npeople:\n" in text
    return parse_config(text.replace("\npeople:\n", "\npeople:\n" + person, 1), source="test.yaml")


@pytest.fixture
async def anon(db_url: str, config_with_reporter: OrgConfig) -> AsyncIterator[Harness]:
    h = await make_harness(db_url, config_with_reporter)
    yield h
    await h.app.close()


async def test_no_trace_of_an_anonymous_reporter_anywhere(
    anon: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # Every logger at every level, SQL statements and their parameters included (SQLAlchemy sets its
    # own logger to WARNING unless told otherwise).
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    out = await anon.run(f"""
        as {HANDLE}
        in 4west
        /concern --anonymous --notify-me --severity high --type violence A visitor threatened staff at desk
    """)
    code = receipt_code(out)
    ref = receipt_ref(code)
    await anon.run("tick 10m")  # past the random delay: the card reaches the leaders
    assert "Reporter: Anonymous" in anon.transcript("4west-leaders")

    await anon.run(f"""
        as dana
        reply {ref} Was security called?
    """)
    # The sealed nudge reached the reporter's DM (once: the reply also acknowledged it), and only the
    # relay could address it. It names nothing: an admin's export of DMs links this person to having
    # raised an anonymous concern, not to this one.
    dm = anon.transcript(f"@{HANDLE}")
    assert dm.count("There is news on an anonymous concern you raised.") == 1
    for pointer in (ref, ref.removeprefix("C-"), "4 West", "visitor", "violence", "high"):
        assert pointer not in dm, pointer

    out = await anon.run(f"""
        as {HANDLE}
        /concern follow-up {code}
        /concern follow-up {code} No, nobody answered the phone
    """)
    assert "Dana Reyes: Was security called?" in out
    assert "Your answer was passed to the leaders, without your name." in out
    await anon.run(f"""
        as dana
        resolve {ref} Security now answers the desk line first
        as {HANDLE}
        reopen {code} It happened again tonight
    """)
    leaders = anon.transcript("4west-leaders")
    assert "↳ The reporter (anonymous): No, nobody answered the phone" in leaders
    assert "↳ The reporter (anonymous): Reopened: It happened again tonight" in leaders

    dumped = await dump(anon)
    assert dumped["outbox"] and dumped["audit_events"] and dumped["sealed_addresses"]
    everything = (as_text(dumped) + "\n" + caplog.text).casefold()
    assert "insert into concerns" in everything  # the SQL log was captured, parameters and all
    for trace in IDENTIFYING:
        assert trace.casefold() not in everything, f"{trace!r} was found"
    for place in ("4west-leaders", "4west", "@dana", "@sam", "medicine-leaders"):
        assert NAME not in anon.transcript(place)

    # The nudge's address is sealed: opaque without the key, the reporter's DM with it.
    (sealed,) = dumped["sealed_addresses"]
    assert HANDLE not in sealed["token"]
    assert Sealer(SEAL_KEY).unseal(sealed["token"]) == Address("console", "local", user=HANDLE)
    nudges = [r for r in dumped["outbox"] if r["role"] == "sealed"]
    assert len(nudges) == 2 and all(r["status"] == "sent" for r in nudges)  # the reply, the resolution
    assert all(r["user_id"] is None and r["channel"] is None for r in nudges)

    # The receipt code is kept only as a slow hash.
    concern = dumped["concerns"][0]
    assert concern["receipt_hash"].startswith("scrypt$")
    secret = code.split("-", 2)[2]
    for form in (code, secret, secret.replace("-", "")):
        assert form.casefold() not in everything

    assert all(
        concern[column] is None
        for column in ("reporter_platform", "reporter_tenant", "reporter_user_id", "reporter_name")
    )
    reporter_actions = {"concern.raised", "concern.reporter_replied", "concern.reopened"}
    audit = [r for r in dumped["audit_events"] if r["action"] in reporter_actions]
    assert len(audit) == 4
    assert {r["actor"] for r in audit} == {"anonymous reporter"}


async def test_an_anonymous_concern_does_not_say_when_it_was_raised(harness: Harness) -> None:
    class Latest:  # the delay is random; take its longest so the steps below are exact
        def uniform(self, low: float, high: float) -> float:
            return high

    harness.core.rng = Latest()  # type: ignore[assignment]
    await harness.run("tick 12m")  # 07:02: the 07:00 huddle is open
    out = await harness.run("""
        as alex
        /concern --anonymous --severity high --type staffing Two nurses for twenty patients again
        as jo
        answer clear
    """)
    ref = receipt_ref(receipt_code(out))
    # The prompt was redrawn just after the concern was raised: it must not list it yet.
    assert ref not in harness.transcript("4west")

    await harness.run("tick 10m")
    leaders = harness.transcript("4west-leaders")
    assert "Reporter: Anonymous · raised Wed 25 Nov\n" in leaders  # the day, not the minute
    assert "07:02" not in leaders
    await harness.run("""
        as alex
        answer clear
    """)
    prompt = harness.transcript("4west")
    assert f"{ref} (high, open): staffing, raised Wed 25 Nov\n" in prompt

    # The leaders' hour starts when they got the card (07:12), not when it was raised (07:02).
    await quiet(harness, minutes=58)
    assert "Escalated" not in harness.transcript("medicine-leaders")
    await harness.run("tick 2m")
    escalated = harness.transcript("medicine-leaders")
    assert "Escalated to Department of Medicine: not acknowledged by 4 West Med-Surg after 1 h\n" in escalated
    assert "Reminder: not acknowledged after 1 h. Escalated" in harness.transcript("4west-leaders")


async def test_notify_me_is_refused_without_a_sealing_key(sqlite_url: str, example_config: OrgConfig) -> None:
    h = await make_harness(sqlite_url, example_config, seal_key=None)
    try:
        out = await h.run("""
            as alex
            /concern --anonymous --notify-me The hoist sling is torn
        """)
        assert "'Notify me' isn't available here (no sealing key is configured), so nothing was sent." in out
        assert await rows(h, "SELECT id FROM concerns") == []
        out = await h.run("/concern --anonymous The hoist sling is torn")
        assert "Your receipt code: C-" in out
    finally:
        await h.app.close()
