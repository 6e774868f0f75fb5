"""Bad input never breaks anything, as properties: every real payload kind (``seeds.py``), broken in every
way hypothesis can think of -- a field dropped, its type changed, nested deep, huge or empty, an unknown id,
a field that does not belong -- is sent signed through the real ``/slack/events`` of a real huddlebot.
Whatever it is: the status is under 500, nothing is logged at ERROR or with a traceback, no log line holds
a value of the payload, and no table gains or loses a row (Slack event ids excepted: ``DEDUPE_TABLES``).

One huddlebot per test function (on SQLite: its own file), its rows counted before and after every
example. Derandomized, so CI runs the same 2,000-odd examples each time.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.translate import _form_key
from bot.config import OrgConfig
from tests.conftest import SEAL_KEY, START
from tests.slack.harness import ALEX, DANA, JO, SlackHarness, make_slack
from tests.slack.seeds import (
    DEDUPE_TABLES,
    FRESH,
    Scene,
    Seed,
    all_counts,
    counts,
    encode,
    nested,
    send,
    stage,
    storing_seeds,
)
from tests.sql import rows

PG_SHARE = float(os.environ.get("HUDDLEBOT_PG_PROPERTY_SHARE", "0.25"))
UNKNOWN = "U0NOBODY9"  # unknown ids: nobody, nowhere, no such form or thread
MARKERS = ("Bed 12 alarm", UNKNOWN, "C0NOWHERE9", ALEX, DANA, JO)  # none may reach a log line


def _deep(depth: int) -> Any:
    node: Any = "Bed 12 alarm"
    for _ in range(depth):
        node = [node]
    return node


# What a field may become: every JSON type, the empty and the huge, ids nobody has, deep nesting.
VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    10**30,
    1.5,
    "",
    " ",
    "\u0000",
    "Bed 12 alarm",
    UNKNOWN,
    "C0NOWHERE9",
    "1767400000.999999",
    "Bed 12 alarm " * 4000,  # 52,000 characters
    "[" * 1000 + "]" * 1000,  # a button value nested 1,000 deep
    '{"v":1,"a":"answer_clear","run":1000000000000000000000000000000}',
    '{"v":1,"a":"acknowledge","concern":99999}',
    [],
    [None],
    ["Bed 12 alarm"],
    [1],
    {},
    {"id": UNKNOWN},
    {"value": {"Bed 12 alarm": 1}},
    _deep(40),
    nested(1200),
    nested(100_000),
]
# Fields that do not belong, some of which Bolt reads to decide what a payload is.
INTRUDERS = (
    "command",
    "type",
    "event",
    "user",
    "user_id",
    "channel",
    "view",
    "actions",
    "team",
    "authorizations",
    "response_urls",
    "function_execution_id",
    "bot_access_token",
    "Bed 12 alarm",
)
# A command's fields are strings (a form): what each may become.
FORM_VALUES = (
    "",
    " ",
    "\u0000",
    "Bed 12\u0000 alarm",
    "Bed 12 alarm",
    UNKNOWN,
    "Bed 12 alarm " * 4000,
    "/nosuchcommand",
    "payload",
)


def _paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON tree (the root included)."""
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*at, index))


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        data = data[step]
    return data


@dataclass(frozen=True)
class Case:
    seed: str
    how: str
    kind: str
    data: Any

    def __repr__(self) -> str:  # what hypothesis prints for a failing example: short
        return f"Case({self.seed!r}, {self.how})"


@st.composite
def broken(draw: st.DrawFn, seeds: list[Seed]) -> Case:
    """One seed with one thing wrong with it."""
    seed = draw(st.sampled_from(seeds))
    data = copy.deepcopy(seed.data)
    if seed.kind == "command":
        key = draw(st.sampled_from(sorted(data) + list(INTRUDERS)))
        if key in data and draw(st.booleans()):
            del data[key]
            return Case(seed.name, f"dropped {key}", seed.kind, data)
        data[key] = draw(st.sampled_from(FORM_VALUES))
        return Case(seed.name, f"{key} = {data[key][:20]!r}", seed.kind, data)
    path = draw(st.sampled_from(list(_paths(data))))
    operation = draw(st.sampled_from(["drop", "replace", "replace", "wrap", "add"]))
    where = ".".join(str(p) for p in path) or "(root)"
    if operation == "drop" and path:
        parent = _parent(data, path)
        del parent[path[-1]]
        return Case(seed.name, f"dropped {where}", seed.kind, data)
    if operation == "add":
        target = _parent(data, (*path, None))
        if isinstance(target, dict):
            key = draw(st.sampled_from(INTRUDERS))
            target[key] = draw(st.sampled_from(VALUES))
            return Case(seed.name, f"added {where}.{key}", seed.kind, data)
        if isinstance(target, list):
            target.append(draw(st.sampled_from(VALUES)))
            return Case(seed.name, f"appended to {where}", seed.kind, data)
    value = draw(st.sampled_from(VALUES))
    if operation == "wrap":
        value = [_parent(data, (*path, None))] if path else [data]
    if not path:
        return Case(seed.name, f"root = {type(value).__name__}", seed.kind, value)
    _parent(data, path)[path[-1]] = value
    return Case(seed.name, f"{where} = {type(value).__name__}", seed.kind, data)


@st.composite
def garbled(draw: st.DrawFn, seeds: list[Seed]) -> tuple[str, bytes, str]:
    """A seed's body itself broken: cut short, a byte changed, not UTF-8, or another content type."""
    seed = draw(st.sampled_from(seeds))
    body, content_type = encode(seed.kind, seed.data)
    how = draw(st.sampled_from(["cut", "byte", "latin-1", "content type", "empty"]))
    if how == "cut":
        body = body[: draw(st.integers(0, len(body) - 1))]
    elif how == "byte":
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([draw(st.sampled_from(b'{}[]"\\%&=\xff\x00'))]) + body[at + 1 :]
    elif how == "latin-1":
        body = body + b"\xe9\xff"
    elif how == "content type":
        content_type = draw(
            st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""])
        )
    else:
        body = b""
    return seed.name, body, content_type


# --- the huddlebot under test ---------------------------------------------------------------------


@dataclass
class Bench:
    runner: asyncio.Runner
    slack: SlackHarness
    scene: Scene
    before: dict[str, int]
    caplog: pytest.LogCaptureFixture
    share: float = 1.0  # of each property's examples, on this database

    def examples(self, n: int) -> int:
        return max(1, int(n * self.share))

    def send(self, kind: str, data: Any) -> tuple[int, Any]:
        return self.runner.run(send(self.slack, kind, data))

    def post(self, body: bytes, content_type: str) -> tuple[int, Any]:
        return self.runner.run(self.slack.post(body, content_type))

    def counts(self) -> dict[str, int]:
        return self.runner.run(counts(self.slack))

    def check(self, what: str, status: int, start: int, before: dict[str, int] | None = None) -> None:
        """The example's status, its log lines (from ``start``), and (given ``before``, the counts just
        before it: so that shrinking replays the example that changed something, not any later one)
        every table's rows."""
        assert status < 500, (what, status)
        records = self.caplog.records[start:]
        for record in records:
            assert record.levelno < logging.ERROR, (what, record.getMessage())
            assert not record.exc_info and not record.exc_text, (what, record.getMessage())
            text = record.getMessage()
            assert not any(marker in text for marker in MARKERS), (what, text)
        refusals = [
            r for r in records if r.getMessage().startswith(("slack: refused a payload", "slack: a payload"))
        ]
        assert len(refusals) <= 1, (what, [r.getMessage() for r in refusals])
        if before is not None:
            now = self.counts()
            changed = {k: (before[k], now[k]) for k in now if now[k] != before[k]}
            assert not changed, (what, changed)


@pytest.fixture
def bench(db_url: str, example_config: OrgConfig, caplog: pytest.LogCaptureFixture) -> Iterator[Bench]:
    """A huddlebot on SQLite, and on PostgreSQL when configured (there with a quarter of the examples:
    what only PostgreSQL refuses -- a name longer than its column, an id past BIGINT -- shows up early)."""
    caplog.set_level(logging.INFO)
    runner = asyncio.Runner()
    slack = runner.run(make_slack(db_url, example_config, start=START, seal_key=SEAL_KEY))
    try:
        scene = runner.run(stage(slack))
        share = 1.0 if db_url.startswith("sqlite") else PG_SHARE
        yield Bench(runner, slack, scene, runner.run(counts(slack)), caplog, share)
    finally:
        runner.run(slack.close())
        runner.close()


def _seeds(bench: Bench, kind: str) -> list[Seed]:
    return [s for s in bench.scene.seeds if s.kind == kind]


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# --- the properties -------------------------------------------------------------------------------


def test_every_seed_as_it_is_is_accepted_and_changes_nothing(bench: Bench) -> None:
    everything = bench.runner.run(all_counts(bench.slack))
    assert {k: v for k, v in everything.items() if k not in DEDUPE_TABLES} == bench.before
    for seed in bench.scene.seeds:
        start = len(bench.caplog.records)
        status, answer = bench.send(seed.kind, seed.data)
        assert status == 200, (seed.name, status, answer)
        bench.check(seed.name, status, start, bench.before)
        assert not [r for r in bench.caplog.records[start:] if "slack: refused" in r.getMessage()], seed.name


@pytest.mark.parametrize("kind", ["command", "interactive", "event"])
def test_a_broken_payload_never_breaks_anything(bench: Bench, kind: str) -> None:
    examples = {"command": 400, "interactive": 900, "event": 500}[kind]

    @_settings(bench.examples(examples))
    @given(case=broken(_seeds(bench, kind)))
    def property(case: Case) -> None:
        before, start = bench.counts(), len(bench.caplog.records)
        status, _ = bench.send(case.kind, case.data)
        bench.check(repr(case), status, start, before)

    property()


def test_what_a_form_stores_it_stores_for_the_person_the_payload_names(bench: Bench) -> None:
    """The wrong changes of issue 10: a form with no user, or an empty one, stored a named concern with no
    reporter. Broken forms that would store something: whenever a row appears, the payload named a person
    (a Slack user id), the form was answered as sent, and a named concern is theirs."""
    fresh = itertools.count()

    @_settings(bench.examples(300))
    @given(case=broken(storing_seeds(bench.scene)))
    def property(case: Case) -> None:
        data = case.data
        view = data.get("view") if isinstance(data, dict) else None
        if isinstance(view, dict) and view.get("id") == FRESH:
            view["id"] = f"{FRESH}{next(fresh)}"  # a new form each time, not a re-send of the last one
        before, start = bench.counts(), len(bench.caplog.records)
        status, answer = bench.send(case.kind, data)
        bench.check(repr(case), status, start)
        after = bench.counts()
        if after == before:
            return
        user = data.get("user")
        assert isinstance(user, dict) and re.fullmatch(r"[A-Z0-9]{2,32}", str(user.get("id"))), case
        assert status == 200 and answer["response_action"] == "update", (case, answer)
        if after["concerns"] > before["concerns"]:
            view_id = data["view"].get("id") or ""
            key = _form_key(bench.slack.platform.tenant, view_id) if view_id else None
            which = "WHERE idempotency_key = :key" if key else "ORDER BY created_at DESC, id DESC LIMIT 1"
            params = {"key": key} if key else {}
            [stored] = bench.runner.run(
                rows(bench.slack.app, f"SELECT anonymity, reporter_user_id FROM concerns {which}", **params)
            )
            expected = None if stored["anonymity"] == "anonymous" else user["id"]
            assert stored["reporter_user_id"] == expected, (case, stored)

    property()


def test_a_garbled_body_never_breaks_anything(bench: Bench) -> None:
    @_settings(bench.examples(250))
    @given(case=garbled(bench.scene.seeds))
    def property(case: tuple[str, bytes, str]) -> None:
        name, body, content_type = case
        before, start = bench.counts(), len(bench.caplog.records)
        status, _ = bench.post(body, content_type)
        bench.check(f"{name}: {body[:60]!r} as {content_type!r}", status, start, before)

    property()
