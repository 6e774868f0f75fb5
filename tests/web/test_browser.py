"""The dashboard in a real browser: Playwright driving Debian's Chromium.

The walk: sign in through a link the console printed; the overview's numbers match what the test
raised; filter the list; open a concern and reply from it (the reporter is told); export CSV and
read it back; an expired link, a reused link and a form without its CSRF token are refused; a leader
of one unit gets 403 for another unit's concern; the keyboard alone reaches every control.

Outside CI the test skips, saying why, when Chromium (``/usr/bin/chromium``, or
``HUDDLEBOT_CHROMIUM``) or Playwright is missing; in CI (``CI=true``) it fails instead.
With ``HUDDLEBOT_SCREENSHOTS=DIR`` it saves the overview and a concern page there (the README's).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Web
from tests.web.test_pages import _seed

CHROMIUM = os.environ.get("HUDDLEBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
INTERACTIVE = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex='0']"


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture
async def browser() -> Any:
    missing = _missing()
    if missing:
        if IN_CI:
            pytest.fail(f"CI must run the browser tests: {missing}")
        pytest.skip(missing)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


def _base(web: Web) -> str:
    return f"http://127.0.0.1:{web.server.port}"


async def _sign_in(web: Web, context: Any, handle: str) -> Any:
    page = await context.new_page()
    await page.goto(_base(web) + await web.link(handle))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/dashboard/$"))
    return page


async def _keyboard_walk(page: Any) -> None:
    """Tab from the top of the page to its end: every control must take the focus, in order."""
    expected = await page.eval_on_selector_all(
        INTERACTIVE,
        "els => els.filter(e => !e.closest('details:not([open])') || e.tagName === 'SUMMARY')"
        ".filter(e => e.offsetParent !== null || e.tagName === 'SUMMARY').length",
    )
    seen: set[str] = set()
    await page.keyboard.press("Tab")  # the skip link comes first
    first = await page.evaluate("document.activeElement.textContent")
    assert first.strip() == "Skip to main content"
    for _ in range(expected * 3 + 10):  # a date input takes a Tab for each of its parts
        key = await page.evaluate(
            "(() => { const e = document.activeElement;"
            " if (!e.dataset.walk) e.dataset.walk = String(Math.random()); return e.dataset.walk; })()"
        )
        seen.add(key)
        await page.keyboard.press("Tab")
    missed = await page.eval_on_selector_all(
        INTERACTIVE,
        "els => els.filter(e => !e.dataset.walk && (e.offsetParent !== null || e.tagName === 'SUMMARY')"
        " && (!e.closest('details:not([open])') || e.tagName === 'SUMMARY'))"
        ".map(e => e.outerHTML.slice(0, 120))",
    )
    assert not missed, f"the keyboard did not reach: {missed}"
    assert len(seen) >= expected, f"the keyboard reached {len(seen)} of {expected} controls"


async def test_the_dashboard_in_a_browser(web: Web, browser: Any, tmp_path: Path) -> None:
    await _seed(web)
    await web.harness.run("tick 11m")  # the anonymous concern is posted
    shots = Path(os.environ.get("HUDDLEBOT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser starts)

    officer = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await _sign_in(web, officer, "sam")

    # The overview's numbers are the ones this test raised: ten concerns, nine in the last 7 days
    # at 4 West and MICU, one of them still too small a group to show.
    tile = page.locator(".tile", has_text="Raised in the last 7 days")
    assert (await tile.locator(".tile-value").inner_text()).strip() == "10"
    assert (await page.locator(".tile", has_text="Open concerns").locator(".tile-value").inner_text()) == "10"
    falls = page.locator("#table-types-table tr", has_text="Falls").locator("td").last
    assert (await falls.inner_text()).strip() == "5"
    await page.screenshot(path=str(shots / "dashboard-overview.png"), full_page=True)
    await _keyboard_walk(page)

    # Filter the list: MICU only.
    await page.get_by_role("link", name="Concerns").click()
    await page.get_by_label("Unit (with the units below it)").select_option("micu")
    await page.get_by_role("button", name="Apply the filter").click()
    rows = page.locator("table.concerns tbody tr")
    assert await rows.count() == 2
    assert "Two pumps mislabeled" in await page.locator("table.concerns").inner_text()
    assert "token" not in page.url and "pumps" not in page.url
    await _keyboard_walk(page)

    # Export the filtered list as CSV and read it back.
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download CSV").click()
    download = await download_info.value
    saved = tmp_path / "concerns.csv"
    await download.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").count("\r\n") == 3  # the header and two concerns
    assert "Two pumps mislabeled" in raw.decode("utf-8-sig")

    # Open a concern and reply from its page: the reporter is told in chat.
    await page.goto(_base(web) + "/dashboard/concerns")
    await page.get_by_role("link", name="C-1001", exact=True).click()
    await page.get_by_label("Reply").fill("We are putting non-slip mats down today")
    await page.get_by_role("button", name="Send the reply").click()
    await page.get_by_text("Your reply was added to C-1001").wait_for()
    await web.harness.app.dispatcher.deliver_all()
    assert (
        "Sam Patel replied about C-1001: We are putting non-slip mats down today"
        in web.harness.transcript("@alex")
    )
    await page.screenshot(path=str(shots / "dashboard-concern.png"), full_page=True)
    await _keyboard_walk(page)

    # A form without its CSRF token changes nothing.
    refused = await page.request.post(
        _base(web) + "/dashboard/concerns/C-1001/resolve", form={"text": "done"}, max_redirects=0
    )
    assert refused.status == 403
    assert "Resolved" not in await page.locator("dl.summary").inner_text()

    # A reused link and an expired link are refused.
    used = await web.link("dana")
    stranger = await browser.new_context()
    other = await stranger.new_page()
    await other.goto(_base(web) + used)
    await other.get_by_role("button", name="Sign in").click()
    await other.wait_for_url(re.compile(r"/dashboard/$"))
    await stranger.clear_cookies()
    await other.goto(_base(web) + used)
    await other.get_by_role("button", name="Sign in").click()
    assert "This sign-in link does not work" in await other.locator("h1").inner_text()
    expired = await web.link("dana")
    web.harness.clock.advance(timedelta(minutes=11))
    await other.goto(_base(web) + expired)
    await other.get_by_role("button", name="Sign in").click()
    assert "This sign-in link does not work" in await other.locator("h1").inner_text()
    await stranger.close()

    # A leader of one unit gets 403 for another unit's concern, and nothing of it.
    leader = await browser.new_context()
    priya = await _sign_in(web, leader, "priya")
    response = await priya.goto(_base(web) + "/dashboard/concerns/C-1001")
    assert response is not None and response.status == 403
    body = await priya.content()
    assert "wet" not in body and "Alex" not in body
    await leader.close()

    # On a phone the pages reflow: nothing wider than the screen but the scrollable tables.
    phone = await browser.new_context(viewport={"width": 375, "height": 800})
    small = await _sign_in(web, phone, "sam")
    width = await small.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    await phone.close()
    await officer.close()
