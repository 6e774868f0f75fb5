"""Family concerns marked with their source in the dashboard, its exports and the weekly digest.

Staff concerns (raised in chat) say "staff"; concerns sent from a unit's public page say who wrote
them, "patient" or "family" ("Patient", "Family member" on the pages), and those stored before the
form asked stay "patient_family" ("Patient or family"); the list filters staff from all three; the
leaders' card says "Patient concern" or "Family concern"; the digest counts them apart under the same
small-number rule as its other splits. On both backends; the read side's
filter is checked against the plain scan for an officer (one scan) and a leader (per-unit branches).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import sqlalchemy as sa

from bot import digest
from bot.dashboard import SOURCE_LABELS, viewer_for
from bot.family import FAMILY, FAMILY_SOURCES, PATIENT, PATIENT_OR_FAMILY
from bot.model import Person, parse_reference
from bot.read_side import STAFF_SOURCE, ConcernFilter
from storage.engine import create_engine
from storage.queries import SqlReadSide
from storage.tables import family_concerns
from tests.web.conftest import Web, csrf_of
from tests.web.test_speak_up import CODE, WORDS, _everything_sent, _send, _token

FALLS = "/concern --severity high --category safe --type falls"


async def _seed(web: Web, codes: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """Five staff concerns at 4 West and one at MICU; three from 4 West's public page: a patient's,
    a relative's and one stored before the form asked who is writing. Their refs (and sources); the
    receipt codes by ref into ``codes``."""
    lines = ["as alex", "in 4west"]
    lines += [f"{FALLS} The floor by bed {n} was wet" for n in range(1, 6)]
    lines += ["in micu", "/concern --type medication Two pumps mislabelled"]
    out = await web.harness.run("\n".join(lines))
    staff = sorted(set(re.findall(r"C-\d+", out)))
    assert len(staff) == 6, out
    family: dict[str, str] = {}
    client = await web.client()
    try:
        for source, urgency in ((PATIENT, "today"), (FAMILY, "wait"), (FAMILY, "now")):
            status, html = await _send(client, urgency=urgency, source=source, room="12")
            assert status == 200, html
            found = CODE.search(html)
            assert found
            family[found.group(0)[: found.group(0).index("-", 2)]] = source
            if codes is not None:
                codes[found.group(0)[: found.group(0).index("-", 2)]] = found.group(0)
    finally:
        await client.close()
    # The last as it was stored before the form asked: the one value for both.
    old = list(family)[-1]
    engine = create_engine(web.harness.app.engine_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.update(family_concerns)
                .where(family_concerns.c.concern_id == parse_reference(old))
                .values(source=PATIENT_OR_FAMILY)
            )
    finally:
        await engine.dispose()
    family[old] = PATIENT_OR_FAMILY
    return staff, family


def _refs(html: str) -> set[str]:
    return set(re.findall(r'<th scope="row"><a href="/dashboard/concerns/(C-\d+)">', html))


LABELS = {PATIENT: "Patient", FAMILY: "Family member", PATIENT_OR_FAMILY: "Patient or family"}


async def test_the_list_the_concern_page_and_the_exports_say_where_a_concern_came_from(web: Web) -> None:
    staff, family = await _seed(web)
    patient, relative, old = family
    sam = await web.signed_in("sam")
    try:
        html = await (await sam.get("/dashboard/concerns")).text()
        assert '<th scope="col">Source</th>' in html
        assert _refs(html) == set(staff) | set(family)
        rows = re.findall(
            r'<a href="/dashboard/concerns/(C-\d+)">.*?<span class="source source-(\w+)">([^<]+)<', html, re.S
        )
        sources = {ref: (key, label) for ref, key, label in rows}
        assert {r: sources[r] for r in family} == {r: (s, LABELS[s]) for r, s in family.items()}
        assert all(sources[r] == ("staff", "Staff") for r in staff)

        # The filter: "Patients and families" is all three family sources, the old one too; by
        # address (GET) and by the form (POST), each choice alone and both.
        assert 'id="source-patient_family" name="source" value="patient_family"' in html
        assert re.search(r'for="source-patient_family">Patients and families<', html)
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

        for ref, heading, writer in (
            (patient, "From the patient", "patient"),
            (relative, "From a family member", "family"),
            (old, "From a patient or family member", "family"),
        ):
            one = await (await sam.get(f"/dashboard/concerns/{ref}")).text()
            assert f"<dt>Source</dt><dd>{LABELS[family[ref]]}</dd>" in one
            assert "on the unit's public page" in one and f">{heading}</h2>" in one
            assert f"The {writer} reads your reply" in one
            assert WORDS in one  # the family's words are on the page (and only there)
            data = await (await sam.get(f"/dashboard/concerns/{ref}.json")).json()
            assert data["concern"]["source"] == family[ref]
        other = await (await sam.get(f"/dashboard/concerns/{staff[0]}")).text()
        assert "<dt>Source</dt><dd>Staff</dd>" in other

        exported = await sam.post("/dashboard/concerns.csv", data={"csrf": csrf_of(html)})
        table = list(csv.DictReader(io.StringIO((await exported.text()).lstrip("\ufeff"))))
        assert "source" in table[0]
        assert {r["ref"]: r["source"] for r in table} == {**dict.fromkeys(staff, STAFF_SOURCE), **family}
        only = await sam.post(
            "/dashboard/concerns.json", data={"csrf": csrf_of(html), "source": "patient_family"}
        )
        items = json.loads(await only.text())
        assert {i["ref"]: i["source"] for i in items} == family
    finally:
        await sam.close()
    assert SOURCE_LABELS == {"staff": "Staff", **LABELS}


async def test_the_leaders_card_says_who_wrote_and_none_of_their_words(web: Web) -> None:
    codes: dict[str, str] = {}
    _staff, family = await _seed(web, codes)
    patient, relative, _old = family
    await web.harness.app.dispatcher.deliver_all()
    chat = await _everything_sent(web)
    assert "Patient concern · 4 West Med-Surg · today · room 12" in chat
    assert "Family concern · 4 West Med-Surg · it can wait · room 12" in chat
    assert "Family concern · 4 West Med-Surg · now · room 12" in chat
    assert "Patient concern · 4 West Med-Surg · it can wait" not in chat
    assert "Family concern · 4 West Med-Surg · today" not in chat
    # The patient answers: the leaders' thread hears that the patient did, not what they said.
    client = await web.client()
    try:
        form = await client.get("/speak-up/4west/follow-up")
        answered = await client.post(
            "/speak-up/4west/follow-up",
            data={"form_token": _token(await form.text()), "code": codes[patient], "answer": "Still no one"},
        )
        assert answered.status == 200, await answered.text()
    finally:
        await client.close()
    chat = await _everything_sent(web)
    assert "The patient answered: read it on the dashboard." in chat
    for fragment in ("Juan", "Perez", "pain since noon", "Still no one"):
        assert fragment not in chat
    # Who raised it, in the concern's history: a patient, or a family member.
    dana = await web.signed_in("dana")
    try:
        for ref, actor in ((patient, "patient"), (relative, "family member")):
            page = await (await dana.get(f"/dashboard/concerns/{ref}")).text()
            assert f"<td>Raised</td><td>{actor}</td>" in page, ref
    finally:
        await dana.close()


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
        for sources in (FAMILY_SOURCES, (PATIENT,), (STAFF_SOURCE,), (STAFF_SOURCE, *FAMILY_SOURCES)):
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
    # 4 West: five staff concerns (all high), a patient's, a relative's and an older one from the
    # page (one of them "now") — eight, enough to split; the three counted together.
    assert (
        view.text.splitlines()[0] == "Concerns raised: 8 (6 high or immediate; 3 from patients and families)"
    )
    assert WORDS not in view.text
    # MICU: one concern, too few to split at all.
    assert small.text.splitlines()[0] == "Concerns raised: 1"
