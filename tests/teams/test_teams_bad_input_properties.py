"""Bad input never breaks anything, on Teams (issue 10, property-based).

Every recorded Teams payload kind (``tests/fixtures/real/teams``), and huddlebot's own card actions,
dialog fetches and submissions and typed commands, are mutated by hypothesis (``mutations.py``: drop
fields, change types, nest deeply, huge and empty values, fields we never read, unknown ids, forged
button values) and posted through the real ``POST /api/messages`` of a real huddlebot (real core,
real storage, the fake Bot Connector). For every example:

* the answer is never a 5xx (that means a server fault, never bad input): 200, 400 or 413;
* nothing is logged at ERROR, no traceback, and no value that was sent (``CANARY``) reaches a log line;
* a refused activity (4xx) changed no row of any table and was logged exactly once, by kind and field;
  a refused invoke got Teams' invoke error response;
* an accepted one (200) changed no row either, except in ``processed_events``: the dedupe row of an
  activity handled, as DESIGN.md documents ("dedupe on event_id with a unique row").

Why an accepted mutation may change nothing: the activities mutated are ones that change nothing
when valid, so "still valid" and "refused" are both checked against the same tables. They are
commands by someone who may not act (an outsider: not in the organisation file, not the reporter),
read-only questions, a concern dialog whose unit, severity, category and type are all unknown (three
mutations cannot fix four), follow-ups with a receipt code that is not one, and re-sent installs.
Where a valid value would make an activity do something new, it comes from a pool: people whose chat
the bot already knows (an unknown one would get a private note in a chat opened for it), the
conversations the bot is in, the fake's own service URL. Every other value can be anything at all.

One harness per test, derandomized (CI sees the same examples every run); together the four tests
post more than 2,000 examples on SQLite, and as many again on PostgreSQL when it is configured.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import actions
from bot.config import OrgConfig
from bot.model import concern_reference
from storage.tables import metadata
from tests.sql import row_counts, scalar
from tests.teams.conftest import (
    STAFF,
    TENANT,
    UNIT_CHANNELS,
    TeamsHarness,
    close_harness,
    fixture,
    make_teams_harness,
)
from tests.teams.mutations import CANARY, Pools, encode, mutate

LEADERS = UNIT_CHANNELS["4west-leaders"]
WEST = UNIT_CHANNELS["4west"]
OUTSIDER = f"29:outsider-{CANARY}"  # a user id is personal data: it must never be logged either
OUTSIDER_TWO = "29:outsider-two"
GROUP_CHAT = "19:a-group-chat@thread.v2"
# Rows an accepted activity may add without changing anything a person sees: the dedupe row of its
# activity id, and the reference of a conversation the bot hears from for the first time (a personal chat
# from the pools of users): whether that first time falls in one example or another depends on the order
# hypothesis tries them, so counting it made the test fail only in some runs.
DEDUPE_TABLES = {"processed_events", "teams_conversations"}
RECORDED = [
    "message_channel",
    "message_channel_thread_reply",
    "message_personal",
    "message_action_submit_value",
    "conversation_update_bot_added_to_team",
    "conversation_update_bot_added_personal",
    "invoke_adaptive_card_action_execute",
]


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


class Records(logging.Handler):
    """Every WARNING-or-worse record, from any logger (aiohttp's tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


# --- the world the examples are posted into ------------------------------------------------------------


def _named(activity: dict[str, Any], user: str, name: str = f"Outside Person {CANARY}") -> dict[str, Any]:
    activity["from"] = {"id": user, "name": name}
    return activity


def _card_action(h: TeamsHarness, value: str, card: str, **inputs: str) -> dict[str, Any]:
    verb = json.loads(value)["a"]
    return h.invoke(
        "adaptiveCard/action",
        {"action": {"type": "Action.Execute", "verb": verb, "data": {"huddlebot": value, **inputs}}},
        user=OUTSIDER,
        channel=LEADERS,
        reply_to=card,
    )


def _personal_invoke(h: TeamsHarness, name: str, value: dict[str, Any]) -> dict[str, Any]:
    activity = h.invoke(name, value, user=OUTSIDER)
    activity["conversation"] = {"conversationType": "personal", "id": f"a:1personal-{OUTSIDER}"}
    return activity


async def _install_personal(h: TeamsHarness, user: str) -> None:
    activity = h.prepare(fixture("conversation_update_bot_added_personal"))
    activity["conversation"]["id"] = f"a:1personal-{user}"
    activity["from"]["id"] = user
    assert (await h.post(activity))[0] == 200


async def _world(h: TeamsHarness) -> tuple[dict[str, dict[str, Any]], Pools]:
    """Install the bot, raise one concern (its card in the leaders' channel), and build the activities
    to mutate, each already posted once (valid: accepted, and changing nothing when posted again)."""
    await h.install_team()
    for user in (STAFF, OUTSIDER, OUTSIDER_TWO):
        await _install_personal(h, user)
    await h.post(h.personal_message("concern --unit 4west The bed alarm on 12 is broken", user=STAFF))
    await h.deliver()
    concern_id = await scalar(h, "SELECT id FROM concerns")  # type: ignore[arg-type]
    async with h.core.uow() as tx:
        (card,) = await tx.posts_for(role="card", concern_id=concern_id)
    reference = concern_reference(concern_id)

    bases: dict[str, dict[str, Any]] = {}
    for name in RECORDED:
        activity = h.prepare(fixture(name))
        if isinstance(activity.get("text"), str):
            activity["text"] += f" {CANARY}"
        bases[f"recorded {name}"] = activity
    install = h.prepare(fixture("conversation_update_bot_added_personal"))
    install.update(type="installationUpdate", action="add")
    install.pop("membersAdded")
    bases["recorded installationUpdate"] = install

    # huddlebot's own card actions, pressed by someone who may not: refused, nothing changes.
    for action in actions.CONCERN_ACTIONS:
        inputs = {
            "reply": {"reply_text": f"a reply {CANARY}"},
            "resolve": {"what_we_did": f"done {CANARY}", "resolve_title": f"title {CANARY}"},
            "not_possible": {"why_not_possible": f"why {CANARY}", "not_possible_title": f"title {CANARY}"},
        }
        value = actions.concern_action(action, concern_id)
        bases[f"card {action}"] = _card_action(h, value, card.message_ref, **inputs.get(action, {}))
    for action in ("answer_clear", "answer_goodcatch"):  # a huddle that never ran
        value = actions.huddle_action(action, 999)
        bases[f"card {action}"] = _card_action(h, value, card.message_ref, goodcatch_text=f"x {CANARY}")
    submit = _named(h.channel_message("", user=OUTSIDER, channel=LEADERS, mention=False), OUTSIDER)
    submit.pop("text")
    submit["value"] = {"huddlebot": actions.concern_action("acknowledge", concern_id)}
    bases["card Action.Submit (older clients)"] = submit

    # Dialogs: opening them changes nothing; the submissions below cannot succeed.
    bases["dialog task/fetch"] = h.invoke(
        "task/fetch",
        {
            "data": {
                "msteams": {"type": "task/fetch"},
                "huddlebot": actions.huddle_action("answer_concern", 1),
            }
        },
        user=OUTSIDER,
        channel=WEST,
    )
    bases["dialog composeExtension/fetchTask"] = h.invoke(
        "composeExtension/fetchTask",
        {"commandId": "raiseConcern", "context": {}},
        user=OUTSIDER,
        channel=WEST,
    )
    bases["dialog fetch follow-up"] = _personal_invoke(
        h, "composeExtension/fetchTask", {"commandId": "followUpConcern"}
    )
    impossible = {
        "huddlebot_form": "concern",
        "text": f"MRN 12345678 fell out of bed {CANARY}",
        "unit": "no-such-unit",
        "severity": "catastrophic",
        "category": "cheap",
        "concern_type": "gossip",
        "anonymity": "named",
        "run": 999,
    }
    bases["dialog submitAction concern"] = _personal_invoke(
        h, "composeExtension/submitAction", {"commandId": "raiseConcern", "data": impossible}
    )
    bases["dialog task/submit concern"] = _personal_invoke(h, "task/submit", {"data": impossible})
    wrong_code = {"huddlebot_form": "follow_up", "code": "C-1001-AAAA-BBBB-CCCC-DDDD", "text": f"hi {CANARY}"}
    bases["dialog task/submit follow-up"] = _personal_invoke(h, "task/submit", {"data": wrong_code})
    # A round logged by someone who leads no unit: refused, nothing stored.
    bases["dialog fetch round"] = _personal_invoke(
        h,
        "task/fetch",
        {"data": {"msteams": {"type": "task/fetch"}, "huddlebot_form": "round", "unit": "4west"}},
    )
    round_data = {
        "huddlebot_form": "round",
        "unit": "4west",
        "staff": "6",
        "patients": 3,
        "families": "",
        "wins": f"@jo: caught a wrong label {CANARY}",
        "raise_issues": f"Call bells are slow {CANARY}",
        "track_issues": f"Second bladder scanner {CANARY}",
        "barriers": f"Lift slings {CANARY}",
    }
    bases["dialog task/submit round"] = _personal_invoke(h, "task/submit", {"data": round_data})
    bases["dialog submitAction follow-up"] = _personal_invoke(
        h, "composeExtension/submitAction", {"commandId": "followUpConcern", "data": {"code": "nope"}}
    )

    # Typed commands that change nothing, in each kind of conversation.
    bases["command help"] = h.personal_message("help", user=OUTSIDER)
    bases["command mine"] = h.personal_message("mine", user=OUTSIDER)
    bases["command round"] = h.personal_message("round 4west", user=OUTSIDER)
    bases["command reopen (not the reporter)"] = h.personal_message(
        f"reopen {reference} still broken {CANARY}", user=OUTSIDER
    )
    bases["command show (not a leader)"] = h.channel_message(f"show {reference}", user=OUTSIDER, channel=WEST)
    group = h.channel_message("huddle status --unit 4west", user=OUTSIDER, channel=GROUP_CHAT)
    group["conversation"] = {"conversationType": "groupChat", "id": GROUP_CHAT, "tenantId": TENANT}
    for key in ("channel", "team", "teamsChannelId", "teamsTeamId"):
        group["channelData"].pop(key, None)
    bases["command huddle status --unit (group chat)"] = group
    bases["thread reply (not a leader)"] = h.channel_message(
        f"we should look at this {CANARY}",
        user=OUTSIDER,
        channel=LEADERS,
        mention=False,
        thread_root=card.message_ref,
    )
    for name, activity in bases.items():
        if name.startswith(("command", "thread", "card Action.Submit")):
            _named(activity, OUTSIDER)

    conversations = sorted({a["conversation"]["id"] for a in bases.values()})
    pools = Pools(
        {
            "from.id": [OUTSIDER, OUTSIDER_TWO],
            "conversation.id": conversations,
            "serviceUrl": [h.fake.service_url("https://smba.trafficmanager.net/amer/")],
        }
    )
    # Each once, valid: Teams knows where they come from, the dedupe rows and references exist.
    for name, activity in bases.items():
        status, _ = await h.post(activity)
        assert status == 200, name
    await h.deliver()
    assert await counts(h) == await row_counts(h)
    return bases, pools


# --- one example ----------------------------------------------------------------------------------------

_COUNTS = sa.text(
    " UNION ALL ".join(
        f"SELECT '{table.name}' AS name, COUNT(*) AS n FROM {table.name}" for table in metadata.sorted_tables
    )
)


async def counts(h: TeamsHarness) -> dict[str, int]:
    """``tests.sql.row_counts`` (every table's row count) in one statement: it runs twice an example."""
    async with h.core.uow.engine.connect() as conn:  # type: ignore[attr-defined]
        return {name: n for name, n in (await conn.execute(_COUNTS)).all()}


async def _post_one(h: TeamsHarness, activity: dict[str, Any], records: Records) -> None:
    h.fake.clear()
    records.records.clear()
    before = await counts(h)
    response = await h.client.post(
        "/api/messages", data=encode(activity), headers={"Content-Type": "application/json"}
    )
    raw = await response.read()
    after = await counts(h)
    logged = records.records

    assert response.status in (200, 400, 413), response.status
    assert [r.getMessage()[:200] for r in logged if r.levelno >= logging.ERROR or r.exc_info] == []
    assert [r.name for r in logged if CANARY in r.getMessage()] == []
    if response.status >= 400:
        assert after == before
        refusals = [r.getMessage() for r in logged if r.name == "huddlebot.teams.http"]
        assert len(refusals) == 1 and refusals[0].startswith("refused a Teams "), refusals
        body = json.loads(raw)
        if refusals[0].startswith("refused a Teams invoke"):
            assert body["statusCode"] == response.status
            assert body["type"] == "application/vnd.microsoft.error"
        else:
            assert "error" in body
    else:
        changed = {table for table in before if before[table] != after[table]}
        assert changed <= DEDUPE_TABLES, changed


def _run(db_url: str, config: OrgConfig, records: Records, names: list[str] | None, examples: int) -> None:
    """One harness, one hypothesis run over the activities named (prefixes), each example mutated."""
    loop = asyncio.new_event_loop()
    try:
        h = loop.run_until_complete(make_teams_harness(db_url, config))
        try:
            bases, pools = loop.run_until_complete(_world(h))
            chosen = sorted(n for n in bases if names is None or n.startswith(tuple(names)))
            assert chosen
            posted = [0]

            @_settings(examples)
            @given(st.data())
            def example(data: st.DataObject) -> None:
                name = data.draw(st.sampled_from(chosen), label="activity")
                activity, _ = data.draw(mutate(bases[name], pools), label="mutated")
                loop.run_until_complete(_post_one(h, activity, records))
                posted[0] += 1

            example()
            assert posted[0] >= examples  # hypothesis ran every example asked for
        finally:
            loop.run_until_complete(close_harness(h))
    finally:
        loop.close()


# --- the properties -------------------------------------------------------------------------------------


def test_recorded_payloads_mutated(db_url: str, example_config: OrgConfig, records: Records) -> None:
    _run(db_url, example_config, records, ["recorded"], 700)


def test_card_actions_mutated(db_url: str, example_config: OrgConfig, records: Records) -> None:
    _run(db_url, example_config, records, ["card"], 500)


def test_dialogs_mutated(db_url: str, example_config: OrgConfig, records: Records) -> None:
    _run(db_url, example_config, records, ["dialog"], 450)


def test_commands_and_thread_replies_mutated(
    db_url: str, example_config: OrgConfig, records: Records
) -> None:
    _run(db_url, example_config, records, ["command", "thread"], 400)


def test_every_activity_mutated_is_valid_and_harmless_as_it_is(
    db_url: str, example_config: OrgConfig, records: Records
) -> None:
    """The starting points: each accepted (200) and, posted again, changing no row but dedupe rows."""
    loop = asyncio.new_event_loop()
    try:
        h = loop.run_until_complete(make_teams_harness(db_url, example_config))
        try:
            bases, _ = loop.run_until_complete(_world(h))
            assert len(bases) >= 25
            for activity in bases.values():
                loop.run_until_complete(_post_one(h, activity, records))
        finally:
            loop.run_until_complete(close_harness(h))
    finally:
        loop.close()
