"""Button values. Built and parsed here only: they hold ids and a version, never state.

Old messages stay in channels for years, so every shape ever written must keep parsing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.errors import Refusal

VERSION = 1

CONCERN_ACTIONS = ("acknowledge", "reply", "in_progress", "resolve", "not_possible")
HUDDLE_ACTIONS = ("answer_clear", "answer_concern", "answer_goodcatch")


@dataclass(frozen=True, slots=True)
class ActionValue:
    """What a pressed button asks for."""

    action: str
    concern_id: int | None = None
    run_id: int | None = None


def concern_action(action: str, concern_id: int) -> str:
    """The value of a button that acts on a concern."""
    assert action in CONCERN_ACTIONS
    return json.dumps({"v": VERSION, "a": action, "concern": concern_id}, separators=(",", ":"))


def huddle_action(action: str, run_id: int) -> str:
    """The value of a button that answers a huddle prompt."""
    assert action in HUDDLE_ACTIONS
    return json.dumps({"v": VERSION, "a": action, "run": run_id}, separators=(",", ":"))


def parse_action(value: str) -> ActionValue:
    """Read a button value of any version; a value we cannot read is a Refusal, never a crash."""
    try:
        data = json.loads(value) if len(value) <= _MAX_VALUE else None
        version = data.get("v")  # type: ignore[union-attr]
        action = data["a"]  # type: ignore[index]
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        raise Refusal(
            "That button is out of date. Please use the latest message.", code="bad_action"
        ) from None
    if version != VERSION or not isinstance(action, str):
        raise Refusal("That button is out of date. Please use the latest message.", code="bad_action")
    if action in CONCERN_ACTIONS and _an_id(data.get("concern")):
        return ActionValue(action=action, concern_id=data["concern"])
    if action in HUDDLE_ACTIONS and _an_id(data.get("run")):
        return ActionValue(action=action, run_id=data["run"])
    raise Refusal("That button is out of date. Please use the latest message.", code="bad_action")


_MAX_VALUE = 2000  # Slack's own limit on a button's value


def _an_id(value: object) -> bool:
    """A database id: an int (not a bool) from 1 to 2^63 - 1. A forged 10^30 must not reach the database."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
