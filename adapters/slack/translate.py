"""Slack payloads → core commands (the Slack adapter's inbound seam). No policy: the core decides.

Who is speaking is always ``Person("slack", <our workspace>, <user id>)`` and a place is
``Address("slack", <our workspace>, <channel id>, <thread ts>)``: the tenant is the workspace this
app is installed in, also for a guest from another organisation in a shared channel.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from bot import commands as c
from bot.actions import parse_action
from bot.config import OrgConfig
from bot.errors import Refusal
from bot.model import Address, Person, concern_reference, parse_reference
from bot.rounding import MAX_COUNT, MAX_ITEMS
from bot.text import MAX_SHORT_CHARS

SLACK = "slack"
MAX_ROW_ID = 2**63 - 1  # the largest id a database row can have (a BIGINT)

USAGE = {
    "/concern": (
        "*/concern* [what happened] — opens a form to raise a safety concern (named, confidential or "
        "anonymous).\n"
        "*/concern follow-up CODE* [answer] — anonymous reporters: read the leaders' replies with your "
        "receipt code, or answer them.\n"
        "*/concern show C-1042* — leaders, and whoever raised it by name: read the whole concern.\n"
        "*/concern reopen C-1042 why* — reopen a concern you raised that was resolved (anonymous: use your "
        "receipt code instead of the reference).\n"
        "*/concern help* — this help."
    ),
    "/huddle": (
        "*/huddle now* [unit] — leaders: start the unit's safety huddle now.\n"
        "*/huddle status* [unit] — where today's huddle is at, and what is open.\n"
        "*/huddle stoplight* [unit] — what was done about what the unit raised (leaders post it).\n"
        "*/huddle dashboard* — a private link to the dashboard: trends, open concerns, exports.\n"
        "*/huddle help* — this help."
    ),
    "/goodcatch": (
        "*/goodcatch @someone what they caught* — recognise a colleague who stopped something before it "
        "did harm. Without anything after it, it opens a form.\n"
        "*/goodcatch help* — this help."
    ),
    "/round": (
        "*/round* [unit] — leaders: log a round on a unit you lead. A form asks whom you spoke with "
        "(counts only, never a patient's name), wins (each `@person: what they did` becomes a good "
        "catch), issues to raise as concerns or to track on the stoplight, and tools or barriers needed.\n"
        "*/round help* — this help."
    ),
}
COMMANDS = tuple(USAGE)


class Usage(Exception):
    """The command was not understood; ``str(self)`` says how to write it (Slack mrkdwn, ours)."""

    def __init__(self, command: str, problem: str = "") -> None:
        self.command, self.problem = command, problem
        super().__init__((f"{problem}\n" if problem else "") + USAGE.get(command, ""))


def person(tenant: str, user_id: str, name: str = "") -> Person:
    """The core's Person for a Slack user."""
    return Person(SLACK, tenant, user_id, name)


def address(tenant: str, channel: str | None, thread: str | None = None) -> Address:
    """The core's Address for a Slack channel (and thread)."""
    return Address(SLACK, tenant, channel=channel, thread=thread)


# --- text ---------------------------------------------------------------------------------------

_MARKUP = re.compile(r"<([^<>]*)>")


def plain_text(text: str, config: OrgConfig | None = None) -> str:
    """What a person typed, from Slack's message format: markup becomes words, entities characters.

    ``<@U123|dana>`` → ``@Dana Reyes`` (the directory's name when known), ``<!channel>`` → ``@channel``,
    ``<https://x|label>`` → ``label (https://x)``, ``&lt;`` → ``<``. The result is stored as the
    person's words and escaped again whenever it is shown, so it can never notify anybody.
    """

    def word(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            handle = config.handle_for(SLACK, target[1:]) if config else None
            entry = config.person(handle) if config and handle else None
            return "@" + (entry.name if entry else label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!date^"):
            return label
        if target.startswith("!"):
            return "@" + (label or target[1:])
        if label:
            return f"{label} ({target})" if label != target and not target.startswith("mailto:") else label
        return target

    converted = _MARKUP.sub(word, text)
    return converted.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>\s*(.*)$", re.DOTALL)


def split_word(text: str) -> tuple[str, str]:
    """The first word and the rest."""
    word, _, rest = text.strip().partition(" ")
    return word, rest.strip()


# --- slash commands -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenConcernForm:
    """``/concern [text]``: open the concern modal, its description prefilled."""

    prefill: str


@dataclass(frozen=True, slots=True)
class ShowHelp:
    """``help`` (or nothing understood): answer with the command's usage."""

    command: str


@dataclass(frozen=True, slots=True)
class ShowDashboard:
    """``/huddle dashboard``: the person's private sign-in link to the dashboard."""


@dataclass(frozen=True, slots=True)
class OpenGoodCatchForm:
    """``/goodcatch`` with nothing after it: open the good-catch modal."""


def concern_command(
    text: str, who: Person, config: OrgConfig
) -> OpenConcernForm | ShowHelp | c.FollowUp | c.ShowConcern | c.ReopenConcern:
    """What ``/concern TEXT`` asks for. Anything that is not a sub-command is the concern itself."""
    words = plain_text(text, config).strip()
    sub, rest = split_word(words)
    if sub.lower() in ("help", "-h", "--help", "?"):
        return ShowHelp("/concern")
    if sub.lower() == "show" and parse_reference(split_word(rest)[0]) is not None:
        # Only "show" and a reference: "show" before anything else is still the start of a concern.
        return c.ShowConcern(person=who, ref=split_word(rest)[0].upper())
    if sub.lower() == "reopen" and split_word(rest)[0]:
        # A reference, or (anonymous) a receipt code: a slash command's text is not kept in the channel.
        ref, why = split_word(rest)
        if not why:
            raise Usage(
                "/concern", "Say why it isn't fixed, after the reference: /concern reopen C-1042 why."
            )
        return c.ReopenConcern(person=who, ref=ref, text=why)
    if sub.lower() in ("follow-up", "followup", "follow"):
        if sub.lower() == "follow" and rest.lower().startswith("up"):
            rest = rest[2:].strip()
        code, answer = split_word(rest)
        if not code:
            raise Usage("/concern", "Which receipt code? It looks like C-1042-ABCD-EFGH-JKMN-PQRS.")
        return c.FollowUp(person=who, code=code, text=answer or None)
    return OpenConcernForm(prefill=words)


def huddle_command(
    text: str, who: Person, where: Address, config: OrgConfig
) -> c.Command | ShowHelp | ShowDashboard:
    """What ``/huddle now|status|dashboard|help [unit]`` asks for."""
    sub, unit = split_word(plain_text(text, config))
    match sub.lower():
        case "dashboard":
            return ShowDashboard()
        case "stoplight":
            return c.ShowStoplight(person=who, where=where, unit=unit or None)
        case "now" | "start":
            return c.OpenHuddle(person=who, where=where, unit=unit or None)
        case "status" | "":
            return c.HuddleStatus(person=who, where=where, unit=unit or None)
        case "help" | "-h" | "--help" | "?":
            return ShowHelp("/huddle")
    raise Usage("/huddle", f"I don't know '/huddle {sub[:30]}'.")


def goodcatch_command(
    text: str, who: Person, where: Address, config: OrgConfig
) -> c.GiveGoodCatch | ShowHelp | OpenGoodCatchForm:
    """What ``/goodcatch @someone what they caught`` asks for.

    Slack sends a mention as ``<@U123|name>`` (or ``<@U123>``): the directory turns the id into a
    handle; an unknown colleague is named as Slack named them.
    """
    raw = text.strip()
    if not raw:
        return OpenGoodCatchForm()
    if raw.lower() in ("help", "-h", "--help", "?"):
        return ShowHelp("/goodcatch")
    mention = _MENTION.match(raw)
    if mention:
        user_id, label, rest = mention.groups()
        recipient = config.handle_for(SLACK, user_id) or label or user_id
        what = plain_text(rest, config).strip()
    else:
        first, rest = split_word(raw)
        if not first.startswith("@"):
            raise Usage("/goodcatch", "Start with the colleague you want to recognise, as an @mention.")
        recipient, what = first.lstrip("@"), plain_text(rest, config).strip()
    if not what:
        raise Usage("/goodcatch", "Say what they caught, after the @mention.")
    return c.GiveGoodCatch(person=who, where=where, recipient=recipient, text=what)


@dataclass(frozen=True, slots=True)
class OpenRoundForm:
    """``/round [unit]``: open the rounding modal, ``unit`` chosen in it when one was named."""

    unit: str | None = None


def round_command(text: str, config: OrgConfig) -> OpenRoundForm | ShowHelp:
    """What ``/round [unit]`` asks for."""
    words = plain_text(text, config).strip()
    if words.lower() in ("help", "-h", "--help", "?"):
        return ShowHelp("/round")
    if not words:
        return OpenRoundForm()
    unit = config.find_unit(words)
    if unit is None:
        raise Usage("/round", f"I don't know a unit called '{words[:40]}'.")
    return OpenRoundForm(unit.id)


# --- buttons ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenForm:
    """A button that needs a form first: reply to, move along or close a concern; raise one or a good
    catch."""

    form: str
    concern_id: int | None = None
    run_id: int | None = None


def button_command(value: str, who: Person, where: Address) -> c.Command | OpenForm:
    """What a pressed button asks for (its value is parsed by ``bot.actions``; a stale one is a Refusal)."""
    action = parse_action(value)
    if not all(_row_id(n) for n in (action.concern_id, action.run_id) if n is not None):
        raise Refusal("That button is out of date. Please use the latest message.", code="bad_action")
    if action.concern_id is not None:
        ref = concern_reference(action.concern_id)
        match action.action:
            case "acknowledge":
                return c.AcknowledgeConcern(person=who, ref=ref)
            case "reply" | "in_progress" | "resolve" | "not_possible":
                return OpenForm(action.action, concern_id=action.concern_id)
    if action.run_id is not None:
        match action.action:
            case "answer_clear":
                return c.AnswerHuddle(person=who, where=where, answer="clear", run_id=action.run_id)
            case "answer_concern":
                return OpenForm("concern", run_id=action.run_id)
            case "answer_goodcatch":
                return OpenForm("goodcatch", run_id=action.run_id)
    raise ValueError("unreachable: parse_action only returns known actions")


def _row_id(value: object) -> bool:
    """An id a row could have: a whole number from 1 to ``MAX_ROW_ID`` (a bool is not one)."""
    return type(value) is int and 0 < value <= MAX_ROW_ID


# --- events -------------------------------------------------------------------------------------

# Message subtypes that are somebody typing: a plain message, one also sent to the channel, one with a file.
_TYPED = {None, "thread_broadcast", "file_share"}


def message_command(event: dict[str, Any], tenant: str, config: OrgConfig) -> c.MessageInThread | None:
    """A person's reply in a thread becomes ``MessageInThread`` (the core knows whose thread it is).

    Bots, edits, joins and top-level messages are not commands: None.
    """
    if event.get("subtype") not in _TYPED or event.get("bot_id") or not event.get("user"):
        return None
    thread, ts = event.get("thread_ts"), event.get("ts")
    if not thread or thread == ts or not event.get("channel"):
        return None
    text = plain_text(event.get("text") or "", config).strip()
    if not text:
        return None
    return c.MessageInThread(
        person=person(tenant, event["user"]), where=address(tenant, event["channel"], thread), text=text
    )


# --- modals -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormContext:
    """What a modal remembers between opening and submission (its ``private_metadata``): ids only."""

    channel: str | None = None
    thread: str | None = None
    run_id: int | None = None
    concern_id: int | None = None
    phi_warned: bool = False
    code: str | None = None  # the receipt code, for the follow-up form only

    def dump(self) -> str:
        """The versioned JSON kept in the modal (Slack allows 3000 characters)."""
        data = {
            "v": 1,
            "ch": self.channel,
            "th": self.thread,
            "run": self.run_id,
            "concern": self.concern_id,
            "phi": self.phi_warned or None,
            "code": self.code,
        }
        return json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))

    @classmethod
    def load(cls, raw: str | None) -> FormContext:
        """Read it back; anything unreadable is an empty context (the form still works, less prefilled)."""
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            return cls()
        if not isinstance(data, dict) or data.get("v") != 1:
            return cls()

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        def number(key: str) -> int | None:
            value = data.get(key)
            return value if _row_id(value) else None

        return cls(
            channel=text("ch"),
            thread=text("th"),
            run_id=number("run"),
            concern_id=number("concern"),
            phi_warned=data.get("phi") is True,
            code=text("code"),
        )


def form_values(view: dict[str, Any]) -> dict[str, Any]:
    """The submitted values of a modal, by block id: a string, a list (checkboxes) or None."""
    values: dict[str, Any] = {}
    for block_id, actions in (view.get("state", {}).get("values") or {}).items():
        for element in actions.values():
            kind = element.get("type")
            if kind in ("static_select", "radio_buttons", "external_select"):
                option = element.get("selected_option") or {}
                values[block_id] = option.get("value")
            elif kind == "checkboxes":
                values[block_id] = [o.get("value") for o in element.get("selected_options") or []]
            elif kind == "users_select":
                values[block_id] = element.get("selected_user")
            else:
                values[block_id] = element.get("value")
    return values


def concern_from_form(
    values: dict[str, Any], context: FormContext, who: Person, tenant: str, view_id: str
) -> c.RaiseConcern:
    """The concern a submitted form raises. A re-submission of the same modal is the same concern."""
    return c.RaiseConcern(
        person=who,
        where=address(tenant, context.channel),
        text=values.get("description") or "",
        unit=values.get("unit") or None,
        severity=values.get("severity") or None,
        category=values.get("category") or None,
        concern_type=values.get("type") or None,
        anonymity=values.get("anonymity") or "named",
        notify_me="yes" in (values.get("notify") or []),
        post_anyway="yes" in (values.get("post_anyway") or []),
        share="yes" in (values.get("share") or []),
        involves_leader="yes" in (values.get("involves_leader") or []),
        idempotency_key=_form_key(tenant, view_id),
    )


class FormErrors(Exception):
    """What a person typed into a form that cannot be used: an error message for each field."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(", ".join(errors))


_COUNT = re.compile(r"^\s*(\d{1,6})\s*$")
_COUNTS = ("staff", "patients", "families")
_LISTS = {"concerns": "issue", "tracked": "issue", "barriers": "need", "wins": "win"}
_NAME_CHARS = 60  # "@Jo Martin: ..." names a person; a longer text before the colon is a sentence


def round_from_form(
    values: dict[str, Any], context: FormContext, who: Person, tenant: str, config: OrgConfig
) -> c.LogRound:
    """The round a submitted ``/round`` form logs; ``FormErrors`` for what the form itself can show.

    The core checks the same limits again: this is only so each error lands under its own field.
    """
    errors: dict[str, str] = {}
    counts: dict[str, int] = {}
    for field in _COUNTS:
        raw = values.get(field)
        match = _COUNT.match(raw) if isinstance(raw, str) else None
        if raw in (None, ""):
            counts[field] = 0
        elif match and int(match.group(1)) <= MAX_COUNT:
            counts[field] = int(match.group(1))
        else:
            errors[field] = f"A whole number from 0 to {MAX_COUNT}."
    lists: dict[str, list[str]] = {}
    for field, noun in _LISTS.items():
        raw = values.get(field)
        lines = [line.strip() for line in raw.splitlines()] if isinstance(raw, str) else []
        lists[field] = [line for line in lines if line]
        if len(lists[field]) > MAX_ITEMS:
            errors[field] = f"At most {MAX_ITEMS} lines, one {noun} a line."
        elif any(len(line) > MAX_SHORT_CHARS for line in lists[field]):
            errors[field] = f"A line holds at most {MAX_SHORT_CHARS:,} characters."
    wins: list[tuple[str, str]] = []
    for number, line in enumerate(lists["wins"] if "wins" not in errors else [], 1):
        win = _win(line, config)
        if win is None:
            errors["wins"] = f"Line {number}: write it as @person: what they did."
            break
        wins.append(win)
    if errors:
        raise FormErrors(errors)
    return c.LogRound(
        person=who,
        where=address(tenant, context.channel),
        unit=values.get("unit") or None,
        wins=tuple(wins),
        concerns=tuple(_issue(line, config) for line in lists["concerns"]),
        tracked=tuple(lists["tracked"]),
        barriers=tuple(lists["barriers"]),
        **counts,
    )


def _win(line: str, config: OrgConfig) -> tuple[str, str] | None:
    """``@person: what they did`` as (who, what); the person as ``/goodcatch`` names them.

    A Slack mention (``<@U123>`` or ``<@U123|dana>``) is the directory's handle when known, else Slack's
    label for them; ``@jo`` or ``@Jo Martin:`` is a handle, or a directory name, or kept as typed.
    """
    mention = _MENTION.match(line)
    if mention:
        user_id, label, rest = mention.groups()
        who = config.handle_for(SLACK, user_id) or label or user_id
        what = rest.strip().removeprefix(":")
    elif line.startswith("@"):
        name, colon, what = (part.strip() for part in line[1:].partition(":"))
        first, rest = split_word(line[1:])
        known = _directory_handle(config, name)
        if not known and (not colon or " " in name) and _directory_handle(config, first):
            # "@jo what she did", "@jo caught it: at 3am": the first word is the person
            known, what = _directory_handle(config, first), rest
        elif not colon or len(name) > _NAME_CHARS or name.count(" ") > 3:
            name, what = first, rest  # someone the directory does not know, then what they did
        who = known or name
    else:
        return None
    what = _ANY_MENTION.sub(lambda m: _mentioned(m, config), what).strip()
    return (who, what) if any(ch.isalnum() for ch in who) and what else None


# A form's text is what was typed, not Slack's escaped message format: only a pasted mention is markup.
_ANY_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^<>]*))?>")


def _mentioned(match: re.Match[str], config: OrgConfig) -> str:
    """A mention in a form's text as the person's name (the directory's when known)."""
    user_id, label = match.group(1), match.group(2)
    handle = config.handle_for(SLACK, user_id)
    entry = config.person(handle) if handle else None
    return "@" + (entry.name if entry else label or user_id)


def _issue(line: str, config: OrgConfig) -> str:
    """An issue heard: ``<@U123>: words`` names the colleague as ``@handle: words``, as the core reads it."""
    mention = _MENTION.match(line)
    if mention is None:
        return _ANY_MENTION.sub(lambda m: _mentioned(m, config), line)
    user_id, _label, rest = mention.groups()
    rest = _ANY_MENTION.sub(lambda m: _mentioned(m, config), rest)
    return f"@{config.handle_for(SLACK, user_id) or user_id} {rest}".strip()


def _directory_handle(config: OrgConfig, name: str) -> str | None:
    """The handle of the person called ``name`` (their handle or their name, any case)."""
    wanted = name.casefold()
    return next((h for h, p in config.people.items() if wanted in (h.casefold(), p.name.casefold())), None)


def _form_key(tenant: str, view_id: str) -> str | None:
    """The same modal submitted twice is one concern. Only a digest of its id is kept: even for an
    anonymous concern, nothing stored could be matched with Slack's records of who opened which form."""
    if not view_id:
        return None
    return "slack:view:" + hashlib.sha256(f"{tenant}:{view_id}".encode()).hexdigest()[:40]
