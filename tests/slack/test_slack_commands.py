"""/huddle, /goodcatch, help and usage, the huddle prompt's buttons, and the App Home tab."""

from __future__ import annotations

import json

import pytest

from tests.slack.harness import ALEX, DANA, WEST, WEST_LEADERS, SlackHarness

FORM = {"severity": "moderate", "category": "safe", "type": "falls", "unit": "4west", "anonymity": "named"}


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("/concern", "help", "/concern follow-up CODE"),
        ("/concern", "follow-up", "Which receipt code?"),
        ("/huddle", "help", "/huddle now"),
        ("/huddle", "dance <!channel>", "I don't know '/huddle dance"),
        ("/goodcatch", "help", "/goodcatch @someone what they caught"),
        ("/goodcatch", "dana caught it", "Start with the colleague"),
        ("/goodcatch", "<@U0DANA01|dana>", "Say what they caught"),
    ],
)
async def test_every_command_answers_help_and_bad_arguments_with_its_usage(
    slack_sqlite: SlackHarness, command: str, text: str, expected: str
) -> None:
    answer = await slack_sqlite.command(command, text)
    assert answer["response_type"] == "ephemeral"
    assert expected in answer["text"]
    assert "<!channel>" not in answer["text"]
    assert not slack_sqlite.fake.views


async def test_huddle_now_prompt_buttons_and_thread_comments(slack: SlackHarness) -> None:
    fake = slack.fake
    refused = await slack.command("/huddle", "now", user=ALEX)
    assert "Only the leaders of 4 West Med-Surg can start a huddle" in refused["text"]

    started = await slack.command("/huddle", "now", user=DANA)
    assert "Huddle started for 4 West Med-Surg" in started["text"]
    await slack.deliver()
    [prompt] = fake.top(WEST)
    assert "Safety huddle · 4 West Med-Surg" in prompt.text
    buttons = [e["action_id"] for b in prompt.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["answer_clear", "answer_concern", "answer_goodcatch"]

    await slack.press(prompt, "answer_clear", user=ALEX, channel=WEST)
    assert "recorded all clear" in fake.ephemeral[-1]["text"]
    await slack.reply_in_thread(
        user="U0JOM001", channel=WEST, thread=prompt.ts, text="Short one nurse tonight"
    )
    await slack.deliver()
    assert "2 answered · 1 all clear · 0 concern · 0 good catch · 1 comment(s)" in prompt.text

    # "Raise a concern" opens the concern form; a named concern also counts in the huddle.
    await slack.press(prompt, "answer_concern", user=ALEX, channel=WEST)
    form = slack.last_view()
    assert form["callback_id"] == "concern" and json.loads(form["private_metadata"])["run"] == 1
    answer = await slack.submit(form, {**FORM, "description": "Commode left in the corridor"}, user=ALEX)
    assert "C-1001" in str(answer["view"])
    await slack.deliver()
    assert "2 answered · 0 all clear · 1 concern" in prompt.text  # one answer per person: their latest

    # "Share a good catch" opens the good-catch form.
    await slack.press(prompt, "answer_goodcatch", user=ALEX, channel=WEST)
    form = slack.last_view()
    assert form["callback_id"] == "good_catch"
    answer = await slack.submit(form, {"recipient": DANA, "text": "Spotted the wrong wristband"}, user=ALEX)
    assert "Thank you for recognising Dana Reyes" in str(answer["view"])
    await slack.deliver()
    assert "2 answered · 0 all clear · 0 concern · 1 good catch" in prompt.text
    recognition = [m for m in fake.top(WEST) if "Good catch!" in m.text]
    assert recognition and "recognised *Dana Reyes*: Spotted the wrong wristband" in recognition[0].text
    assert any("recognised you for a good catch" in m.text for m in fake.top(fake.dm_channel(DANA)))

    status = await slack.command("/huddle", "status", user=ALEX)
    assert "is open until" in status["text"] and "Open concerns: 1" in status["text"]


async def test_goodcatch_with_a_slack_mention(slack_sqlite: SlackHarness) -> None:
    answer = await slack_sqlite.command(
        "/goodcatch", "<@U0DANA01|dana> caught a look-alike vial &amp; stopped it"
    )
    assert "Thank you for recognising Dana Reyes" in answer["text"]
    await slack_sqlite.deliver()
    [post] = slack_sqlite.fake.top(WEST)
    assert "caught a look-alike vial &amp; stopped it" in post.text

    answer = await slack_sqlite.command("/goodcatch", "<@U0SOMEONE|sam.k> held the line on a wrong-site mark")
    assert "Thank you for recognising sam.k" in answer["text"]


async def test_goodcatch_alone_opens_the_form(slack_sqlite: SlackHarness) -> None:
    assert await slack_sqlite.command("/goodcatch", "") == ""
    assert slack_sqlite.last_view()["callback_id"] == "good_catch"


async def test_app_home_lists_my_concerns_and_for_leaders_the_open_ones(slack: SlackHarness) -> None:
    await slack.command("/concern", "")
    await slack.submit(
        slack.last_view(), {**FORM, "description": "Hand gel dispensers empty <!here>"}, user=ALEX
    )
    for user in (ALEX, DANA):
        status, _ = await slack.event(
            {"type": "app_home_opened", "user": user, "channel": "D0X", "tab": "home"}
        )
        assert status == 200
    alex, dana = slack.fake.published[ALEX], slack.fake.published[DANA]
    assert alex["type"] == "home"
    assert (
        "My concerns" in str(alex) and "C-1001" in str(alex) and "Open concerns in my units" not in str(alex)
    )
    assert "Open concerns in my units" in str(dana) and "C-1001" in str(dana) and "Alex Kim" in str(dana)
    assert "<!here>" not in str(alex) and "&lt;!here&gt;" in str(alex)

    status, _ = await slack.event(
        {"type": "app_home_opened", "user": ALEX, "channel": "D0X", "tab": "messages"}
    )
    assert status == 200 and len(slack.fake.called("views.publish")) == 2


async def test_a_mention_outside_a_thread_gets_help(slack_sqlite: SlackHarness) -> None:
    status, _ = await slack_sqlite.event(
        {
            "type": "app_mention",
            "user": ALEX,
            "text": "<@U0BOT0001> help",
            "ts": "1.1",
            "channel": WEST_LEADERS,
        }
    )
    assert status == 200
    assert "/huddle now" in slack_sqlite.fake.ephemeral[-1]["text"]
