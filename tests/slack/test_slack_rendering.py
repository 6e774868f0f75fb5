"""Block Kit rendering: people's text never notifies or links, long text is split, no message is refused."""

from __future__ import annotations

import json
import re

import pytest

from adapters.slack.blocks import SECTION_LIMIT, escape, fit, render, split_markup
from adapters.slack.translate import plain_text
from bot.config import OrgConfig
from bot.views import ConcernCard, Counts, HuddleSummary, Notice, ThreadMessage
from tests.slack.fake_slack import Invalid, check_blocks
from tests.slack.harness import ALEX, WEST_LEADERS, SlackHarness

PINGS = "<!channel> <!here> <!everyone> <@U0DANA01> <!subteam^S0LEADERS|@leaders> <#C04WEST01|4west> "
LINK = "<https://evil.example/login|Open the chart> https://bare.example/x"


def _card(text: str) -> ConcernCard:
    return ConcernCard(
        concern_id=1,
        ref="C-1001",
        unit_name="4 West <Med-Surg>",
        severity="high",
        category="safe",
        concern_type="falls",
        anonymity="named",
        reporter_label="Alex <@U0ALEX01>",
        text=text,
        status="Open: not yet acknowledged",
        raised_label="Wed 25 Nov 06:50 CST",
    )


def test_mentions_and_links_in_peoples_text_are_inert() -> None:
    blocks = render(_card(PINGS + LINK))
    rendered = str(blocks)
    # No Slack markup survives: every < and > from people's text became an entity.
    for token in (
        "<!channel>",
        "<!here>",
        "<!everyone>",
        "<@U0DANA01>",
        "<!subteam^",
        "<#C04WEST01",
        "<https://",
    ):
        assert token not in rendered
    assert "&lt;!channel&gt;" in rendered and "&lt;@U0DANA01&gt;" in rendered
    assert "Alex &lt;@U0ALEX01&gt;" in rendered  # names too
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["type"] == "plain_text"  # never parsed
    # Every mrkdwn object is verbatim: bare URLs and #names are not linkified either.
    for obj in re.findall(r"\{'type': 'mrkdwn'[^{}]*\}", rendered):
        assert "'verbatim': True" in obj
    check_blocks(blocks, limit=50, surface="message")


def test_escaping_is_exactly_amp_lt_gt() -> None:
    assert escape("a & b < c > d &amp;") == "a &amp; b &lt; c &gt; d &amp;amp;"


def test_slack_markup_typed_by_people_is_read_as_words() -> None:
    config = None
    text = "ask <@U0DANA01|dana> in <#C04WEST01|4west> &lt;3 &amp; see <https://x.example|docs> <!here>"
    assert plain_text(text, config) == "ask @dana in #4west <3 & see docs (https://x.example) @here"


def test_known_people_are_named_from_the_directory(example_config: OrgConfig) -> None:
    assert plain_text("thanks <@U0DANA01>", example_config) == "thanks @Dana Reyes"


def test_long_text_is_split_into_sections_within_the_limit() -> None:
    text = ("The infusion pump alarm & the bed alarm <both> went off. " * 400).strip()
    blocks = render(_card(text))
    pieces = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert len(pieces) >= 8
    assert all(len(p) <= SECTION_LIMIT for p in pieces)
    joined = " ".join(pieces)
    assert joined.replace(" ", "") == escape(text).replace(" ", "")  # nothing lost, nothing cut mid-entity
    check_blocks(blocks, limit=50, surface="message")


def test_split_never_cuts_an_entity_in_unbroken_text() -> None:
    markup = escape("&" * 5000)
    pieces = split_markup(markup, 3000)
    assert all(len(p) <= 3000 for p in pieces)
    assert all(p.endswith(";") for p in pieces)
    assert "".join(pieces) == markup


def test_too_many_blocks_are_cut_with_a_note_and_the_buttons_kept() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": str(i)}} for i in range(70)]
    blocks.append(
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x"}}]}
    )
    fitted = fit(blocks)
    assert len(fitted) == 50
    assert fitted[-1]["type"] == "actions"
    assert "more part(s) not shown" in fitted[-2]["elements"][0]["text"]


def test_a_huge_huddle_summary_still_renders_within_slacks_limits() -> None:
    summary = HuddleSummary(
        run_id=1,
        unit_name="4 West",
        when_label="Wed 25 Nov 07:00 CST",
        counts=Counts(responders=300, comments=300),
        comments=[f"Nurse {i} (comment): {'x' * 400} <!channel>" for i in range(300)],
    )
    blocks = render(summary)
    check_blocks(blocks, limit=50, surface="message")
    assert "<!channel>" not in str(blocks)


@pytest.mark.parametrize(
    "view",
    [
        Notice(text="Hello <!here>", title="Heads up", tone="warning"),
        ThreadMessage(ref="C-1001", author_label="Dana <b>", text="x" * 9000),
    ],
)
def test_every_view_passes_slacks_checks(view: object) -> None:
    check_blocks(render(view), limit=50, surface="message")  # type: ignore[arg-type]


def test_the_fake_refuses_what_slack_refuses() -> None:
    with pytest.raises(Invalid):
        check_blocks(
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], limit=50, surface="message"
        )
    with pytest.raises(Invalid):
        check_blocks([{"type": "divider"}] * 51, limit=50, surface="message")


async def test_a_concern_with_channel_pings_reaches_slack_inert(slack_sqlite: SlackHarness) -> None:
    slack = slack_sqlite
    await slack.command("/concern", "")
    text = "Night shift " + PINGS + LINK + " " + "long words " * 1200
    await slack.submit(
        slack.last_view(),
        {
            "description": text[:3000],
            "severity": "low",
            "category": "safe",
            "type": "other",
            "unit": "4west",
            "anonymity": "named",
        },
        user=ALEX,
    )
    await slack.deliver()
    [card] = slack.fake.top(WEST_LEADERS)  # the fake accepted it: blocks and sections within limits
    sent = str(card.args)
    assert "<!channel>" not in sent and "<!here>" not in sent and "<@U0DANA01>" not in sent
    assert "&lt;!channel&gt;" in card.args["text"]  # the notification text too


def test_a_department_prompt_lists_each_unit_below_it_and_escapes_it() -> None:
    from bot.views import HuddlePrompt

    view = HuddlePrompt(
        run_id=1,
        unit_name="Department of Medicine",
        when_label="Wed 25 Nov 09:00 CST",
        closes_label="09:30 CST",
        questions=["Look back"],
        rollup=["4 West <!here>: last huddle Wed 25 Nov 07:00 CST: 12 answered"],
    )
    text = json.dumps(render(view))
    assert "*Units*" in text and "4 West &lt;!here&gt;: last huddle" in text
