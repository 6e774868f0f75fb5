"""Every view huddlebot renders for Teams is a valid Adaptive Card 1.5, and fits in a Teams message."""

from __future__ import annotations

import json

import pytest

from adapters.teams import cards, dialogs, wire
from bot import actions
from bot.config import OrgConfig
from bot.views import (
    Action,
    ConcernCard,
    ConcernLine,
    Counts,
    GoodCatchPost,
    HomeTab,
    HuddlePrompt,
    HuddleSummary,
    Notice,
    OpenItem,
    ReporterUpdate,
    Stoplight,
    StoplightItem,
    StoplightUnit,
    ThreadMessage,
)
from tests.teams.schemas import card_errors

LONG = "Pump alarm 🔔 ünïcödé 病人 " * 2_000  # ~50 KB of UTF-8: far over a Teams message


def concern(text: str = "The pump alarmed twice", **extra: object) -> ConcernCard:
    buttons = [
        Action(
            id="acknowledge",
            label="Acknowledge",
            style="primary",
            value=actions.concern_action("acknowledge", 7),
        ),
        Action(id="reply", label="Reply", value=actions.concern_action("reply", 7)),
        Action(id="in_progress", label="In progress", value=actions.concern_action("in_progress", 7)),
        Action(id="resolve", label="Resolve", value=actions.concern_action("resolve", 7)),
        Action(id="not_possible", label="Not possible now", value=actions.concern_action("not_possible", 7)),
    ]
    values: dict[str, object] = {
        "concern_id": 7,
        "ref": "C-1007",
        "unit_name": "4 West Med-Surg",
        "severity": "high",
        "category": "safe",
        "concern_type": "medication",
        "anonymity": "named",
        "reporter_label": "Alex Kim",
        "text": text,
        "status": "Open: not yet acknowledged",
        "raised_label": "Wed 25 Nov 07:05 CST",
        "actions": buttons,
    }
    values.update(extra)
    return ConcernCard(**values)  # type: ignore[arg-type]


def prompt(closed: bool = False) -> HuddlePrompt:
    return HuddlePrompt(
        run_id=3,
        unit_name="4 West Med-Surg",
        when_label="Wed 25 Nov 07:00 CST",
        closes_label="07:30 CST",
        questions=["Look back", "Look ahead", "Follow up"],
        open_items=[OpenItem(ref="C-1001", summary="falls, raised Tue", status="open", severity="high")],
        counts=Counts(clear=3, concern=1, goodcatch=1, comments=2, responders=5),
        closed=closed,
        rollup=[
            "5 East: last huddle Wed 25 Nov 07:00 CST: 4 answered (4 all clear, 0 concern); 1 open concern(s)"
        ],
        actions=[]
        if closed
        else [
            Action(
                id="answer_clear",
                label="All clear",
                style="primary",
                value=actions.huddle_action("answer_clear", 3),
            ),
            Action(
                id="answer_concern", label="Raise a concern", value=actions.huddle_action("answer_concern", 3)
            ),
            Action(
                id="answer_goodcatch",
                label="Share a good catch",
                value=actions.huddle_action("answer_goodcatch", 3),
            ),
        ],
    )


def stoplight(units: int, per_colour: int, detail: str = "The budget is frozen until April") -> Stoplight:
    def items(colour: str) -> list[StoplightItem]:
        return [
            StoplightItem(colour=colour, ref=f"C-{1000 + n}", title=f"Item {n} 🔔 ünïcödé", detail=detail)  # type: ignore[arg-type]
            for n in range(per_colour)
        ]

    return Stoplight(
        title="You said, we did · Department of Medicine · Fri 20 Nov to Fri 27 Nov",
        units=[
            StoplightUnit(
                unit_name=f"Unit {u}", green=items("green"), yellow=items("yellow"), red=items("red")
            )
            for u in range(units)
        ]
        + [
            StoplightUnit(
                unit_name="Quiet unit", nothing="Nothing raised this week — thank you for your huddles."
            )
        ],
        legend="Green: done · Yellow: in progress · Red: not possible now, and why",
    )


VIEWS = [
    concern(),
    concern(headline="Escalated to Department of Medicine: not acknowledged within 1h", phi_flagged=True),
    concern(status="Resolved", resolution="Pump swapped", resolved_label="Dana Reyes, Wed 08:00", actions=[]),
    concern(LONG),
    prompt(),
    prompt(closed=True),
    HuddleSummary(
        run_id=3,
        unit_name="4 West",
        when_label="Wed 07:00",
        counts=Counts(clear=3),
        comments=[f"Comment {n}: " + "x" * 3_000 for n in range(30)],
        concerns_raised=["C-1001"],
        good_catches=["Dana recognised Alex: caught a wrong dose"],
        open_items=[OpenItem(ref="C-1001", summary="falls", status="open", severity="high")],
        missed_runs=["Tue 19:00"],
    ),
    ThreadMessage(ref="C-1007", author_label="Dana Reyes", text="We are on it\nsecond line"),
    ReporterUpdate(ref="C-1007", event="acknowledged", text="Your concern was acknowledged."),
    ReporterUpdate(ref="C-1007", event="nudge", text="There is news."),
    ReporterUpdate(ref="C-1007", event="not_possible", text="Why: the budget is frozen."),
    concern(
        status="Not possible now",
        title="Second bladder scanner",
        not_possible="Dana Reyes, Wed 08:00. Why: the budget is frozen until April",
        actions=[],
    ),
    stoplight(1, 3),
    stoplight(30, 15, detail="x" * 160),  # a department's roll-up far over one Teams message
    GoodCatchPost(unit_name="4 West", giver_label="Dana", recipient_label="Alex", text="caught a wrong dose"),
    Notice(text="Immediate concern", title="Stop the line", tone="warning"),
    Notice(text="Plain"),
    HomeTab(
        title="huddlebot · Dana",
        mine=[],
        mine_note="None yet.",
        leader_units=["4 West"],
        open_in_units=[
            ConcernLine(
                ref="C-1001",
                unit_name="4 West",
                severity="high",
                status="Open",
                concern_type="falls",
                summary="A fall",
                raised_label="Wed",
                reporter_label="Anonymous",
            )
        ],
    ),
]


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: getattr(v, "kind", "view"))
def test_every_view_is_a_valid_card_that_fits(view: object) -> None:
    activity = cards.message(cards.render(view), summary=cards.summary_of(view))
    content = activity["attachments"][0]["content"]
    assert card_errors(content) == []
    assert wire.size(activity) <= wire.MESSAGE_LIMIT_BYTES < wire.TEAMS_LIMIT_BYTES


def test_a_long_concern_is_shortened_and_says_so() -> None:
    content = cards.fit(cards.render(concern(LONG)))
    text = json.dumps(content, ensure_ascii=False)
    assert cards.SHORTENED in text
    assert "C-1007" in text and "Acknowledge" in text  # the buttons survive, only the text is cut
    assert cards.size(content) <= cards.CARD_LIMIT_BYTES


def test_buttons_are_universal_actions_with_versioned_values() -> None:
    content = cards.render(concern())
    ack, reply, progress, resolve, not_possible = content["actions"]
    assert ack == {
        "type": "Action.Execute",
        "title": "Acknowledge",
        "verb": "acknowledge",
        "data": {"huddlebot": actions.concern_action("acknowledge", 7)},
        "style": "positive",
    }
    assert reply["type"] == progress["type"] == resolve["type"] == "Action.ShowCard"
    moving = progress["card"]
    assert [i["id"] for i in moving["body"]] == ["in_progress_note", "in_progress_title"]
    assert not any(i.get("isRequired") for i in moving["body"])  # both optional: one press is enough
    assert moving["body"][0]["isMultiline"] and moving["body"][1]["maxLength"] == 120
    assert moving["actions"][0]["verb"] == "in_progress"
    inner = resolve["card"]
    assert inner["body"][0]["id"] == "what_we_did" and inner["body"][0]["isRequired"] is True
    assert inner["actions"][0]["verb"] == "resolve"
    assert [i["id"] for i in inner["body"]] == ["what_we_did", "resolve_title"]
    assert "isRequired" not in inner["body"][1] and inner["body"][1]["maxLength"] == 120
    closing = not_possible["card"]
    assert not_possible["type"] == "Action.ShowCard" and not_possible["title"] == "Not possible now"
    assert [i["id"] for i in closing["body"]] == ["why_not_possible", "not_possible_title"]
    assert closing["body"][0]["isRequired"] is True and closing["body"][0]["errorMessage"]
    assert closing["actions"][0]["verb"] == "not_possible"
    assert content["version"] == "1.5"


def test_user_text_cannot_make_links() -> None:
    content = cards.render(
        ThreadMessage(ref="C-1", author_label="x", text="[click me](https://evil.example)")
    )
    assert "](https://evil" not in json.dumps(content)


@pytest.mark.parametrize("notify", [True, False])
@pytest.mark.parametrize("warning", [None, "This looks like it may contain a medical record number."])
def test_dialogs_are_valid_cards(example_config: OrgConfig, notify: bool, warning: str | None) -> None:
    form = dialogs.ConcernForm(text="x", unit="4west", anonymity="anonymous", run_id=3)
    content = dialogs.concern_form(
        example_config, form, notify_available=notify, warning=warning, phi_warning=bool(warning)
    )
    assert card_errors(content) == []
    ids = [element.get("id") for element in content["body"]]
    assert ("notify_me" in ids) is notify
    assert ("post_anyway" in ids) is bool(warning)
    anonymity = next(e for e in content["body"] if e.get("id") == "anonymity")
    assert [c["value"] for c in anonymity["choices"]] == ["named", "confidential", "anonymous"]
    for extra in (
        dialogs.follow_up_form(),
        dialogs.follow_up_form(code="C-1", result="C-1001 · 4 West · open", error="That code doesn't match"),
        dialogs.receipt_card("Thanks", code="C-1001-ABCD-EFGH-JKMN-PQRS"),
        dialogs.round_form([("4west", "4 West Med-Surg"), ("5east", "5 East")], dialogs.RoundForm()),
        dialogs.round_form(
            [("4west", "4 West")], dialogs.RoundForm(unit="4west", staff="-3", wins="@jo: x"), error="Counts…"
        ),
        dialogs.round_opener("4west", "4 West Med-Surg"),
        cards.help_card(greeting=True),
    ):
        assert card_errors(extra) == []


def test_a_department_prompt_shows_each_unit_below_it() -> None:
    from adapters.teams.cards import render

    text = json.dumps(render(prompt()))
    assert "Units" in text and "5 East: last huddle Wed 25 Nov 07:00 CST: 4 answered" in text


def test_a_stoplight_too_large_for_one_message_keeps_whole_lines_and_names_the_units_left_out() -> None:
    view = stoplight(30, 15, detail="x" * 160)
    activity = cards.message(cards.render(view), summary=cards.summary_of(view))
    text = json.dumps(activity, ensure_ascii=False)
    assert wire.size(activity) <= wire.MESSAGE_LIMIT_BYTES
    assert cards.SHORTENED not in text  # laid out to fit, not cut afterwards
    assert "Unit 0" in text and "🔴 Not possible now" in text and "… and " in text
    assert "Not shown here, to fit one Teams message: " in text and "Quiet unit" in text
    assert "huddle stoplight --unit UNIT" in text
    # Every line shown is whole: its reference, its title and its reason.
    lines = [line for b in _blocks(activity) for line in b["text"].split("\n\n") if line.startswith("- **C-")]
    assert len(lines) >= 45
    assert all(line.endswith(" — " + "x" * 160) for line in lines)


def test_a_small_stoplight_shows_every_unit_and_line() -> None:
    content = cards.render(stoplight(2, 15))
    text = json.dumps(content, ensure_ascii=False)
    assert text.count("- **C-") == 2 * 3 * 15 and "Not shown here" not in text and "… and" not in text
    assert [e["type"] for e in content["body"]] == [
        "TextBlock",
        "Container",
        "Container",
        "Container",
        "TextBlock",
    ]


def _blocks(node: object) -> list[dict[str, str]]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "TextBlock" else []
        return found + [b for value in node.values() for b in _blocks(value)]
    if isinstance(node, list):
        return [b for item in node for b in _blocks(item)]
    return []
