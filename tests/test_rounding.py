"""Leader rounding (issue 13): the rhythm in the organisation file, the reminder at its wall-clock time
in the unit's zone (daylight-saving days included), and /round turning what was heard into a good
catch, a concern raised on rounds and an item tracked on the stoplight."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from aiohttp.test_utils import TestServer

from adapters.http.app import make_web_app
from bot.config import ConfigError, bundled_example_path, parse_config
from bot.due_work import run_due_work
from bot.model import Concern, ConcernStatus
from tests.conftest import Harness, make_harness
from tests.web.conftest import Web


def _config(rounding: list[dict], handle: str = "dana") -> object:
    data = yaml.safe_load(bundled_example_path().read_text())
    data["people"][handle]["rounding"] = rounding
    return parse_config(yaml.safe_dump(data))


def test_check_config_names_a_unit_that_is_not_theirs_or_unknown() -> None:
    with pytest.raises(ConfigError) as wrong:
        _config([{"units": ["micu"], "at": "10:00"}])
    assert "'dana' does not lead 'micu'" in str(wrong.value)
    with pytest.raises(ConfigError) as typo:
        _config([{"units": ["4wst"], "at": "10:00"}])
    assert "unknown unit '4wst'" in str(typo.value) and "did you mean '4west'" in str(typo.value)
    # A department's leader may round on the units below.
    assert _config([{"units": ["4west", "micu"], "days": "weekdays", "at": "09:30"}], handle="lee")


@pytest.fixture
async def rounds(db_url: str) -> AsyncIterator[Harness]:
    config = _config([{"units": ["4west"], "days": "weekdays", "at": "10:00"}])
    # Friday 6 March 2026, 08:00 Chicago: the clocks go forward on Sunday the 8th.
    h = await make_harness(db_url, config, start=datetime(2026, 3, 6, 14, 0, tzinfo=UTC))  # type: ignore[arg-type]
    yield h
    await h.app.close()


async def _until(h: Harness, instant: datetime) -> None:
    while h.clock.now() < instant:
        h.clock.advance(min(timedelta(minutes=30), instant - h.clock.now()))
        await run_due_work(h.core, h.app.dispatcher)


async def test_the_reminder_comes_at_ten_local_across_the_change_once_a_weekday(rounds: Harness) -> None:
    h = rounds
    await h.run("as alex\n/concern --type equipment The hoist battery is always flat")
    await h.run('as dana\nstatus C-1001 in_progress --title "Hoist battery"')
    await _until(h, datetime(2026, 3, 6, 15, 59, tzinfo=UTC))  # 09:59 CST
    assert "Rounding · 4 West" not in h.transcript("@dana")
    await _until(h, datetime(2026, 3, 6, 16, 1, tzinfo=UTC))  # 10:01 CST
    dm = h.transcript("@dana")
    assert dm.count("Rounding · 4 West") == 1
    assert "In progress (yellow): C-1001 Hoist battery" in dm
    # The weekend: none. Monday 9 March is CDT: 10:00 is 15:00 UTC, not 16:00.
    await _until(h, datetime(2026, 3, 9, 14, 59, tzinfo=UTC))
    assert h.transcript("@dana").count("Rounding · 4 West") == 1
    await _until(h, datetime(2026, 3, 9, 15, 1, tzinfo=UTC))
    assert h.transcript("@dana").count("Rounding · 4 West") == 2
    await run_due_work(h.core, h.app.dispatcher)  # again, as a second replica would: still once
    assert h.transcript("@dana").count("Rounding · 4 West") == 2


async def test_round_logs_a_good_catch_a_concern_and_a_tracked_item(rounds: Harness) -> None:
    h = rounds
    out = await h.run(
        "as dana\n/round 4west --staff 6 --patients 3 --families 1 --win @jo caught a wrong-patient label "
        "--concern Night staff can't reach pharmacy after 2am --track Broken blanket warmer "
        "--barrier a second bladder scanner"
    )
    assert "Round on 4 West Med-Surg logged (6 staff, 3 patients, 1 families)" in out
    assert "good catch for jo" in out and "concern C-1001" in out and "tracked C-1002" in out
    async with h.core.uow() as tx:
        catches = await tx.good_catches_between(
            unit_id="4west", start=h.clock.now() - timedelta(hours=1), end=h.clock.now() + timedelta(hours=1)
        )
        raised, tracked = await tx.get(Concern, 1), await tx.get(Concern, 2)
    assert [c.recipient_label for c in catches] == ["Jo Martin"]
    assert raised is not None and raised.text.startswith("Heard on rounds: Night staff")
    assert raised.reporter_handle == "dana"  # the leader is the recorded source; the staff member unnamed
    assert tracked is not None and tracked.status == ConcernStatus.IN_PROGRESS
    assert tracked.title == "Broken blanket warmer"
    stop = await h.run("/huddle stoplight")
    assert "posted" in stop
    assert "YELLOW (in progress) C-1002: Broken blanket warmer" in h.transcript("4west")
    # The next reminder says what was heard on this round.
    await _until(h, datetime(2026, 3, 6, 16, 1, tzinfo=UTC))
    assert "Last round you heard: C-1001: Night staff can't reach pharmacy" in h.transcript("@dana")
    # A colleague is named only when the leader writes their handle (they agreed); an unknown one is
    # refused and nothing of that round is kept.
    named = await h.run("as dana\n/round 4west --staff 1 --concern @jo: The sharps bin is always full")
    assert "concern C-1003" in named
    async with h.core.uow() as tx:
        on_behalf = await tx.get(Concern, 3)
    assert on_behalf is not None
    assert on_behalf.text == (
        "Heard on rounds from Jo Martin, who agreed to be named: The sharps bin is always full"
    )
    unknown = await h.run("as dana\n/round 4west --win @jo fine work --concern @nobody: Lift broken")
    assert "I don't know @nobody" in unknown and "Nothing was logged" in unknown
    async with h.core.uow() as tx:
        assert await tx.get(Concern, 4) is None
        catches = await tx.good_catches_between(
            unit_id="4west", start=h.clock.now() - timedelta(hours=1), end=h.clock.now() + timedelta(hours=1)
        )
    assert catches == []  # the refused round's win was not kept either
    refused = await h.run("as alex\n/round 4west --staff 2")
    assert "Only the leaders of 4 West Med-Surg can log a round" in refused


async def test_rounds_planned_and_done_and_what_came_of_them_in_the_digest_and_on_the_dashboard(
    rounds: Harness,
) -> None:
    h = rounds
    await h.run(
        "as dana\n/round 4west --staff 4 --concern Call bells go unanswered at handover --track Broken hoist"
    )
    await h.run('as dana\nresolve C-1001 Handover now has a bell runner --title "Bell runner at handover"')
    await h.run("as lee\n/round micu --staff 2")  # lee has no rhythm: done, none planned

    # The dashboard: twelve weeks ending Friday 08:00 hold sixty weekday rounds at 10:00 for Dana.
    server = TestServer(make_web_app(h.app))
    await server.start_server()
    web = Web(harness=h, server=server)
    try:
        for handle, expected in (
            ("dana", {"Dana Reyes · 4 West Med-Surg": [60, 1, 2, 1, 1, 0, 0]}),
            (
                "lee",
                {
                    "Dana Reyes · 4 West Med-Surg": [60, 1, 2, 1, 1, 0, 0],
                    "Lee Okafor · Medical ICU": [0, 1, 0, 0, 0, 0, 0],
                },
            ),
        ):
            client = await web.signed_in(handle)
            try:
                data = await (await client.get("/dashboard/overview.json")).json()
                (table,) = [t for t in data["tables"] if t["key"] == "rounds"]
                found = {r["label"]: [c["value"] for c in r["cells"]] for r in table["rows"]}
                assert found == expected, handle
                page = await (await client.get("/dashboard/")).text()
                assert "rounds, last 12 weeks: planned, done, and the issues heard" in page
            finally:
                await client.close()
    finally:
        await server.close()

    # Monday's digest for 4 West covers Monday to Friday: five rounds planned at 10:00, one done.
    await _until(h, datetime(2026, 3, 9, 13, 1, tzinfo=UTC))  # Monday 08:01 CDT
    digest = h.transcript("4west-leaders")
    assert (
        "Rounds: Dana Reyes on 4 West Med-Surg, 1 done of 5 planned; 2 issues heard: 1 resolved, "
        "1 in progress, 0 not possible now, 0 still open"
    ) in digest, digest[-1500:]
