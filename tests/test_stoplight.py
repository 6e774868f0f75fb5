"""Issue 13 in the console: "not possible now, and why", and the stoplight report ("you said, we did")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import stoplight
from bot.commands import SetConcernStatus
from bot.model import Concern, ConcernStatus, Person
from tests.conftest import Harness
from tests.steps import quiet, receipt_code, receipt_ref


async def test_not_possible_needs_a_reason_tells_the_reporter_and_can_be_reopened(harness: Harness) -> None:
    out = await harness.run("""
        as alex
        /concern --type equipment We need a second bladder scanner on nights
        as dana
        not-possible C-1001
        not-possible C-1001 --title "Second bladder scanner" The budget is frozen until April; share 5E's
    """)
    assert "Say why it isn't possible now" in out
    assert "C-1001 is closed as not possible now" in out
    dm = harness.transcript("@alex")
    assert "can't be acted on now, Dana Reyes says. Why: The budget is frozen until April" in dm
    leaders = harness.transcript("4west-leaders")
    assert "Status: Not possible now" in leaders
    assert "Not possible now: Dana Reyes" in leaders
    async with harness.core.uow() as tx:
        concern = await tx.get(Concern, 1)
    assert concern is not None and concern.status == ConcernStatus.NOT_POSSIBLE
    assert concern.title == "Second bladder scanner" and concern.resolved_at is None
    out = await harness.run("""
        as dana
        resolve C-1001 bought one
        as alex
        reopen C-1001 Nights still have none
    """)
    assert "closed as not possible now" in out
    assert "C-1001 is open again" in out
    async with harness.core.uow() as tx:
        concern = await tx.get(Concern, 1)
    assert concern is not None and concern.status == ConcernStatus.ACKNOWLEDGED
    assert concern.not_possible_at is None and concern.not_possible_reason is None


async def test_an_anonymous_reporter_reads_the_reason_through_follow_up(harness: Harness) -> None:
    out = await harness.run("""
        as alex
        /concern --anonymous --severity immediate The night float is routinely left alone with 8 patients
    """)
    code = receipt_code(out)
    ref = receipt_ref(code)
    await harness.run(f"as dana\nnot-possible {ref} No float budget this quarter; raised with the CNO")
    out = await harness.run(f"as alex\n/concern follow-up {code}")
    assert "not possible" in out and "No float budget this quarter" in out


async def test_weekly_stoplight_green_yellow_red_words_only_where_allowed(harness: Harness) -> None:
    await harness.run("""
        as alex
        /concern --share --type falls Bed alarms on 12-18 do not sound at the desk
        /concern --type staffing Nobody answers the float pool phone after midnight
        /concern --confidential --type equipment The hoist sling in room 4 is frayed
        /concern --anonymous --severity immediate Dr X shouts at new grads at handover
        as dana
        resolve C-1001 Biomed re-paired the alarms to the desk console
        status C-1002 in_progress --title "Float pool phone at night"
        status C-1002 in_progress --title "Float pool phone, nights"
        status C-1002 in_progress --title "Float pool phone at night"
        reply C-1002 Meeting the staffing office on Tuesday
        not-possible C-1003 --title "New hoist slings" Slings are on national back-order until March
    """)
    async with harness.core.uow() as tx:
        unit = harness.core.config.unit("4west")
        assert unit is not None
        now = harness.core.now()
        from datetime import timedelta

        view = await stoplight.build(harness.core, tx, unit, start=now - timedelta(days=7), end=now)
    lines = "\n".join(
        f"{i.colour} {i.ref} {i.title} {i.detail}" for u in view.units for i in [*u.green, *u.yellow, *u.red]
    )
    assert "green C-1001 Bed alarms on 12-18 do not sound at the desk Biomed re-paired" in lines
    assert "yellow C-1002 Float pool phone at night Meeting the staffing office on Tuesday" in lines
    # A confidential concern: the leader's title only, not the reason nor anything of the reporter.
    assert "red C-1003 New hoist slings None" in lines
    assert "Nobody answers" not in lines and "frayed" not in lines and "Dr X" not in lines
    assert "Alex" not in lines

    # The weekly report: Friday 14:00 in the unit's zone, once, whoever runs due work.
    h = harness
    while True:
        local = h.core.now().astimezone(h.core.config.timezone_for("4west"))
        if local.weekday() == 4 and local.hour >= 14:
            break
        await quiet(h, hours=1)
    await quiet(h, minutes=1, passes=2)
    channel = h.transcript("4west")
    assert channel.count("You said, we did · 4 West Med-Surg") == 1
    assert "GREEN (done) C-1001" in channel and "RED (not possible now) C-1003: New hoist slings" in channel
    assert "frayed" not in channel and "Alex" not in channel
    # Other units had nothing: they are thanked, not left in silence; the department rolls them up.
    assert "Nothing raised this week — thank you for your huddles." in h.transcript("5east")
    dept = h.transcript("medicine")
    assert "4 West Med-Surg" in dept and "C-1001" in dept


async def test_on_demand_stoplight_leader_posts_staff_see_it_privately(harness: Harness) -> None:
    out = await harness.run("""
        as alex
        /huddle stoplight
    """)
    assert "Nothing raised this week" in out
    assert "You said, we did" not in harness.transcript("4west")
    out = await harness.run("as dana\n/huddle stoplight 4west")
    assert "was posted to its channel" in out
    assert "Nothing raised this week — thank you for your huddles." in harness.transcript("4west")


async def test_an_in_progress_note_is_the_leaders_latest_update_on_the_yellow_line(harness: Harness) -> None:
    out = await harness.run("""
        as alex
        /concern --type staffing Nobody answers the float pool phone after midnight
        as dana
        status C-1001 in_progress --title "Float pool phone at night" Meeting the staffing office on Tuesday
    """)
    assert "C-1001 is now in progress." in out
    assert "Dana Reyes is working on your concern C-1001. Meeting the staffing office" in harness.transcript(
        "@alex"
    )
    leaders = harness.transcript("4west-leaders")
    assert "↳ huddlebot: Dana Reyes marked it in progress." in leaders
    assert "↳ Dana Reyes: Meeting the staffing office on Tuesday" in leaders  # a leader's own message

    async def yellow() -> list[str]:
        async with harness.core.uow() as tx:
            unit = harness.core.config.unit("4west")
            assert unit is not None
            now = harness.core.now()
            view = await stoplight.build(harness.core, tx, unit, start=now - timedelta(days=7), end=now)
        return [f"{i.ref} {i.title}: {i.detail}" for u in view.units for i in u.yellow]

    assert await yellow() == ["C-1001 Float pool phone at night: Meeting the staffing office on Tuesday"]
    # Already in progress (a form opened before another leader pressed): the new update is kept.
    out = await harness.run("as dana\nstatus C-1001 in_progress The office agreed a night number")
    assert "Your update on C-1001 was added. The reporter has been told." in out
    assert await yellow() == ["C-1001 Float pool phone at night: The office agreed a night number"]
    assert "Dana Reyes replied about C-1001: The office agreed a night number" in harness.transcript("@alex")
    # A check before a form changes nothing, and refuses whoever may not act.
    dana = Person("console", "local", "dana", "Dana Reyes")
    alex = Person("console", "local", "alex", "Alex Kim")
    checked = await harness.core.handle(
        SetConcernStatus(person=dana, ref="C-1001", status="in_progress", check_only=True)
    )
    assert checked.code == "status_allowed"
    refused = await harness.core.handle(
        SetConcernStatus(person=alex, ref="C-1001", status="in_progress", check_only=True)
    )
    assert "Only the leaders of 4 West Med-Surg" in refused.text


def test_the_weekly_time_is_the_units_wall_clock() -> None:
    from bot.config import bundled_example_path, load_config
    from bot.core import Core

    config = load_config(bundled_example_path())
    core = Core.__new__(Core)
    core.config = config
    unit = config.unit("4west")
    assert unit is not None
    # Friday 6 November 2026 (after the clocks went back in Chicago): 14:00 CST is 20:00 UTC.
    at = stoplight.last_stoplight_time(core, unit, datetime(2026, 11, 7, 0, 0, tzinfo=UTC))
    assert at == datetime(2026, 11, 6, 20, 0, tzinfo=UTC)


def test_slack_and_teams_show_the_report_fitted_to_their_limits() -> None:
    from adapters.slack import blocks
    from adapters.teams import cards
    from bot.views import Stoplight, StoplightItem, StoplightUnit

    long = "x" * 150
    units = [
        StoplightUnit(
            unit_name=f"Unit {n}",
            green=[
                StoplightItem(colour="green", ref=f"C-{n}{i}", title=long, detail=long) for i in range(15)
            ],
            red=[StoplightItem(colour="red", ref=f"C-9{n}", title="<!channel> & co", detail=long)],
            more=4,
        )
        for n in range(8)
    ]
    view = Stoplight(title="You said, we did · Medicine", units=units, legend="Green: done")
    slack = blocks.render(view)
    assert 0 < len(slack) <= 50
    assert "<!channel>" not in str(slack) and "&lt;!channel&gt;" in str(slack)
    card = cards.fit(cards.render(view))
    assert cards.size(card) <= cards.CARD_LIMIT_BYTES
    assert "You said, we did" in str(card)
