"""A respect concern that involves a unit's own leader never reaches that leader, anywhere.

Search every message sent to 4 West's leader (Dana) and every place she reads, every page and JSON
twin of the dashboard she can open, her Home tab, and the digest; the next tier (Lee, Medicine) and
the patient-safety officer (Sam) have it.
"""

from __future__ import annotations

from bot import digest
from bot.commands import ShowHome
from bot.model import Person
from tests.steps import quiet
from tests.web.conftest import Web

WORDS = "Charge nurse mocks new grads at handover"


async def test_a_concern_about_a_units_leader_is_routed_around_them(web: Web) -> None:
    h = web.harness
    await h.run("as dana\nin 4west\n/huddle now")  # raised while 4 West's huddle is open
    out = await h.run(f"""
        as alex
        in 4west
        /concern --type respect --severity immediate --involves-leader {WORDS}
        /concern --type falls Wet floor by the ice machine
    """)
    assert "C-1001" in out
    assert (
        "goes to the leaders of Department of Medicine and the patient-safety officers, never to 4 West"
        in out
    )
    # The next tier and the officer have it; escalation starts above the department.
    assert WORDS in h.transcript("medicine-leaders")
    assert WORDS in h.transcript("@sam")
    for _ in range(30):  # escalations, nudges, huddles and their summaries, the stoplight
        await quiet(h, hours=1)
    await h.run("as lee\nack C-1001 I will meet you this week\nas dana\nack C-1001")
    # Dana: nothing in any channel she reads, any DM, any huddle prompt, digest or stoplight.
    for place in ("4west-leaders", "4west", "@dana"):
        seen = h.transcript(place)
        assert WORDS not in seen and "C-1001" not in seen, place
    assert "Concerns raised: C-1002" in h.transcript("4west")  # the huddle summary: the other one only
    dana_out = await h.run("as dana\nshow C-1001\nreply C-1001 hi\nresolve C-1001 x\n/huddle status")
    assert WORDS not in dana_out and "Only the leaders" in dana_out
    assert "Open concerns: 1 " in dana_out  # the falls concern only
    # Her Home tab.
    person = Person("console", "local", "dana", "Dana")
    home = await h.core.handle(ShowHome(person=person))
    assert "C-1001" not in home.detail.model_dump_json()  # type: ignore[union-attr]
    # The digest her unit's leaders read counts it nowhere; the department's does.
    unit, dept = h.core.config.unit("4west"), h.core.config.unit("medicine")
    assert unit and dept
    now = h.core.now()
    from datetime import timedelta

    async with h.core.uow() as tx:
        mine = await digest.build(h.core, tx, unit, start=now - timedelta(days=7), end=now)
        above = await digest.build(h.core, tx, dept, start=now - timedelta(days=7), end=now)
    assert mine.text.startswith("Concerns raised: 1") and above.text.startswith("Concerns raised: 2")

    # Every dashboard page and data twin Dana can open.
    dana = await web.signed_in("dana")
    try:
        for path in (
            "/dashboard/",
            "/dashboard/overview.json",
            "/dashboard/concerns",
            "/dashboard/concerns.json",
            "/dashboard/concerns.csv",
            "/dashboard/concerns?type=respect",
            "/dashboard/huddles",
            "/dashboard/huddles.json",
        ):
            response = await dana.get(path)
            body = await response.text()
            assert WORDS not in body and "C-1001" not in body, path
        page = await dana.get("/dashboard/concerns/C-1001")
        assert page.status == 403 and WORDS not in await page.text()
        twin = await dana.get("/dashboard/concerns/C-1001.json")
        assert twin.status == 403
    finally:
        await dana.close()
    lee = await web.signed_in("lee")
    try:
        page = await lee.get("/dashboard/concerns/C-1001")
        assert page.status == 200 and WORDS in await page.text()
    finally:
        await lee.close()
