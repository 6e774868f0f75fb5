"""manifest/slack/manifest.yaml is a valid Slack app manifest, and it asks for exactly what the app serves."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.endpoint import PATH
from adapters.slack.listeners import SlackListeners
from adapters.slack.translate import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifest" / "slack" / "manifest.yaml"
SCHEMAS = ROOT / "tests" / "fixtures" / "real" / "schemas"  # copied from ../shared/fixtures/real
REMOTE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def _validator() -> jsonschema.Draft7Validator:
    load = lambda name: json.loads((SCHEMAS / name).read_text(encoding="utf-8"))  # noqa: E731
    registry = Registry().with_resources(
        (REMOTE + name, Resource.from_contents(load(f"slack-{name}"), default_specification=DRAFT7))
        for name in ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json")
    )
    return jsonschema.Draft7Validator(load("slack-manifest.schema.json"), registry=registry)


def test_the_manifest_is_valid_against_slacks_schema(manifest: dict[str, Any]) -> None:
    errors = sorted(_validator().iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_is_real(manifest: dict[str, Any]) -> None:
    broken = {**manifest, "features": {**manifest["features"], "slash_commands": [{"command": "concern"}]}}
    assert list(_validator().iter_errors(broken))


def test_its_commands_are_exactly_those_the_app_serves(manifest: dict[str, Any]) -> None:
    declared = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert sorted(declared) == sorted(COMMANDS)
    assert sorted(_served_commands([*declared, "/unknown"])) == sorted(declared)
    assert all(c["should_escape"] for c in manifest["features"]["slash_commands"])  # mentions arrive as <@U…>


def test_events_scopes_and_urls(manifest: dict[str, Any]) -> None:
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"message.channels", "message.groups", "message.im", "app_home_opened", "app_mention"}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "im:history",
        "chat:write",
        "commands",
    }
    urls = [
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
    ]
    urls += [c["url"] for c in manifest["features"]["slash_commands"]]
    assert all(url.endswith(PATH) for url in urls)
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    home = manifest["features"]["app_home"]
    assert (
        home["home_tab_enabled"]
        and home["messages_tab_enabled"]
        and not home["messages_tab_read_only_enabled"]
    )


def _served_commands(candidates: list[str]) -> list[str]:
    """The slash commands among ``candidates`` that a listener of the real Bolt app matches."""
    bolt = AsyncApp(
        name="slack_bolt.test", client=AsyncWebClient(token="xoxb-test"), request_verification_enabled=False
    )
    SlackListeners(core=None, client=bolt.client, tenant="T0").register(bolt)  # type: ignore[arg-type]

    async def matches(name: str) -> bool:
        request = AsyncBoltRequest(
            body=urlencode({"command": name, "text": "", "team_id": "T0", "user_id": "U0"})
        )
        return any(
            [
                await listener.async_matches(req=request, resp=BoltResponse(status=200))
                for listener in bolt._async_listeners
            ]
        )

    async def served() -> list[str]:
        return [name for name in candidates if await matches(name)]

    return asyncio.run(served())
