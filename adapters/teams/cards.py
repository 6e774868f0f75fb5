"""Core views → Adaptive Cards 1.5 (the card schema Teams needs for ``Action.Execute``).

Buttons: Acknowledge is an ``Action.Execute`` (the bot answers the invoke with the refreshed card);
Reply, In progress, Resolve and Not possible now open an inline form (``Action.ShowCard``) whose
``Action.Execute`` carries the text; "Raise a concern" on a huddle prompt opens the concern dialog
(``task/fetch``).
Every action carries the core's versioned value (``bot.actions``) under ``data.huddlebot``.

A Teams message is at most about 28 KB, counted as the whole activity on the wire (``wire``):
``message`` shortens the longest texts until the activity fits, and says so where it cut, with where
to read the whole (``where_to_read``), so a send never fails for size. If Teams refuses a card all the
same, ``compact`` is the small, plain version the Messenger sends instead, once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from adapters.teams import wire
from adapters.teams.words import FOLLOW_UP_DIALOG, RAISE_DIALOG, UNDER_THE_BOX, teams_words
from bot.views import (
    Action,
    ConcernCard,
    Counts,
    GoodCatchPost,
    HuddlePrompt,
    HuddleSummary,
    Notice,
    OpenItem,
    ReporterUpdate,
    Stoplight,
    StoplightItem,
    StoplightUnit,
    ThreadMessage,
)

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
# A card alone (an invoke's answer, a dialog): Teams' ~28 KB less room for the response around it.
CARD_LIMIT_BYTES = 25_000
DATA_KEY = "huddlebot"
SHORTENED = "Shortened to fit one Teams message"
_CUT = " …"  # ends a shortened text, where it was cut
_ITEM = "\n\n- "  # starts an item of a list in a TextBlock (``safe`` turns each line into a paragraph)
_NOTE_ROOM = 600  # bytes kept for the note under a cut (what was left out and where to read it)
_MIN_KEPT = 400  # bytes of a text worth keeping; a text already this short is not cut further

Card = dict[str, Any]

_TONE_COLOR = {"info": "default", "success": "good", "warning": "warning", "error": "attention"}
_SEVERITY_COLOR = {"immediate": "attention", "high": "attention", "moderate": "warning", "low": "default"}
_INPUT_IDS = {
    "reply": "reply_text",
    "in_progress": "in_progress_note",
    "resolve": "what_we_did",
    "not_possible": "why_not_possible",
    "answer_goodcatch": "goodcatch_text",
}
# The optional short title for the stoplight report on a leader's form. Ids of their own: Teams gathers
# a ShowCard's inputs with its parent card's, and one form's title must never ride on the other's.
_TITLE_IDS = {
    "resolve": "resolve_title",
    "not_possible": "not_possible_title",
    "in_progress": "in_progress_title",
}
# Forms whose fields are all optional: where nested cards are left out (``compact``), a plain button.
_OPTIONAL_FORMS = frozenset({"in_progress"})
TITLE_LABEL = "Short title for the unit's stoplight report (optional)"
TITLE_CHARS = 120  # ``bot.concerns._title``'s limit


def safe(text: str) -> str:
    """User text for a TextBlock: links and images in markdown are shown as typed, not followed."""
    text = text.replace("](", "]\u200b(").replace("![", "!\u200b[")
    # A single newline is not a line break in Teams' card markdown; a blank line is.
    return "\n\n".join(line for line in text.splitlines())


def text_block(text: str, **style: Any) -> dict[str, Any]:
    """A wrapping TextBlock."""
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def card(
    body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None, *, fallback: str = ""
) -> Card:
    """An Adaptive Card 1.5."""
    out: Card = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": "1.5", "body": body}
    if actions:
        out["actions"] = actions
    if fallback:
        out["fallbackText"] = safe(fallback[:300])
    return out


def attachment(content: Card) -> dict[str, Any]:
    """The attachment carrying a card."""
    return {"contentType": CARD_TYPE, "content": content}


def envelope(
    *, bot_id: str, conversation_id: str, activity_id: str | None = None, reply_to_id: str | None = None
) -> dict[str, Any]:
    """Who sends an activity and where to (and which activity it replaces or answers), in its body, as
    the Bot Connector wants them, so that ``message`` measures them with the card."""
    out: dict[str, Any] = {"from": {"id": bot_id}, "conversation": {"id": conversation_id}}
    if activity_id:
        out["id"] = activity_id
    if reply_to_id:
        out["replyToId"] = reply_to_id
    return out


def message(
    content: Card,
    *,
    summary: str = "",
    more: str = "",
    envelope: dict[str, Any] | None = None,
    limit: int = wire.MESSAGE_LIMIT_BYTES,
) -> dict[str, Any]:
    """A message activity with one card (``summary`` is the plain-text preview), the whole of it (envelope
    included) at most ``limit`` bytes on the wire: texts that do not fit are shortened, and the card says
    so where it cut, with ``more`` (where to read the whole)."""
    activity: dict[str, Any] = {"type": "message", **(envelope or {}), "attachments": [attachment({})]}
    if summary:
        activity["summary"] = summary[:200]
    budget = limit - (wire.size(activity) - wire.size({}))  # the card's JSON sits verbatim in the body
    activity["attachments"][0]["content"] = fit(content, budget, more=more)
    return activity


def size(content: Card) -> int:
    """Bytes the card takes in a message."""
    return wire.size(content)


def fit(content: Card, limit: int = CARD_LIMIT_BYTES, *, more: str = "") -> Card:
    """``content`` if it fits in ``limit`` bytes; else a copy whose longest texts are cut until it does.

    Each cut text ends with "…" and is followed by a small note saying what was left out and ``more``
    (where to read the whole). A list (one item a paragraph) is cut between items, never inside one.
    """
    if wire.size(content) <= limit:
        return content
    shrunk = copy.deepcopy(content)
    originals: dict[int, str] = {}  # id(cut block) → its text before any cut
    notes: dict[int, dict[str, Any]] = {}  # id(cut block) → the note under it
    spent: set[int] = set()  # blocks that cannot give more
    for _ in range(60):
        over = wire.size(shrunk) - limit
        if over <= 0:
            return shrunk
        note_ids = {id(n) for n in notes.values()}
        found = [
            (items, block)
            for items, block in _text_blocks(shrunk)
            if id(block) not in note_ids and id(block) not in spent
        ]
        if not found:
            break
        items, block = max(found, key=lambda found: wire.size(found[1]["text"]))
        original = originals.setdefault(id(block), block["text"])
        note = notes.get(id(block))
        budget = wire.size(block["text"]) - over - (0 if note is not None else _NOTE_ROOM)
        if budget < _MIN_KEPT:
            budget = _MIN_KEPT
            spent.add(id(block))
        kept, left_out = _cut(original, budget)
        if kept == block["text"]:
            spent.add(id(block))
            continue
        block["text"] = kept
        what = f"{SHORTENED}: {left_out} more not shown." if left_out else f"{SHORTENED}."
        text = f"{what} {more}".strip()
        if note is None:
            note = text_block(text, isSubtle=True, size="Small", spacing="None")
            notes[id(block)] = note
            items.insert(next(i for i, item in enumerate(items) if item is block) + 1, note)
        else:
            note["text"] = text
    return card(
        [text_block(f"This message is too large to show in Teams. {more}".strip())],
        fallback="Too large to show in Teams.",
    )


def _cut(text: str, budget: int) -> tuple[str, int]:
    """The longest beginning of ``text`` that takes at most ``budget`` bytes on the wire (with the cut
    mark), and how many list items it leaves out (0 for prose)."""
    keep = _longest(text, lambda n: wire.size(text[:n].rstrip() + _ITEM + _CUT) <= budget)
    head = text[:keep]
    if text.startswith("- ") and text.count(_ITEM) >= 2:
        # A list, one item a paragraph (``safe`` made it so): keep whole items only, count the rest.
        boundary = keep if text.startswith(_ITEM, keep) else head.rfind(_ITEM)
        if boundary > 0:
            return text[:boundary] + _ITEM.rstrip() + _CUT, text[boundary:].count(_ITEM)
    # Prose: end on a word when one ends near the cut.
    space = head.rfind(" ", max(0, keep - 80))
    if space > 0 and keep < len(text):
        head = head[:space]
    return head.rstrip() + _CUT, 0


def _longest(text: str, fits: Callable[[int], bool]) -> int:
    """The largest ``n`` ≤ len(text) with ``fits(n)`` (``fits`` holds for 0 and is monotonic)."""
    return _longest_count(len(text), fits)


def pieces(text: str, limit: int) -> list[str]:
    """``text`` in consecutive pieces that each take at most ``limit`` bytes as a card's text (``safe``
    applied), cut after a space where one is near; joined, they are ``text`` again."""
    out: list[str] = []
    start = 0
    while start < len(text):
        rest = text[start:]
        keep = _longest(rest, lambda n, rest=rest: wire.size(safe(rest[:n])) <= limit) or 1
        if keep < len(rest):
            space = rest.rfind(" ", max(0, keep - 200), keep)
            keep = space + 1 if space > 0 else keep
        out.append(rest[:keep])
        start += keep
    return out


def _text_blocks(node: Any) -> list[tuple[list[Any], dict[str, Any]]]:
    """Every TextBlock of a card with the list that holds it (a body, a container's items)."""
    found: list[tuple[list[Any], dict[str, Any]]] = []
    if isinstance(node, dict):
        for value in node.values():
            found.extend(_text_blocks(value))
    elif isinstance(node, list):
        for item in node:
            text = item.get("text") if isinstance(item, dict) else None
            if isinstance(text, str) and item.get("type") == "TextBlock":
                found.append((node, item))
            else:
                found.extend(_text_blocks(item))
    return found


# --- actions ------------------------------------------------------------------------------------------


def execute(verb: str, title: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    """An ``Action.Execute`` carrying the core's action value."""
    action: dict[str, Any] = {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": {DATA_KEY: value},
    }
    if style:
        action["style"] = "positive" if style == "primary" else "destructive"
    return action


def _with_text(
    action: Action,
    label: str,
    placeholder: str,
    send: str,
    *,
    error: str = "Please write a few words.",
    required: bool = True,
) -> dict[str, Any]:
    text: dict[str, Any] = {
        "type": "Input.Text",
        "id": _INPUT_IDS[action.id],
        "label": label,
        "placeholder": placeholder,
        "isMultiline": True,
        "maxLength": 4000,
    }
    if required:
        text.update(isRequired=True, errorMessage=error)
    body: list[dict[str, Any]] = [text]
    if action.id in _TITLE_IDS:
        # The unit reads this line on the stoplight, where an anonymous reporter's words never go.
        body.append(
            {
                "type": "Input.Text",
                "id": _TITLE_IDS[action.id],
                "label": TITLE_LABEL,
                "placeholder": "e.g. Second bladder scanner",
                "maxLength": TITLE_CHARS,
            }
        )
    form = {"type": "AdaptiveCard", "body": body, "actions": [execute(action.id, send, action.value)]}
    return {"type": "Action.ShowCard", "title": action.label, "card": form}


def render_action(action: Action) -> dict[str, Any]:
    """A core button as a Teams card action."""
    if action.id == "reply":
        return _with_text(
            action, "Your reply (the reporter is told)", "What do you want to say?", "Send reply"
        )
    if action.id == "in_progress":
        return _with_text(
            action,
            "What is being done (the latest update the unit sees; optional)",
            "e.g. Meeting the staffing office on Tuesday.",
            "Mark in progress",
            required=False,
        )
    if action.id == "resolve":
        return _with_text(action, "What we did", "What was done about it?", "Resolve")
    if action.id == "not_possible":
        return _with_text(
            action,
            "Why it isn't possible now (the reporter and the unit read it)",
            "e.g. The budget is frozen until April; we will look again then.",
            "Close as not possible now",
            error="Say why it isn't possible now: the reporter and the unit will read it.",
        )
    if action.id == "answer_goodcatch":
        return _with_text(action, "The good catch", "Who caught what?", "Share")
    if action.id == "answer_concern":
        # Opens the concern dialog: the form, the anonymity choice and the PHI check live there.
        return {
            "type": "Action.Submit",
            "title": action.label,
            "data": {"msteams": {"type": "task/fetch"}, DATA_KEY: action.value},
        }
    return execute(action.id, action.label, action.value, style=action.style)


def input_for(verb: str) -> str | None:
    """The id of the text input an action's form carries (None for a plain button)."""
    return _INPUT_IDS.get(verb)


def title_input_for(verb: str) -> str | None:
    """The id of the optional stoplight-title input on an action's form (None if it has none)."""
    return _TITLE_IDS.get(verb)


# --- views --------------------------------------------------------------------------------------------


def _how_to_answer(view: ConcernCard, threaded: bool) -> str:
    """How a leader answers the reporter from this card: in its thread, or (no thread here) by command."""
    if threaded:
        return "Reply in this thread to answer the reporter."
    return f"To answer the reporter, write `reply {view.ref} your answer` to me."


def concern_card(view: ConcernCard, *, threaded: bool = True) -> Card:
    """The card leaders work from (``threaded``: it is the root of the concern's thread, in a channel)."""
    body: list[dict[str, Any]] = []
    if view.headline:
        body.append(text_block(safe(view.headline), weight="Bolder", color="attention"))
    body.append(
        text_block(
            f"{view.ref} · {view.severity.upper()} · {view.concern_type}",
            size="Medium",
            weight="Bolder",
            color=_SEVERITY_COLOR.get(view.severity, "default"),
        )
    )
    status = view.status
    if view.acknowledged_label and not view.resolved_label:
        status += f" ({view.acknowledged_label})"
    facts = [
        ("Unit", view.unit_name),
        ("Aim", view.category),
        ("Reporter", view.reporter_label),
        ("Raised", view.raised_label),
        ("Status", status),
    ]
    body.append({"type": "FactSet", "facts": [{"title": t, "value": safe(v)} for t, v in facts]})
    if view.phi_flagged:
        body.append(
            text_block(
                "The reporter confirmed this is safe to post (it looked like it held a patient identifier).",
                isSubtle=True,
                size="Small",
            )
        )
    body.append({"type": "Container", "style": "emphasis", "items": [text_block(safe(view.text))]})
    if view.resolution:
        body.append(
            text_block(
                f"**Resolved** by {safe(view.resolved_label or '')}. What we did: {safe(view.resolution)}"
            )
        )
    if view.not_possible:
        body.append(text_block(f"**Not possible now**: {safe(view.not_possible)}", color="attention"))
    if view.title:
        body.append(
            text_block(f"On the unit's stoplight as: {safe(view.title)}", isSubtle=True, size="Small")
        )
    if view.actions:
        body.append(text_block(_how_to_answer(view, threaded), isSubtle=True, size="Small"))
    return card(
        body,
        [render_action(a) for a in view.actions],
        fallback=f"{view.ref}: {view.severity} concern for {view.unit_name} ({view.status})",
    )


def _counts(counts: Counts) -> str:
    return (
        f"{counts.responders} answered: {counts.clear} all clear, {counts.concern} concern, "
        f"{counts.goodcatch} good catch, {counts.comments} comment(s)"
    )


def _open_items(items: list[OpenItem]) -> list[dict[str, Any]]:
    if not items:
        return []
    lines = "\n".join(f"- {i.ref} ({i.severity}, {i.status}): {i.summary}" for i in items)
    return [text_block("**Follow up: still open**", spacing="Medium"), text_block(safe(lines))]


def _rollup(lines: list[str]) -> list[dict[str, Any]]:
    """A department's or executive huddle: one line for each unit below it."""
    if not lines:
        return []
    return [
        text_block("**Units**", spacing="Medium"),
        text_block(safe("\n".join(f"- {line}" for line in lines))),
    ]


def huddle_prompt(view: HuddlePrompt, *, threaded: bool = True) -> Card:
    """The daily safety check-in (``threaded``: in a channel, where a comment is a reply in its thread)."""
    state = "closed" if view.closed else f"open until {view.closes_label}"
    body = [
        text_block(f"Safety huddle · {view.unit_name}", size="Medium", weight="Bolder"),
        text_block(f"{view.when_label} ({state})", isSubtle=True, spacing="None"),
        text_block(safe("\n".join(f"{n}. {q}" for n, q in enumerate(view.questions, 1)))),
        *_rollup(view.rollup),
        *_open_items(view.open_items),
        text_block(_counts(view.counts), isSubtle=True, size="Small"),
    ]
    if not view.closed and threaded:
        body.append(text_block("Reply in this thread to add a comment.", isSubtle=True, size="Small"))
    return card(body, [render_action(a) for a in view.actions], fallback=f"Safety huddle · {view.unit_name}")


def huddle_summary(view: HuddleSummary) -> Card:
    """Posted in the prompt's thread when the huddle closes."""
    body = [
        text_block(f"Huddle summary · {view.unit_name}", size="Medium", weight="Bolder"),
        text_block(view.when_label, isSubtle=True, spacing="None"),
        text_block(_counts(view.counts)),
    ]
    if view.comments:
        body.append(text_block(safe("\n".join(f"- {c}" for c in view.comments))))
    if view.concerns_raised:
        body.append(text_block(f"Concerns raised: {', '.join(view.concerns_raised)}"))
    if view.good_catches:
        body.append(text_block(safe("\n".join(f"- Good catch: {g}" for g in view.good_catches))))
    if view.open_items:
        body.append(text_block(f"Still open: {', '.join(i.ref for i in view.open_items)}"))
    if view.missed_runs:
        body.append(text_block(f"Missed huddles: {', '.join(view.missed_runs)}", color="warning"))
    body += _rollup(view.rollup)
    return card(body, fallback=f"Huddle summary · {view.unit_name}")


def thread_message(view: ThreadMessage) -> Card:
    """A message in a concern's conversation."""
    return card(
        [
            text_block(f"**{safe(view.author_label)}** · {view.ref}"),
            text_block(safe(view.text), spacing="None"),
        ],
        fallback=f"{view.author_label}: {view.text}"[:300],
    )


_UPDATE_TITLES = {
    "received": "Concern received",
    "acknowledged": "Your concern was acknowledged",
    "reply": "A reply about your concern",
    "status": "Your concern is being worked on",
    "resolved": "Your concern was resolved",
    "not_possible": "Your concern can't be acted on now",
    "reopened": "Your concern was reopened",
    "nudge": "There is news on your concern",
}


def reporter_update(view: ReporterUpdate, *, threaded: bool = True) -> Card:
    """What the reporter is told about their concern (``threaded=False`` in a personal chat)."""
    title = _UPDATE_TITLES.get(view.event, "About your concern")
    text = teams_words(view.text, ref=view.ref, threaded=threaded)
    return card(
        [text_block(f"{title} · {view.ref}", weight="Bolder"), text_block(safe(text))],
        fallback=f"{title} · {view.ref}",
    )


def good_catch(view: GoodCatchPost) -> Card:
    """Recognition in the unit's channel."""
    return card(
        [
            text_block(f"Good catch! · {view.unit_name}", size="Medium", weight="Bolder", color="good"),
            text_block(f"**{safe(view.giver_label)}** recognised **{safe(view.recipient_label)}**"),
            text_block(safe(view.text)),
        ],
        fallback=f"Good catch! {view.giver_label} recognised {view.recipient_label}",
    )


_STOPLIGHT_MARKS = (
    ("green", "🟢 Done", "good"),
    ("yellow", "🟡 In progress", "warning"),
    ("red", "🔴 Not possible now", "attention"),
)


STOPLIGHT_BYTES = CARD_LIMIT_BYTES - 1_500  # room kept for the note on units left out


def _stoplight_line(item: StoplightItem) -> str:
    def one_line(text: str) -> str:
        return safe(" ".join(text.split()))  # a newline in a title or reason would start a new item

    detail = f" — {one_line(item.detail)}" if item.detail else ""
    return f"- **{item.ref}** {one_line(item.title)}{detail}"


def _stoplight_unit(unit: StoplightUnit, *, named: bool, keep: int | None = None) -> dict[str, Any]:
    """A unit's Container: its name (in a roll-up), then each colour's heading and lines, one paragraph
    a line; with ``keep``, only its first ``keep`` lines and a count of the rest."""
    items: list[dict[str, Any]] = []
    if named:
        items.append(text_block(safe(unit.unit_name), weight="Bolder"))
    if unit.nothing:
        items.append(text_block(safe(unit.nothing)))
    left = len(unit.green) + len(unit.yellow) + len(unit.red) if keep is None else keep
    for colour, mark, color in _STOPLIGHT_MARKS:
        lines = getattr(unit, colour)[: max(left, 0)]
        left -= len(lines)
        if lines:
            items.append(text_block(mark, weight="Bolder", color=color, spacing="Small"))
            items.append(text_block("\n\n".join(_stoplight_line(i) for i in lines), spacing="None"))
    shown = len(unit.green) + len(unit.yellow) + len(unit.red) if keep is None else keep
    more = unit.more + len(unit.green) + len(unit.yellow) + len(unit.red) - shown
    if more:
        items.append(text_block(f"… and {more} more", isSubtle=True, size="Small"))
    return {"type": "Container", "separator": True, "spacing": "Medium", "items": items}


def stoplight(view: Stoplight, *, budget: int = STOPLIGHT_BYTES) -> Card:
    """The "you said, we did" report: for each unit, what was done, what is in progress, what is not
    possible now and why (or the unit's "nothing raised" line).

    Laid out to fit ``budget`` bytes, whole lines only: a department's or the executive's roll-up can
    hold far more than one Teams message, so the units that do not fit are named at the end, with
    how to read each one's own report (``fit`` would cut every list to a stub instead)."""
    named = len(view.units) > 1
    body: list[dict[str, Any]] = [text_block(safe(view.title), size="Medium", weight="Bolder")]
    out = card(body, fallback=view.title)
    left_out: list[str] = []
    for unit in view.units:
        if left_out:
            left_out.append(unit.unit_name)
            continue
        body.append(_stoplight_unit(unit, named=named))
        if wire.size(out) <= budget:
            continue
        lines = len(unit.green) + len(unit.yellow) + len(unit.red)
        keep = _longest_count(lines, lambda n, unit=unit: _fits_with(out, unit, named, n, budget))
        if keep:
            body[-1] = _stoplight_unit(unit, named=named, keep=keep)
        else:
            body.pop()
            left_out.append(unit.unit_name)
    if left_out:
        names = safe(", ".join(left_out))
        if len(names) > 400:
            names = names[:400].rsplit(",", 1)[0] + ", …"
        body.append(
            text_block(
                f"Not shown here, to fit one Teams message: {names}. Each unit's own report: write "
                "`huddle stoplight --unit UNIT` to me.",
                isSubtle=True,
            )
        )
    if view.legend:
        body.append(text_block(safe(view.legend), isSubtle=True, size="Small"))
    return out


def _fits_with(out: Card, unit: StoplightUnit, named: bool, keep: int, budget: int) -> bool:
    out["body"][-1] = _stoplight_unit(unit, named=named, keep=keep)
    return wire.size(out) <= budget


def _longest_count(total: int, fits: Callable[[int], bool]) -> int:
    """The largest ``n`` ≤ ``total`` with ``fits(n)`` (monotonic), or 0 if even 1 does not fit."""
    low, high = 0, total
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def notice(view: Notice, *, threaded: bool = True) -> Card:
    """A short message (``threaded=False`` in a personal or group chat)."""
    body = []
    color = _TONE_COLOR.get(view.tone, "default")
    if view.title:
        body.append(text_block(safe(view.title), weight="Bolder", color=color))
    text = teams_words(view.text, threaded=threaded)
    body.append(text_block(safe(text), **({} if view.title else {"color": color})))
    return card(body, fallback=(f"{view.title}: " if view.title else "") + view.text[:200])


def reply_card(text: str, tone: str = "info") -> Card:
    """The answer to whoever sent a command."""
    return notice(Notice(text=text, tone=tone))  # type: ignore[arg-type]


def render(view: Any, *, threaded: bool = True) -> Card:
    """Any core view as a card; ``threaded``: it goes to a team's channel (a personal or group chat has
    no threads, so the card says how to answer there instead)."""
    match view:
        case ConcernCard():
            return concern_card(view, threaded=threaded)
        case HuddlePrompt():
            return huddle_prompt(view, threaded=threaded)
        case HuddleSummary():
            return huddle_summary(view)
        case ThreadMessage():
            return thread_message(view)
        case ReporterUpdate():
            return reporter_update(view, threaded=threaded)
        case GoodCatchPost():
            return good_catch(view)
        case Notice():
            return notice(view, threaded=threaded)
        case Stoplight():
            return stoplight(view)
    if getattr(view, "kind", None) == "home":
        return home(view)
    return card([text_block(safe(str(view)))])


def summary_of(view: Any) -> str:
    """A one-line preview (shown in notifications), never more than a reference and a kind."""
    match view:
        case ConcernCard():
            return f"{view.ref}: {view.severity} concern · {view.unit_name}"
        case HuddlePrompt():
            return f"Safety huddle · {view.unit_name}"
        case HuddleSummary():
            return f"Huddle summary · {view.unit_name}"
        case ThreadMessage():
            return f"{view.author_label} · {view.ref}"
        case ReporterUpdate():
            return f"{_UPDATE_TITLES.get(view.event, 'About your concern')} · {view.ref}"
        case GoodCatchPost():
            return f"Good catch! · {view.unit_name}"
        case Notice():
            return view.title or view.text[:80]
        case Stoplight():
            return view.title[:120]
    return "huddlebot"


def where_to_read(view: Any) -> str:
    """Where the whole of a view can be read when its card had to be shortened ("" if nowhere else)."""
    match view:
        case ConcernCard():
            return f"Write **show {view.ref}** to huddlebot in a personal chat to read all of it."
        case HuddleSummary():
            return "The replies in this huddle's thread are there in full."
        case Stoplight():
            return "Each unit's own report: write `huddle stoplight --unit UNIT` to me."
    return ""


def compact(view: Any, *, threaded: bool = True) -> Card:
    """The small, plain card sent once when Teams refused the full one (400 bad card, 413 too big): the
    view's short fallback text, its one-click buttons and where to read the rest. No user text beyond
    the fallback's (at most 300 characters), no nested cards."""
    short = render(view, threaded=threaded).get("fallbackText") or safe(summary_of(view))
    said = "Teams could not show this message in full."
    if isinstance(view, ConcernCard) and view.actions:
        said += " " + _how_to_answer(view, threaded)
    buttons = [
        execute(a.id, a.label, a.value, style=a.style) if a.id in _OPTIONAL_FORMS else render_action(a)
        for a in getattr(view, "actions", None) or []
        if a.id not in _INPUT_IDS or a.id in _OPTIONAL_FORMS
    ]
    return card(
        [
            text_block(short, weight="Bolder"),
            text_block(f"{said} {where_to_read(view)}".strip(), isSubtle=True, size="Small"),
        ],
        buttons[:5],
        fallback=summary_of(view),
    )


def home(view: Any) -> Card:
    """A person's own page (``ShowHome``): their concerns and, for leaders, the open ones."""
    body = [text_block(safe(view.title), size="Medium", weight="Bolder")]

    def lines(items: list[Any], with_reporter: bool) -> str:
        return "\n".join(
            f"- **{i.ref}** {i.severity} · {i.status} · {i.unit_name} · {i.raised_label}"
            + (f" · {i.reporter_label}" if with_reporter and i.reporter_label else "")
            + f": {i.summary}"
            for i in items
        )

    body.append(text_block("**Your concerns**", spacing="Medium"))
    body.append(text_block(safe(lines(view.mine, False)) if view.mine else safe(view.mine_note or "None.")))
    if view.leader_units:
        body.append(text_block(f"**Open in {', '.join(view.leader_units)}**", spacing="Medium"))
        body.append(
            text_block(safe(lines(view.open_in_units, True)) if view.open_in_units else "Nothing open.")
        )
    return card(body, fallback=view.title)


# One TextBlock each: a single newline is no line break in a card's markdown.
HELP_LINES = (
    "**concern** *what happened*: raise a safety concern with your name "
    "(`--confidential` in a personal chat: only the patient-safety officer sees your name; "
    "`--severity high`, `--type falls`, `--unit 4west`).",
    f"**{RAISE_DIALOG}** ({UNDER_THE_BOX}): the form, including **anonymous**. "
    f"**{FOLLOW_UP_DIALOG}**, there too: read the leaders' replies to an anonymous concern and answer "
    "them, with your receipt code.",
    "**huddle now** · **huddle status** · **huddle stoplight**: start or check the unit's huddle, or see "
    "what was done about what the unit raised "
    "(`huddle status --unit 4west` outside the unit's channel).",
    "**goodcatch** *@colleague what they caught*: recognise a colleague.",
    "**mine**: the concerns you raised with your name (in a personal chat). To answer the leaders about "
    "one, reply to my message about it, or write `reply C-1042 your answer`.",
    "**reopen** *C-1042 why it isn't fixed*: reopen a concern you raised that was resolved.",
    "**dashboard**: a private link to the dashboard (in a personal chat): trends, open concerns, exports.",
    "Leaders: press **Acknowledge** on a concern card or reply in its thread; **Resolve** and **Not possible "
    "now** take a short title for the unit's stoplight report; "
    "`ack`, `reply`, `status`, `resolve`, `not-possible`, `show` *C-1042* also work.",
    "Leaders: **round** (or `round 4west`, in a personal chat): log a round in a form: whom you spoke "
    "with, wins to recognise, issues to raise or to track on the stoplight, what the unit needs.",
    "In a channel, @mention me first.",
)


def help_card(*, greeting: bool = False) -> Card:
    """The short help (also the hello after installation)."""
    body = []
    if greeting:
        body.append(
            text_block(
                "Hello, I'm huddlebot. I post your unit's daily safety huddle and carry safety concerns "
                "to the leaders who can act on them, and their answers back.",
                wrap=True,
            )
        )
    body.append(text_block("What you can ask me", weight="Bolder"))
    body.extend(text_block(line, spacing="Small") for line in HELP_LINES)
    return card(body, fallback="huddlebot: type help for the commands.")
