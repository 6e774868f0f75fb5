"""Family concerns marked with their source in the dashboard, its exports and the weekly digest.

Staff concerns (raised in chat) say "staff", concerns sent from a unit's public page say
"patient_family" ("Patient or family" on the pages); the list filters by source; the digest counts
them apart under the same small-number rule as its other splits. On both backends; the read side's
filter is checked against the plain scan for an officer (one scan) and a leader (per-unit branches).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

from bot import digest
from bot.dashboard import SOURCE_LABELS, viewer_for
from bot.family import SOURCE as FAMILY
from bot.model import Person
from bot.read_side import STAFF_SOURCE, ConcernFilter
from storage.queries import SqlReadSide
from tests.web.conftest import Web, csrf_of
from tests.web.test_speak_up import CODE, WORDS, _send

FALLS = "/concern --severity high --category safe --type falls"


async def _seed(web: Web) -> tuple[list[str], list[str]]:
    """Five staff concerns at 4 West and one at MICU; two family concerns at 4 West. Their refs."""
    lines = ["as alex", "in 4west"]
    lines += [f"{FALLS} The floor by bed {n} was wet" for n in range(1, 6)]
    lines += ["in micu", "/concern --type medication Two pumps mislabelled"]
    out = await web.harness.run("\n".join(lines))
    staff = sorted(set(re.findall(r"C-\d+", out)))
    assert len(staff) == 6, out
    family = []
    client = await web.client()
    try:
        for urgency in ("today", "wait"):
            status, html = await _send(client, urgency=urgency)
            assert status == 200, html
            found = CODE.search(html)
            assert found
            family.append(found.group(0)[: found.group(0).index("-", 2)])
    finally:
        await client.close()
    return staff, family


def _refs(html: str) -> set[str]:
    return set(re.findall(r'<th scope="row"><a href="/dashboard/concerns/(C-\d+)">', html))


async def test_the_list_the_concern_page_and_the_exports_say_where_a_concern_came_from(web: Web) -> None:
    staff, family = await _seed(web)
    sam = await web.signed_in("sam")
    try:
        html = await (await sam.get("/dashboard/concerns")).text()
        assert '<th scope="col">Source</th>' in html
        assert _refs(html) == set(staff) | set(family)
        rows = re.findall(
            r'<a href="/dashboard/concerns/(C-\d+)">.*?<span class="source source-(\w+)">([^<]+)<', html, re.S
        )
        sources = {ref: (key, label) for ref, key, label in rows}
        assert all(sources[r] == ("patient_family", "Patient or family") for r in family)
        assert all(sources[r] == ("staff", "Staff") for r in staff)

        # The filter: by address (GET) and by the form (POST), each source alone and both.
        assert _refs(await (await sam.get("/dashboard/concerns?source=patient_family")).text()) == set(family)
        assert _refs(await (await sam.get("/dashboard/concerns?source=staff")).text()) == set(staff)
        both = await sam.get("/dashboard/concerns?source=staff&source=patient_family")
        assert _refs(await both.text()) == set(staff) | set(family)
        posted = await sam.post(
            "/dashboard/concerns", data={"csrf": csrf_of(html), "source": "patient_family", "unit": "4west"}
        )
        page = await posted.text()
        assert _refs(page) == set(family)
        assert 'id="source-patient_family" name="source" value="patient_family" checked' in page
        bad = await sam.get("/dashboard/concerns?source=robot")
        assert bad.status == 400 and "Choose from the list" in await bad.text()

        one = await (await sam.get(f"/dashboard/concerns/{family[0]}")).text()
        assert "<dt>Source</dt><dd>Patient or family</dd>" in one
        assert WORDS in one  # the family's words are on the page (and only there)
        other = await (await sam.get(f"/dashboard/concerns/{staff[0]}")).text()
        assert "<dt>Source</dt><dd>Staff</dd>" in other
        data = await (await sam.get(f"/dashboard/concerns/{family[0]}.json")).json()
        assert data["concern"]["source"] == FAMILY

        exported = await sam.post("/dashboard/concerns.csv", data={"csrf": csrf_of(html)})
        table = list(csv.DictReader(io.StringIO((await exported.text()).lstrip("\ufeff"))))
        assert "source" in table[0]
        assert {r["ref"]: r["source"] for r in table} == {
            **{r: STAFF_SOURCE for r in staff},
            **{r: FAMILY for r in family},
        }
        only = await sam.post(
            "/dashboard/concerns.json", data={"csrf": csrf_of(html), "source": "patient_family"}
        )
        items = json.loads(await only.text())
        assert {i["ref"]: i["source"] for i in items} == dict.fromkeys(family, FAMILY)
    finally:
        await sam.close()
    assert SOURCE_LABELS == {"staff": "Staff", "patient_family": "Patient or family"}


async def test_the_source_filter_is_the_plain_scan_filtered_for_an_officer_and_a_leader(web: Web) -> None:
    _staff, family = await _seed(web)
    core = web.harness.app.core
    reads = SqlReadSide(core.uow.engine)  # type: ignore[attr-defined]
    # Every unit (one scan), 4 West and below (per-unit branches), and a reporter (their own only).
    for handle in ("sam", "dana", "alex"):
        viewer = viewer_for(core, Person("console", "local", handle, handle))
        scope = viewer.scope()
        everything = await reads.list_concerns(scope=scope, where=ConcernFilter(), limit=100)
        found = await reads.concern_sources(concern_ids=[c.id for c in everything if c.id is not None])
        for sources in ((FAMILY,), (STAFF_SOURCE,), (STAFF_SOURCE, FAMILY)):
            listed = await reads.list_concerns(scope=scope, where=ConcernFilter(sources=sources), limit=100)
            expected = [c.ref for c in everything if found.get(c.id or 0, STAFF_SOURCE) in sources]
            assert [c.ref for c in listed] == expected, (handle, sources)
            # Paged: two at a time, newest first, the same rows.
            paged: list[str] = []
            before = None
            while True:
                chunk = await reads.list_concerns(
                    scope=scope, where=ConcernFilter(sources=sources), limit=2, before=before
                )
                paged += [c.ref for c in chunk]
                if len(chunk) < 2:
                    break
                before = (chunk[-1].created_at, chunk[-1].id)
            assert paged == expected, (handle, sources, "paged")
        assert {c.ref for c in everything if c.id in found} == (set() if handle == "alex" else set(family))


async def test_the_digest_counts_concerns_from_patients_and_families_apart(web: Web) -> None:
    await _seed(web)
    core = web.harness.app.core
    now = core.now()
    start, end = now - timedelta(days=7), now + timedelta(minutes=1)
    west = core.config.unit("4west")
    micu = core.config.unit("micu")
    assert west is not None and micu is not None
    async with core.uow() as tx:
        view = await digest.build(core, tx, west, start=start, end=end)
        small = await digest.build(core, tx, micu, start=start, end=end)
    # 4 West: five staff concerns (all high) and two from families — seven, enough to split.
    assert (
        view.text.splitlines()[0] == "Concerns raised: 7 (5 high or immediate; 2 from patients and families)"
    )
    assert WORDS not in view.text
    # MICU: one concern, too few to split at all.
    assert small.text.splitlines()[0] == "Concerns raised: 1"
