"""The rhythm of a hospital week: reminders before a huddle closes, department roll-ups, nudges on
concerns left open, and the Monday digest — each exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import Harness, make_harness
from tests.sql import rows
from tests.steps import quiet


async def test_a_reminder_goes_to_the_prompt_thread_once_before_the_huddle_closes(harness: Harness) -> None:
    await harness.run("tick 15m")  # 07:05: the 07:00 huddles are open (window 30m, reminder 10m before)
    await harness.run("as alex\nanswer clear")
    await harness.run("tick 16m")  # 07:21: ten minutes before 07:30 has passed
    for _ in range(3):  # more passes at the same time: still one reminder
        await quiet(harness)
    unit_channel = harness.transcript("4west")
    assert unit_channel.count("This huddle closes in") == 1
    assert "1 answered so far" in unit_channel
    assert "@" not in unit_channel.split("This huddle closes in")[1].split("\n")[0]  # nobody is tagged
    reminders = await rows(harness, "SELECT run_id FROM outbox WHERE role = 'reminder'")
    assert len(reminders) == len({r["run_id"] for r in reminders})  # one per run (one console channel)


async def test_a_department_huddle_rolls_up_each_unit_and_carries_open_concerns(harness: Harness) -> None:
    await harness.run("""
        as alex
        /concern --severity high --type falls Bed alarm on 4W-12 was off overnight
        tick 15m
        answer clear
        as jo
        answer goodcatch Caught a wrong-patient label before the draw
    """)
    await harness.run("tick 2h20m")  # 09:00 department huddles open; C-1001 escalated once by then
    medicine = harness.transcript("medicine")
    assert "Safety huddle · Department of Medicine" in medicine
    assert (
        "4 West Med-Surg: last huddle Wed 25 Nov 07:00 CST: 2 answered (1 all clear, 0 concern); "
        "1 open concern(s), 1 not acknowledged, 1 escalated"
    ) in medicine
    assert "Medical ICU: last huddle" in medicine
    assert "C-1001 (high, open)" in medicine  # carried forward from the unit below
    assert "Surgical ICU" not in medicine  # another department's unit


async def test_an_acknowledged_concern_left_open_nudges_its_thread_every_48h(harness: Harness) -> None:
    await harness.run("""
        as alex
        /concern --type equipment The blanket warmer on 4W reads 10 degrees high
        as dana
        ack C-1001
    """)
    await quiet(harness, hours=47)
    assert "is still open" not in harness.transcript("4west-leaders")
    await quiet(harness, hours=1, passes=3)
    assert harness.transcript("4west-leaders").count("C-1001 is still open, 2 days after Dana Reyes") == 1
    await quiet(harness, hours=48)
    assert harness.transcript("4west-leaders").count("C-1001 is still open") == 2
    await harness.run("resolve C-1001 Biomed recalibrated it")
    await quiet(harness, hours=96)
    assert harness.transcript("4west-leaders").count("C-1001 is still open") == 2  # resolved: no more


async def test_the_monday_digest_reaches_each_units_leaders_once_with_no_small_breakdowns(
    db_url: str, example_config
) -> None:
    wednesday_noon = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 12:00 in Chicago
    h = await make_harness(db_url, example_config, start=wednesday_noon)
    try:
        script = "\n".join(
            [
                "as alex",
                *(f"/concern --type staffing Short of a nurse on nights, week note {n}" for n in range(6)),
            ]
        )
        await h.run(script)
        await h.run(
            "as dana\n" + "\n".join(f"ack C-100{n}" for n in range(1, 6)) + "\nresolve C-1001 Added a float"
        )
        await quiet(h, hours=4 * 24 + 18)  # Monday 06:00 Chicago: not yet
        assert "Weekly safety digest" not in h.transcript("4west-leaders")
        await quiet(h, hours=2, minutes=1, passes=3)  # Monday 08:01
        leaders = h.transcript("4west-leaders")
        assert leaders.count("Weekly safety digest · 4 West Med-Surg · the week to Mon 30 Nov 08:00") == 1
        assert "Concerns raised: 6 (0 high or immediate)" in leaders
        assert "Acknowledged within their deadline: 5 of 6 (83%)" in leaders
        assert "Time to acknowledge: median 0 min, 90th percentile 0 min" in leaders
        assert "Time to resolve: fewer than 5, not shown" in leaders
        assert "Good catches shared: 0" in leaders
        assert "Alex" not in leaders.split("Weekly safety digest")[1]  # figures, never people
        assert "Weekly safety digest · Department of Medicine" in h.transcript("medicine-leaders")
        await quiet(h, hours=20, passes=2)  # same Monday, later: nothing again
        assert h.transcript("4west-leaders").count("Weekly safety digest") == 1
    finally:
        await h.app.close()
