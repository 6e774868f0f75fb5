"""Block Kit rendering: people's text never notifies or links, long text is split, no message is refused.

"Within Slack's limits" means what Slack checks, counted as Slack counts (UTF-16 units of the text as
sent, escaped): at most 50 blocks, 3000 a section, 12,000 in all (``assert_within_limits``).
"""

from __future__ import annotations

import json
import re

import pytest
from slack_sdk.models.views import View as SdkView

from adapters.slack import modals
from adapters.slack.blocks import (
    MESSAGE_TEXT_LIMIT,
    SECTION_LIMIT,
    compact,
    cut_markup,
    escape,
    fallback_text,
    fit,
    measure,
    render,
    split_markup,
    units,
)
from adapters.slack.translate import FormContext, plain_text
from bot.config import OrgConfig
from bot.views import (
    Action,
    ConcernCard,
    Counts,
    GoodCatchPost,
    HuddlePrompt,
    HuddleSummary,
    Notice,
    OpenItem,
    ReporterUpdate,
    ThreadMessage,
)
from tests.slack.fake_slack import Invalid, check_blocks, check_message
from tests.slack.harness import ALEX, WEST_LEADERS, SlackHarness, assert_within_limits

PINGS = "<!channel> <!here> <!everyone> <@U0DANA01> <!subteam^S0LEADERS|@leaders> <#C04WEST01|4west> "
LINK = "<https://evil.example/login|Open the chart> https://bare.example/x"


def _card(text: str, **extra: object) -> ConcernCard:
    return ConcernCard(  # type: ignore[arg-type]
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
        **extra,
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
    assert_within_limits(blocks)


def test_escaping_is_exactly_amp_lt_gt() -> None:
    assert escape("a & b < c > d &amp;") == "a &amp; b &lt; c &gt; d &amp;amp;"


def test_slack_markup_typed_by_people_is_read_as_words() -> None:
    config = None
    text = "ask <@U0DANA01|dana> in <#C04WEST01|4west> &lt;3 &amp; see <https://x.example|docs> <!here>"
    assert plain_text(text, config) == "ask @dana in #4west <3 & see docs (https://x.example) @here"


def test_known_people_are_named_from_the_directory(example_config: OrgConfig) -> None:
    assert plain_text("thanks <@U0DANA01>", example_config) == "thanks @Dana Reyes"


def test_long_text_is_split_into_sections_within_the_limit() -> None:
    text = ("The infusion pump alarm & the bed alarm <both> went off. " * 150).strip()
    blocks = render(_card(text))
    pieces = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert len(pieces) >= 3
    assert all(units(p) <= SECTION_LIMIT for p in pieces)
    joined = " ".join(pieces)
    assert joined.replace(" ", "") == escape(text).replace(" ", "")  # nothing lost, nothing cut mid-entity
    assert "shortened" not in str(blocks)
    assert_within_limits(blocks)


def test_a_concern_longer_than_a_message_shows_its_beginning_and_where_to_read_the_rest() -> None:
    text = ("The infusion pump alarm & the bed alarm <both> went off. 🚑 " * 400).strip()
    blocks = render(_card(text, resolution="Replaced & re-trained <all> " * 200, resolved_label="Dana"))
    assert_within_limits(blocks)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert sections[0].startswith(escape(text[:200]))
    assert any(s.startswith("*Resolved by Dana.* What we did: Replaced &amp;") for s in sections)
    [note] = [b for b in blocks if b["type"] == "context" and "shortened" in str(b)]
    assert "`/concern show C-1001`" in note["elements"][0]["text"]
    assert blocks[-1]["type"] == "actions" or "Replies in this thread" in str(blocks[-1])


def test_emoji_count_twice_as_slack_counts_them() -> None:
    text = "🚑" * 1600  # 1600 characters, 3200 UTF-16 units: more than a section holds
    blocks = render(Notice(text=text))
    assert_within_limits(blocks)
    assert all(units(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    assert units(fallback_text(Notice(text=text))) <= 3000
    assert units(cut_markup("a" + "🚑" * 10, 4)) <= 4 and cut_markup("a" + "🚑" * 10, 4) == "a🚑…"


def test_a_cut_never_ends_inside_an_entity_or_an_emoji() -> None:
    for markup in (escape("&" * 50), escape("<>" * 40), "🚑" * 50, escape("a&🚑<") * 20):
        for limit in range(2, 40):
            cut = cut_markup(markup, limit)
            assert units(cut) <= limit
            cut.encode("utf-16-le")  # strict: no half of a surrogate pair
            assert not re.search(r"&(?!amp;|lt;|gt;)", cut), cut
            assert markup.startswith(cut.removesuffix("…"))


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


def test_too_much_text_is_cut_to_the_budget_and_the_buttons_kept() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}} for _ in range(10)]
    blocks.append(
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x"}}]}
    )
    fitted = fit(blocks)
    assert measure(fitted).text <= MESSAGE_TEXT_LIMIT and fitted[-1]["type"] == "actions"
    assert "more part(s) not shown" in str(fitted[-2])


def test_a_huge_huddle_summary_still_renders_within_slacks_limits() -> None:
    summary = HuddleSummary(
        run_id=1,
        unit_name="4 West",
        when_label="Wed 25 Nov 07:00 CST",
        counts=Counts(responders=300, comments=300),
        comments=[f"Nurse {i} (comment): {'x' * 400} <!channel>" for i in range(300)],
        good_catches=[f"Dana recognised Alex: {'caught it & ' * 300}" for _ in range(20)],
        open_items=[
            OpenItem(ref=f"C-{1000 + i}", summary="x", status="open", severity="low") for i in range(80)
        ],
    )
    blocks = render(summary)
    assert_within_limits(blocks)
    assert "<!channel>" not in str(blocks)
    text = str(blocks)
    assert "more comment(s) not shown here" in text and "more good catch(es) not shown here" in text
    assert "*Still open:* C-1000, C-1001" in text


def test_a_huddle_prompt_with_many_open_items_keeps_its_buttons() -> None:
    prompt = HuddlePrompt(
        run_id=1,
        unit_name="4 West",
        when_label="Wed 25 Nov 07:00 CST",
        closes_label="07:30 CST",
        questions=["Look back", "Look ahead"],
        open_items=[
            OpenItem(ref=f"C-{1000 + i}", summary="pump & bed " * 30, status="open", severity="high")
            for i in range(200)
        ],
        actions=[Action(id="answer_clear", label="All clear", value="v1:clear:1")],
    )
    blocks = render(prompt)
    assert_within_limits(blocks)
    assert any(b["type"] == "actions" for b in blocks) and "more open item(s) not shown here" in str(blocks)


def test_the_compact_form_is_small_valid_and_keeps_the_buttons() -> None:
    actions = [
        Action(id="acknowledge", label="Acknowledge " + "x" * 100, value="v1:ack:1", style="primary"),
        Action(id="acknowledge", label="Twice", value="v1:ack:1"),  # a second id Slack would refuse
    ]
    card = _card("&<>🚑 " * 5000, actions=actions)
    blocks = compact(card)
    assert_within_limits(blocks)
    assert check_message({"text": fallback_text(card), "blocks": blocks}) is None
    assert measure(blocks).text <= 3300 and [b["type"] for b in blocks] == ["section", "context", "actions"]
    assert len(blocks[-1]["elements"]) == 1 and "/concern show C-1001" in str(blocks[1])


@pytest.mark.parametrize(
    "view",
    [
        Notice(text="Hello <!here>", title="Heads up", tone="warning"),
        Notice(text="&" * 4000, title="Heads & up", tone="error"),
        ThreadMessage(ref="C-1001", author_label="Dana <b>", text="x" * 9000),
        ThreadMessage(ref="C-1001", author_label="Dana", text="<&>" * 1333),
        ReporterUpdate(ref="C-1001", event="received", text="🚑&" * 2000),
        GoodCatchPost(unit_name="4 West", giver_label="Dana", recipient_label="Alex", text="&<" * 2000),
    ],
)
def test_every_view_passes_slacks_checks(view: object) -> None:
    blocks = render(view)  # type: ignore[arg-type]
    assert_within_limits(blocks)
    assert check_message({"text": fallback_text(view), "blocks": blocks}) is None  # type: ignore[arg-type]


def test_a_modal_keeps_its_input_and_submit_however_long_the_conversation() -> None:
    head = "C-1001 · 4 West · open\nYou wrote: the pump"
    replies = [f"Wed 25 Nov 07:{n % 60:02d} CST · Dana Reyes: reply {n}\n" + "&" * 2000 for n in range(60)]
    view = modals.follow_up_form(FormContext(code="C-1001-AAAA"), "\n".join([head, *replies]))
    SdkView(**view).validate_json()
    assert len(view["blocks"]) <= 100 and view["blocks"][-1]["type"] == "input" and view["submit"]
    assert "reply 59" in str(view["blocks"]) and "reply 0\\n" not in str(view["blocks"])
    assert "earlier messages not shown" in str(view["blocks"][1])


def test_the_fake_refuses_what_slack_refuses() -> None:
    with pytest.raises(Invalid):
        check_blocks(
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], limit=50, surface="message"
        )
    with pytest.raises(Invalid):
        check_blocks([{"type": "divider"}] * 51, limit=50, surface="message")
    with pytest.raises(Invalid):  # 1501 emoji are 3002 UTF-16 units
        check_blocks(
            [{"type": "section", "text": {"type": "mrkdwn", "text": "🚑" * 1501}}],
            limit=50,
            surface="message",
        )
    five = [{"type": "section", "text": {"type": "mrkdwn", "text": "&amp;" * 500}}] * 5  # 12,500 as sent
    assert check_message({"blocks": five}) == "msg_blocks_too_long"
    assert check_message({"text": "x" * 40_001}) == "msg_too_long"


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
