"""Console lines → core commands (the console's inbound seam). Console-only verbs are left to the session."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import commands as c
from bot.model import Address, Person
from bot.text import take_title as text_take_title

CONCERN_FLAGS = {
    "--anonymous": None,
    "--confidential": None,
    "--named": None,
    "--notify-me": None,
    "--post-anyway": None,
    "--share": None,
    "--involves-leader": None,
    "--severity": "severity",
    "--category": "category",
    "--type": "concern_type",
    "--unit": "unit",
}


class Usage(Exception):
    """The line could not be understood; the message says how to write it."""


@dataclass(frozen=True)
class Where:
    """Who is typing, and in which unit's channel."""

    person: Person
    unit: str | None

    @property
    def address(self) -> Address:
        """The unit channel the person is "in"."""
        return Address(self.person.platform, self.person.tenant, channel=self.unit)


def split_word(text: str) -> tuple[str, str]:
    """The first word and the rest (the rest keeps its spacing and quotes)."""
    text = text.strip()
    word, _, rest = text.partition(" ")
    return word, rest.strip()


def take_flags(text: str, allowed: dict[str, str | None]) -> tuple[dict[str, str | bool], str]:
    """Leading ``--flag`` / ``--flag VALUE`` words, and the free text after them."""
    found: dict[str, str | bool] = {}
    rest = text.strip()
    while rest.startswith("--"):
        flag, rest = split_word(rest)
        if flag not in allowed:
            raise Usage(f"Unknown option {flag}. Options: {', '.join(allowed)}.")
        if allowed[flag] is None:
            found[flag] = True
        else:
            value, rest = split_word(rest)
            if not value:
                raise Usage(f"{flag} needs a value.")
            found[flag] = value
    return found, rest


def take_title(text: str) -> tuple[str | None, str]:
    """``--title`` and its value, and the text without it (``bot.text.take_title``); Usage if empty."""
    try:
        return text_take_title(text)
    except ValueError:
        raise Usage('--title needs a value: --title "Bed alarms fixed"') from None


def translate(line: str, where: Where) -> c.Command:
    """The core command a console line asks for; ``Usage`` if it is malformed."""
    verb, rest = split_word(line)
    person, address = where.person, where.address
    verb = verb.lower()
    if verb == "/concern":
        sub, tail = split_word(rest)
        if sub.lower() in ("follow-up", "followup"):
            code, text = split_word(tail)
            if not code:
                raise Usage("Usage: /concern follow-up CODE [TEXT]")
            return c.FollowUp(person=person, code=code, text=text or None)
        if sub.lower() in ("ack", "acknowledge"):
            ref, note = split_word(tail)
            return c.AcknowledgeConcern(person=person, ref=ref, note=note or None)
        flags, text = take_flags(rest, CONCERN_FLAGS)
        anonymity = (
            "anonymous"
            if flags.get("--anonymous")
            else "confidential"
            if flags.get("--confidential")
            else "named"
        )
        return c.RaiseConcern(
            person=person,
            where=address,
            text=text,
            unit=_str(flags.get("--unit")) or where.unit,
            severity=_str(flags.get("--severity")),
            category=_str(flags.get("--category")),
            concern_type=_str(flags.get("--type")),
            anonymity=anonymity,
            notify_me=bool(flags.get("--notify-me")),
            post_anyway=bool(flags.get("--post-anyway")),
            share=bool(flags.get("--share")),
            involves_leader=bool(flags.get("--involves-leader")),
        )
    if verb == "/huddle":
        sub, tail = split_word(rest)
        unit = tail or where.unit
        if sub.lower() == "now":
            return c.OpenHuddle(person=person, where=address, unit=unit)
        if sub.lower() == "status":
            return c.HuddleStatus(person=person, where=address, unit=unit)
        if sub.lower() == "stoplight":
            return c.ShowStoplight(person=person, where=address, unit=unit)
        raise Usage("Usage: /huddle now | /huddle status | /huddle stoplight [UNIT]")
    if verb == "/round":
        return _round(rest, where)
    if verb == "answer":
        answer, text = split_word(rest)
        if answer.lower() not in ("clear", "concern", "goodcatch", "comment"):
            raise Usage("Usage: answer clear|concern|goodcatch|comment [TEXT]")
        return c.AnswerHuddle(person=person, where=address, answer=answer, text=text or None, unit=where.unit)
    if verb == "/goodcatch":
        recipient, text = split_word(rest)
        if not recipient.startswith("@") or not text:
            raise Usage("Usage: /goodcatch @HANDLE what they caught")
        return c.GiveGoodCatch(person=person, where=address, recipient=recipient, text=text, unit=where.unit)
    ref, text = split_word(rest)
    title = None
    if verb in ("resolve", "not-possible"):
        title, text = take_title(text)
    if verb in ("ack", "reply", "status", "resolve", "reopen", "show", "not-possible") and not ref:
        raise Usage(f"Usage: {_USAGE[verb]}")
    if verb == "ack":
        return c.AcknowledgeConcern(person=person, ref=ref, note=text or None)
    if verb == "reply":
        return c.ReplyToConcern(person=person, ref=ref, text=text)
    if verb == "status":
        status, note = split_word(text)
        if status == "--title":
            title, rest = take_title(text)
            status, note = split_word(rest)
        else:
            title, note = take_title(note)
        return c.SetConcernStatus(
            person=person, ref=ref, status=status or "in_progress", note=note or None, title=title
        )
    if verb == "resolve":
        return c.ResolveConcern(person=person, ref=ref, text=text, title=title)
    if verb == "not-possible":
        return c.MarkNotPossible(person=person, ref=ref, reason=text, title=title)
    if verb == "reopen":
        return c.ReopenConcern(person=person, ref=ref, text=text)
    if verb == "show":
        return c.ShowConcern(person=person, ref=ref)
    raise Usage(f"I don't know '{verb[:30]}'. Type help for the commands.")


_USAGE = {
    "ack": "ack REF [NOTE]",
    "reply": "reply REF TEXT",
    "status": 'status REF in_progress [--title "TITLE"] [NOTE]',
    "resolve": 'resolve REF [--title "TITLE"] WHAT-WE-DID',
    "not-possible": 'not-possible REF [--title "TITLE"] REASON',
    "reopen": "reopen REF-or-CODE WHY",
    "show": "show REF",
}


ROUND_USAGE = (
    "Usage: /round UNIT [--staff N] [--patients N] [--families N] [--win @HANDLE WHAT] "
    "[--concern ISSUE] [--track ISSUE] [--barrier NEED] (each of the last four may repeat; "
    "'--concern @HANDLE: ISSUE' names the colleague who raised it, only if they agreed)"
)


def _round(rest: str, where: Where) -> c.Command:
    """``/round UNIT --staff 6 --win @jo caught a wrong dose --concern ... --track ... --barrier ...``."""
    head, *parts = re.split(r"(?:^|\s)--(?=[a-z])", " " + rest)
    unit = head.strip() or where.unit
    counts = {"staff": 0, "patients": 0, "families": 0}
    lists: dict[str, list[str]] = {"concern": [], "track": [], "barrier": []}
    wins: list[tuple[str, str]] = []
    for part in parts:
        flag, value = split_word(part)
        if flag in counts:
            if not value.isdigit():
                raise Usage(f"--{flag} needs a number. {ROUND_USAGE}")
            counts[flag] = int(value)
        elif flag in lists and value:
            lists[flag].append(value)
        elif flag == "win":
            handle, text = split_word(value)
            if not handle.startswith("@") or not text:
                raise Usage(f"--win @HANDLE WHAT-THEY-DID. {ROUND_USAGE}")
            wins.append((handle, text))
        else:
            raise Usage(ROUND_USAGE)
    return c.LogRound(
        person=where.person,
        where=where.address,
        unit=unit,
        wins=tuple(wins),
        concerns=tuple(lists["concern"]),
        tracked=tuple(lists["track"]),
        barriers=tuple(lists["barrier"]),
        **counts,
    )


def _str(value: str | bool | None) -> str | None:
    return value if isinstance(value, str) else None
