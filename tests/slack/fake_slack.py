"""A fake Slack Web API on 127.0.0.1 (a random port): records every call, answers like Slack, and refuses
what Slack refuses, by default, without a test asking:

- unknown methods, a missing or wrong token;
- a channel or person the workspace does not have (``channel_not_found``): the fake knows its channels
  and people (the harness declares the example organisation's), and a DM channel is one of a person's;
- an ephemeral message to someone who is not in the channel (``user_not_in_channel``), a reply to a
  thread whose parent is not a message of that channel (``thread_not_found``);
- blocks as Slack checks them (``invalid_blocks``): more than 50 (100 in a modal), a text over its limit
  (3000 for a section, 150 a header, 75 a button...), malformed ones; a message whose blocks hold more
  than 12,000 characters in all (``msg_blocks_too_long``), a ``text`` over 40,000 (``msg_too_long``).
  Every length is counted as Slack counts it: UTF-16 code units of the text as sent (escaped);
- a trigger id the fake did not issue, used twice, or older than 3 seconds (``expired_trigger_id``);
- ``views.update`` of an unknown view or with a stale ``hash`` (``not_found``, ``hash_conflict``).

Failures can be injected on every method: an HTTP status (a 429 with Retry-After, a 5xx), an error code
(``refuse_next``), an error code for one channel (``channel_errors``), and an answer that never comes
(``drop_next``): the call is carried out (a message is posted) and then the connection is closed, as when
a network drops Slack's answer, so a retry can make a double, and the test can count it.

A test that wants leniency asks for it by name: ``FakeSlack(lenient_channels=True)`` takes any channel
and person; ``FakeSlack(lenient_triggers=True)`` any trigger id it did not issue (a load generator in
another process makes its own), still once only.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"  # Socket Mode's app-level token: only for apps.connections.open
TEAM = "T0HUDDLE1"
BOT_USER = "U0BOT0001"

MESSAGE_BLOCKS = 50
SURFACE_BLOCKS = 100
MESSAGE_TEXT = 12_000  # all the text of a message's blocks (msg_blocks_too_long)
TEXT = 40_000  # a message's top-level text (msg_too_long)
TRIGGER_SECONDS = 3.0  # a trigger id lives this long after Slack issued it

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
    user: str | None = None  # a person's message (the bot cannot update it); None for the bot's

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return (self.updates[-1] if self.updates else self.args).get("blocks") or []

    @property
    def text(self) -> str:
        """Every text in the message's current blocks, joined (what a person would read)."""
        return "\n".join(_texts(self.blocks))


def utf16(text: str) -> int:
    """A length as Slack counts it: UTF-16 code units (🚑 is 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


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
    if utf16(obj["text"]) > limit:
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
                if utf16(e.get("value") or "") > 2000 or len(e.get("action_id") or "") > 255:
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
                "number_input",
            }:
                raise Invalid(f"{where}/element: unsupported element")
            if element.get("type") == "number_input":
                _check_number(element, where + "/element")
            if element.get("type") == "plain_text_input":
                initial = element.get("initial_value") or ""
                if utf16(initial) > (element.get("max_length") or 3000):
                    raise Invalid(f"{where}/element: initial_value longer than max_length")
            for j, option in enumerate(element.get("options") or []):
                _check_text(option.get("text"), f"{where}/element/options/{j}", 75)
            if len(element.get("options") or []) > 100:
                raise Invalid(f"{where}/element/options: at most 100")


def _check_number(element: dict[str, Any], where: str) -> None:
    """A number input as Slack checks it: ``is_decimal_allowed`` is required, and the bounds and the
    initial value are numbers written as strings, the initial one within the bounds."""
    if not isinstance(element.get("is_decimal_allowed"), bool):
        raise Invalid(f"{where}: is_decimal_allowed is required")
    numbers: dict[str, float] = {}
    for key in ("min_value", "max_value", "initial_value"):
        if key in element:
            value = element[key]
            if not isinstance(value, str) or not re.fullmatch(r"-?\d+(\.\d+)?", value):
                raise Invalid(f"{where}/{key}: must be a number written as a string")
            if not element["is_decimal_allowed"] and "." in value:
                raise Invalid(f"{where}/{key}: must be a whole number")
            numbers[key] = float(value)
    low, high = numbers.get("min_value", float("-inf")), numbers.get("max_value", float("inf"))
    if low > high or not low <= numbers.get("initial_value", low) <= high:
        raise Invalid(f"{where}: min_value, initial_value and max_value out of order")


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
    if utf16(view.get("private_metadata") or "") > 3000:
        raise Invalid("private_metadata must be at most 3000 characters")
    check_blocks(view.get("blocks"), limit=SURFACE_BLOCKS, surface=view["type"])


def check_message(args: dict[str, Any]) -> str | None:
    """The error code Slack answers for a message's text and blocks, or None if it takes them.
    (``Invalid`` for a block Slack would refuse: the caller answers ``invalid_blocks``.)"""
    text = args.get("text")
    blocks = args.get("blocks")
    if not text and not blocks:
        return "no_text"
    if isinstance(text, str) and utf16(text) > TEXT:
        return "msg_too_long"
    if blocks is not None:
        check_blocks(blocks, limit=MESSAGE_BLOCKS, surface="message")
        if sum(utf16(t) for t in _texts(blocks)) > MESSAGE_TEXT:
            return "msg_blocks_too_long"
    return None


@dataclass
class _Fault:
    """What the next call of a method meets instead of (or after) its normal answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # answered instead of carrying the call out
    drop: bool = False  # carry the call out, then close the connection without an answer
    hang: float = 0.0  # seconds to wait before dropping (a client timeout shorter than this sees one)


@dataclass
class _Trigger:
    issued: float  # time.monotonic() when Slack issued it
    used: bool = False


class FakeSlack:
    """The fake Web API and what it saw.

    ``channels`` are the workspace's channels (an iterable of ids, every person a member, or a mapping
    of id → members), ``users`` its people; each person has a DM channel with the bot (``dm_channel``).
    With ``lenient_channels=True`` any channel and any person is taken, and everyone is in every channel;
    with ``lenient_triggers=True`` a trigger id the fake did not issue is taken as fresh.
    """

    def __init__(
        self,
        *,
        channels: Iterable[str] | dict[str, Iterable[str]] = (),
        users: Iterable[str] = (),
        lenient_channels: bool = False,
        lenient_triggers: bool = False,
    ) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, list[Message]] = defaultdict(list)
        self.ephemeral: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.published: dict[str, dict[str, Any]] = {}
        self.channel_errors: dict[str, str] = {}
        self.rate_limited: dict[str, int] = {}  # channel → Retry-After of its next chat.postMessage (once)
        self.lenient_channels = lenient_channels
        self.lenient_triggers = lenient_triggers
        self.users: set[str] = set(users)
        # channel → its members; None: everyone in the workspace (a unit's channel, as far as tests go)
        self.members: dict[str, set[str] | None] = {}
        for channel in channels:
            self.add_channel(channel, channels[channel] if isinstance(channels, dict) else None)
        self.people_messages: dict[str, list[Message]] = defaultdict(list)
        self.open_views: dict[str, dict[str, Any]] = {}  # view id → the view as Slack holds it
        self.dropped: list[Call] = []  # calls carried out whose answer never reached the caller
        self._inject: dict[str, list[_Fault]] = defaultdict(list)
        self._triggers: dict[str, _Trigger] = {}
        self._trigger_serial = 0
        self._ts = 1_764_000_000_000_000
        self._view_serial = 0
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.connected = asyncio.Event()

    # --- the workspace --------------------------------------------------------------------------

    def add_channel(self, channel: str, members: Iterable[str] | None = None) -> None:
        """A channel the bot is in; ``members`` None means every person of the workspace."""
        self.members[channel] = set(members) if members is not None else None
        if members is not None:
            self.users.update(members)

    def add_user(self, user: str) -> None:
        self.users.add(user)

    def leave(self, channel: str, user: str) -> None:
        """``user`` leaves ``channel`` (an ephemeral there to them is refused from now on)."""
        members = self.members.get(channel)
        self.members[channel] = (set(self.users) if members is None else members) - {user}

    def is_member(self, channel: str, user: str) -> bool:
        if self.lenient_channels:
            return True
        if channel.startswith("D"):
            return self._dm_owner(channel) == user
        if channel not in self.members or user not in self.users:
            return False
        members = self.members[channel]
        return members is None or user in members

    def _dm_owner(self, channel: str) -> str | None:
        return next((u for u in self.users if self.dm_channel(u) == channel), None)

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
            self._runner = None

    async def close(self) -> None:
        """The same as ``stop``."""
        await self.stop()

    # --- injecting ----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        retry_after: int | None = None,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` answer HTTP ``status`` (429: ``ratelimited``, with
        ``Retry-After``; otherwise ``error`` or ``fatal_error``), without being carried out."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        code = error or ("ratelimited" if status == 429 else "fatal_error")
        for _ in range(times):
            self._inject[method].append(_Fault(status, dict(headers), {"ok": False, "error": code}))

    def refuse_next(self, method: str, error: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}`` (HTTP 200, as
        Slack answers its errors), without being carried out."""
        self.fail_next(method, 200, error=error, times=times)

    def drop_next(self, method: str, *, times: int = 1, hang: float = 0.0) -> None:
        """The next ``times`` calls of ``method`` are carried out (a message is posted) and their answer
        is lost: the connection closes (after ``hang`` seconds) without a response."""
        for _ in range(times):
            self._inject[method].append(_Fault(drop=True, hang=hang))

    def issue_trigger(self, *, age: float = 0.0) -> str:
        """A trigger id as Slack puts in a command or an interaction, issued ``age`` seconds ago."""
        self._trigger_serial += 1
        trigger = f"trigger.{self._trigger_serial}"
        self._triggers[trigger] = _Trigger(issued=time.monotonic() - age)
        return trigger

    def person_message(self, channel: str, user: str, ts: str, *, thread_ts: str | None = None) -> None:
        """A message a person wrote (the harness sends its event): the bot can reply in its thread."""
        self.people_messages[channel].append(
            Message(channel, ts, {"user": user}, thread_ts=thread_ts, user=user)
        )

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

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            args = await request.json()
        else:
            form = await request.post()
            args = {k: v for k, v in form.items() if isinstance(v, str)}
            for key in ("blocks", "view"):
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
        call = Call(method, args)
        self.calls.append(call)
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
        fault = self._inject[method].pop(0) if self._inject.get(method) else None
        if fault is not None and fault.body is not None:
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        answer = self._answer(method, args)
        if fault is not None and fault.drop:
            self.dropped.append(call)
            if fault.hang:
                await asyncio.sleep(fault.hang)
            if request.transport is not None:
                request.transport.close()  # the answer is lost on the way back
            return web.Response()
        return answer

    def _answer(self, method: str, args: dict[str, Any]) -> web.Response:
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
        """The channel a message goes to: a channel of the workspace, a person's DM channel (from their
        user id or the DM's id), or ``channel_not_found``."""
        if not channel:
            raise _SlackError("channel_not_found")
        if channel in self.channel_errors:
            raise _SlackError(self.channel_errors[channel])
        if channel[0] in "UW":
            if not self.lenient_channels and channel not in self.users:
                raise _SlackError("channel_not_found")
            return self.dm_channel(channel)
        if self.lenient_channels or channel in self.members:
            return channel
        if channel.startswith("D") and self._dm_owner(channel) is not None:
            return channel
        raise _SlackError("channel_not_found")

    def _thread(self, channel: str, thread_ts: Any) -> str | None:
        """``thread_ts`` if it is a message of ``channel``, else ``thread_not_found``."""
        if thread_ts in (None, ""):
            return None
        known = [*self.messages.get(channel, []), *self.people_messages.get(channel, [])]
        if not self.lenient_channels and not any(m.ts == thread_ts for m in known):
            raise _SlackError("thread_not_found")
        return str(thread_ts)

    def _message_args(self, args: dict[str, Any]) -> None:
        error = check_message(args)
        if error is not None:
            raise _SlackError(error)

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._target(args.get("channel"))
        thread = self._thread(channel, args.get("thread_ts"))
        self._message_args(args)
        ts = self._next_ts()
        self.messages[channel].append(Message(channel, ts, args, thread_ts=thread))
        return {"channel": channel, "ts": ts, "message": {"ts": ts}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._target(args.get("channel"))
        self._message_args(args)
        for message in self.messages.get(channel, []):
            if message.ts == args.get("ts"):
                message.updates.append(args)
                return {"channel": channel, "ts": message.ts}
        if any(m.ts == args.get("ts") for m in self.people_messages.get(channel, [])):
            raise _SlackError("cant_update_message")
        raise _SlackError("message_not_found")

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._target(args.get("channel"))
        user = args.get("user")
        if not user:
            raise _SlackError("user_not_found")
        if not self.lenient_channels and user not in self.users:
            raise _SlackError("user_not_found")
        if not self.is_member(channel, user):
            raise _SlackError("user_not_in_channel")
        self._thread(channel, args.get("thread_ts"))
        self._message_args(args)
        self.ephemeral.append(args)
        return {"message_ts": self._next_ts()}

    def _use_trigger(self, trigger_id: Any) -> None:
        trigger = self._triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None and self.lenient_triggers and isinstance(trigger_id, str) and trigger_id:
            trigger = self._triggers[trigger_id] = _Trigger(issued=time.monotonic())
        if trigger is None:
            raise _SlackError("invalid_trigger_id")
        if trigger.used:
            raise _SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > TRIGGER_SECONDS:
            raise _SlackError("expired_trigger_id")
        trigger.used = True

    def _hold_view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        self._view_serial += 1
        view_id = view_id or f"V{len(self.views):08d}"
        held = {**view, "id": view_id, "hash": f"{self._view_serial}.h{self._view_serial:06d}"}
        self.open_views[view_id] = held
        return held

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        self._use_trigger(args.get("trigger_id"))
        check_view(args.get("view"))
        self.views.append(args["view"])
        return {"view": self._hold_view(args["view"])}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id") or next(
            (v["id"] for v in self.open_views.values() if v.get("external_id") == args.get("external_id")),
            None,
        )
        held = self.open_views.get(view_id) if view_id else None
        if held is None:
            raise _SlackError("not_found")
        if args.get("hash") and args["hash"] != held["hash"]:
            raise _SlackError("hash_conflict")
        check_view(args.get("view"))
        return {"view": self._hold_view(args["view"], view_id)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user_id")
        if not user:
            raise _SlackError("invalid_arguments")
        if not self.lenient_channels and user not in self.users:
            raise _SlackError("user_not_found")
        check_view(args.get("view"))
        self.published[user] = args["view"]
        return {"view": args["view"]}


class _SlackError(Exception):
    pass
