"""The mission, in brief, through the console: a concern is raised, acknowledged and answered."""

from __future__ import annotations

from tests.conftest import Harness


async def test_named_concern_reaches_leaders_and_reporter_hears_back(harness: Harness) -> None:
    out = await harness.run("""
        as alex
        /concern --severity high --type medication The pump in room 12 alarmed twice and nobody came
        as dana
        ack C-1001 Looking into it now
    """)
    assert "Your concern C-1001 was received for 4 West Med-Surg (high)" in out
    leaders = harness.transcript("4west-leaders")
    assert "[C-1001] HIGH · medication" in leaders
    assert "Acknowledged by Dana Reyes. Looking into it now" in leaders
    assert "Status: Acknowledged" in leaders
    assert "was acknowledged by Dana Reyes" in harness.transcript("@alex")
