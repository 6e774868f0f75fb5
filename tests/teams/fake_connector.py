"""A fake Bot Connector on 127.0.0.1: the Bot Framework REST API as Teams serves it, in memory, and as
strict as Teams by default.

It records every call (the Activity JSON the bot sent), answers like the real service (activity ids
that look like Teams' millisecond ids, ``;messageid=`` threads, 1:1 conversations created on demand)
and refuses what the service refuses, with its statuses and error codes:

* no ``Authorization: Bearer <token>``, or not the bot's token: 401 (``token`` is the one it takes;
  ``tokens()`` is a token source for huddlebot that sends it);
* a conversation it does not know: 404 ``ConversationNotFound``; one the bot was removed from: 403
  ``BotNotInConversationRoster``. It knows the channels of the teams the bot is installed in, the chats
  it was added to (``install``) and the chats it created, nothing else (Teams only knows a conversation
  the bot is a member of);
* an activity without ``type``, ``from`` or ``conversation``, a message with neither text nor
  attachments, an attachment without ``contentType``, an Adaptive Card that is not one: 400
  ``BadArgument``;
* a body over 28,000 bytes: 413 ``MessageSizeTooBig``;
* an update of an activity id it never gave out in that conversation: 404 ``ActivityNotFound``.

A test that wants it lenient asks by name: ``require_token=False`` (huddlebot in development mode,
with no app id, as only the Bot Framework Emulator accepts it), ``any_conversation=True``, or
``lenient=True`` for both. Shape and size are never lenient: they are huddlebot's own doing.

Any call can be made to fail (``fail``: 429 with Retry-After, 403, 413, ...), or to lose its answer
after the message was taken (``drop``: the connection closes, or the answer stalls past the client's
timeout), so a message can arrive twice, and ``delivered`` counts every copy people would see.
It also serves an OpenID metadata document and a JWKS for the authentication tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "fake-connector-token"  # what ``tokens()`` hands huddlebot, and what the fake accepts
SIZE_LIMIT = 28_000  # bytes of a request body; Teams says "about 28 KB"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
THREAD_MARK = ";messageid="


@dataclass
class Call:
    """One request the bot made, and how the fake answered it."""

    method: str
    op: str  # send | reply | update | create_conversation | team_channels
    service_path: str  # the path before /v3/ (the serviceUrl's own path)
    conversation: str | None
    activity_id: str | None
    body: dict[str, Any] | None
    authorization: str | None
    team: str | None = None  # team_channels: the team asked about
    size: int = 0  # bytes of the body as received
    status: int = 0  # the status answered (0: no answer, the connection was dropped or stalled)
    accepted: bool = False  # the service took it: a message people see, a change made
    answered_id: str | None = None  # the id in the answer (a new activity, a new conversation)

    @property
    def base_conversation(self) -> str | None:
        return self.conversation.split(THREAD_MARK)[0] if self.conversation else None

    @property
    def thread(self) -> str | None:
        if self.conversation and THREAD_MARK in self.conversation:
            return self.conversation.split(THREAD_MARK)[1]
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
    """Answer the next ``times`` calls matching ``op`` (and ``conversation`` prefix) with an error; or,
    with ``drop`` ("close" or "stall"), take the call and then lose its answer."""

    op: str
    status: int
    code: str | None = None
    retry_after: str | None = None
    conversation: str | None = None
    times: int = 1
    drop: str | None = None
    stall: float = 60.0

    def matches(self, call: Call, conversation: str | None) -> bool:
        return (
            self.times > 0
            and self.op == call.op
            and (self.conversation is None or (conversation or "").startswith(self.conversation))
        )


class FakeTokens:
    """huddlebot's outbound token source (``adapters.teams.sdk.TokenSource``'s shape), with no Entra."""

    def __init__(self, token: str | None) -> None:
        self._token = token
        self.invalidated = 0

    async def token(self) -> str | None:
        return self._token

    def invalidate(self) -> None:
        self.invalidated += 1


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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
    token: str = TOKEN
    require_token: bool = True
    any_conversation: bool = False
    lenient: bool = False  # both of the above: any token or none, any conversation
    teams: set[str] = field(default_factory=set)  # teams the bot is installed in
    conversations: set[str] = field(default_factory=set)  # chats (and single channels) it is in
    removed: set[str] = field(default_factory=set)  # teams and conversations it was removed from
    activities: dict[str, set[str]] = field(default_factory=dict)  # base conversation → ids given out
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1771290200000))
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        if self.lenient:
            self.require_token, self.any_conversation = False, True

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
        self._closing.set()  # a stalled answer gives up now
        if self.server is not None:
            await self.server.close()

    def metadata_url(self, name: str = "channel") -> str:
        return f"{self.url}/openid/{name}"

    def service_url(self, original: str) -> str:
        """``original`` (a fixture's serviceUrl) moved onto this server, its path kept."""
        path = original.split("://", 1)[-1].split("/", 1)[-1] if "://" in original else ""
        return f"{self.url}/{path}"

    def tokens(self) -> FakeTokens:
        """A token source for huddlebot (``TeamsPlatform(token_source=...)``) that sends ``token``."""
        return FakeTokens(self.token)

    # --- what Teams knows ---------------------------------------------------------------------------

    def install(self, conversation: str | None = None, *, team: str | None = None) -> None:
        """The bot was added to ``team`` (all its channels, now and later) or to a ``conversation``."""
        if team:
            self.teams.add(team)
            self.removed.discard(team)
            self.removed.difference_update(self._channels_of(team))
        if conversation:
            base = conversation.split(THREAD_MARK)[0]
            self.conversations.add(base)
            self.removed.discard(base)

    def uninstall(self, conversation: str | None = None, *, team: str | None = None) -> None:
        """The bot was removed: from then on Teams answers 403 BotNotInConversationRoster."""
        if team:
            self.teams.discard(team)
            self.removed.add(team)
            for channel in self._channels_of(team):
                self.removed.add(channel)
        if conversation:
            base = conversation.split(THREAD_MARK)[0]
            self.conversations.discard(base)
            self.removed.add(base)

    def knows(self, conversation: str) -> bool:
        """True if the bot is a member of ``conversation`` (a thread is known by its channel)."""
        base = conversation.split(THREAD_MARK)[0]
        if base in self.removed:
            return False
        return base in self.conversations or any(base in self._channels_of(t) for t in self.teams)

    def _channels_of(self, team: str) -> set[str]:
        return {c["id"] for c in self.team_channels.get(team, []) if c.get("id")}

    # --- failures -------------------------------------------------------------------------------------

    def fail(self, op: str, status: int, code: str | None = None, **kwargs: Any) -> None:
        """Refuse the next call(s) of ``op`` with ``status`` (options: ``retry_after``, ``conversation``,
        ``times``)."""
        self.failures.append(Failure(op=op, status=status, code=code, **kwargs))

    def drop(
        self,
        op: str,
        *,
        how: str = "close",
        stall: float = 60.0,
        conversation: str | None = None,
        times: int = 1,
    ) -> None:
        """Take the next call(s) of ``op`` (the message is posted, the change made) and lose the answer:
        ``how="close"`` closes the connection, ``how="stall"`` answers only after ``stall`` seconds."""
        assert how in ("close", "stall")
        self.failures.append(
            Failure(op=op, status=0, conversation=conversation, times=times, drop=how, stall=stall)
        )

    # --- views on what was sent --------------------------------------------------------------------

    def sent(self, op: str | None = None, conversation: str | None = None) -> list[Call]:
        """Every call (tried, whatever the answer) of ``op`` to ``conversation``."""
        return [
            c
            for c in self.calls
            if (op is None or c.op == op) and (conversation is None or c.base_conversation == conversation)
        ]

    def delivered(self, conversation: str | None = None) -> list[Call]:
        """The messages the service took (posts and replies), every copy: what people see."""
        return [
            c
            for c in self.calls
            if c.op in ("send", "reply")
            and c.accepted
            and (conversation is None or c.base_conversation == conversation)
        ]

    def posts_to(self, conversation: str) -> list[Call]:
        """What people in ``conversation`` see (refused attempts are not there)."""
        return self.delivered(conversation)

    def clear(self) -> None:
        self.calls.clear()

    # --- handlers ----------------------------------------------------------------------------------

    async def _openid(self, request: web.Request) -> web.Response:
        self.metadata_fetches += 1
        return web.json_response({"issuer": self.issuer, "jwks_uri": f"{self.url}/keys"})

    async def _keys(self, request: web.Request) -> web.Response:
        return web.json_response(self.jwks)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?")[0]
        if "/v3/" not in raw_path:
            return _error(404, "NotFound", "no such path")
        prefix, rest = raw_path.split("/v3/", 1)
        parts = [unquote(p) for p in rest.split("/")]
        method = request.method
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = ValueError
        auth = request.headers.get("Authorization")
        team = conversation = activity_id = None
        if parts[0] == "teams" and len(parts) == 3 and parts[2] == "conversations" and method == "GET":
            op, team = "team_channels", parts[1]
        elif parts == ["conversations"] and method == "POST":
            op = "create_conversation"
        elif (
            len(parts) == 3 and parts[0] == "conversations" and parts[2] == "activities" and method == "POST"
        ):
            op, conversation = "send", parts[1]
        elif len(parts) == 4 and parts[0] == "conversations" and parts[2] == "activities":
            if method not in ("PUT", "POST"):
                return _error(405, "BadSyntax", "unknown call")
            op, conversation, activity_id = ("update" if method == "PUT" else "reply"), parts[1], parts[3]
        else:
            return _error(400, "BadSyntax", "unknown call")
        call = Call(
            method,
            op,
            prefix,
            conversation,
            activity_id,
            body if isinstance(body, dict) else None,
            auth,
            team=team,
            size=len(raw),
        )
        self.calls.append(call)
        self.history.append(call)
        try:
            self._check_token(auth)
            if len(raw) > SIZE_LIMIT:
                raise _Refused(413, "MessageSizeTooBig", "Message size too big")
            injected = next((f for f in self.failures if not f.drop and f.matches(call, conversation)), None)
            if injected is not None:
                injected.times -= 1
                call.status = injected.status
                headers = {"Retry-After": injected.retry_after} if injected.retry_after else None
                return _error(injected.status, injected.code or "Failure", "fake failure", headers)
            if body is ValueError or (raw and not isinstance(body, dict)):
                raise _Refused(400, "BadSyntax", "the body is not a JSON object")
            answer = self._take(call, body if isinstance(body, dict) else {})
        except _Refused as refused:
            call.status = refused.status
            return _error(refused.status, refused.code, refused.message)
        call.accepted = True
        call.status = 201 if method == "POST" else 200
        dropped = next((f for f in self.failures if f.drop and f.matches(call, conversation)), None)
        if dropped is not None:
            dropped.times -= 1
            call.status = 0
            if dropped.drop == "close":
                # Taken, then the connection is lost before the answer: the bot cannot know it arrived.
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=call.status or 500)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), dropped.stall)
        return web.json_response(answer, status=call.status or 200)

    def _check_token(self, authorization: str | None) -> None:
        if not self.require_token:
            return
        scheme, _, token = (authorization or "").partition(" ")
        if scheme != "Bearer" or not token:
            raise _Refused(401, "Unauthorized", "Authorization has been denied for this request.")
        if token != self.token:
            raise _Refused(401, "Unauthorized", "Authorization has been denied for this request.")

    def _check_conversation(self, conversation: str) -> None:
        if self.any_conversation or self.knows(conversation):
            return
        if conversation.split(THREAD_MARK)[0] in self.removed:
            raise _Refused(
                403, "BotNotInConversationRoster", "The bot is not part of the conversation roster."
            )
        raise _Refused(404, "ConversationNotFound", "Conversation not found.")

    def _take(self, call: Call, body: dict[str, Any]) -> dict[str, Any]:
        """Check a call as the service does; carry it out; the answer's body."""
        if call.op == "team_channels":
            assert call.team is not None
            if not self.any_conversation and call.team not in self.teams:
                if call.team in self.removed:
                    raise _Refused(403, "BotNotInConversationRoster", "The bot is not part of the team.")
                raise _Refused(404, "TeamNotFound", "Team not found.")
            return {"conversations": self.team_channels.get(call.team, [])}
        if call.op == "create_conversation":
            _check_parameters(body)
            members = body.get("members") or []
            conversation = f"a:1personal-{members[0]['id']}"
            self.install(conversation)
            call.answered_id = conversation
            return {"id": conversation}
        assert call.conversation is not None
        self._check_conversation(call.conversation)
        _check_activity(body, call.conversation)
        base = call.conversation.split(THREAD_MARK)[0]
        if call.op == "update":
            if call.activity_id not in self.activities.get(base, set()):
                raise _Refused(404, "ActivityNotFound", "The activity to update was not found.")
            if body.get("id") not in (None, call.activity_id):
                raise _Refused(400, "BadArgument", "The activity id does not match the URL.")
            call.answered_id = call.activity_id
            return {"id": call.activity_id}
        new_id = str(next(self._ids))
        self.activities.setdefault(base, set()).add(new_id)
        call.answered_id = new_id
        return {"id": new_id}


def _check_activity(body: dict[str, Any], conversation: str) -> None:
    """What the Bot Connector needs of an activity it is to post or replace."""
    if not isinstance(body.get("type"), str) or not body["type"]:
        raise _Refused(400, "BadArgument", "Activity.Type is required.")
    sender = body.get("from")
    if not isinstance(sender, dict) or not isinstance(sender.get("id"), str) or not sender["id"]:
        raise _Refused(400, "BadArgument", "Activity.From.Id is required.")
    where = body.get("conversation")
    if not isinstance(where, dict) or not isinstance(where.get("id"), str) or not where["id"]:
        raise _Refused(400, "BadArgument", "Activity.Conversation.Id is required.")
    if where["id"].split(THREAD_MARK)[0] != conversation.split(THREAD_MARK)[0]:
        raise _Refused(400, "BadArgument", "Activity.Conversation.Id does not match the URL.")
    if body["type"] != "message":
        return
    attachments = body.get("attachments")
    if attachments is not None and not isinstance(attachments, list):
        raise _Refused(400, "BadArgument", "Activity.Attachments must be a list.")
    if not body.get("text") and not attachments:
        raise _Refused(400, "BadArgument", "A message needs text or an attachment.")
    for attachment in attachments or []:
        if not isinstance(attachment, dict) or not isinstance(attachment.get("contentType"), str):
            raise _Refused(400, "BadArgument", "Attachment.ContentType is required.")
        if attachment["contentType"] == CARD_TYPE:
            content = attachment.get("content")
            if (
                not isinstance(content, dict)
                or content.get("type") != "AdaptiveCard"
                or not isinstance(content.get("version"), str)
                or not isinstance(content.get("body", []), list)
            ):
                raise _Refused(400, "BadArgument", "The Adaptive Card is not valid.")


def _check_parameters(body: dict[str, Any]) -> None:
    """What the Bot Connector needs to create a conversation with one person."""
    bot = body.get("bot")
    if not isinstance(bot, dict) or not bot.get("id"):
        raise _Refused(400, "BadArgument", "ConversationParameters.Bot is required.")
    members = body.get("members")
    if (
        not isinstance(members, list)
        or not members
        or not all(isinstance(m, dict) and m.get("id") for m in members)
    ):
        raise _Refused(400, "BadArgument", "ConversationParameters.Members is required.")
    tenant = body.get("tenantId") or ((body.get("channelData") or {}).get("tenant") or {}).get("id")
    if not tenant:
        raise _Refused(400, "BadArgument", "A tenant id is required to create a conversation in Teams.")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
