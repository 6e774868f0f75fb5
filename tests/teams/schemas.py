"""Validation against the published schemas (Adaptive Card 1.5, Teams manifest 1.29)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from tests.teams.conftest import SCHEMAS


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    if "Teams" not in name:  # the Teams schema has ECMAScript-only patterns (\\p{L}) in parts we never use
        cls.check_schema(schema)
    return cls(schema)


def card_errors(card: dict[str, Any]) -> list[str]:
    """Why ``card`` is not a valid Adaptive Card 1.5 (empty if it is)."""
    return [
        f"{list(e.absolute_path)}: {e.message[:200]}"
        for e in _validator("adaptive-card.1.5.0.schema.json").iter_errors(card)
    ]


def manifest_errors(manifest: dict[str, Any]) -> list[str]:
    """Why ``manifest`` is not a valid Teams manifest 1.29 (empty if it is)."""
    return [
        f"{list(e.absolute_path)}: {e.message[:200]}"
        for e in _validator("MicrosoftTeams.schema.v1.29.json").iter_errors(manifest)
    ]


def cards_in(node: Any) -> list[dict[str, Any]]:
    """Every Adaptive Card inside an activity, an invoke response or a dialog response."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("contentType") == "application/vnd.microsoft.card.adaptive" and isinstance(
            node.get("content"), dict
        ):
            found.append(node["content"])
        elif node.get("type") == "application/vnd.microsoft.card.adaptive" and isinstance(
            node.get("value"), dict
        ):
            found.append(node["value"])
        else:
            for value in node.values():
                found.extend(cards_in(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(cards_in(item))
    return found
