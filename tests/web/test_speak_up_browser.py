"""The family page in a real browser, at a phone's width: Playwright driving Debian's Chromium.

A patient opens /speak-up/4west in Spanish (from the browser's language), sees the urgent-help
text before the form, says it is the patient writing, sends a worry, gets a receipt code, and reads
the leaders' reply with it. An empty form gets the error summary, linked to its fields, who is
writing first. The keyboard alone reaches every control. Skips outside CI without Chromium or
Playwright (see ``tests/web/test_browser.py``); fails in CI.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tests.web.conftest import Web
from tests.web.test_browser import _base, browser  # noqa: F401  (the browser fixture)

PHONE = {"width": 390, "height": 844}
CODE = re.compile(r"C-\d+-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


async def test_a_family_speaks_up_from_a_phone_in_spanish(web: Web, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    shots = Path(os.environ.get("HUDDLEBOT_SCREENSHOTS") or tmp_path)
    context = await browser.new_context(
        viewport=PHONE, locale="es-MX", extra_http_headers={"Accept-Language": "es-MX,es;q=0.9"}
    )
    page = await context.new_page()
    await page.goto(_base(web) + "/speak-up/4west")
    assert await page.get_attribute("html", "lang") == "es"
    body = await page.locator("body").inner_text()
    assert body.index("Condición H") < body.index("¿Qué le preocupa")  # urgent help first

    await page.get_by_role("button", name="Enviar a los responsables").click()  # nothing written
    summary = page.locator(".error-summary")
    await summary.wait_for()
    assert await summary.locator("a").count() >= 1  # each error links to its field
    # Who is writing comes first on the page, and so in the summary.
    assert await summary.locator("a").first.get_attribute("href") == "#source"
    assert await summary.locator("a").first.inner_text() == "Elija quién escribe"

    await page.get_by_role("radio", name="Soy el paciente").check()
    await page.get_by_label("¿Qué le preocupa, o cuál es su idea?").fill(
        "Tengo mucho dolor desde el mediodía y nadie viene."
    )
    await page.locator("#urgency-today").check()
    await page.screenshot(path=str(shots / "speak-up-es.png"), full_page=True)
    await page.get_by_role("button", name="Enviar a los responsables").click()
    sent = await page.locator("body").inner_text()
    found = CODE.search(sent)
    assert found, sent
    code = found.group(0)

    # A leader answers on the dashboard; the family reads it with the code.
    dana = await web.signed_in("dana")
    try:
        ref = code[: code.index("-", 2)]
        page_html = await (await dana.get(f"/dashboard/concerns/{ref}")).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page_html)
        assert csrf
        await dana.post(
            f"/dashboard/concerns/{ref}/reply",
            data={"csrf": csrf.group(1), "text": "La enfermera va ahora mismo."},
        )
    finally:
        await dana.close()
    await page.goto(_base(web) + "/speak-up/4west/follow-up?lang=es")
    await page.locator("input[name=code]").fill(code)
    await page.locator("form button[type=submit]").first.click()
    assert "La enfermera va ahora mismo." in await page.locator("body").inner_text()

    # The keyboard alone reaches every control of the form.
    await page.goto(_base(web) + "/speak-up/4west?lang=en")
    controls = await page.eval_on_selector_all(
        "a[href], button, input:not([type=hidden]):not([tabindex='-1']), textarea, select",
        # A radio group is one stop for the Tab key (the arrow keys move within it).
        "els => els.filter(e => e.offsetParent !== null)"
        ".filter((e, i, all) => e.type !== 'radio' || all.findIndex(o => o.name === e.name) === i).length",
    )
    reached = set()
    for _ in range(controls * 3 + 5):
        await page.keyboard.press("Tab")
        reached.add(await page.evaluate("document.activeElement.outerHTML.slice(0, 80)"))
    assert len(reached - {"<body>"}) >= controls
    await context.close()
