"""A Teams chat message → a core command (the inbound seam for typed bot commands).

Commands are the words listed in the manifest's ``commandLists``: ``concern``, ``huddle``,
``goodcatch``, ``help``, and in a personal chat ``round`` (a leader's round, logged in a dialog); a
leader may also type ``ack``, ``reply``, ``status``, ``resolve``, ``not-possible`` and ``show`` with a
reference. In a channel the bot only takes commands when @mentioned.

Anonymous concerns are never taken from a chat message (chats are kept and exported): the
"Raise a safety concern" dialog is the way. A confidential one is not taken in a channel or group
chat either, where everybody reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.teams.activity import Inbound, people_mentioned, plain_text
from adapters.teams.words import FOLLOW_UP_DIALOG, RAISE_DIALOG, UNDER_THE_BOX
from bot import commands as c
from bot.receipts import split_code
from bot.text import take_title

DIALOG_HINT = (
    f"use the **{RAISE_DIALOG}** dialog instead: in any chat or channel, select **+** (or **…**) "
    f"under the message box, then huddlebot → *{RAISE_DIALOG}*."
)

_CONCERN_FLAGS = {
    "--anonymous": None,
    "--confidential": None,
    "--named": None,
    "--post-anyway": None,
    "--notify-me": None,
    "--severity": "severity",
    "--category": "category",
    "--type": "concern_type",
    "--unit": "unit",
}


@dataclass(frozen=True, slots=True)
class Local:
    """Answered by the adapter itself: ``help``, a usage hint, or a polite no."""

    kind: str  # help | usage | refused | whoami | dashboard | round (``text``: the unit asked for)
    text: str = ""


def _word(text: str) -> tuple[str, str]:
    head, _, rest = text.strip().partition(" ")
    return head, rest.strip()


def _normalise_dashes(text: str) -> str:
    # Teams (and phones) turn "--" into an en or em dash as you type.
    return text.replace("\u2014", "--").replace("\u2013", "--")


def _flags(text: str) -> tuple[dict[str, str | bool], str] | Local:
    found: dict[str, str | bool] = {}
    rest = _normalise_dashes(text).strip()
    while rest.startswith("--"):
        flag, rest = _word(rest)
        flag = flag.lower()
        if flag not in _CONCERN_FLAGS:
            return Local("usage", f"I don't know the option {flag[:30]}. {CONCERN_USAGE}")
        if _CONCERN_FLAGS[flag] is None:
            found[flag] = True
        else:
            value, rest = _word(rest)
            if not value:
                return Local("usage", f"{flag} needs a value. {CONCERN_USAGE}")
            found[flag] = value
    return found, rest


CONCERN_USAGE = (
    "Usage: `concern [--confidential] [--severity low|moderate|high|immediate] [--type TYPE] "
    "[--category AIM] [--unit UNIT] what happened`"
)


def is_command(text: str) -> bool:
    """True when ``text`` starts with one of the bot's command words."""
    return _word(text)[0].lower() in _COMMANDS


def translate(inbound: Inbound) -> c.Command | Local:
    """The command an (already addressed to the bot) message asks for."""
    keep = tuple(text for _, _, text in people_mentioned(inbound))
    text = plain_text(inbound, keep=keep)
    verb, rest = _word(text)
    verb = verb.lower().rstrip(":")
    handler = _COMMANDS.get(verb)
    if handler is None:
        return Local("help")
    return handler(inbound, rest)


def _concern(inbound: Inbound, rest: str) -> c.Command | Local:
    sub = _word(rest)[0]
    if sub.lower() in ("follow-up", "followup", "follow"):
        return Local(
            "refused",
            f"To follow up on an anonymous concern, open huddlebot's *{FOLLOW_UP_DIALOG}* dialog "
            f"({UNDER_THE_BOX}). A receipt code typed in a chat stays in its history. Nothing was looked up.",
        )
    parsed = _flags(rest)
    if isinstance(parsed, Local):
        return parsed
    flags, body = parsed
    if flags.get("--anonymous") or flags.get("--notify-me"):
        return Local(
            "refused",
            "Anonymous concerns can't be raised by chat message: chats are kept, and an administrator "
            f"can read them. Nothing was saved. To stay anonymous, {DIALOG_HINT} "
            "You may want to delete your message.",
        )
    if flags.get("--confidential") and inbound.kind != "personal":
        return Local(
            "refused",
            "Everyone here can read this conversation, so I did not take it as a confidential concern. "
            f"Nothing was saved. Send it to me in a personal chat, or {DIALOG_HINT}",
        )
    if not body:
        return Local("usage", CONCERN_USAGE)
    return c.RaiseConcern(
        person=inbound.person,
        where=inbound.where,
        text=body,
        unit=_text(flags.get("--unit")),
        severity=_text(flags.get("--severity")),
        category=_text(flags.get("--category")),
        concern_type=_text(flags.get("--type")),
        anonymity="confidential" if flags.get("--confidential") else "named",
        post_anyway=bool(flags.get("--post-anyway")),
    )


def _huddle(inbound: Inbound, rest: str) -> c.Command | Local:
    sub, rest = _word(rest)
    sub = sub.lower()
    if sub not in ("now", "status", "stoplight"):
        return Local("usage", HUDDLE_USAGE)
    # The unit as the core's hint says it (``--unit 4west``), or plainly (``huddle status 4west``).
    rest = _normalise_dashes(rest)
    if rest.startswith("--"):
        flag, rest = _word(rest)
        if flag.lower() != "--unit":
            return Local("usage", f"I don't know the option {flag[:30]}. {HUDDLE_USAGE}")
        if not rest:
            return Local("usage", f"--unit needs a value. {HUDDLE_USAGE}")
    unit = rest or None
    if sub == "now":
        return c.OpenHuddle(person=inbound.person, where=inbound.where, unit=unit)
    if sub == "stoplight":
        return c.ShowStoplight(person=inbound.person, where=inbound.where, unit=unit)
    return c.HuddleStatus(person=inbound.person, where=inbound.where, unit=unit)


HUDDLE_USAGE = (
    "Usage: `huddle now [--unit UNIT]` starts the unit's huddle (leaders), `huddle status [--unit UNIT]` "
    "says where today's huddle is at, `huddle stoplight [--unit UNIT]` shows what was done about what the "
    "unit raised. In the unit's channel the unit can be left out."
)


def _goodcatch(inbound: Inbound, rest: str) -> c.Command | Local:
    usage = Local("usage", "Usage: `goodcatch @colleague what they caught`")
    mentioned = people_mentioned(inbound)
    if mentioned:
        user_id, _, at_text = mentioned[0]
        shown = "@" + re.sub(r"<[^>]+>", "", at_text)
        body = " ".join(rest.replace(shown, " ", 1).split())
        recipient = user_id
    else:
        word, body = _word(rest)
        if not word.startswith("@"):
            return usage
        recipient = word
    if not body:
        return usage
    return c.GiveGoodCatch(person=inbound.person, where=inbound.where, recipient=recipient, text=body)


def _leader(verb: str):
    def build(inbound: Inbound, rest: str) -> c.Command | Local:
        ref, text = _word(rest)
        if not ref:
            return Local("usage", f"Usage: `{_LEADER_USAGE[verb]}`")
        if split_code(ref) is not None:
            # A receipt code in a chat message would tie the anonymous reporter to their concern.
            return Local(
                "refused",
                "That looks like a receipt code, and a code typed in a chat stays in its history, where it "
                "can be tied to you. Nothing was changed. Use huddlebot's "
                f"*{FOLLOW_UP_DIALOG}* dialog ({UNDER_THE_BOX}) instead. You may want to delete your "
                "message.",
            )
        person = inbound.person
        title = None
        if verb in ("status", "resolve", "not-possible"):
            try:
                title, text = take_title(text)
            except ValueError:
                return Local(
                    "usage", f'Usage: `{_LEADER_USAGE[verb]}` (a title needs words: --title "Bed alarms")'
                )
        if verb == "ack":
            return c.AcknowledgeConcern(person=person, ref=ref, note=text or None)
        if verb == "reply":
            return c.ReplyToConcern(person=person, ref=ref, text=text)
        if verb == "status":
            status, note = _word(text)
            return c.SetConcernStatus(
                person=person, ref=ref, status=status or "in_progress", note=note or None, title=title
            )
        if verb == "resolve":
            return c.ResolveConcern(person=person, ref=ref, text=text, title=title)
        if verb == "reopen":
            return c.ReopenConcern(person=person, ref=ref, text=text)
        if verb == "not-possible":
            return c.MarkNotPossible(person=person, ref=ref, reason=text, title=title)
        return c.ShowConcern(person=person, ref=ref)

    return build


_LEADER_USAGE = {
    "ack": "ack C-1042 [note]",
    "reply": "reply C-1042 your answer",
    "status": 'status C-1042 in_progress [note] [--title "stoplight title"]',
    "resolve": 'resolve C-1042 what we did [--title "stoplight title"]',
    "reopen": "reopen C-1042 why it is not fixed",
    "not-possible": 'not-possible C-1042 why it cannot be done now [--title "stoplight title"]',
    "show": "show C-1042",
}


def _help(inbound: Inbound, rest: str) -> Local:
    return Local("help")


def _home(inbound: Inbound, rest: str) -> c.Command | Local:
    if inbound.kind != "personal":
        return Local("usage", "Ask me `mine` in a personal chat: it lists your concerns.")
    return c.ShowHome(person=inbound.person)


def _dashboard(inbound: Inbound, rest: str) -> Local:
    # The link signs its holder in: it goes only into the person's own chat with the bot.
    if inbound.kind != "personal":
        return Local("usage", "Ask me `dashboard` in our personal chat: the link is private.")
    return Local("dashboard")


def _round(inbound: Inbound, rest: str) -> Local:
    # What a leader heard on rounds is typed in a dialog, never in a chat that everyone there can read.
    if inbound.kind != "personal":
        return Local("usage", "Write `round` (or `round 4west`) to me in a personal chat to log a round.")
    unit = _normalise_dashes(rest).removeprefix("--unit").strip()
    return Local("round", _word(unit)[0])


def _whoami(inbound: Inbound, rest: str) -> Local:
    # The directory (huddlebot.yaml) needs each leader's Teams id, which Teams shows nowhere else.
    if inbound.kind != "personal":
        return Local("usage", "Ask me `whoami` in a personal chat.")
    return Local(
        "whoami",
        f"Your Microsoft Teams id for huddlebot's organisation file is `{inbound.user_id}` "
        f'(people → your handle → `teams: "{inbound.user_id}"`).',
    )


def _text(value: str | bool | None) -> str | None:
    return value if isinstance(value, str) else None


_COMMANDS = {
    "concern": _concern,
    "huddle": _huddle,
    "goodcatch": _goodcatch,
    "good-catch": _goodcatch,
    "help": _help,
    "whoami": _whoami,
    "dashboard": _dashboard,
    "round": _round,
    "mine": _home,
    "home": _home,
    "ack": _leader("ack"),
    "acknowledge": _leader("ack"),
    "reply": _leader("reply"),
    "status": _leader("status"),
    "resolve": _leader("resolve"),
    "reopen": _leader("reopen"),
    "not-possible": _leader("not-possible"),
    "show": _leader("show"),
}
