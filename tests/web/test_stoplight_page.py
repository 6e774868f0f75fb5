"""The dashboard's "You said, we did" page: the same stoplight report the unit's channel gets, for the
units a leader leads (a department's: the roll-up), never a concern routed around the unit's leaders."""

from __future__ import annotations

from tests.web.conftest import Web, csrf_of


async def _seed(web: Web) -> None:
    await web.harness.run(
        "\n".join(
            [
                "as alex",
                "in 4west",
                "/concern --type equipment The bladder scanner is broken again",
                "/concern --type staffing Nights are one nurse short",
                "/concern --type equipment We need a second hoist",
                "/concern --type respect --involves-leader The charge nurse belittled a new graduate",
                "as dana",
                'resolve C-1001 Scanner replaced, spare ordered --title "Bladder scanner replaced"',
                'status C-1002 in_progress --title "Night staffing under review"',
                'not-possible C-1003 No budget for a second hoist this year --title "Second hoist"',
                "as lee",
                'status C-1004 in_progress --title "Conduct matter"',
            ]
        )
    )


async def test_a_leader_reads_the_units_stoplight_as_its_channel_gets_it(web: Web) -> None:
    await _seed(web)
    dana = await web.signed_in("dana")
    try:
        page = await (await dana.get("/dashboard/stoplight")).text()
        assert "You said, we did · 4 West Med-Surg" in page
        for words in ("Bladder scanner replaced", "Night staffing under review", "Second hoist"):
            assert words in page
        assert "No budget for a second hoist this year" in page  # red, with the reason
        assert "Conduct matter" not in page and "C-1004" not in page and "belittled" not in page
        data = await (await dana.get("/dashboard/stoplight.json")).json()
        (west,) = data["units"]
        assert [i["title"] for i in west["green"]] == ["Bladder scanner replaced"]
        assert [i["title"] for i in west["yellow"]] == ["Night staffing under review"]
        assert [i["title"] for i in west["red"]] == ["Second hoist"]
        # The unit's channel got the same lines.
        await web.harness.run("as dana\n/huddle stoplight")
        channel = web.harness.transcript("4west")
        assert "Bladder scanner replaced" in channel and "Conduct matter" not in channel
    finally:
        await dana.close()


async def test_a_department_sees_the_roll_up_and_nobody_sees_another_units(web: Web) -> None:
    await _seed(web)
    lee, chris, alex = await web.signed_in("lee"), await web.signed_in("chris"), await web.signed_in("alex")
    try:
        data = await (await lee.get("/dashboard/stoplight.json")).json()
        names = [u["unit_name"] for u in data["units"]]
        assert "4 West Med-Surg" in names and len(names) > 1  # the department's units below it
        assert "Conduct matter" not in str(data)  # routed around 4 West's leaders: not on any stoplight
        refused = await chris.get("/dashboard/stoplight?unit=4west")
        assert refused.status == 403 and "Bladder scanner" not in await refused.text()
        assert (await chris.get("/dashboard/stoplight.json?unit=4west")).status == 403
        staff = await alex.get("/dashboard/stoplight")
        assert staff.status == 403 and "channel gets it every week" in await staff.text()
    finally:
        for client in (lee, chris, alex):
            await client.close()


async def test_a_leader_closes_and_titles_from_the_concern_page_and_the_stoplight_shows_it(web: Web) -> None:
    await web.harness.run(
        "as alex\nin 4west\n/concern --type equipment The hoist battery dies mid-transfer\n"
        "/concern --type equipment We need bariatric chairs"
    )
    dana = await web.signed_in("dana")
    try:

        async def act(ref: str, action: str, **form: str) -> tuple[int, str]:
            page = await (await dana.get(f"/dashboard/concerns/{ref}")).text()
            answer = await dana.post(
                f"/dashboard/concerns/{ref}/{action}",
                data={"csrf": csrf_of(page), **form},
                allow_redirects=True,
            )
            return answer.status, await answer.text()

        status, page = await act("C-1001", "in_progress", note="Spare batteries on order", title="x" * 121)
        assert status == 400 and "Keep the title to 120 characters" in page
        assert "In progress" not in (await (await dana.get("/dashboard/concerns/C-1001.json")).text())
        status, _ = await act(
            "C-1001", "in_progress", note="Spare batteries on order", title="Hoist batteries"
        )
        assert status == 200
        status, page = await act("C-1002", "not_possible", reason="", title="Bariatric chairs")
        assert status == 400 and "Enter why it is not possible now" in page
        status, _ = await act(
            "C-1002", "not_possible", reason="Capital budget closed until April", title="Bariatric chairs"
        )
        assert status == 200
        report = await (await dana.get("/dashboard/stoplight.json")).json()
        (west,) = report["units"]
        assert [(i["title"], i["detail"]) for i in west["yellow"]] == [
            ("Hoist batteries", "Spare batteries on order")
        ]
        assert [(i["title"], i["detail"]) for i in west["red"]] == [
            ("Bariatric chairs", "Capital budget closed until April")
        ]
        # The reporter was told why, in chat.
        await web.harness.app.dispatcher.deliver_all()
        assert "Capital budget closed until April" in web.harness.transcript("@alex")
    finally:
        await dana.close()
