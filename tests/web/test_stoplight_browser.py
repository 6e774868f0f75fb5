"""The "You said, we did" page in Chromium: reached from the navigation, its three colours named in
words (the colour is never the only cue), each line opening its concern, every control by keyboard."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.web.conftest import Web
from tests.web.test_browser import _base, _keyboard_walk, _sign_in, browser  # noqa: F401
from tests.web.test_stoplight_page import _seed


async def test_the_stoplight_page_in_a_browser(web: Web, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    await _seed(web)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await _sign_in(web, context, "dana")
    await page.get_by_role("link", name="You said, we did").click()
    assert await page.get_by_role("heading", name="You said, we did · 4 West Med-Surg").count() == 1
    for heading in ("Done", "In progress", "Not possible now"):
        assert await page.get_by_role("heading", name=heading, exact=True).count() == 1
    assert "No budget for a second hoist this year" in await page.locator("main").inner_text()
    shots = Path(os.environ.get("HUDDLEBOT_SCREENSHOTS") or tmp_path)
    await page.screenshot(path=str(shots / "dashboard-stoplight.png"), full_page=True)
    await _keyboard_walk(page)
    await page.get_by_role("link", name="C-1003").click()
    assert "/dashboard/concerns/C-1003" in page.url
    await context.close()
