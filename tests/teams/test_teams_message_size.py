"""Every Teams message fits before it is sent (Teams refuses an activity over ~28 KB), and what Teams
refuses all the same (400 bad card, 413 too big) gets one compact retry, then a dead letter at once.

Against the strict fake connector: a message it takes was taken on its size and shape, as Teams would."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from adapters.teams import cards, wire
from bot.commands import AnswerHuddle
from bot.due_work import run_due_work
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.model import Address, Answer, OutboxStatus, Person
from bot.views import Counts, HuddleSummary, Notice
from tests.teams.conftest import DANA, STAFF, TENANT, UNIT_CHANNELS, TeamsHarness
from tests.teams.fake_connector import SIZE_LIMIT, Call
from tests.teams.schemas import card_errors

WEST = UNIT_CHANNELS["4west"]
LEADERS = UNIT_CHANNELS["4west-leaders"]
# Markup characters, emoji (4 bytes, one a joined sequence), right-to-left Hebrew and Arabic: what a
# careless encoder or a character count gets wrong. No digits: nothing that looks like a patient id.
MIX = "Pump & <alarm> 🚨 👩‍⚕️ לא הגיע אף אחד. لم يأت أحد. "


def mixed(chars: int) -> str:
    return (MIX * (chars // len(MIX) + 1))[:chars].strip()


async def raise_by_dialog(teams: TeamsHarness, text: str) -> None:
    data = {
        "huddlebot_form": "concern",
        "text": text,
        "unit": "4west",
        "severity": "high",
        "concern_type": "equipment",
        "category": "safe",
        "anonymity": "named",
    }
    status, _ = await teams.post(
        teams.invoke(
            "composeExtension/submitAction",
            {"commandId": "raiseConcern", "data": data},
            user=STAFF,
            user_name="Alex Kim",
            channel=WEST,
        )
    )
    assert status == 200


def card_posts(teams: TeamsHarness) -> list[Call]:
    """Every attempt to post the concern's card in the leaders' channel, taken or not."""
    return [c for c in teams.fake.sent("send", LEADERS) if c.thread is None]


def container_texts(call: Call) -> list[str]:
    """The texts of the card's one Container: the concern's text (and the note if it was cut)."""
    (container,) = [b for b in call.card["body"] if b["type"] == "Container"]
    return [item["text"] for item in container["items"]]


async def test_a_3000_character_concern_of_markup_emoji_and_rtl_is_posted_whole_first_time(
    teams: TeamsHarness,
) -> None:
    await teams.install_team()
    text = mixed(3_000)
    await raise_by_dialog(teams, text)
    await teams.deliver()
    (post,) = card_posts(teams)  # the first try was taken
    assert post.accepted and post.size < SIZE_LIMIT and post.size == wire.size(post.body)
    assert card_errors(post.card) == []
    assert container_texts(post) == [text]  # whole: 3,000 characters fit, so nothing was cut
    assert cards.SHORTENED not in post.text


async def test_the_longest_concern_is_shortened_where_it_was_cut_and_show_gives_it_whole(
    teams: TeamsHarness,
) -> None:
    await teams.install_team()
    text = mixed(20_000)  # the longest concern huddlebot takes: ~60 KB of UTF-8
    await raise_by_dialog(teams, text)
    await teams.deliver()
    (post,) = card_posts(teams)
    assert post.accepted and post.size <= wire.MESSAGE_LIMIT_BYTES
    assert card_errors(post.card) == []
    cut, note = container_texts(post)  # the note sits right under the text it shortened
    assert cut.endswith(" …") and text.startswith(cut.removesuffix(" …"))
    assert note.startswith(cards.SHORTENED) and "**show C-1001**" in note
    assert "Acknowledge" in str(post.card["actions"])  # only the text was cut, never the buttons

    await teams.post(teams.personal_message("show C-1001", user=DANA, name="Dana Reyes"))
    shown = teams.fake.posts_to(f"a:1personal-{DANA}")
    assert all(c.accepted and c.size <= wire.MESSAGE_LIMIT_BYTES for c in shown)
    assert "The whole text follows, in parts." in shown[1].text
    parts = [c for c in shown if "full text, part" in c.text]
    assert len(parts) >= 2
    assert "".join(p.card["body"][1]["text"] for p in parts).replace("\n\n", "\n") == text


async def test_a_huddle_summary_with_300_comments_fits(teams: TeamsHarness) -> None:
    await teams.install_team()
    await teams.post(teams.channel_message("huddle now", user=DANA, name="Dana Reyes", channel=WEST))
    for n in range(300):
        reply = await teams.core.handle(
            AnswerHuddle(
                person=Person("teams", TENANT, f"29:nurse-{n:03}", f"Nurse {n:03} Ramírez"),
                where=Address("teams", TENANT, channel=WEST),
                answer=Answer.COMMENT,
                text=f"Comment {n:03}: {mixed(160)}",
            )
        )
        assert reply.ok, reply.text
    teams.clock.advance(timedelta(hours=2))  # past the huddle's window: it closes with its summary
    await run_due_work(teams.core, teams.app.dispatcher)
    (summary,) = [c for c in teams.fake.sent("send", WEST) if "Huddle summary" in c.text]
    assert summary.accepted and summary.size <= wire.MESSAGE_LIMIT_BYTES and summary.thread is not None
    assert card_errors(summary.card) == []
    texts = [b["text"] for b in summary.card["body"] if b["type"] == "TextBlock"]
    listed = next(t for t in texts if t.startswith("- Nurse 000"))
    note = texts[texts.index(listed) + 1]
    shown = 1 + listed.count("\n\n- Nurse")  # whole comments only, then "- …"
    assert listed.endswith("\n\n- …") and 10 < shown < 300
    where = "The replies in this huddle's thread are there in full."
    assert note == f"{cards.SHORTENED}: {300 - shown} more not shown. {where}"


def test_what_is_measured_is_what_is_sent() -> None:
    summary = HuddleSummary(
        run_id=1,
        unit_name="4 West",
        when_label="Wed 07:00",
        counts=Counts(comments=300),
        comments=[f"Nurse {n}: {mixed(300)}" for n in range(300)],
    )
    activity = cards.message(
        cards.render(summary),
        summary=cards.summary_of(summary),
        more=cards.where_to_read(summary),
        envelope=cards.envelope(bot_id="28:bot", conversation_id=f"{WEST};messageid=1771290200000"),
    )
    assert wire.size(activity) <= wire.MESSAGE_LIMIT_BYTES
    assert len(wire.dumps(activity).encode("utf-8")) == wire.size(activity)
    assert card_errors(activity["attachments"][0]["content"]) == []


def test_full_text_pieces_fit_and_join_back() -> None:
    text = mixed(20_000) + "\nsecond paragraph " + "🚨" * 9_000
    parts = cards.pieces(text, 20_000)
    assert "".join(parts) == text
    assert all(wire.size(cards.safe(p)) <= 20_000 for p in parts)


# --- what Teams refuses all the same ------------------------------------------------------------


async def test_413_gets_one_compact_retry_then_the_row_is_dead_after_one_pass(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await teams.install_team()
    await raise_by_dialog(teams, "The infusion pump in room twelve alarmed twice and nobody came")
    teams.fake.fail("send", 413, "MessageSizeTooBig", conversation=LEADERS, times=2)
    caplog.set_level(logging.INFO)
    report = await teams.deliver()
    first, compact = card_posts(teams)  # exactly one retry, in the same pass
    assert (first.status, compact.status) == (413, 413)
    assert "Teams could not show this message in full" in compact.text and "show C-1001" in compact.text
    assert compact.size < 2_000 and card_errors(compact.card) == []
    assert report.dead >= 1
    async with teams.core.uow() as tx:
        dead = [d for d in await tx.outbox_items(status=OutboxStatus.DEAD) if d.channel == LEADERS]
    assert len(dead) == 1 and "413" in (dead[0].last_error or "") and "compact" in (dead[0].last_error or "")
    assert "sending a compact version" in caplog.text
    for private in ("infusion pump", "Alex Kim", STAFF):
        assert private not in caplog.text  # the log says what and where, never what was said or by whom


async def test_a_compact_retry_that_is_taken_delivers_the_card_and_its_buttons(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await teams.install_team()
    await raise_by_dialog(teams, "The bed alarm in room four is broken")
    teams.fake.fail("send", 400, "BadArgument", conversation=LEADERS)
    report = await teams.deliver()
    assert report.dead == 0
    (shown,) = teams.fake.posts_to(LEADERS)
    verbs = [a.get("verb") for a in shown.card["actions"]]
    assert verbs == ["acknowledge", "in_progress"]  # the one-click buttons; the forms wait for the thread
    assert card_errors(shown.card) == []
    assert "Teams refused a concern_card on post to channel 19:4west-leaders@thread.tacv2 (400" in caplog.text
    async with teams.core.uow() as tx:
        (card,) = await tx.posts_for(role="card", concern_id=1)
    assert card.status == OutboxStatus.SENT and card.message_ref == shown.answered_id


@pytest.mark.parametrize("status,code", [(413, "MessageSizeTooBig"), (400, "BadArgument")])
async def test_an_update_gets_the_same_one_compact_retry(teams: TeamsHarness, status: int, code: str) -> None:
    await teams.install_team()
    messenger = teams.platform.messenger
    posted = await messenger.post(Address("teams", "", channel=WEST), Notice(text="first"))
    teams.fake.fail("update", status, code)
    await messenger.update(WEST, posted.message_ref, Notice(text="second"))
    assert [c.status for c in teams.fake.sent("update")] == [status, 200]
    teams.fake.fail("update", status, code, times=2)
    with pytest.raises(PermanentDeliveryError, match="compact version"):
        await messenger.update(WEST, posted.message_ref, Notice(text="third"))
    assert len(teams.fake.sent("update")) == 4


async def test_a_compact_retry_that_meets_a_throttle_stays_transient(teams: TeamsHarness) -> None:
    await teams.install_team()
    teams.fake.fail("send", 413, "MessageSizeTooBig")
    teams.fake.fail("send", 429, "Throttled", retry_after="3")
    with pytest.raises(TransientDeliveryError) as caught:
        await teams.platform.messenger.post(Address("teams", "", channel=WEST), Notice(text="x"))
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(
    "status,code", [(403, "BotNotInConversationRoster"), (404, "ConversationNotFound"), (401, "Unauthorized")]
)
async def test_other_refusals_get_no_compact_retry(teams: TeamsHarness, status: int, code: str) -> None:
    await teams.install_team()
    teams.fake.fail("send", status, code)
    with pytest.raises((PermanentDeliveryError, TransientDeliveryError)):
        await teams.platform.messenger.post(Address("teams", "", channel=WEST), Notice(text="x"))
    assert len(teams.fake.sent("send", WEST)) == 1
