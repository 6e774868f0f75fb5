"""Escalation and acknowledgement: an unacknowledged concern climbs one tier per missed SLA, each step
once; it stops the moment someone acknowledges; acknowledging twice, or at once, counts once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.commands import AcknowledgeConcern
from bot.model import Person
from tests.conftest import Harness
from tests.sql import rows, scalar
from tests.steps import quiet


def console_person(handle: str, name: str) -> Person:
    return Person("console", "local", handle, name)


def json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value  # SQLite hands JSON back as text


async def test_unacknowledged_high_concern_climbs_every_tier_once(harness: Harness) -> None:
    await harness.run("""
        as alex
        /concern --severity high --type equipment IV pumps in 4 West keep failing self-test
    """)
    await quiet(harness, minutes=59)
    assert "Escalated" not in harness.transcript("medicine-leaders")

    out = await harness.run("tick 2m")  # past the hour: one tier up, to Medicine's leaders
    assert "→ #medicine-leaders: !! Escalated to Department of Medicine" in out
    assert "not acknowledged by 4 West Med-Surg after 1 h" in harness.transcript("medicine-leaders")
    assert "↳ huddlebot: Reminder: not acknowledged after 1 h. Escalated to Department of Medicine." in (
        harness.transcript("4west-leaders")
    )

    await quiet(harness, minutes=58)
    assert "Escalated" not in harness.transcript("nursing-safety-leaders")
    await harness.run("tick 2m")  # another hour: the executive tier
    assert "Escalated to Nursing & Patient Safety Leadership" in harness.transcript("nursing-safety-leaders")

    await quiet(harness, minutes=58)
    assert "Escalated" not in harness.transcript("@sam")
    await harness.run("tick 2m")  # and last, the patient-safety officers
    assert "Escalated to the patient-safety officers" in harness.transcript("@sam")

    await quiet(harness, hours=5, passes=3)  # nowhere further to go: nothing more, however often asked
    for place in ("medicine-leaders", "nursing-safety-leaders", "@sam"):
        assert harness.transcript(place).count("!! Escalated") == 1, place
    assert harness.transcript("4west-leaders").count("Reminder: not acknowledged") == 3
    levels = await rows(
        harness, "SELECT detail FROM audit_events WHERE action = 'concern.escalated' ORDER BY id"
    )
    assert [json_value(r["detail"])["level"] for r in levels] == [1, 2, 3]
    concern = (await rows(harness, "SELECT escalation_level, next_escalation_at, status FROM concerns"))[0]
    assert concern == {"escalation_level": 3, "next_escalation_at": None, "status": "open"}
    metrics = harness.core.metrics.render().decode()  # counted once each, when committed
    for level in ("1", "2", "3"):
        assert f'huddlebot_escalations_total{{level="{level}"}} 1.0' in metrics


async def test_escalation_stops_once_acknowledged(harness: Harness) -> None:
    await harness.run("""
        as alex
        /concern --severity high --type staffing No sitter for the confused patient in 9
    """)
    await quiet(harness, minutes=59)
    await harness.run("tick 2m")
    assert "Escalated to Department of Medicine" in harness.transcript("medicine-leaders")

    out = await harness.run("""
        as lee
        ack C-1001 Sending a sitter from the float pool
    """)
    assert "You acknowledged C-1001." in out  # a leader of the parent unit may acknowledge
    await quiet(harness, hours=6, passes=3)
    assert "Escalated" not in harness.transcript("nursing-safety-leaders")
    assert "Escalated" not in harness.transcript("@sam")
    assert "was acknowledged by Lee Okafor" in harness.transcript("@alex")
    assert await scalar(harness, "SELECT COUNT(*) FROM audit_events WHERE action = 'concern.escalated'") == 1
    concern = (await rows(harness, "SELECT escalation_level, status, acknowledged_by FROM concerns"))[0]
    assert concern == {"escalation_level": 1, "status": "acknowledged", "acknowledged_by": "Lee Okafor"}


async def test_immediate_concern_escalates_after_fifteen_minutes(harness: Harness) -> None:
    await harness.run("""
        as alex
        /concern --severity immediate --type equipment Suction at bed 3 is dead
        tick 14m
    """)
    assert "Escalated" not in harness.transcript("medicine-leaders")
    await harness.run("tick 2m")
    assert "Escalated to Department of Medicine: not acknowledged by 4 West Med-Surg after 15 min" in (
        harness.transcript("medicine-leaders")
    )


async def test_acknowledging_twice_says_so_and_records_once(harness: Harness) -> None:
    out = await harness.run("""
        as alex
        /concern --severity high Oxygen tanks stored loose in the hallway
        as dana
        ack C-1001 On it
        ack C-1001 On it again
    """)
    assert "You acknowledged C-1001." in out
    assert "C-1001 was already acknowledged by Dana Reyes (Wed 25 Nov 06:50 CST). Nothing changed." in out
    out = await harness.run("""
        as lee
        ack C-1001
    """)
    assert "already acknowledged by Dana Reyes" in out
    assert (
        await scalar(harness, "SELECT COUNT(*) FROM audit_events WHERE action = 'concern.acknowledged'") == 1
    )
    assert harness.transcript("4west-leaders").count("Acknowledged by Dana Reyes") == 1
    assert harness.transcript("@alex").count("was acknowledged by") == 1


async def test_two_leaders_acknowledging_at_once_make_one_acknowledgement(harness: Harness) -> None:
    await harness.run("""
        as alex
        /concern --severity high Fire door on 4 West wedged open
    """)
    dana, lee = console_person("dana", "Dana Reyes"), console_person("lee", "Lee Okafor")
    replies = await asyncio.gather(
        harness.core.handle(AcknowledgeConcern(person=dana, ref="C-1001", note="Mine")),
        harness.core.handle(AcknowledgeConcern(person=lee, ref="C-1001", note="Mine")),
    )
    texts = sorted(reply.text for reply in replies)
    assert sum(text.startswith("You acknowledged C-1001") for text in texts) == 1
    assert sum("was already acknowledged by" in text for text in texts) == 1
    await harness.app.dispatcher.deliver_all()

    assert (
        await scalar(harness, "SELECT COUNT(*) FROM audit_events WHERE action = 'concern.acknowledged'") == 1
    )
    assert (
        await scalar(harness, "SELECT COUNT(*) FROM concern_messages WHERE text LIKE 'Acknowledged by%'") == 1
    )
    assert harness.transcript("@alex").count("was acknowledged by") == 1
    winner = await scalar(harness, "SELECT acknowledged_by FROM concerns")
    assert winner in ("Dana Reyes", "Lee Okafor")
    metrics = harness.core.metrics.render().decode()
    assert 'huddlebot_time_to_acknowledge_seconds_count{severity="high"} 1.0' in metrics
    assert f"already acknowledged by {winner}" in texts[0] + texts[1]
