"""Every card and dialog huddlebot shows on Teams, rendered by Microsoft's own Adaptive Cards library
(npm ``adaptivecards``, pinned in ``tests/teams/cardrender/package-lock.json``) in jsdom: it parses with
no unknown element or property, validates with no failure, and renders what people are meant to see —
the forms' inputs and buttons (those inside "In progress…", "Resolve…" and "Not possible now…" too)
and the stoplight's colours. The JSON schema (``schemas.card_errors``) says a card is well formed; this
says the renderer Teams builds on reads it as meant.

Outside CI the test skips with the reason when Node.js or the library (``npm ci`` in
tests/teams/cardrender) is missing; in CI (``CI=true``) it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from adapters.teams import cards, dialogs
from bot.config import OrgConfig
from tests.teams.test_teams_cards import VIEWS, concern, stoplight

RENDER_DIR = Path(__file__).resolve().parent / "cardrender"
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js (node) is not installed"
    if not (RENDER_DIR / "node_modules" / "adaptivecards").exists():
        return "the adaptivecards library is not installed: run `npm ci` in tests/teams/cardrender"
    return None


def render(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the library made of each card (see ``render.mjs``)."""
    missing = _missing()
    if missing:
        if IN_CI:
            pytest.fail(missing)
        pytest.skip(missing)
    done = subprocess.run(
        ["node", "render.mjs"],
        cwd=RENDER_DIR,
        input=json.dumps(content, ensure_ascii=False),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_every_view_renders_in_the_adaptive_cards_library() -> None:
    shown = [cards.message(cards.render(v))["attachments"][0]["content"] for v in VIEWS]
    for view, result in zip(VIEWS, render(shown), strict=True):
        assert result["rendered"], view
        assert result["events"] == [] and result["failures"] == [], (getattr(view, "kind", view), result)


def test_the_leaders_forms_and_the_stoplight_render_as_meant() -> None:
    card, report = render([cards.render(concern()), cards.render(stoplight(2, 2))])
    assert card["actions"] == [
        "Acknowledge",
        "Reply",
        "Send reply",
        "In progress",
        "Mark in progress",
        "Resolve",
        "Resolve",
        "Not possible now",
        "Close as not possible now",
    ]
    assert card["inputs"] == [
        "Input.Text#reply_text",
        "Input.Text#in_progress_note",
        "Input.Text#in_progress_title",
        "Input.Text#what_we_did",
        "Input.Text#resolve_title",
        "Input.Text#why_not_possible",
        "Input.Text#not_possible_title",
    ]
    for mark in ("🟢 Done", "🟡 In progress", "🔴 Not possible now", "Unit 0", "Unit 1", "Quiet unit"):
        assert mark in report["text"]
    assert "Nothing raised this week" in report["text"] and report["inputs"] == []


def test_the_dialogs_render_with_their_inputs(example_config: OrgConfig) -> None:
    concern_form = dialogs.concern_form(
        example_config, dialogs.ConcernForm(unit="4west"), notify_available=True
    )
    round_form = dialogs.round_form(
        [("4west", "4 West Med-Surg")],
        dialogs.RoundForm(unit="4west", staff="6", wins="@jo: caught it"),
        error="Counts are whole numbers from 0 to 500. Nothing was logged.",
    )
    opener = dialogs.round_opener("4west", "4 West Med-Surg")
    raised, rounded, opened = render([concern_form, round_form, opener])
    for result in (raised, rounded, opened):
        assert result["events"] == [] and result["failures"] == [], result
    assert "Input.Toggle#involves_leader" in raised["inputs"] and "Input.Toggle#share" in raised["inputs"]
    assert rounded["inputs"] == [
        "Input.ChoiceSet#unit",
        "Input.Number#staff",
        "Input.Number#patients",
        "Input.Number#families",
        "Input.Text#wins",
        "Input.Text#raise_issues",
        "Input.Text#track_issues",
        "Input.Text#barriers",
    ]
    assert "Counts are whole numbers" in rounded["text"] and rounded["actions"] == ["Log the round"]
    assert opened["actions"] == ["Log a round…"]
