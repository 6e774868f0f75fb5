"""The families' page, ``/speak-up/<unit>``, through aiohttp's test client on both backends.

A family member sends a concern, gets a receipt code, reads a leader's reply given on the dashboard and
answers; the leaders' chat carries none of their words; bad input, an old form, a robot and a burst
get a kind page and store nothing.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from bot.family import RaiseFamilyConcern
from storage.engine import create_engine
from storage.tables import audit_events, concerns, family_concerns, outbox
from tests.web.conftest import Web, csrf_of

WORDS = "My father Juan Perez in bed 12 has been in pain since noon and nobody came"
CODE = re.compile(r"C-\d{4,12}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


async def _rows(web: Web, table: sa.Table) -> list:
    engine = create_engine(web.harness.app.engine_url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(sa.select(table)))
    finally:
        await engine.dispose()


def _token(html: str) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f.]+)"', html)
    assert found, "no form token"
    return found.group(1)


async def _send(client: TestClient, unit: str = "4west", lang: str = "en", **fields: str) -> tuple[int, str]:
    form = await client.get(f"/speak-up/{unit}?lang={lang}")
    data = {
        "form_token": _token(await form.text()),
        "lang": lang,
        "source": "family",
        "text": WORDS,
        "urgency": "today",
    }
    data.update(fields)
    response = await client.post(f"/speak-up/{unit}", data=data)
    return response.status, await response.text()


async def _everything_sent(web: Web) -> str:
    """Every message posted to chat (delivered and queued) and everything the console printed."""
    await web.harness.app.dispatcher.deliver_all()
    messenger = web.harness.messenger
    views = [row.view for row in await _rows(web, outbox)]
    return "\n".join([repr(messenger.messages), repr(messenger.by_channel), *web.harness.out, *views])


async def test_the_page_shows_urgent_help_first_in_english_and_spanish(web: Web) -> None:
    client = await web.client()
    try:
        english = await client.get("/speak-up/4west")
        html = await english.text()
        assert english.status == 200 and english.headers["Content-Language"] == "en"
        assert "script" not in html.lower()
        assert "default-src 'none'" in english.headers["Content-Security-Policy"]
        assert html.index("Condition H") < html.index("<form")
        assert "Tell us what worries you" in html and 'href="/speak-up/4west?lang=es"' in html
        assert "Español" in html
        spanish = await client.get("/speak-up/4west", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
        page = await spanish.text()
        assert spanish.headers["Content-Language"] == "es" and '<html lang="es">' in page
        assert page.index("Condición H") < page.index("<form") and "Díganos qué le preocupa" in page
        assert (await client.get("/speak-up/micu")).status == 404  # not turned on for that unit
        assert (await client.get("/speak-up/style.css")).status == 200
    finally:
        await client.close()


async def test_a_family_concern_reaches_the_leaders_without_the_familys_words(web: Web) -> None:
    client = await web.client()
    try:
        status, html = await _send(client, room="12", contact="555-0100")
        assert status == 200, html
        code = CODE.search(html)
        assert code and "The leaders of this unit have your message" in html
        sent = await _everything_sent(web)
        assert "Family concern · 4 West Med-Surg · today · room 12" in sent
        for fragment in ("Juan", "Perez", "pain since noon", "555-0100"):
            assert fragment not in sent
        (stored,) = await _rows(web, family_concerns)
        assert stored.words == WORDS and stored.source == "family" and stored.room == "12"
        assert "555-0100" not in (stored.contact_sealed or "")  # sealed
        (concern,) = await _rows(web, concerns)
        assert WORDS not in concern.text and concern.severity == "moderate"

        ref = code.group(0)[: code.group(0).index("-", 2)]
        dana = await web.signed_in("dana")  # a leader of 4 West sees the words and the contact
        try:
            page = await (await dana.get(f"/dashboard/concerns/{ref}")).text()
            assert WORDS in page and "555-0100" in page and "<dt>Source</dt><dd>Family member</dd>" in page
            assert "From a family member" in page and "The family reads your reply" in page
            replied = await dana.post(
                f"/dashboard/concerns/{ref}/reply",
                data={"csrf": csrf_of(page), "text": "I am sorry. The charge nurse is coming now."},
            )
            assert replied.status == 200
        finally:
            await dana.close()
        lee = await web.signed_in("lee")  # the department's leader sees the words, not the contact
        try:
            page = await (await lee.get(f"/dashboard/concerns/{ref}")).text()
            assert WORDS in page and "555-0100" not in page
        finally:
            await lee.close()

        form = await client.get("/speak-up/4west/follow-up?lang=es")
        token = _token(await form.text())
        thread = await client.post(
            "/speak-up/4west/follow-up", data={"form_token": token, "code": code.group(0), "lang": "es"}
        )
        text = await thread.text()
        assert thread.status == 200 and "The charge nurse is coming now" in text and WORDS in text
        assert "Respuestas" in text
        answered = await client.post(
            "/speak-up/4west/follow-up",
            data={
                "form_token": _token(text),
                "code": code.group(0),
                "answer": "Gracias, ya vino",
                "lang": "es",
            },
        )
        assert answered.status == 200 and "Gracias, ya vino" in await answered.text()
        sent = await _everything_sent(web)
        assert "Gracias, ya vino" not in sent and "The family answered" in sent
        wrong = await client.post(
            "/speak-up/4west/follow-up",
            data={"form_token": token, "code": "C-1001-AAAA-BBBB-CCCC-DDDD"},
        )
        assert wrong.status == 400 and "does not match" in await wrong.text()
    finally:
        await client.close()


async def test_now_alerts_the_leaders_and_the_safety_officers_at_once(web: Web) -> None:
    client = await web.client()
    try:
        status, _html = await _send(client, urgency="now")
        assert status == 200
        await web.harness.app.dispatcher.deliver_all()
        assert "Family concern · 4 West Med-Surg · now" in web.harness.transcript("@sam")  # the officer
        assert "Immediate concern" in web.harness.transcript("@dana")  # the unit's leader
        assert "Juan" not in web.harness.transcript("@sam") + web.harness.transcript("@dana")
    finally:
        await client.close()


async def test_bad_input_gets_a_kind_page_and_stores_nothing(web: Web) -> None:
    client = await web.client()
    try:
        status, html = await _send(client, text="  ", urgency="", source="")
        assert status == 400 and "There is a problem" in html
        # The summary in the page's order: who is writing comes first.
        links = re.findall(r'<li><a href="#(\w+)">', html)
        assert links == ["source", "text", "urgency"], links
        assert 'aria-describedby="source-error"' in html and "Choose who is writing" in html
        status, html = await _send(client, source="")  # everything else right: still nothing sent
        assert status == 400 and re.findall(r'<li><a href="#(\w+)">', html) == ["source"]
        assert 'name="source" type="radio" value="patient">' in html  # neither chosen for them
        assert WORDS in html  # what they wrote is kept
        status, html = await _send(client, lang="es", source="")
        assert status == 400 and "Elija quién escribe" in html
        status, html = await _send(client, text="x" * 2001)
        assert status == 400 and "2000 characters or fewer" in html
        status, html = await _send(client, room="Juan Perez the patient")
        assert status == 400 and 'href="#room"' in html
        status, html = await _send(client, lang="es", text="")
        assert status == 400 and "Hay un problema" in html
        old = await client.post(
            "/speak-up/4west", data={"form_token": "1.abc", "text": WORDS, "urgency": "now"}
        )
        assert old.status == 403 and "This form is out of date" in await old.text()
        huge = await client.post("/speak-up/4west", data={"text": "x" * 40_000})
        assert huge.status == 413 and "too long" in await huge.text()
        status, html = await _send(client, website="http://spam.example")  # the honeypot
        assert status == 400
        assert await _rows(web, family_concerns) == [] and await _rows(web, concerns) == []
    finally:
        await client.close()


async def test_a_forged_source_gets_the_kind_page_and_the_core_refuses_it_too(web: Web) -> None:
    client = await web.client()
    try:
        # The old value included: a new concern says which of the two is writing.
        for forged in ("patient_family", "staff", "doctor"):
            status, html = await _send(client, source=forged)
            assert status == 400 and "We could not accept this form" in html, forged
            assert "There is a problem" not in html  # not a person's slip: no field to correct
        status, html = await _send(client, lang="es", source="x")
        assert status == 400 and "No pudimos aceptar este formulario" in html
    finally:
        await client.close()
    # Whoever calls the core, not only through the page.
    core = web.harness.app.core
    for forged in ("patient_family", "", "PATIENT"):
        reply = await core.handle(
            RaiseFamilyConcern(unit="4west", text=WORDS, urgency="today", source=forged)
        )
        assert not reply.ok and reply.code == "bad_source", forged
    assert await _rows(web, family_concerns) == [] and await _rows(web, concerns) == []
    assert await _rows(web, outbox) == []


async def test_a_burst_from_one_address_gets_the_wait_page_and_the_channel_one_line(web: Web) -> None:
    client = await web.client()
    try:
        statuses = [(await _send(client, text=f"Worry number {n}"))[0] for n in range(5)]
        assert statuses == [200] * 5
        status, html = await _send(client, text="one more")
        assert status == 429 and "Please wait a few minutes" in html
        assert len(await _rows(web, family_concerns)) == 5
        await web.harness.app.dispatcher.deliver_all()
        leaders = web.harness.transcript("4west-leaders")
        assert leaders.count("Family concern · 4 West") == 3  # the flood guard: 3 cards in 10 minutes
        assert "2 more family messages waiting on the dashboard" in leaders
        raised = [e for e in await _rows(web, audit_events) if e.action == "concern.raised"]
        assert len(raised) == 5
    finally:
        await client.close()
