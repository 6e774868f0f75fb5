"""Signing in from chat: single-use, expiring, hashed links; a signed, HttpOnly, SameSite cookie;
CSRF on every form; the security headers on every page."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa

from adapters.web.security import CSP, secure_cookies
from storage.engine import create_engine
from storage.tables import audit_events, sign_in_links
from tests.web.conftest import Web, csrf_of, sign_in


async def _rows(web: Web, table: sa.Table) -> list:
    engine = create_engine(web.harness.app.engine_url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(sa.select(table)))
    finally:
        await engine.dispose()


async def test_a_console_link_signs_in_once_and_is_stored_hashed(web: Web) -> None:
    link = await web.link("dana")
    token = link.split("token=", 1)[1]
    client = await web.client()
    try:
        # Opening the link (as a chat preview would) does not use it: only pressing "Sign in" does.
        assert (await client.get(link)).status == 200
        response = await client.post("/dashboard/sign-in", data={"token": token}, allow_redirects=False)
        assert response.status == 303
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
        assert "Secure" not in cookie  # plain-HTTP localhost only
        overview = await client.get("/dashboard/")
        assert overview.status == 200
        assert "Dana Reyes" in await overview.text()

        other = await web.client()
        again = await other.post("/dashboard/sign-in", data={"token": token}, allow_redirects=False)
        assert again.status == 400
        assert "work once" in await again.text()
        assert (await other.get("/dashboard/", allow_redirects=False)).status == 303
        await other.close()
    finally:
        await client.close()
    stored = await _rows(web, sign_in_links)
    assert [row.token_hash for row in stored] == [hashlib.sha256(token.encode()).hexdigest()]
    assert all(token not in str(tuple(row)) for row in stored)
    actions = [row.action for row in await _rows(web, audit_events)]
    assert "dashboard.link_issued" in actions and "dashboard.signed_in" in actions


async def test_an_expired_link_is_refused(web: Web) -> None:
    link = await web.link("dana")
    web.harness.clock.advance(timedelta(minutes=10, seconds=1))
    client = await web.client()
    try:
        response = await client.post("/dashboard/sign-in", data={"token": link.split("token=")[1]})
        assert response.status == 400
        assert (await client.get("/dashboard/", allow_redirects=False)).status == 303
    finally:
        await client.close()


async def test_a_wrong_token_is_refused_and_repeated_failures_are_slowed(web: Web) -> None:
    client = await web.client()
    try:
        statuses = [
            (await client.post("/dashboard/sign-in", data={"token": f"guess{i}"})).status for i in range(21)
        ]
        assert statuses[:20] == [400] * 20 and statuses[20] == 429
    finally:
        await client.close()


async def test_the_session_expires_after_its_hours(web: Web) -> None:
    client = await web.signed_in("dana")
    try:
        assert (await client.get("/dashboard/")).status == 200
        web.harness.clock.advance(timedelta(hours=12, minutes=1))
        assert (await client.get("/dashboard/", allow_redirects=False)).status == 303
    finally:
        await client.close()


async def test_a_tampered_cookie_is_not_a_session(web: Web) -> None:
    client = await web.signed_in("dana")
    stranger = await web.client()
    try:
        cookie = next(c for c in client.session.cookie_jar if c.key == "huddlebot_session")
        body, signature = cookie.value.split(".")
        assert (
            await stranger.get("/dashboard/", headers={"Cookie": f"huddlebot_session={cookie.value}"})
        ).status == 200
        for forged in (body + "A." + signature, body + "." + signature[:-2], "x.y", ""):
            response = await stranger.get(
                "/dashboard/", headers={"Cookie": f"huddlebot_session={forged}"}, allow_redirects=False
            )
            assert response.status == 303, forged
    finally:
        await client.close()
        await stranger.close()


async def test_a_form_without_its_csrf_token_changes_nothing(web: Web) -> None:
    await web.harness.run("as alex\nin 4west\n/concern The bed alarm on 12 is not working")
    client = await web.signed_in("dana")
    try:
        page = await client.get("/dashboard/concerns/C-1001")
        assert page.status == 200
        csrf = csrf_of(await page.text())
        refused = await client.post("/dashboard/concerns/C-1001/acknowledge", data={"note": "seen"})
        assert refused.status == 403
        wrong = await client.post("/dashboard/concerns/C-1001/acknowledge", data={"csrf": "0" * 64})
        assert wrong.status == 403
        assert "acknowledged by" not in web.harness.transcript("@alex").lower()
        done = await client.post("/dashboard/concerns/C-1001/acknowledge", data={"csrf": csrf})
        assert done.status == 200
        await web.harness.app.dispatcher.deliver_all()
        assert "acknowledged by dana reyes" in web.harness.transcript("@alex").lower()
    finally:
        await client.close()


async def test_every_page_carries_the_security_headers(web: Web) -> None:
    client = await web.signed_in("sam")
    try:
        for path in ("/dashboard/", "/dashboard/concerns", "/dashboard/signed-out", "/dashboard/huddles"):
            response = await client.get(path)
            assert response.status == 200, path
            assert response.headers["Content-Security-Policy"] == CSP
            assert "script" not in CSP and "unsafe-inline" not in CSP
            assert response.headers["Referrer-Policy"] == "no-referrer"
            assert response.headers["X-Frame-Options"] == "DENY"
            assert response.headers["Cache-Control"] == "no-store"
            assert "<script" not in await response.text()
    finally:
        await client.close()


def test_cookies_are_secure_except_on_plain_http_localhost() -> None:
    assert not secure_cookies("http://127.0.0.1:3000")
    assert not secure_cookies("http://localhost:3000")
    assert secure_cookies("https://huddlebot.example-health.org")
    assert secure_cookies("http://huddlebot.internal")  # plain HTTP elsewhere still gets Secure


async def test_sign_in_links_are_rate_limited_per_person(web: Web) -> None:
    outputs = [await web.harness.run("as dana\ndashboard") for _ in range(6)]
    assert all("/dashboard/sign-in?token=" in out for out in outputs[:5])
    assert "Please wait" in outputs[5] and "token=" not in outputs[5]


async def test_a_signed_in_link_still_works_after_sign_out(web: Web) -> None:
    client = await web.signed_in("dana")
    try:
        csrf = csrf_of(await (await client.get("/dashboard/")).text())
        out = await client.post("/dashboard/sign-out", data={"csrf": csrf}, allow_redirects=False)
        assert out.status == 303
        assert (await client.get("/dashboard/", allow_redirects=False)).status == 303
        await sign_in(client, await web.link("dana"))
        assert (await client.get("/dashboard/")).status == 200
    finally:
        await client.close()
