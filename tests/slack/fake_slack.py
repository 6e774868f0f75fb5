"""A fake Slack Web API on 127.0.0.1 (a random port): records every call, answers like Slack, and refuses
what Slack refuses (unknown methods, a missing or wrong token, more than 50 blocks, a section over 3000
characters, malformed blocks, unknown channels). Failures can be injected: a 429 with Retry-After, a 5xx,
or an error code for one channel."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"  # Socket Mode's app-level token: only for apps.connections.open
TEAM = "T0HUDDLE1"
BOT_USER = "U0BOT0001"

_TEXT_TYPES = {"plain_text", "mrkdwn"}
_BLOCK_TYPES = {"section", "context", "actions", "divider", "header", "input", "image", "rich_text"}


class Invalid(Exception):
    """What Slack would say about a malformed request."""


@dataclass
class Call:
    method: str
    args: dict[str, Any]


@dataclass
class Message:
    channel: str
    ts: str
    args: dict[str, Any]
    thread_ts: str | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return (self.updates[-1] if self.updates else self.args).get("blocks") or []

    @property
    def text(self) -> str:
        """Every text in the message's current blocks, joined (what a person would read)."""
        return "\n".join(_texts(self.blocks))


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        for key, value in node.items():
            if key != "text" or not isinstance(value, str):
                found += _texts(value)
        return found
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


def _check_text(obj: Any, where: str, limit: int, kinds: set[str] = _TEXT_TYPES) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in kinds or not isinstance(obj.get("text"), str):
        raise Invalid(f"{where}: must be a text object of type {sorted(kinds)}")
    if not obj["text"]:
        raise Invalid(f"{where}: text must not be empty")
    if len(obj["text"]) > limit:
        raise Invalid(f"{where}: must be at most {limit} characters")


def check_blocks(blocks: Any, *, limit: int, surface: str) -> None:
    """Slack's Block Kit rules that huddlebot could break."""
    if not isinstance(blocks, list):
        raise Invalid("blocks must be an array")
    if len(blocks) > limit:
        raise Invalid(f"no more than {limit} items allowed [json-pointer:/blocks]")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in _BLOCK_TYPES:
            raise Invalid(f"{where}: unknown block type {kind!r}")
        if kind == "input" and surface == "message":
            raise Invalid(f"{where}: input blocks are for modals and the Home tab")
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen or len(block_id) > 255:
                raise Invalid(f"{where}: duplicate or long block_id")
            seen.add(block_id)
        if kind == "section":
            if "text" not in block and "fields" not in block:
                raise Invalid(f"{where}: a section needs text or fields")
            if "text" in block:
                _check_text(block["text"], where + "/text", 3000)
            fields = block.get("fields") or []
            if len(fields) > 10:
                raise Invalid(f"{where}/fields: at most 10")
            for j, f in enumerate(fields):
                _check_text(f, f"{where}/fields/{j}", 2000)
        elif kind == "header":
            _check_text(block.get("text"), where + "/text", 150, {"plain_text"})
        elif kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 10:
                raise Invalid(f"{where}/elements: 1 to 10")
            for j, e in enumerate(elements):
                _check_text(e, f"{where}/elements/{j}", 3000)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 25:
                raise Invalid(f"{where}/elements: 1 to 25")
            ids = [e.get("action_id") for e in elements]
            if len(set(ids)) != len(ids):
                raise Invalid(f"{where}: duplicate action_id")
            for j, e in enumerate(elements):
                if e.get("type") != "button":
                    raise Invalid(f"{where}/elements/{j}: only buttons here")
                _check_text(e.get("text"), f"{where}/elements/{j}/text", 75, {"plain_text"})
                if len(e.get("value") or "") > 2000 or len(e.get("action_id") or "") > 255:
                    raise Invalid(f"{where}/elements/{j}: value or action_id too long")
                if e.get("style") not in (None, "primary", "danger"):
                    raise Invalid(f"{where}/elements/{j}: bad style")
        elif kind == "input":
            _check_text(block.get("label"), where + "/label", 2000, {"plain_text"})
            element = block.get("element") or {}
            if element.get("type") not in {
                "plain_text_input",
                "static_select",
                "radio_buttons",
                "checkboxes",
                "users_select",
            }:
                raise Invalid(f"{where}/element: unsupported element")
            if element.get("type") == "plain_text_input":
                initial = element.get("initial_value") or ""
                if len(initial) > (element.get("max_length") or 3000):
                    raise Invalid(f"{where}/element: initial_value longer than max_length")
            for j, option in enumerate(element.get("options") or []):
                _check_text(option.get("text"), f"{where}/element/options/{j}", 75)
            if len(element.get("options") or []) > 100:
                raise Invalid(f"{where}/element/options: at most 100")


def check_view(view: Any) -> None:
    """A modal or Home tab as Slack checks it."""
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        raise Invalid("view.type must be modal or home")
    if view["type"] == "modal":
        _check_text(view.get("title"), "/title", 24, {"plain_text"})
        for key in ("submit", "close"):
            if key in view:
                _check_text(view[key], f"/{key}", 24, {"plain_text"})
        if any(b.get("type") == "input" for b in view.get("blocks") or []) and "submit" not in view:
            raise Invalid("a modal with inputs needs a submit button")
    if len(view.get("private_metadata") or "") > 3000:
        raise Invalid("private_metadata must be at most 3000 characters")
    check_blocks(view.get("blocks"), limit=100, surface=view["type"])


class FakeSlack:
    """The fake Web API and what it saw."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, list[Message]] = defaultdict(list)
        self.ephemeral: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.published: dict[str, dict[str, Any]] = {}
        self.channel_errors: dict[str, str] = {}
        self.rate_limited: dict[str, int] = {}  # channel → Retry-After of its next chat.postMessage (once)
        self._inject: dict[str, list[tuple[int, dict[str, str], dict[str, Any]]]] = defaultdict(list)
        self._ts = 1_764_000_000_000_000
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.connected = asyncio.Event()

    # --- running ------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/{method}", self._dispatch)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/api/"
        return self.url

    async def stop(self) -> None:
        for socket in list(self.sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- injecting ----------------------------------------------------------------------------

    def fail_next(self, method: str, status: int, *, retry_after: int | None = None, times: int = 1) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = (
            {"ok": False, "error": "ratelimited"} if status == 429 else {"ok": False, "error": "fatal_error"}
        )
        self._inject[method] += [(status, headers, body)] * times

    # --- Socket Mode -------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        self.connected.set()
        async for message in socket:
            if message.type.name == "TEXT":
                await self.socket_replies.put(json.loads(message.data))
        self.sockets.remove(socket)
        return socket

    async def push(self, envelope_type: str, payload: dict[str, Any], envelope_id: str) -> dict[str, Any]:
        """Send an envelope to the connected app, as Slack does in Socket Mode, and wait for its ack."""
        await asyncio.wait_for(self.connected.wait(), 5)
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": envelope_type,
                "payload": payload,
                "accepts_response_payload": True,
            }
        )
        while True:
            reply = await asyncio.wait_for(self.socket_replies.get(), 5)
            if reply.get("envelope_id") == envelope_id:
                return reply

    # --- reading ------------------------------------------------------------------------------

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def channel(self, channel: str) -> list[Message]:
        return self.messages.get(channel, [])

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [m for m in self.messages.get(channel, []) if m.thread_ts == ts]

    def top(self, channel: str) -> list[Message]:
        return [m for m in self.messages.get(channel, []) if m.thread_ts is None]

    def dm_channel(self, user: str) -> str:
        return "D" + user[1:]

    # --- serving ------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._ts += 100
        return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            args = await request.json()
        else:
            form = await request.post()
            args = {k: v for k, v in form.items() if isinstance(v, str)}
            for key in ("blocks", "view"):
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
        self.calls.append(Call(method, args))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return web.json_response({"ok": False, "error": "not_allowed_token_type"})
            return web.json_response(
                {"ok": True, "url": self.url.replace("http://", "ws://").replace("/api/", "/link")}
            )
        if token != TOKEN:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self._inject.get(method):
            status, headers, body = self._inject[method].pop(0)
            return web.json_response(body, status=status, headers=headers)
        channel = args.get("channel")
        if method == "chat.postMessage" and channel in self.rate_limited:
            retry_after = self.rate_limited.pop(channel)
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error": "unknown_method", "req_method": method}, status=404
            )
        try:
            return web.json_response({"ok": True, **handler(args)})
        except Invalid as problem:
            error = "invalid_blocks" if method.startswith("chat.") else "invalid_arguments"
            return web.json_response(
                {"ok": False, "error": error, "response_metadata": {"messages": [f"[ERROR] {problem}"]}}
            )
        except _SlackError as error:
            return web.json_response({"ok": False, "error": str(error)})

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"team_id": TEAM, "team": "Example Health", "user_id": BOT_USER, "bot_id": "B0BOT0001"}

    def _target(self, channel: str | None) -> str:
        if not channel:
            raise _SlackError("channel_not_found")
        if channel in self.channel_errors:
            raise _SlackError(self.channel_errors[channel])
        return self.dm_channel(channel) if channel[0] in "UW" else channel

    def _message_args(self, args: dict[str, Any]) -> None:
        if not args.get("text") and not args.get("blocks"):
            raise _SlackError("no_text")
        if "blocks" in args:
            check_blocks(args["blocks"], limit=50, surface="message")

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._target(args.get("channel"))
        self._message_args(args)
        ts = self._next_ts()
        self.messages[channel].append(Message(channel, ts, args, thread_ts=args.get("thread_ts")))
        return {"channel": channel, "ts": ts, "message": {"ts": ts}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._target(args.get("channel"))
        self._message_args(args)
        for message in self.messages.get(channel, []):
            if message.ts == args.get("ts"):
                message.updates.append(args)
                return {"channel": channel, "ts": message.ts}
        raise _SlackError("message_not_found")

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self._target(args.get("channel"))
        self._message_args(args)
        if not args.get("user"):
            raise _SlackError("user_not_found")
        self.ephemeral.append(args)
        return {"message_ts": self._next_ts()}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            raise _SlackError("invalid_trigger_id")
        check_view(args.get("view"))
        self.views.append(args["view"])
        return {"view": {"id": f"V{len(self.views):08d}", **args["view"]}}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        check_view(args.get("view"))
        return {"view": args["view"]}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("user_id"):
            raise _SlackError("invalid_arguments")
        check_view(args.get("view"))
        self.published[args["user_id"]] = args["view"]
        return {"view": args["view"]}


class _SlackError(Exception):
    pass
