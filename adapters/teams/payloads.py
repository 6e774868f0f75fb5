"""The shape of every activity huddlebot acts on, checked in one place before anything acts on it.

``POST /api/messages`` reads the body (``parse``: size, JSON, nesting depth), authenticates it, then
``check``s it against the models below: the fields huddlebot's own code reads, for each kind it
accepts (``message``, the ``invoke``s ``adaptiveCard/action``, ``task/fetch``, ``task/submit`` and
``composeExtension/*``, ``conversationUpdate``, ``installationUpdate``). Anything else in an activity
may be there, in any shape: it is never read. A wrong shape is a ``Problem`` that names the kind and
the field, never a value (it is logged, and answered with a 400), and nothing acts on the activity.

Every activity must name the person it comes from (``from.id``), where (``conversation.id``), the bot
(``recipient.id``) and where to answer (``serviceUrl``): Teams always sends them, and a request that
names no user is refused.

Activity types huddlebot does not act on (``typing``, ``messageReaction``, ...) get the common check
only and are then ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    ValidationError,
)

MAX_BODY_BYTES = 256 * 1024  # a dialog's 20,000-character concern fits with room to spare
MAX_DEPTH = 32  # Teams' own activities nest 5 deep; an attached card perhaps 15
MAX_ID = 512  # Teams' ids are ~100 characters; a thread mark makes a conversation id longer
MAX_SHORT = 1_000  # names, choices, verbs: the core echoes at most their first 60 characters
MAX_TEXT = 100_000  # typed text; the core has its own, smaller limits and says so kindly
MAX_ACTION_VALUE = 256  # ``bot.actions`` values are ~50 characters
MAX_ENTITIES = 256
MAX_RECORD_ID = 10**12  # concern and huddle-run ids (a reference has at most 12 digits)

# The invokes huddlebot answers, and the activity types it acts on (others: common check, then ignored).
ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
TASK_FETCH = ("task/fetch", "composeExtension/fetchTask")
TASK_SUBMIT = ("task/submit", "composeExtension/submitAction")
ACTED_ON = ("message", "invoke", "conversationUpdate", "installationUpdate")


# --- reading the body ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an activity was refused: which kind, which field, what is wrong (no value, ever)."""

    kind: str
    field: str
    reason: str
    status: int = 400

    @property
    def invoke(self) -> bool:
        """True for an invoke: Teams expects an invoke response."""
        return self.kind.startswith("invoke")

    def describe(self) -> str:
        """One line for the log and the answer."""
        return f"{self.field} {self.reason}" if self.field else self.reason


def parse(body: bytes) -> dict[str, Any] | Problem:
    """The body as a JSON object, or why not: too large, not JSON, nested too deep, not an object."""
    if len(body) > MAX_BODY_BYTES:
        return Problem("request", "", f"is larger than {MAX_BODY_BYTES // 1024} KB", status=413)
    try:
        data = json.loads(body)
    except RecursionError:
        return Problem("request", "", f"is nested more than {MAX_DEPTH} levels deep")
    except (ValueError, UnicodeDecodeError):
        return Problem("request", "", "is not JSON")
    if depth(data) > MAX_DEPTH:
        return Problem("request", "", f"is nested more than {MAX_DEPTH} levels deep")
    if not isinstance(data, dict):
        return Problem("request", "", "is not an Activity (a JSON object)")
    if not isinstance(data.get("type"), str) or not data["type"]:
        return Problem("activity", "type", "is missing or not a string")
    return data


def depth(data: Any) -> int:
    """How deep ``data`` nests (a scalar is 0, ``{}`` is 1), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        level += 1
        if level > MAX_DEPTH:
            return level
        deepest = max(deepest, level)
        stack.extend((child, level) for child in children)
    return deepest


# --- the fields huddlebot reads -------------------------------------------------------------------------


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("empty")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("not an http(s) URL")
    return value


Id = Annotated[StrictStr, Field(max_length=MAX_ID), AfterValidator(_not_blank)]
OptionalId = Annotated[StrictStr, Field(max_length=MAX_ID)] | None
Short = Annotated[StrictStr, Field(max_length=MAX_SHORT)] | None
Text = Annotated[StrictStr, Field(max_length=MAX_TEXT)] | None
ActionValue = Annotated[StrictStr, Field(max_length=MAX_ACTION_VALUE)] | None
RecordId = Annotated[StrictInt, Field(ge=1, lt=MAX_RECORD_ID)]
# An Input.Number arrives as text from most clients, as a number from some: either is read, and the
# adapter says kindly what a count may be (a huge or negative one is the core's to refuse).
Count = Annotated[StrictStr, Field(max_length=64)] | StrictInt | StrictFloat | None
ServiceUrl = Annotated[StrictStr, Field(max_length=2048), AfterValidator(_http_url)]


class _Model(BaseModel):
    """Fields we read are checked; anything else may be there, in any shape."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Account(_Model):
    id: Id
    name: Short = None


class Bot(_Model):
    id: Id


class Conversation(_Model):
    id: Id
    conversationType: Literal["personal", "channel", "groupChat"] | None = None
    tenantId: OptionalId = None


class Ref(_Model):
    id: OptionalId = None


class Channel(_Model):
    id: OptionalId = None
    name: Short = None


class ChannelData(_Model):
    tenant: Ref | None = None
    team: Ref | None = None
    channel: Channel | None = None
    eventType: Short = None


class Mention(_Model):
    type: Literal["mention"]
    mentioned: Account
    text: Annotated[StrictStr, Field(max_length=MAX_SHORT)]


class QuotedMessage(_Model):
    messageId: OptionalId = None


class QuotedReply(_Model):
    type: Literal["quotedReply"]
    quotedReply: QuotedMessage


class OtherEntity(_Model):
    type: Short = None


_ENTITY_TAGS = {"mention": "a-mention", "quotedReply": "a-quoted-reply"}  # tags are not field names


def _entity_kind(entity: Any) -> str:
    kind = entity.get("type") if isinstance(entity, dict) else None
    return _ENTITY_TAGS.get(kind, "another-entity") if isinstance(kind, str) else "another-entity"


Entity = Annotated[
    Annotated[Mention, Tag("a-mention")]
    | Annotated[QuotedReply, Tag("a-quoted-reply")]
    | Annotated[OtherEntity, Tag("another-entity")],
    Discriminator(_entity_kind),
]


class Activity(_Model):
    """What every activity must carry: who, where, to which bot, where to answer."""

    type: Annotated[StrictStr, Field(max_length=64)]
    id: OptionalId = None
    serviceUrl: ServiceUrl
    channelId: Short = None
    from_: Account = Field(alias="from")
    recipient: Bot
    conversation: Conversation
    channelData: ChannelData | None = None
    replyToId: OptionalId = None


class CardData(_Model):
    """What one of huddlebot's cards sends back: its action value and the text typed in its form."""

    huddlebot: ActionValue = None
    reply_text: Text = None
    what_we_did: Text = None
    why_not_possible: Text = None
    resolve_title: Text = None
    not_possible_title: Text = None
    in_progress_note: Text = None
    in_progress_title: Text = None
    goodcatch_text: Text = None


class Message(Activity):
    id: Id
    text: Text = None
    entities: Annotated[list[Entity], Field(max_length=MAX_ENTITIES)] | None = None
    value: CardData | Annotated[StrictStr, Field(max_length=MAX_TEXT)] | None = None


class CardAction(_Model):
    type: Short = None
    verb: Short = None
    data: CardData | None = None


class AdaptiveCardActionValue(_Model):
    action: CardAction


class DialogData(_Model):
    """The data of a dialog (task module) fetch or submit: which form, and what was typed in it."""

    huddlebot: ActionValue = None
    huddlebot_form: Short = None
    text: Text = None
    unit: Short = None
    severity: Short = None
    category: Short = None
    concern_type: Short = None
    anonymity: Short = None
    notify_me: Short = None
    post_anyway: Short = None
    share: Short = None
    involves_leader: Short = None
    code: Short = None
    run: RecordId | None = None
    # The round dialog: counts, then one item a line.
    staff: Count = None
    patients: Count = None
    families: Count = None
    wins: Text = None
    raise_issues: Text = None
    track_issues: Text = None
    barriers: Text = None


class DialogValue(_Model):
    commandId: Short = None
    data: DialogData | None = None


class Invoke(Activity):
    id: Id
    name: Annotated[StrictStr, Field(max_length=MAX_SHORT)]
    value: Any = None


class CardActionInvoke(Invoke):
    value: AdaptiveCardActionValue


class DialogInvoke(Invoke):
    value: DialogValue


class Member(_Model):
    id: Annotated[StrictStr, Field(max_length=MAX_ID)]


class ConversationUpdate(Activity):
    membersAdded: list[Member] | None = None
    membersRemoved: list[Member] | None = None


class InstallationUpdate(Activity):
    action: Short = None


# --- the check ------------------------------------------------------------------------------------------


def kind_of(activity: dict[str, Any]) -> str:
    """The activity's kind for a log line: only names huddlebot knows, never a value sent to it."""
    kind = activity.get("type")
    if kind == "invoke":
        name = activity.get("name")
        if name == ADAPTIVE_CARD_ACTION or name in TASK_FETCH or name in TASK_SUBMIT:
            return f"invoke {name}"
        if isinstance(name, str) and name.startswith("composeExtension/"):
            return "invoke composeExtension/(other)"
        return "invoke (other)"
    return kind if kind in ACTED_ON else "activity (other type)"


def _model(activity: dict[str, Any]) -> type[Activity]:
    kind = activity.get("type")
    if kind == "message":
        return Message
    if kind == "conversationUpdate":
        return ConversationUpdate
    if kind == "installationUpdate":
        return InstallationUpdate
    if kind == "invoke":
        name = activity.get("name")
        if name == ADAPTIVE_CARD_ACTION:
            return CardActionInvoke
        if name in TASK_FETCH or name in TASK_SUBMIT:
            return DialogInvoke
        return Invoke
    return Activity


_REASONS = {
    "missing": "is missing",
    "string_too_long": "is too long",
    "too_long": "has too many items",
    "literal_error": "is not one of the values Teams sends",
    "greater_than_equal": "is out of range",
    "less_than": "is out of range",
    "int_type": "is not an integer",
    "string_type": "is not a string",
    "model_type": "is not an object",
    "model_attributes_type": "is not an object",
    "list_type": "is not a list",
    "union_tag_invalid": "is not an object",
}


def _field(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as ``a.b[2].c``: our own field names and list positions (union members'
    names, e.g. ``CardData``, are left out); an unexpected part is not echoed."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _FIELD_NAMES:
            out += f".{part}" if out else part
    return out.replace("from_", "from")


def _reason(error: Any) -> str:
    kind = error.get("type", "")
    if kind == "value_error":
        message = str(error.get("msg", ""))
        return "is empty" if message.endswith("empty") else "is not an http(s) URL"
    if kind.endswith("_type") and kind not in _REASONS:
        return "has the wrong type"
    return _REASONS.get(kind, "is not valid")


def check(activity: dict[str, Any]) -> Problem | None:
    """None when ``activity`` has the shape huddlebot reads for its kind; else the first problem."""
    kind = kind_of(activity)
    try:
        _model(activity).model_validate(activity)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False, include_context=False)[0]
        return Problem(kind, _field(tuple(first["loc"])), _reason(first))
    return None


def _names(*models: type[BaseModel]) -> frozenset[str]:
    names: set[str] = set()
    for model in models:
        for name, info in model.model_fields.items():
            names.add(name)
            if info.alias:
                names.add(info.alias)
    return frozenset(names)


_FIELD_NAMES = _names(
    Account,
    Bot,
    Conversation,
    Ref,
    Channel,
    ChannelData,
    Mention,
    QuotedMessage,
    QuotedReply,
    OtherEntity,
    Activity,
    CardData,
    Message,
    CardAction,
    AdaptiveCardActionValue,
    DialogData,
    DialogValue,
    Invoke,
    Member,
    ConversationUpdate,
    InstallationUpdate,
)
