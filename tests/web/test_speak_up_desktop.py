"""The family page and the dashboard in a real browser at desktop size, in English.

A family member opens /speak-up/4west on a computer (1280×800), sees the urgent-help text before the
form, sends a worry that needs attention now with a phone number, and gets a receipt code. A leader
signs in to the dashboard through a link the console printed, finds the concern marked "Family
member" (the list's Source column and filter, the concern's page, with the family's words and phone),
and replies. The family comes back with the code, reads the reply and answers. Nothing the family
typed reached the leaders' chat. Skips outside CI without Chromium or Playwright (see
``tests/web/test_browser.py``); fails in CI. ``HUDDLEBOT_SCREENSHOTS=docs/screenshots`` saves the
README's pictures.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tests.web.conftest import Web
from tests.web.test_browser import _base, _sign_in, browser  # noqa: F401  (the browser fixture)
from tests.web.test_speak_up import _everything_sent
from tests.web.test_speak_up_browser import CODE

DESKTOP = {"width": 1280, "height": 800}
WORDS = "My mother Ana Ruiz has had chest pain for an hour and the call bell is not being answered."
PHONE = "+1 555 0100"
ANSWER = "Thank you, the nurse is with her now."


async def test_a_family_speaks_up_from_a_computer_and_a_leader_answers_on_the_dashboard(
    web: Web,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("HUDDLEBOT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before the browser starts)
    family = await browser.new_context(
        viewport=DESKTOP, locale="en-US", extra_http_headers={"Accept-Language": "en-US,en;q=0.9"}
    )
    page = await family.new_page()
    await page.goto(_base(web) + "/speak-up/4west")
    assert await page.get_attribute("html", "lang") == "en"
    body = await page.locator("body").inner_text()
    assert body.index("Condition H") < body.index("What worries you")  # urgent help first
    urgent = await page.locator(".urgent").bounding_box()
    form = await page.locator("form").bounding_box()
    assert urgent and form and urgent["y"] + urgent["height"] <= form["y"]  # above it on the screen too

    await page.get_by_role("radio", name="I am a family member, friend or carer").check()
    await page.get_by_label("What worries you, or what is your idea?").fill(WORDS)
    await page.get_by_label("Room or bed (optional)").fill("12")
    await page.get_by_label("Now").check()
    await page.get_by_label("A phone number or email to reach you (optional)").fill(PHONE)
    await page.screenshot(path=str(shots / "speak-up-desktop-en.png"), full_page=True)
    await page.get_by_role("button", name="Send to the leaders").click()
    sent = await page.locator("body").inner_text()
    assert "Thank you. The leaders of this unit have your message." in sent
    assert "You chose now: the leaders were alerted." in sent
    found = CODE.search(sent)
    assert found, sent
    code = found.group(0)
    ref = code[: code.index("-", 2)]

    # A leader of 4 West, signed in through the console's link, finds it marked with its source.
    leaders = await browser.new_context(viewport=DESKTOP)
    dana = await _sign_in(web, leaders, "dana")
    await dana.goto(_base(web) + "/dashboard/concerns")
    row = dana.locator("table.concerns tbody tr", has=dana.locator(f'a[href="/dashboard/concerns/{ref}"]'))
    assert "Family member" in await row.inner_text()
    assert WORDS not in await row.inner_text()  # the list shows the neutral line, never the words
    await dana.locator("#source-patient_family").check()
    await dana.get_by_role("button", name="Apply the filter").click()
    listed = await dana.locator("table.concerns tbody th a").all_inner_texts()
    assert listed == [ref]
    await dana.get_by_role("link", name=ref).click()
    await dana.wait_for_url(re.compile(f"/dashboard/concerns/{ref}$"))
    summary = await dana.locator("dl.summary").inner_text()
    assert re.search(r"Source\s+Family member", summary), summary
    assert WORDS in await dana.locator(".family-words").inner_text()
    assert PHONE in await dana.locator("section.family").inner_text()  # the unit's own leader only
    await dana.get_by_label("Reply").fill("I have sent the charge nurse to her room now.")
    await dana.get_by_role("button", name="Send the reply").click()
    await dana.wait_for_url(re.compile(f"/dashboard/concerns/{ref}$"))
    assert "I have sent the charge nurse" in await dana.locator("ol.thread").inner_text()
    await dana.screenshot(path=str(shots / "dashboard-family-concern.png"), full_page=True)

    # The family comes back with the code, reads the reply and answers.
    await page.get_by_role("link", name="Read the replies with your code").click()
    await page.get_by_label("Your code").fill(code)
    await page.get_by_role("button", name="Show the replies").click()
    replies = await page.locator("main").inner_text()
    assert "I have sent the charge nurse to her room now." in replies and WORDS in replies
    await page.get_by_label("Your answer").fill(ANSWER)
    await page.get_by_role("button", name="Send your answer").click()
    assert "Your answer was passed to the leaders." in await page.locator("main").inner_text()
    await page.screenshot(path=str(shots / "speak-up-replies-en.png"), full_page=True)

    # The leaders read the answer on the dashboard; their chat heard only that there is one.
    await dana.reload()
    assert ANSWER in await dana.locator("ol.thread").inner_text()
    chat = await _everything_sent(web)
    assert "Family concern · 4 West" in chat and "· now · room 12" in chat
    for typed in (WORDS, "Ana Ruiz", "chest pain", PHONE, ANSWER):
        assert typed not in chat, typed
    await leaders.close()
    await family.close()
