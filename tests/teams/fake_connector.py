"""A fake Bot Connector on 127.0.0.1: the Bot Framework REST API as Teams serves it, in memory.

It records every call (the Activity JSON the bot sent), answers like the real service (activity ids
that look like Teams' millisecond ids, ``;messageid=`` threads, 1:1 conversations created on demand),
can fail chosen calls (429 with Retry-After, 403 BotNotInConversationRoster, ...), and serves an
OpenID metadata document and a JWKS for the authentication tests.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Call:
    """One request the bot made."""

    method: str
    op: str  # send | reply | update | create_conversation | team_channels
    service_path: str  # the path before /v3/ (the serviceUrl's own path)
    conversation: str | None
    activity_id: str | None
    body: dict[str, Any] | None
    authorization: str | None

    @property
    def base_conversation(self) -> str | None:
        return self.conversation.split(";messageid=")[0] if self.conversation else None

    @property
    def thread(self) -> str | None:
        if self.conversation and ";messageid=" in self.conversation:
            return self.conversation.split(";messageid=")[1]
        return None

    @property
    def card(self) -> dict[str, Any] | None:
        attachments = (self.body or {}).get("attachments") or []
        return attachments[0]["content"] if attachments else None

    @property
    def text(self) -> str:
        """Every TextBlock and fact of the card, joined: what a person reads."""
        return "\n".join(_texts(self.card)) if self.card else ""


def _texts(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            out.append(node.get("text", ""))
        if node.get("type") == "FactSet":
            out.extend(f"{f['title']}: {f['value']}" for f in node.get("facts", []))
        for key, value in node.items():
            if key != "facts":
                out.extend(_texts(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(_texts(item))
    return out


@dataclass
class Failure:
    """Answer the next ``times`` calls matching ``op`` (and ``conversation`` prefix) with an error."""

    op: str
    status: int
    code: str | None = None
    retry_after: str | None = None
    conversation: str | None = None
    times: int = 1


@dataclass
class FakeConnector:
    """The fake service; ``start()`` it, then use ``url`` as the serviceUrl host."""

    calls: list[Call] = field(default_factory=list)
    history: list[Call] = field(default_factory=list)  # every call, never cleared
    failures: list[Failure] = field(default_factory=list)
    team_channels: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    jwks: dict[str, Any] = field(default_factory=lambda: {"keys": []})
    issuer: str = "https://api.botframework.com"
    metadata_fetches: int = 0
    server: TestServer | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1771290200000))

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/openid/{name}", self._openid)
        app.router.add_get("/keys", self._keys)
        app.router.add_route("*", "/{tail:.*}", self._api)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def metadata_url(self, name: str = "channel") -> str:
        return f"{self.url}/openid/{name}"

    def service_url(self, original: str) -> str:
        """``original`` (a fixture's serviceUrl) moved onto this server, its path kept."""
        path = original.split("://", 1)[-1].split("/", 1)[-1] if "://" in original else ""
        return f"{self.url}/{path}"

    def fail(self, op: str, status: int, code: str | None = None, **kwargs: Any) -> None:
        self.failures.append(Failure(op=op, status=status, code=code, **kwargs))

    # --- views on what was sent --------------------------------------------------------------------

    def sent(self, op: str | None = None, conversation: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if (op is None or c.op == op) and (conversation is None or c.base_conversation == conversation)
        ]

    def posts_to(self, conversation: str) -> list[Call]:
        return [c for c in self.calls if c.op in ("send", "reply") and c.base_conversation == conversation]

    def clear(self) -> None:
        self.calls.clear()

    # --- handlers ----------------------------------------------------------------------------------

    async def _openid(self, request: web.Request) -> web.Response:
        self.metadata_fetches += 1
        return web.json_response({"issuer": self.issuer, "jwks_uri": f"{self.url}/keys"})

    async def _keys(self, request: web.Request) -> web.Response:
        return web.json_response(self.jwks)

    async def _api(self, request: web.Request) -> web.Response:
        raw = request.raw_path.split("?")[0]
        if "/v3/" not in raw:
            return web.json_response({"error": {"code": "NotFound", "message": "no such path"}}, status=404)
        prefix, rest = raw.split("/v3/", 1)
        parts = [unquote(p) for p in rest.split("/")]
        body = await request.json() if request.can_read_body else None
        method = request.method
        if parts[0] == "teams" and len(parts) == 3 and method == "GET":
            call = Call(
                method, "team_channels", prefix, None, None, None, request.headers.get("Authorization")
            )
            conversation = parts[1]
        elif parts == ["conversations"] and method == "POST":
            call = Call(
                method, "create_conversation", prefix, None, None, body, request.headers.get("Authorization")
            )
            conversation = None
        elif (
            len(parts) == 3 and parts[0] == "conversations" and parts[2] == "activities" and method == "POST"
        ):
            call = Call(method, "send", prefix, parts[1], None, body, request.headers.get("Authorization"))
            conversation = parts[1]
        elif len(parts) == 4 and parts[0] == "conversations" and parts[2] == "activities":
            op = "update" if method == "PUT" else "reply"
            call = Call(method, op, prefix, parts[1], parts[3], body, request.headers.get("Authorization"))
            conversation = parts[1]
        else:
            return web.json_response({"error": {"code": "BadSyntax", "message": "unknown call"}}, status=400)
        self.calls.append(call)
        self.history.append(call)
        for failure in self.failures:
            if (
                failure.times > 0
                and failure.op == call.op
                and (failure.conversation is None or (conversation or "").startswith(failure.conversation))
            ):
                failure.times -= 1
                headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
                return web.json_response(
                    {"error": {"code": failure.code or "Failure", "message": "fake failure"}},
                    status=failure.status,
                    headers=headers,
                )
        if call.op == "team_channels":
            return web.json_response({"conversations": self.team_channels.get(conversation or "", [])})
        if call.op == "create_conversation":
            member = ((body or {}).get("members") or [{}])[0].get("id", "someone")
            return web.json_response({"id": f"a:1personal-{member}"})
        if call.op == "update":
            return web.json_response({"id": call.activity_id})
        return web.json_response({"id": str(next(self._ids))})


def load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
