"""What a Slack payload must look like before anything acts on it: one check, for HTTP and Socket Mode.

Slack sends three kinds of request (to ``/slack/events``, or as Socket Mode envelopes): slash commands
(form fields), interactivity (``block_actions``, ``view_submission``, ``view_closed``: JSON in a
``payload`` form field) and the Events API (``event_callback``, ``url_verification``: JSON). The models
below hold the fields that huddlebot's listeners, and Bolt's own dispatch, read -- only those, so what
else Slack adds passes unread. A payload that fits goes on to Bolt as it came. One that does not is
never dispatched:

- where nobody waits for an answer (an event, a button, a request that names no user), it is refused:
  HTTP 400, or in Socket Mode acknowledged and dropped;
- where a person waits (a slash command, a form being sent), the answer is kind: an ephemeral message,
  or an error under the form's field;

either way with one log line that names the kind of payload and the field, never a value, and nothing
stored. JSON is read with a cap on nesting and on the length of every string, so no payload can make a
listener (or Bolt) recurse or copy without end.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import PydanticCustomError

from adapters.slack import modals
from adapters.slack.translate import COMMANDS

log = logging.getLogger("huddlebot.slack")

MAX_DEPTH = 32  # Slack's deepest payloads (rich text in a changed message) nest about 12 levels
MAX_TEXT = 40_000  # Slack's longest text (a message); the core refuses a concern over 20,000
MAX_ID = 128  # trigger, event, view and callback ids (Slack's are under 100; event ids become 255-long keys)
MAX_NAME = 100  # a person's name (Slack allows 80; the database keeps 200)
MAX_VALUE = 2000  # a button's value (Slack's limit)
MAX_VALUE_DEPTH = 8  # our button values are one flat JSON object
MAX_FIELDS = 200  # form fields in one request

BUTTONS = re.compile(
    r"^(acknowledge|reply|in_progress|resolve|not_possible|answer_clear|answer_concern|answer_goodcatch)$"
)
# The forms a person can send, and the input blocks of each (their fields get a form error).
FORMS: dict[str, tuple[str, ...]] = {
    modals.CONCERN_FORM: (
        "description",
        "unit",
        "severity",
        "category",
        "type",
        "anonymity",
        "notify",
        "post_anyway",
        "share",
        "involves_leader",
    ),
    modals.REPLY_FORM: ("text",),
    modals.RESOLVE_FORM: ("text", "title"),
    modals.NOT_POSSIBLE_FORM: ("reason", "title"),
    modals.IN_PROGRESS_FORM: ("note", "title"),
    modals.ROUND_FORM: ("unit", "staff", "patients", "families", "wins", "concerns", "tracked", "barriers"),
    modals.FOLLOW_UP_FORM: ("text",),
    modals.GOOD_CATCH_FORM: ("recipient", "text"),
}
# A message typed by a person: these subtypes (or none) without a bot_id name the person in ``user``.
_TYPED = (None, "thread_broadcast", "file_share")

UNREADABLE_COMMAND = (
    "Sorry, Slack sent that command in a form I could not read, so nothing was done. Please try again; "
    "if it keeps happening, tell your IT team."
)
UNKNOWN_COMMAND = "I don't know that command. I know " + ", ".join(f"*{c}*" for c in COMMANDS) + "."
UNREADABLE_FIELD = "This did not reach me in a form I can read. Please fill it in again."
OTHER_WORKSPACE = (
    "This huddlebot is set up for another Slack workspace, so nothing was done here. Please tell "
    "whoever looks after huddlebot: it needs its own setup for this workspace."
)


# --- the answer -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a request: dispatch ``payload`` to Bolt, or answer with ``status`` and ``answer``."""

    kind: str
    payload: dict[str, Any] | None = None
    status: int = 200
    answer: dict[str, Any] | None = None

    @property
    def accepted(self) -> bool:
        return self.payload is not None


class _Refused(Exception):
    def __init__(self, kind: str, where: str, problem: str, answer: dict[str, Any] | None = None) -> None:
        self.kind, self.where, self.problem, self.answer = kind, where, problem, answer
        super().__init__(f"{kind}: {where} ({problem})")


def _verdict(refused: _Refused) -> Verdict:
    if refused.answer is not None:
        log.warning(
            "slack: a payload did not fit (%s); answered kindly, nothing done: %s (%s)",
            refused.kind,
            refused.where,
            refused.problem,
        )
        return Verdict(refused.kind, status=200, answer=refused.answer)
    log.warning("slack: refused a payload (%s; 400): %s (%s)", refused.kind, refused.where, refused.problem)
    return Verdict(refused.kind, status=400, answer={"error": "invalid payload"})


def for_this_workspace(verdict: Verdict, tenant: str) -> Verdict:
    """``verdict``, or an answer with nothing done if its payload comes from another workspace.

    A signed payload from a workspace the app was also installed in (by mistake, or a distributed
    app) would otherwise act as if sent here: its people counted as ours, its concerns posted to our
    units. An Enterprise Grid org-wide install names no single workspace and is let through.
    """
    payload = verdict.payload
    if payload is None or not tenant or payload.get("is_enterprise_install") in (True, "true"):
        return verdict
    team = payload.get("team_id") or payload.get("team")
    if isinstance(team, dict):
        team = team.get("id")
    if not isinstance(team, str) or not team or team == tenant:
        return verdict
    # The id helps whoever looks after huddlebot; anything else in that field is not logged.
    named = team if re.fullmatch(r"T[A-Z0-9]{2,20}", team) else "not a team id"
    log.warning("slack: a %s from another workspace (%s) was answered and not acted on", verdict.kind, named)
    waits = verdict.kind == "slash command"  # somebody typed it: tell them; an event or a click: just ack
    return Verdict(verdict.kind, answer=_ephemeral(OTHER_WORKSPACE) if waits else None)


# --- reading the body -----------------------------------------------------------------------------


def check_http(body: bytes, content_type: str | None) -> Verdict:
    """Read and check a signed request's body (commands and interactivity are forms, events JSON)."""
    try:
        return _check_http(body, content_type)
    except _Refused as refused:
        return _verdict(refused)


def check_socket(envelope_type: str, payload: Any) -> Verdict:
    """Check the payload of a Socket Mode envelope (``slash_commands``, ``interactive``, ``events_api``)."""
    try:
        if envelope_type == "slash_commands":
            return _command(payload)
        if envelope_type == "interactive":
            _check_tree(payload, "interactive")
            return _interactive(payload)
        if envelope_type == "events_api":
            _check_tree(payload, "event")
            return _events(payload)
        raise _Refused("Socket Mode envelope", "type", "unsupported")
    except _Refused as refused:
        return _verdict(refused)


def _check_http(body: bytes, content_type: str | None) -> Verdict:
    media = (content_type or "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused("request", "body", "not UTF-8") from None
    if media == "application/json":
        return _events(_json(text, "event"))
    if media != "application/x-www-form-urlencoded":
        raise _Refused("request", "Content-Type", "unsupported")
    try:
        form = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except ValueError:
        raise _Refused("request", "body", "too many fields") from None
    if "payload" in form:
        return _interactive(_json(form["payload"], "interactive"))
    if "ssl_check" in form and "command" not in form:  # Slack checking the certificate; Bolt answers it
        _check_tree(form, "ssl_check")
        _validate(_Envelope, form, "ssl_check")
        return Verdict("ssl_check", payload=form)
    return _command(form)


def _json(text: str, kind: str) -> Any:
    try:
        data = json.loads(text)
    except RecursionError:
        raise _Refused(kind, "body", "nested too deep") from None
    except ValueError:
        raise _Refused(kind, "body", "not JSON") from None
    _check_tree(data, kind)
    return data


def _check_tree(data: Any, kind: str) -> None:
    """No deeper than ``MAX_DEPTH``, no string longer than ``MAX_TEXT`` (keys included)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Refused(kind, "body", "nested too deep")
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and len(key) > MAX_TEXT:
                    raise _Refused(kind, "body", "a key is too long")
                if isinstance(value, dict | list):
                    stack.append((value, depth + 1))
                elif isinstance(value, str) and len(value) > MAX_TEXT:
                    raise _Refused(kind, "body", "a text is too long")
        elif isinstance(node, list):
            for value in node:
                if isinstance(value, dict | list):
                    stack.append((value, depth + 1))
                elif isinstance(value, str) and len(value) > MAX_TEXT:
                    raise _Refused(kind, "body", "a text is too long")
        elif isinstance(node, str) and len(node) > MAX_TEXT:
            raise _Refused(kind, "body", "a text is too long")


# --- the models -----------------------------------------------------------------------------------


def _nesting(value: str) -> str:
    """A button value is refused when the JSON in it nests deeper than ours ever does."""
    depth = deepest = 0
    in_string = escaped = False
    for char in value:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > MAX_VALUE_DEPTH:
        raise PydanticCustomError("nested_too_deep", "nested too deep")
    return value


# Trigger, event, view and callback ids, a view's type: letters, digits and ``._-`` (an event id becomes a
# database key, and PostgreSQL takes no NUL in a text).
Id = Annotated[str, StringConstraints(pattern=rf"^[A-Za-z0-9._-]{{1,{MAX_ID}}}$")]
# A user, channel or workspace: Slack's ids are upper-case letters and digits (U…, W…, C…, G…, D…, T…).
# Nothing else may pass for one: a reporter's id is stored and written into mentions (``<@U…>``).
SlackId = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,32}$")]
Ts = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}\.[0-9]{1,8}$")]  # a message's timestamp
Name = Annotated[
    str, StringConstraints(pattern=rf"^[^\x00-\x1f\x7f]{{0,{MAX_NAME}}}$")
]  # no control character
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
ButtonValue = Annotated[str, StringConstraints(max_length=MAX_VALUE), AfterValidator(_nesting)]


class _Shape(BaseModel):
    # Types as sent (strict: no "123" for 123 or back), fields we do not read ignored, no value ever
    # copied into an error.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, hide_input_in_errors=True)


class _Team(_Shape):
    id: str | None = None


class _ResponseUrl(_Shape):
    response_url: str | None = None


class _Envelope(_Shape):
    """What Bolt reads of every payload before any listener runs (to build its context)."""

    team: str | _Team | None = None
    enterprise: str | _Team | None = None
    team_id: str | None = None
    enterprise_id: str | None = None
    user: str | dict[str, Any] | None = None
    channel: str | dict[str, Any] | None = None
    authorizations: Annotated[list[_Authorization], Field(max_length=10)] | None = None
    is_enterprise_install: bool | str | None = None
    is_ext_shared_channel: bool | None = None
    response_url: str | None = None
    response_urls: Annotated[list[_ResponseUrl], Field(max_length=10)] = Field(
        default_factory=list
    )  # not null
    event: dict[str, Any] = Field(default_factory=dict)  # absent, or an object: never null
    message: dict[str, Any] | None = None
    previous_message: dict[str, Any] | None = None
    # huddlebot runs no Slack workflow functions: a payload that says it is one is not for us.
    function_execution_id: None = None
    function_data: None = None
    bot_access_token: None = None


class _Authorization(_Envelope):
    """Bolt reads the first authorization as it reads the whole payload (its team, its enterprise)."""

    user_id: str | None = None
    is_enterprise_install: bool | None = None


_Envelope.model_rebuild()


class SlashCommand(_Envelope):
    command: Annotated[str, StringConstraints(pattern=r"^/[a-z0-9_.-]{1,32}$")]
    user_id: SlackId
    user_name: Name | None = None
    channel_id: SlackId | None = None
    text: Text | None = None
    trigger_id: Id | None = None
    type: None = None  # a typed body is interactivity or an event, never a command


class _User(_Shape):
    id: SlackId
    name: Name | None = None
    username: Name | None = None
    team_id: str | None = None


class _Interactive(_Envelope):
    user: _User
    trigger_id: Id | None = None
    command: None = None  # Bolt would take a body with a "command" for a slash command


class _Channel(_Shape):
    id: SlackId | None = None


class _Container(_Shape):
    channel_id: SlackId | None = None
    thread_ts: Ts | None = None


class _Action(_Shape):
    action_id: Annotated[str, StringConstraints(pattern=BUTTONS.pattern)]
    value: ButtonValue | None = None


class BlockActions(_Interactive):
    type: Literal["block_actions"]
    actions: Annotated[list[_Action], Field(min_length=1, max_length=25)]
    channel: _Channel | None = None  # type: ignore[assignment]
    container: _Container | None = None
    view: dict[str, Any] | None = None


class _Option(_Shape):
    value: Text | None = None


class _Element(_Shape):
    type: str | None = None
    value: Text | None = None
    selected_option: _Option | None = None
    selected_options: Annotated[list[_Option], Field(max_length=100)] | None = None
    selected_user: SlackId | None = None


class _State(_Shape):
    values: (
        Annotated[
            dict[str, Annotated[dict[str, _Element], Field(max_length=10)]],
            Field(max_length=100),
        ]
        | None
    ) = None


class _View(_Shape):
    id: Annotated[str, StringConstraints(max_length=MAX_ID)] | None = None
    type: Id  # Bolt reads it to tell a modal from a workflow step
    callback_id: Id
    private_metadata: Annotated[str, StringConstraints(max_length=3000)] | None = None
    state: _State = _State()  # absent, or an object: never null


class ViewSubmission(_Interactive):
    type: Literal["view_submission"]
    view: _View


class ViewClosed(_Interactive):
    type: Literal["view_closed"]
    view: _View


class _Event(_Shape):
    bot_id: str | None = None
    function_execution_id: None = None
    bot_access_token: None = None


class _Message(_Event):
    type: Literal["message"]
    subtype: str | None = None
    user: SlackId | None = None
    text: Text | None = None
    channel: SlackId | None = None
    channel_type: str | None = None
    ts: Ts | None = None
    thread_ts: Ts | None = None
    message: dict[str, Any] | None = None
    previous_message: dict[str, Any] | None = None


class _Mention(_Event):
    type: Literal["app_mention"]
    user: SlackId
    channel: SlackId
    text: Text | None = None
    ts: Ts | None = None
    thread_ts: Ts | None = None


class _HomeOpened(_Event):
    type: Literal["app_home_opened"]
    user: SlackId
    tab: str | None = None
    channel: str | None = None


class EventCallback(_Envelope):
    type: Literal["event_callback"]
    event_id: Id | None = None
    command: None = None


_EVENTS: dict[str, type[_Event]] = {
    "message": _Message,
    "app_mention": _Mention,
    "app_home_opened": _HomeOpened,
}


class UrlVerification(_Envelope):
    type: Literal["url_verification"]
    challenge: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID)]


_INTERACTIVE: dict[str, type[_Interactive]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "view_closed": ViewClosed,
}
_MODELS = (
    _Team,
    _Authorization,
    _ResponseUrl,
    _Envelope,
    SlashCommand,
    _User,
    _Interactive,
    _Channel,
    _Container,
    _Action,
    BlockActions,
    _Option,
    _Element,
    _State,
    _View,
    ViewSubmission,
    ViewClosed,
    _Event,
    _Message,
    _Mention,
    _HomeOpened,
    EventCallback,
    UrlVerification,
)
# The words a log line may use to say where a payload went wrong: our field names and our forms' blocks.
_WORDS = frozenset(
    {name for model in _MODELS for name in model.model_fields} | {b for f in FORMS.values() for b in f}
)
_TAGS = frozenset({m.__name__ for m in _MODELS} | {"str", "bool", "int", "float", "dict", "list", "none"})


def _where(loc: tuple[str | int, ...]) -> str:
    """A pydantic error location as a log may show it: our own words, ``*`` for anybody else's."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in _TAGS or "[" in part or "-" in part:
            continue  # which member of a union pydantic tried
        else:
            parts.append(("." if parts else "") + (part if part in _WORDS else "*"))
    return "".join(parts) or "payload"


def _first_error(error: ValidationError) -> tuple[tuple[str | int, ...], str]:
    first = error.errors(include_url=False, include_input=False)[0]
    return tuple(first["loc"]), first["type"]


# --- each kind ------------------------------------------------------------------------------------


_SLACK_ID = re.compile(r"[A-Z0-9]{2,32}")


def _is_id(value: Any) -> bool:
    """A Slack user id (the one test of "does this request name somebody")."""
    return isinstance(value, str) and _SLACK_ID.fullmatch(value) is not None


def _command(form: Any) -> Verdict:
    kind = "slash command"
    if not isinstance(form, dict):
        raise _Refused(kind, "payload", "not an object")
    # Somebody typed it, and waits: unless the request names nobody, they hear that it went wrong.
    waits = _is_id(form.get("user_id")) and isinstance(form.get("command"), str)
    kindly = _ephemeral(UNREADABLE_COMMAND) if waits else None
    try:
        _check_tree(form, kind)
    except _Refused as refused:
        raise _Refused(kind, refused.where, refused.problem, kindly) from None
    try:
        SlashCommand.model_validate(form)
    except ValidationError as error:
        loc, problem = _first_error(error)
        raise _Refused(kind, _where(loc), problem, kindly) from None
    if form["command"] not in COMMANDS:
        raise _Refused(kind, "command", "unknown", _ephemeral(UNKNOWN_COMMAND))
    return Verdict(kind, payload=form)


def _interactive(data: Any) -> Verdict:
    if not isinstance(data, dict):
        raise _Refused("interactive", "payload", "not an object")
    kind = data.get("type")
    model = _INTERACTIVE.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise _Refused("interactive", "type", "unsupported")
    try:
        model.model_validate(data)
    except ValidationError as error:
        loc, problem = _first_error(error)
        raise _Refused(kind, _where(loc), problem, _form_error(data, loc)) from None
    if kind == "view_submission" and data["view"]["callback_id"] not in FORMS:
        raise _Refused(kind, "view.callback_id", "unknown")
    return Verdict(kind, payload=data)


def _form_error(data: dict[str, Any], loc: tuple[str | int, ...]) -> dict[str, Any] | None:
    """The field error for a form a person is sending, when what did not fit is a value they typed or
    chose (``view.state.values.<block>.<element>.value``, or the value of a chosen option). Anything
    else wrong with a form is Slack's structure, not the person's answer: that is refused."""
    if data.get("type") != "view_submission":
        return None
    user, view = data.get("user"), data.get("view")
    if not isinstance(user, dict) or not _is_id(user.get("id")) or not isinstance(view, dict):
        return None  # nobody named: nobody to answer
    callback = view.get("callback_id")
    blocks = FORMS.get(callback) if isinstance(callback, str) else None
    if not blocks or len(loc) < 6 or loc[:3] != ("view", "state", "values") or loc[3] not in blocks:
        return None
    leaf = loc[5:]
    if leaf in (("value",), ("selected_option", "value")) or (
        len(leaf) == 3 and leaf[0] == "selected_options" and leaf[2] == "value"
    ):
        return {"response_action": "errors", "errors": {str(loc[3]): UNREADABLE_FIELD}}
    return None


def _events(data: Any) -> Verdict:
    if not isinstance(data, dict):
        raise _Refused("event", "payload", "not an object")
    kind = data.get("type")
    if kind == "url_verification":
        _validate(UrlVerification, data, "url_verification")
        return Verdict("url_verification", payload=data)
    if kind == "app_rate_limited":  # Slack telling us it dropped events: nothing to do
        return Verdict("app_rate_limited")
    if kind != "event_callback":
        raise _Refused("event", "type", "unsupported")
    event = data.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise _Refused("event_callback", "event" if not isinstance(event, dict) else "event.type", "invalid")
    model = _EVENTS.get(event["type"])
    if model is None:  # an event nothing here listens to (Slack sends a few unasked): acknowledged
        return Verdict("event_callback")
    kind = f"{event['type']} event"
    _validate(EventCallback, data, kind)
    _validate(model, event, kind, at=("event",))
    if (
        event.get("type") == "message"
        and event.get("subtype") in _TYPED
        and not event.get("bot_id")
        and not event.get("user")
    ):
        raise _Refused(kind, "event.user", "missing")  # a person's message names the person
    return Verdict(kind, payload=data)


def _validate(model: type[BaseModel], data: Mapping[str, Any], kind: str, at: tuple[str, ...] = ()) -> None:
    try:
        model.model_validate(data)
    except ValidationError as error:
        loc, problem = _first_error(error)
        raise _Refused(kind, _where(at + loc), problem) from None


def _ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text}
