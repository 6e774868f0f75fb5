"""The pages and their data twins: who sees what, the overview's numbers, the list's filters, a
concern's page and actions, exports, huddles."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import sqlalchemy as sa

from bot.dashboard import suppress_counts
from storage.engine import create_engine
from storage.tables import audit_events
from tests.web.conftest import Web, csrf_of

FALLS = "/concern --severity high --category safe --type falls"


async def _audit(web: Web) -> list:
    engine = create_engine(web.harness.app.engine_url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(sa.select(audit_events).order_by(audit_events.c.id)))
    finally:
        await engine.dispose()


async def _seed(web: Web) -> None:
    """4 West: six named concerns (alex) and one confidential (jo); MICU: two; one anonymous waiting."""
    lines = ["as alex", "in 4west"]
    lines += [f"{FALLS} Patient nearly fell near bed {n}, the floor was wet" for n in range(1, 6)]
    lines += ["/concern --severity low --category efficient --type equipment =SUM(A1) pump keeps alarming"]
    lines += ["as jo", "/concern --confidential --unit 4west --type staffing Night shift is short again"]
    lines += [
        "in micu",
        "/concern --type medication Two pumps mislabeled",
        "/concern --type other Door sticks",
    ]
    lines += ["in 4west", "/concern --anonymous --type violence Visitor shouted at the nurse"]
    await web.harness.run("\n".join(lines))


async def test_the_overview_counts_what_the_test_raised_and_hides_small_numbers(web: Web) -> None:
    await _seed(web)
    sam = await web.signed_in("sam")
    dana = await web.signed_in("dana")
    chris = await web.signed_in("chris")
    try:
        everything = await (await sam.get("/dashboard/overview.json")).json()
        tiles = {t["label"]: t for t in everything["tiles"]}
        # Nine concerns posted; the anonymous one still waits, so it is counted nowhere.
        assert tiles["Raised in the last 7 days"]["value"] == 9
        assert tiles["Open concerns"]["value"] == 9
        tables = {t["key"]: t for t in everything["tables"]}
        aims = {r["label"]: r["cells"][-1] for r in tables["aims"]["rows"]}
        assert aims["Safe"]["value"] == 8 and aims["Efficient"]["value"] is None  # 1: suppressed
        assert aims["All"]["value"] == 9

        mine = await (await dana.get("/dashboard/overview.json")).json()
        assert {t["label"]: t["value"] for t in mine["tiles"]}["Raised in the last 7 days"] == 7
        small = await (await chris.get("/dashboard/overview.json")).json()
        tile = {t["label"]: t for t in small["tiles"]}["Raised in the last 7 days"]
        assert tile["value"] is None and tile["text"] == "fewer than 5"

        html = await (await sam.get("/dashboard/")).text()
        assert "<svg" in html and 'role="img"' in html and "<table" in html
        assert html.count("<svg") == html.count('class="figure"')  # every chart has its table

        # Posted at last: now it counts.
        await web.harness.run("tick 11m")
        again = await (await sam.get("/dashboard/overview.json")).json()
        assert {t["label"]: t["value"] for t in again["tiles"]}["Raised in the last 7 days"] == 10
    finally:
        for client in (sam, dana, chris):
            await client.close()


def test_a_hidden_cell_never_stands_alone_in_a_row_or_a_column() -> None:
    hidden = suppress_counts([[9, 2, 7], [8, 6, 5]], 5)
    assert hidden[0][1]  # primary
    assert sum(hidden[0]) >= 2 and sum(row[1] for row in hidden) >= 2
    for row in hidden:
        assert sum(row) != 1
    for column in zip(*hidden, strict=True):
        assert sum(column) != 1
    assert suppress_counts([[0, 5, 6]], 5) == [[False, False, False]]


async def test_who_sees_what(web: Web) -> None:
    await _seed(web)
    await web.harness.run("tick 11m")
    dana, priya, alex, sam = [await web.signed_in(h) for h in ("dana", "priya", "alex", "sam")]
    try:
        listing = await (await dana.get("/dashboard/concerns")).text()
        assert "C-1001" in listing and "C-1007" in listing and ">Anonymous<" in listing
        assert "Jo Martin" not in listing and "Confidential" in listing  # a leader never sees the name
        assert "Two pumps mislabeled" not in listing  # MICU is not Dana's

        # Another unit's concern: 403 and nothing else.
        refused = await priya.get("/dashboard/concerns/C-1001")
        assert refused.status == 403
        body = await refused.text()
        assert "bed 1" not in body and "Alex" not in body
        assert (await priya.get("/dashboard/concerns/C-1001.json")).status == 403

        # Staff: their own named concerns, nothing else, and no figures.
        own = await (await alex.get("/dashboard/concerns")).text()
        assert "C-1001" in own and "C-1007" not in own and ">Anonymous<" not in own
        assert (await alex.get("/dashboard/concerns/C-1008")).status == 403
        overview = await (await alex.get("/dashboard/overview.json")).json()
        assert overview["tables"] == [] and overview["tiles"] == []
        assert (await alex.get("/dashboard/huddles")).status == 403

        # The safety officer sees the confidential reporter's name; nobody sees an anonymous one's.
        officer = await (await sam.get("/dashboard/concerns/C-1007.json")).json()
        assert officer["concern"]["reporter"] == "Jo Martin (confidential)"
        leader = await (await dana.get("/dashboard/concerns/C-1007.json")).json()
        assert leader["concern"]["reporter"] == "Confidential"
        assert "Jo Martin" not in json.dumps(leader)
        anonymous = [line for line in listing.splitlines() if "Visitor shouted" in line]
        assert anonymous
    finally:
        for client in (dana, priya, alex, sam):
            await client.close()


async def test_a_waiting_anonymous_concern_is_nowhere(web: Web) -> None:
    await web.harness.run(
        "as alex\nin 4west\n/concern --anonymous --type violence Visitor shouted at the nurse"
    )
    sam = await web.signed_in("sam")
    try:
        listing = await (await sam.get("/dashboard/concerns")).text()
        assert "Visitor shouted" not in listing
        exported = await (await sam.get("/dashboard/concerns.csv")).text()
        assert "Visitor shouted" not in exported
    finally:
        await sam.close()


async def test_the_list_filters(web: Web) -> None:
    await _seed(web)
    sam = await web.signed_in("sam")
    try:
        page = await sam.get("/dashboard/concerns")
        csrf = csrf_of(await page.text())
        by_unit = await (await sam.get("/dashboard/concerns?unit=micu")).text()
        assert "Two pumps" in by_unit and "bed 1" not in by_unit
        below = await (await sam.get("/dashboard/concerns?unit=medicine")).text()  # medicine has 4west, micu
        assert "Two pumps" in below and "bed 1" in below
        high = await (await sam.get("/dashboard/concerns?severity=high&type=falls")).text()
        assert high.count("nearly fell") == 5 and "Two pumps" not in high
        # Words go in the form (a POST), never in the address.
        words = await (await sam.post("/dashboard/concerns", data={"csrf": csrf, "q": "pumps"})).text()
        assert "Two pumps" in words and "bed 1" not in words
        ignored = await (await sam.get("/dashboard/concerns?q=pumps")).text()
        assert "bed 1" in ignored
        bad = await sam.get("/dashboard/concerns?from=yesterday&status=lost")
        assert bad.status == 400
        text = await bad.text()
        assert "There is a problem" in text and 'href="#from"' in text and 'href="#status"' in text
    finally:
        await sam.close()


async def test_acting_from_the_page_is_the_chat_command_and_every_view_is_audited(web: Web) -> None:
    await web.harness.run("as alex\nin 4west\n/concern The bed alarm on 12 is not working")
    await web.harness.app.dispatcher.deliver_all()
    dana = await web.signed_in("dana")
    try:
        page = await (await dana.get("/dashboard/concerns/C-1001")).text()
        csrf = csrf_of(page)
        assert "Acknowledge" in page and "Resolve" in page
        empty = await dana.post("/dashboard/concerns/C-1001/reply", data={"csrf": csrf, "text": "  "})
        assert empty.status == 400 and "Enter your reply" in await empty.text()
        replied = await dana.post(
            "/dashboard/concerns/C-1001/reply", data={"csrf": csrf, "text": "Biomed is on the way"}
        )
        assert replied.status == 200
        after = await replied.text()
        assert "Your reply was added to C-1001" in after and "Biomed is on the way" in after
        await web.harness.app.dispatcher.deliver_all()
        inbox = web.harness.transcript("@alex")
        assert "Dana Reyes replied about C-1001: Biomed is on the way" in inbox
        resolved = await dana.post(
            "/dashboard/concerns/C-1001/resolve", data={"csrf": csrf, "text": "Alarm replaced"}
        )
        assert "C-1001 is resolved" in await resolved.text()
        await web.harness.app.dispatcher.deliver_all()
        assert "was resolved by Dana Reyes. What we did: Alarm replaced" in web.harness.transcript("@alex")
        data = await (await dana.get("/dashboard/concerns/C-1001.json")).json()
        assert [h["what"] for h in data["history"]] == ["Raised", "Acknowledged", "Resolved"]
    finally:
        await dana.close()
    priya = await web.signed_in("priya")
    try:
        # A leader of another unit cannot act on it either.
        csrf = csrf_of(await (await priya.get("/dashboard/")).text())
        refused = await priya.post("/dashboard/concerns/C-1001/reply", data={"csrf": csrf, "text": "hi"})
        assert refused.status == 403
    finally:
        await priya.close()
    views = [e for e in await _audit(web) if e.action == "dashboard.concern_viewed"]
    assert len(views) >= 4 and all(e.concern_id == 1 and e.actor == "dana" for e in views)


async def test_a_confidential_reporter_viewing_their_concern_is_not_named_in_its_audit(web: Web) -> None:
    await web.harness.run("as jo\nin micu\n/concern --confidential Night shift is short again")
    jo = await web.signed_in("jo")
    try:
        page = await jo.get("/dashboard/concerns/C-1001")
        assert page.status == 200 and "Audit trail" not in await page.text()
    finally:
        await jo.close()
    viewed = [e for e in await _audit(web) if e.action == "dashboard.concern_viewed"]
    assert [e.actor for e in viewed] == ["confidential reporter"]


async def test_exports_are_streamed_audited_and_open_in_excel(web: Web) -> None:
    await _seed(web)
    await web.harness.run("tick 11m")
    dana = await web.signed_in("dana")
    try:
        response = await dana.get("/dashboard/concerns.csv?unit=4west")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in response.headers["Content-Disposition"]
        raw = await response.read()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
        assert len(rows) == 8
        assert {r["reporter"] for r in rows} == {"Alex Kim", "Confidential", "Anonymous"}
        formula = next(r for r in rows if "pump keeps alarming" in r["text"])
        assert formula["text"].startswith("'=SUM")  # never a live formula
        anonymous = next(r for r in rows if r["anonymity"] == "anonymous")
        assert "T" not in anonymous["raised_at"]  # the day only, never the minute

        page = await dana.get("/dashboard/concerns")
        csrf = csrf_of(await page.text())
        posted = await dana.post("/dashboard/concerns.json", data={"csrf": csrf, "q": "bed", "unit": "4west"})
        data = json.loads(await posted.text())
        assert len(data) == 5 and all("bed" in row["text"] for row in data)
    finally:
        await dana.close()
    exports = [e for e in await _audit(web) if e.action == "dashboard.exported"]
    assert [(e.actor, e.detail["format"]) for e in exports] == [("dana", "csv"), ("dana", "json")]
    assert exports[1].detail["words"] is True and "bed" not in json.dumps(exports[1].detail)


async def test_huddles_page_runs_answers_and_rollups(web: Web) -> None:
    lines = ["in 4west", "tick 15m"]  # the 07:00 huddles open
    for person in ("alex", "dana", "jo", "casey", "lee", "sam"):
        lines += [f"as {person}", "answer clear"]
    lines += ["as alex", "answer comment The hoist in room 4 is back"]
    await web.harness.run("\n".join(lines))
    web.harness.clock.advance(timedelta(hours=2))
    lee = await web.signed_in("lee")
    try:
        page = await lee.get("/dashboard/huddles")
        html = await page.text()
        assert page.status == 200
        assert "4 West Med-Surg" in html and "Department of Medicine: the last 28 days" in html
        data = await (await lee.get("/dashboard/huddles.json")).json()
        run = next(r for r in data["runs"] if r["unit_id"] == "4west")
        assert run["clear"] == 6 and run["comment"] == 1
        detail = await (await lee.get(f"/dashboard/huddles/{run['id']}")).text()
        assert "The hoist in room 4 is back" in detail and "Alex Kim" in detail
        exported = await lee.get("/dashboard/huddles.csv")
        assert (await exported.read()).startswith(b"\xef\xbb\xbf")
    finally:
        await lee.close()
    dana = await web.signed_in("dana")
    try:
        assert (await dana.get("/dashboard/huddles?unit=surgery")).status == 403
    finally:
        await dana.close()
