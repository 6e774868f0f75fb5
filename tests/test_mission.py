"""The whole mission through the console, on SQLite and PostgreSQL: what each person sees.

The harness starts on Wednesday 25 November 2026 at 06:50 in Chicago, ten minutes before the 07:00
huddles of the tier-1 units. ``dana`` leads 4 West, ``lee`` leads Medicine (4 West's parent), ``sam`` is
the patient-safety officer; ``alex`` and ``jo`` are front-line staff.
"""

from __future__ import annotations

from tests.conftest import Harness
from tests.sql import rows, scalar
from tests.steps import quiet, receipt_code, receipt_ref


async def test_huddle_opens_on_time_collects_answers_and_closes_with_a_summary(harness: Harness) -> None:
    out = await harness.run("tick 9m")
    assert "Safety huddle" not in out  # 06:59: not yet

    out = await harness.run("tick 1m")
    assert "→ #4west: Safety huddle · 4 West Med-Surg · Wed 25 Nov 07:00 CST (open until 07:30 CST)" in out

    out = await harness.run("""
        as alex
        answer clear
        as jo
        answer concern Call lights take ten minutes to be answered on nights
        as dana
        answer goodcatch Alex caught a wrong-patient label before the draw
    """)
    assert "Thanks, Alex Kim: recorded all clear for the 4 West Med-Surg huddle." in out
    assert "Your concern C-1001 was received for 4 West Med-Surg" in out
    channel = harness.transcript("4west")
    assert "3 answered: 1 all clear, 1 concern, 1 good catch, 0 comment(s)" in channel
    assert "[All clear] [Raise a concern] [Share a good catch]" in channel

    out = await harness.run("tick 30m")
    assert "→ #4west, in thread: Huddle summary · 4 West Med-Surg · Wed 25 Nov 07:00 CST" in out
    channel = harness.transcript("4west")
    prompt, summary = channel.split("↳ Huddle summary")
    assert "(closed)" in prompt
    assert "3 answered: 1 all clear, 1 concern, 1 good catch" in prompt
    assert "[All clear]" not in channel  # the closed prompt lost its buttons
    assert "Jo Martin (concern): Call lights take ten minutes" in summary
    assert "Dana Reyes (good catch): Alex caught a wrong-patient label" in summary
    assert "Concerns raised: C-1001" in summary
    # The concern raised from the huddle went to the leaders, not to the unit's channel.
    assert "[C-1001] MODERATE" in harness.transcript("4west-leaders")

    runs = await rows(harness, "SELECT unit_id, claim_key, status FROM huddle_runs ORDER BY unit_id")
    assert {"unit_id": "4west", "claim_key": "07:00@2026-11-25", "status": "closed"} in runs
    assert sorted(r["unit_id"] for r in runs) == ["4west", "5east", "micu", "sicu"]
    assert await scalar(harness, "SELECT COUNT(*) FROM huddle_responses") == 3
    closing = await rows(harness, "SELECT detail FROM audit_events WHERE action = 'huddle.closed'")
    assert len(closing) == 4


async def test_named_concern_round_trip_ack_reply_answer_status_resolve_reopen(harness: Harness) -> None:
    out = await harness.run("""
        as alex
        /concern --severity high --type medication --category timely Heparin bags arrive late from pharmacy
    """)
    assert "Your concern C-1001 was received for 4 West Med-Surg (high)" in out
    leaders = harness.transcript("4west-leaders")
    assert "[C-1001] HIGH · medication · timely · 4 West Med-Surg" in leaders
    assert "Reporter: Alex Kim" in leaders
    assert "[Acknowledge] [Reply] [In progress] [Resolve]" in leaders
    assert "Your concern C-1001 is on its way to the leaders of 4 West Med-Surg" in harness.transcript(
        "@alex"
    )
    assert "C-1001" not in harness.transcript("4west")  # concerns never land in the unit channel

    out = await harness.run("""
        as dana
        ack C-1001 Calling pharmacy now
    """)
    assert "You acknowledged C-1001. The reporter has been told." in out
    leaders = harness.transcript("4west-leaders")
    assert "Status: Acknowledged (by Dana Reyes" in leaders
    assert "[Acknowledge]" not in leaders
    assert "↳ huddlebot: Acknowledged by Dana Reyes. Calling pharmacy now" in leaders
    assert "was acknowledged by Dana Reyes (4 West Med-Surg). Dana Reyes says: Calling pharmacy now" in (
        harness.transcript("@alex")
    )

    out = await harness.run("""
        reply C-1001 Which shift was it on?
        as alex
        reply C-1001 Nights, three times this week
    """)
    assert "Your reply was passed to the leaders of 4 West Med-Surg in C-1001's thread." in out
    leaders = harness.transcript("4west-leaders")
    assert "↳ Dana Reyes: Which shift was it on?" in leaders
    assert "↳ Alex Kim (reporter): Nights, three times this week" in leaders
    assert "Dana Reyes replied about C-1001: Which shift was it on?" in harness.transcript("@alex")

    out = await harness.run("""
        as dana
        status C-1001 in_progress Pharmacy is adding a night run
    """)
    assert "C-1001 is now in progress." in out
    assert "Status: In progress" in harness.transcript("4west-leaders")
    assert "Dana Reyes is working on your concern C-1001. Pharmacy is adding a night run" in (
        harness.transcript("@alex")
    )

    out = await harness.run("resolve C-1001 Pharmacy now sends a 02:00 run")
    assert "C-1001 is resolved. The reporter has been told." in out
    leaders = harness.transcript("4west-leaders")
    assert "Status: Resolved" in leaders
    assert "Resolved by Dana Reyes, Wed 25 Nov 06:50 CST. What we did: Pharmacy now sends a 02:00 run" in (
        leaders
    )
    assert "[Reply]" not in leaders and "[Resolve]" not in leaders  # buttons gone
    assert "Your concern C-1001 was resolved by Dana Reyes. What we did: Pharmacy now sends a 02:00 run" in (
        harness.transcript("@alex")
    )

    out = await harness.run("""
        as alex
        reopen C-1001 Bags were late again last night
    """)
    assert "C-1001 is open again and the leaders were told why." in out
    leaders = harness.transcript("4west-leaders")
    assert "↳ Alex Kim (reporter): Reopened: Bags were late again last night" in leaders
    assert "Status: Acknowledged" in leaders
    assert "[Reply] [In progress] [Resolve]" in leaders
    assert "What we did" not in leaders.split("↳")[0]  # the card no longer claims it was resolved

    concern = (await rows(harness, "SELECT * FROM concerns"))[0]
    assert concern["status"] == "acknowledged"
    assert concern["resolution"] is None and concern["resolved_at"] is None
    assert concern["reporter_handle"] == "alex"
    actions = [r["action"] for r in await rows(harness, "SELECT action FROM audit_events ORDER BY id")]
    assert actions == [
        "concern.raised",
        "concern.acknowledged",
        "concern.replied",
        "concern.reporter_replied",
        "concern.in_progress",
        "concern.resolved",
        "concern.reporter_replied",
        "concern.reopened",
    ]


async def test_a_leaders_first_reply_acknowledges(harness: Harness) -> None:
    await harness.run("""
        as alex
        /concern --type falls Bed alarm in 14 is unplugged again
        as dana
        reply C-1001 Thanks, fixing it
    """)
    leaders = harness.transcript("4west-leaders")
    assert "Status: Acknowledged (by Dana Reyes" in leaders
    assert "↳ huddlebot: Acknowledged by Dana Reyes." in leaders
    dm = harness.transcript("@alex")
    assert "was acknowledged by Dana Reyes" in dm
    assert "Dana Reyes replied about C-1001: Thanks, fixing it" in dm
    concern = (await rows(harness, "SELECT acknowledged_by, status FROM concerns"))[0]
    assert concern == {"acknowledged_by": "Dana Reyes", "status": "acknowledged"}


async def test_confidential_identity_is_shown_to_the_safety_officer_only(harness: Harness) -> None:
    out = await harness.run("""
        tick 10m
        as jo
        in 4west
        /concern --confidential --severity high --type staffing Charge nurse pressured me to skip a check
        reply C-1001 It happened twice on Saturday
    """)
    assert "It is confidential: only the patient-safety officer can see your name." in out
    await quiet(harness, minutes=59)
    await harness.run("tick 2m")  # escalates to Medicine: the copy there must not name Jo either

    officer = harness.transcript("@sam")
    assert "Reporter: Jo Martin (confidential: do not share)" in officer
    for place in ("4west-leaders", "4west", "medicine-leaders", "@dana", "@lee"):
        assert "Jo Martin" not in harness.transcript(place), place
    leaders = harness.transcript("4west-leaders")
    assert "Reporter: Confidential (known to the patient-safety officer)" in leaders
    assert "↳ The reporter (confidential): It happened twice on Saturday" in leaders
    assert "Escalated to Department of Medicine" in harness.transcript("medicine-leaders")
    actors = {r["actor"] for r in await rows(harness, "SELECT actor FROM audit_events")}
    assert "jo" not in actors and "confidential reporter" in actors


async def test_anonymous_concern_follow_up_by_receipt_code_and_reopen(harness: Harness) -> None:
    out = await harness.run("""
        as alex
        /concern --anonymous --severity high --type violence A visitor threatened the night nurse
    """)
    code = receipt_code(out)
    ref = receipt_ref(code)
    assert ref != "C-1001"  # anonymous concerns take random references: they follow no order
    assert "it reaches the leaders within 10 min" in out
    assert ref not in harness.transcript("4west-leaders")  # held back so its timing says nothing
    assert "@alex" not in harness.messenger.by_channel  # no DM: nothing ties it to Alex

    await harness.run("tick 10m")
    leaders = harness.transcript("4west-leaders")
    assert f"[{ref}] HIGH · violence" in leaders
    assert "Reporter: Anonymous" in leaders

    out = await harness.run(f"""
        as dana
        reply {ref} Which door did they come in by?
        as alex
        /concern follow-up {code}
    """)
    assert f"{ref} · 4 West Med-Surg · acknowledged" in out
    assert "You wrote: A visitor threatened the night nurse" in out
    assert "huddlebot: Acknowledged by Dana Reyes." in out
    assert "Dana Reyes: Which door did they come in by?" in out

    out = await harness.run(f"/concern follow-up {code} The ambulance bay door, it was propped open")
    assert "Your answer was passed to the leaders, without your name." in out
    leaders = harness.transcript("4west-leaders")
    assert "↳ The reporter (anonymous): The ambulance bay door, it was propped open" in leaders

    out = await harness.run(f"""
        as dana
        resolve {ref} Door alarm fixed; security checks it hourly
        as alex
        /concern follow-up {code}
    """)
    assert "The reporter is anonymous: they will see it when they follow up." in out
    assert f"{ref} · 4 West Med-Surg · resolved" in out
    assert "Resolved by Dana Reyes. What we did: Door alarm fixed" in out

    out = await harness.run(f"reopen {code} It was propped open again tonight")
    assert f"{ref} is open again and the leaders were told why." in out
    leaders = harness.transcript("4west-leaders")
    assert "↳ The reporter (anonymous): Reopened: It was propped open again tonight" in leaders
    assert "Alex" not in leaders


async def test_good_catch_is_posted_to_the_unit_and_the_colleague_is_told(harness: Harness) -> None:
    out = await harness.run("""
        as alex
        /goodcatch @jo Caught a heparin drip hung at double strength
    """)
    assert "Thank you for recognising Jo Martin. It was shared with 4 West Med-Surg." in out
    assert "Good catch! Alex Kim recognised Jo Martin: Caught a heparin drip hung at double strength" in (
        harness.transcript("4west")
    )
    assert "Alex Kim recognised you for a good catch on 4 West Med-Surg" in harness.transcript("@jo")
    catch = (await rows(harness, "SELECT giver_name, recipient_label, recipient_handle FROM good_catches"))[0]
    assert catch == {"giver_name": "Alex Kim", "recipient_label": "Jo Martin", "recipient_handle": "jo"}


async def test_immediate_concern_alerts_the_unit_and_parent_leaders_at_once(harness: Harness) -> None:
    out = await harness.run("""
        as alex
        /concern --severity immediate --type equipment Crash cart defibrillator will not charge
    """)
    assert "aim to acknowledge it within 15 min" in out
    for leader in ("@dana", "@lee"):
        dm = harness.transcript(leader)
        assert "Immediate concern: stop the line: C-1001 in 4 West Med-Surg (equipment)" in dm, leader
        assert "Crash cart defibrillator will not charge" in dm
    assert "[C-1001] IMMEDIATE" in harness.transcript("4west-leaders")
    # The alert goes to the unit and its parent, not further up.
    assert harness.transcript("@casey").endswith("(nothing yet)")
    alerts = await rows(harness, "SELECT user_id, status FROM outbox WHERE role = 'alert' ORDER BY user_id")
    assert alerts == [{"user_id": "dana", "status": "sent"}, {"user_id": "lee", "status": "sent"}]
