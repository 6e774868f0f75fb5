"""Hypothesis strategies that break a Teams activity the ways an attacker, a buggy client or a proxy
would: drop a field, change its type, nest it deeply, make it huge or empty, add one we never read,
swap an id for one nobody knows, and forge huddlebot's own button values.

An activity is mutated as a tree of paths (``("value", "action", "data", "huddlebot")``). Nesting
deeper than Python's own recursion limit cannot be written by ``json.dumps``, so a mutation leaves a
placeholder that ``encode`` turns into the nesting in the JSON text itself.

Some paths take their values from a pool (``POOLS``) instead of anything at all, so that a mutated
activity that is still valid does only what such an activity may do (see the test module).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from bot import actions

CANARY = "CANARY-7f3a"  # in every value a mutation writes: it must never reach a log line
Path = tuple[str | int, ...]

_DEEP = re.compile(r'"\\u0000deep:(list|dict):(\d+)\\u0000"')


def deep(kind: str, levels: int) -> str:
    """A placeholder for ``levels`` of nesting (``encode`` writes them)."""
    return f"\x00deep:{kind}:{levels}\x00"


def encode(activity: dict[str, Any]) -> bytes:
    """The activity as the JSON Teams would send, with every ``deep`` placeholder written out."""

    def nesting(match: re.Match[str]) -> str:
        kind, levels = match.group(1), int(match.group(2))
        if kind == "list":
            return "[" * levels + "]" * levels
        return '{"a":' * levels + "null" + "}" * levels

    return _DEEP.sub(nesting, json.dumps(activity, ensure_ascii=False)).encode()


# --- paths ---------------------------------------------------------------------------------------------


def paths(node: Any, prefix: Path = ()) -> list[Path]:
    """Every path under ``node`` (not ``node`` itself), parents before children."""
    out: list[Path] = []
    items: Any = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        path = (*prefix, key)
        out.append(path)
        out.extend(paths(child, path))
    return out


def _parent(root: Any, path: Path) -> Any:
    node = root
    for part in path[:-1]:
        node = node[part]
    return node


def drop(root: Any, path: Path) -> None:
    parent = _parent(root, path)
    del parent[path[-1]]


def put(root: Any, path: Path, value: Any) -> None:
    _parent(root, path)[path[-1]] = value


def key_of(path: Path) -> str:
    """The last name in a path (``("from", "id")`` → ``"from.id"``; list positions left out)."""
    names = [p for p in path if isinstance(p, str)]
    return ".".join(names[-2:])


# --- values --------------------------------------------------------------------------------------------

SCALARS = st.sampled_from(
    [None, True, False, 0, -1, 1, 2**31, 2**63, 10**30, -(10**30), 1.5, float("inf"), "", " ", "\u0000"]
)
SHAPES = st.sampled_from([[], {}, [None], [[]], {"id": None}, {"id": 5}, {"type": 7}, [{"id": ""}]])
TEXT = st.text(max_size=40).map(lambda t: f"⚠{t}{CANARY}")  # never starts like a command
HUGE = st.integers(min_value=20_000, max_value=300_000).map(lambda n: CANARY + "x" * n)
NESTED = st.builds(deep, st.sampled_from(["list", "dict"]), st.integers(min_value=2, max_value=150_000))


def _action(action: str, **ids: Any) -> str:
    return json.dumps({"v": 1, "a": action, **ids}, separators=(",", ":"))


# Forged button values: unknown or impossible ids, old and future versions, junk, JSON nested in a string.
ACTION_VALUES = st.one_of(
    st.builds(
        _action,
        st.sampled_from(actions.CONCERN_ACTIONS),
        concern=st.sampled_from([0, -1, 999_999, 10**12, 10**30, True, "1", None, 1.5]),
    ),
    st.builds(
        _action,
        st.sampled_from(actions.HUDDLE_ACTIONS),
        run=st.sampled_from([0, -1, 999_999, 10**12, 10**30, False, "1", None]),
    ),
    st.sampled_from(
        [
            json.dumps({"v": 2, "a": "acknowledge", "concern": 1}),
            json.dumps({"v": 1, "a": "delete_everything", "concern": 1}),
            json.dumps({"a": "acknowledge"}),
            "[" * 100 + "]" * 100,
            "[" * 2_000 + "]" * 2_000,
            "{",
            "null",
            "",
            CANARY,
        ]
    ),
)
UNKNOWN_IDS = st.sampled_from(
    [
        "29:nobody-knows-" + CANARY,
        "19:no-such-channel@thread.tacv2",
        "a:no-such-chat",
        "f:00000000-0000-0000-0000-000000000000",
        "1771290107999",
        "C-999999",
        "C-1001-AAAA-BBBB-CCCC-DDDD",
        "no-such-unit",
        "followUpConcern",
        "raiseConcern",
        "task/fetch",
        "0",
    ]
)

INVALID_IDS = st.sampled_from([None, 0, 10**30, True, "", " ", "\t", [], {}, ["29:x"], {"id": "29:x"}])
ANYTHING = st.one_of(SCALARS, SHAPES, TEXT, HUGE, NESTED, UNKNOWN_IDS)


@dataclass(frozen=True)
class Pools:
    """Where a value must come from a list (by ``key_of`` the path), to keep valid results harmless."""

    pools: dict[str, list[Any]]

    def values(self, path: Path) -> st.SearchStrategy[Any]:
        """What may be written at ``path``."""
        key = key_of(path)
        if key in self.pools:
            # The pool, or something that is not valid there at all.
            return st.one_of(st.sampled_from(self.pools[key]), INVALID_IDS, NESTED)
        if path and path[-1] == "huddlebot":
            return st.one_of(ACTION_VALUES, ANYTHING)
        return ANYTHING


@dataclass(frozen=True)
class Mutation:
    """One change to an activity (shown when hypothesis reports a failing example)."""

    how: str
    path: Path
    value: Any = None

    def apply(self, activity: dict[str, Any]) -> None:
        if self.how == "drop":
            drop(activity, self.path)
        else:
            put(activity, self.path, copy.deepcopy(self.value))  # sampled values are shared: never alter one

    def __repr__(self) -> str:  # a huge value would drown the report
        shown = repr(self.value)
        return f"{self.how} {'.'.join(map(str, self.path))} = {shown[:80]}{'…' if len(shown) > 80 else ''}"


ADDED_KEYS = ["extra", "value", "text", "entities", "replyToId", "channelData", "name", "data", "action"]


@st.composite
def mutate(draw: Callable[..., Any], activity: dict[str, Any], pools: Pools) -> tuple[dict, list]:
    """``activity`` with one to three mutations, and the mutations."""
    mutated = copy.deepcopy(activity)
    done: list[Mutation] = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = paths(mutated)[::-1]  # hypothesis leans to the first: start with the deepest, not ``type``
        if not where:
            break
        how = draw(st.sampled_from(["drop", "replace", "replace", "add"]))
        path = draw(st.sampled_from(where))
        if how == "drop":
            mutation = Mutation("drop", path)
        elif how == "add":
            holders = [p for p in [(), *where] if isinstance(_at(mutated, p), dict)]
            holder = draw(st.sampled_from(holders))
            added = (*holder, draw(st.sampled_from(ADDED_KEYS)))
            mutation = Mutation("add", added, draw(pools.values(added)))
        else:
            mutation = Mutation("replace", path, draw(pools.values(path)))
        mutation.apply(mutated)
        done.append(mutation)
    return mutated, done


def _at(root: Any, path: Path) -> Any:
    node = root
    for part in path:
        node = node[part]
    return node
