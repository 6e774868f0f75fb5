"""Core views as Block Kit, within Slack's limits, with every piece of people's text escaped.

Slack turns ``<!channel>``, ``<!here>``, ``<@U…>``, ``<!subteam^…>`` and ``<http://…|…>`` in message text
into notifications and links. Everything that is not our own markup goes through ``escape`` (``& < >``)
and is sent as ``verbatim`` mrkdwn, so bare URLs and ``#channel`` names are not linkified either.

Every message fits before it is sent, counted as Slack counts: in UTF-16 code units (an emoji outside
the Basic Multilingual Plane counts 2) and after escaping (``&`` is sent, and counted, as ``&amp;``).
A text field holds at most 3000, a message at most 50 blocks and about 12,000 characters of block text
in all (above that Slack answers ``msg_blocks_too_long``, a permanent error). ``measure`` is the one
place that counts a block list that way; ``render`` lays each view out within a budget, shortening
people's longest text first and saying so (and where to read the whole), and ``fit`` is the last
safety net. Nothing is ever cut inside a surrogate pair or an entity.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.reply import Reply
from bot.views import (
    Action,
    ConcernCard,
    ConcernLine,
    Counts,
    GoodCatchPost,
    HomeTab,
    HuddlePrompt,
    HuddleSummary,
    Notice,
    ReporterUpdate,
    Stoplight,
    StoplightItem,
    StoplightUnit,
    ThreadMessage,
    View,
)

Block = dict[str, Any]

SECTION_LIMIT = 3000  # a section's text, a context element
FIELD_LIMIT = 2000  # each of a section's fields
HEADER_LIMIT = 150
BUTTON_LIMIT = 75  # a button's label, an option's text
VALUE_LIMIT = 2000  # a button's value
MESSAGE_BLOCKS = 50
SURFACE_BLOCKS = 100  # modals and the App Home tab
# Slack refuses a message whose blocks hold more than about 12,000 characters (``msg_blocks_too_long``).
# The limit is undocumented and Slack counts some of the blocks' structure too (bolt-js #2509, #2867):
# huddlebot renders to a budget 1,000 below it.
MESSAGE_TEXT_LIMIT = 12_000
MESSAGE_TEXT_BUDGET = 11_000
TEXT_LIMIT = 40_000  # a message's top-level ``text`` (``msg_too_long``)
FALLBACK_LIMIT = 3000  # the notification text; Slack allows more, nobody reads more in a notification
LIST_ITEM_LIMIT = 1000  # one line of a list (a huddle comment) once the list has to be shortened

SEVERITY_EMOJI = {
    "immediate": ":red_circle:",
    "high": ":large_orange_circle:",
    "moderate": ":large_yellow_circle:",
}
TONE_EMOJI = {"success": ":white_check_mark:", "warning": ":warning:", "error": ":no_entry:"}
SHORTENED = "_…shortened to fit in one Slack message._"


# --- counting as Slack counts -------------------------------------------------------------------------


def units(text: str) -> int:
    """The length of ``text`` as Slack counts it: UTF-16 code units (an emoji like 🚑 counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass(frozen=True, slots=True)
class Size:
    """What Slack counts in a block list: how many blocks, and the UTF-16 length of all their text."""

    blocks: int
    text: int

    def fits(self, *, blocks: int = MESSAGE_BLOCKS, text: int | None = MESSAGE_TEXT_LIMIT) -> bool:
        """Within ``blocks`` blocks and (unless None) ``text`` units of text."""
        return self.blocks <= blocks and (text is None or self.text <= text)


def measure(blocks: list[Block]) -> Size:
    """The one measure of a block list, as Slack counts it: every text (section, field, context
    element, header, button label, option, label...) as sent, that is escaped, in UTF-16 units."""
    return Size(len(blocks), sum(units(text) for text in _texts(blocks)))


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            elif isinstance(value, dict | list):
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def _prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units, never half a surrogate pair."""
    if limit <= 0:
        return 0
    if len(text) <= limit // 2 or units(text) <= limit:
        return len(text)
    data = text.encode("utf-16-le", "surrogatepass")[: 2 * limit]
    if 0xD800 <= int.from_bytes(data[-2:], "little") <= 0xDBFF:  # a high surrogate: half an emoji
        data = data[:-2]
    return len(data.decode("utf-16-le", "surrogatepass"))


def _entity_safe(markup: str, at: int) -> int:
    """``at``, moved back to the start of an entity (``&amp;`` ``&lt;`` ``&gt;``) it would cut."""
    amp = markup.rfind("&", max(0, at - 4), at)
    return amp if amp != -1 and ";" not in markup[amp:at] else at


def escape(text: str) -> str:
    """Make text inert in Slack: ``&``, ``<`` and ``>`` become entities, so nothing notifies or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """Plain ``text`` shortened to ``limit`` UTF-16 units, with an ellipsis when shortened."""
    if units(text) <= limit:
        return text
    return text[: _prefix(text, limit - 1)].rstrip() + "…"


def cut_markup(markup: str, limit: int) -> str:
    """Escaped ``markup`` shortened to ``limit`` UTF-16 units, with an ellipsis, never inside an entity."""
    if units(markup) <= limit:
        return markup
    return markup[: _entity_safe(markup, _prefix(markup, limit - 1))].rstrip() + "…"


def split_markup(markup: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split already-escaped text into pieces of at most ``limit`` UTF-16 units.

    Pieces end at a line break or a space where one is near, and never inside an entity (``&amp;``)
    or a surrogate pair.
    """
    pieces: list[str] = []
    rest = markup
    while units(rest) > limit:
        end = _prefix(rest, limit)
        window = rest[:end]
        at = window.rfind("\n", end // 2)
        if at <= 0:
            at = window.rfind(" ", end // 2)
        if at <= 0:
            at = _entity_safe(rest, end) or end
        pieces.append(rest[:at].rstrip())
        rest = rest[at:].lstrip("\n ")
    if rest.strip() or not pieces:
        pieces.append(rest)
    return [p for p in pieces if p] or [" "]


# --- blocks -------------------------------------------------------------------------------------------


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object; ``verbatim`` stops Slack from linkifying URLs and channel names."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain(text: str, limit: int = SECTION_LIMIT) -> dict[str, Any]:
    """A plain_text object cut to ``limit`` UTF-16 units."""
    return {"type": "plain_text", "text": cut(text, limit) or " ", "emoji": True}


def sections(markup: str) -> list[Block]:
    """One or more section blocks for escaped mrkdwn text of any length."""
    return [{"type": "section", "text": mrkdwn(piece)} for piece in split_markup(markup)]


def text_sections(text: str, *, lead: str = "") -> list[Block]:
    """Sections for people's ``text`` (escaped here), after our own ``lead`` markup."""
    return sections(lead + escape(text))


def context(markup: str) -> Block:
    """A small grey line (escaped mrkdwn)."""
    return {"type": "context", "elements": [mrkdwn(cut_markup(markup, SECTION_LIMIT))]}


def header(text: str) -> Block:
    """A header block (plain text, which Slack never parses for mentions)."""
    return {"type": "header", "text": plain(text, HEADER_LIMIT)}


def buttons(actions: list[Action], block_id: str = "actions") -> Block:
    """An actions block: each core Action becomes a button whose action_id is the action's id.

    A button Slack would refuse (a second one with the same id, a value over 2000) is left out.
    """
    elements: list[dict[str, Any]] = []
    seen: set[str] = set()
    for action in actions:
        if action.id in seen or not action.id or len(action.value) > VALUE_LIMIT or len(elements) == 25:
            continue
        seen.add(action.id)
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action.id,
            "text": plain(action.label, BUTTON_LIMIT),
            "value": action.value,
        }
        if action.style:
            button["style"] = action.style
        elements.append(button)
    return {"type": "actions", "block_id": block_id, "elements": elements}


_ESSENTIAL = ("actions", "input")  # what a person acts with: never dropped to make room
_UNLIMITED = 10**9  # modals and the Home tab: no known limit on their text in all, only on blocks


def fit(
    blocks: list[Block], limit: int = MESSAGE_BLOCKS, *, budget: int | None = MESSAGE_TEXT_BUDGET
) -> list[Block]:
    """At most ``limit`` blocks and (unless ``budget`` is None) ``budget`` units of text.

    The last safety net: views are laid out to fit already. When something still does not, the blocks
    a person acts with (buttons, a modal's inputs) are kept, and what is read is cut from the end, with
    a note saying so, rather than refused by Slack.
    """
    if measure(blocks).fits(blocks=limit, text=budget):
        return blocks
    essential = [b for b in blocks if b.get("type") in _ESSENTIAL]
    room_blocks = limit - len(essential) - 1
    room_text = (budget if budget is not None else _UNLIMITED) - measure(essential).text
    room_text -= units(_more_note(len(blocks), limit)) + 10
    kept: list[Block] = []
    dropped = 0
    note_at: int | None = None
    for block in blocks:
        if block.get("type") in _ESSENTIAL:
            kept.append(block)
            continue
        size = measure([block]).text
        if note_at is None and room_blocks > 0 and size <= room_text:
            kept.append(block)
            room_blocks, room_text = room_blocks - 1, room_text - size
            continue
        if note_at is None and room_blocks > 0 and block.get("type") == "section" and "text" in block:
            markup = cut_markup(block["text"]["text"], room_text)  # the part that fits
            if units(markup) > 50:
                kept.append({"type": "section", "text": mrkdwn(markup)})
        if note_at is None:
            note_at = len(kept)
        dropped += 1
    kept.insert(note_at if note_at is not None else len(kept), context(_more_note(dropped, limit)))
    return kept


def _more_note(dropped: int, limit: int) -> str:
    if limit == MESSAGE_BLOCKS:
        return f"_…{dropped} more part(s) not shown here: a Slack message holds only so much._"
    return f"_…{dropped} more part(s) not shown here: a Slack window holds at most {limit} parts._"


# --- laying a view out within a budget ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Text:
    """People's text (escaped ``markup``) after our own ``lead``; shortened if the message needs room."""

    markup: str
    lead: str = ""

    def size(self) -> int:
        return units(self.lead) + units(self.markup)

    def render(self, share: int | None) -> tuple[list[Block], bool]:
        if share is None or self.size() <= share:
            return sections(self.lead + self.markup), False
        body = cut_markup(self.markup, max(1, share - units(self.lead)))
        return sections(self.lead + body), True


@dataclass(frozen=True, slots=True)
class _List:
    """A titled list (escaped items): shortened by leaving out its last items, saying how many."""

    title: str
    items: list[str]
    noun: str  # "comment(s)"
    sep: str = "\n"

    def _join(self, items: list[str], left_out: int) -> str:
        text = self.title + self.sep.join(items)
        if left_out:
            more = f"_…and {left_out} more {self.noun} not shown here._"
            text += ("\n" if self.sep == "\n" else " ") + more
        return text

    def size(self) -> int:
        return units(self._join(self.items, 0))

    def render(self, share: int | None) -> tuple[list[Block], bool]:
        if share is None or self.size() <= share:
            return sections(self._join(self.items, 0)), False
        items = [cut_markup(item, LIST_ITEM_LIMIT) for item in self.items]
        used = units(self._join([], len(items)))  # the title and the longest "…and N more" line
        shown: list[str] = []
        for item in items:
            cost = units(item) + (units(self.sep) if shown else 0)
            if used + cost > share:
                break
            shown.append(item)
            used += cost
        return sections(self._join(shown, len(items) - len(shown))), False


_Part = Block | _Text | _List


def _share(sizes: list[int], room: int) -> list[int]:
    """Divide ``room`` among parts of ``sizes``: small ones whole, the rest an equal share each."""
    shares = [0] * len(sizes)
    left = max(0, room)
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    for n, i in enumerate(order):
        shares[i] = min(sizes[i], left // (len(sizes) - n))
        left -= shares[i]
    return shares


def _lay_out(
    parts: list[_Part],
    *,
    budget: int | None = MESSAGE_TEXT_BUDGET,
    limit: int = MESSAGE_BLOCKS,
    shortened: str = SHORTENED,
) -> list[Block]:
    """The blocks of ``parts`` within ``budget`` units of text: our own blocks whole, people's text and
    lists shortened as little as they can be. A shortened text is followed by the ``shortened`` note."""
    flexible = [p for p in parts if isinstance(p, _Text | _List)]
    fixed = [p for p in parts if isinstance(p, dict)]
    shares: list[int | None] = [None] * len(flexible)
    natural = measure(fixed).text + sum(p.size() for p in flexible)
    if budget is not None and natural > budget:
        room = budget - measure(fixed).text - measure([context(shortened)]).text
        shares = list(_share([p.size() for p in flexible], room))
    blocks: list[Block] = []
    noted = False
    index = 0
    for part in parts:
        if isinstance(part, dict):
            blocks.append(part)
            continue
        rendered, was_cut = part.render(shares[index])
        index += 1
        blocks += rendered
        if was_cut and not noted:
            blocks.append(context(shortened))
            noted = True
    return fit(blocks, limit, budget=budget)


# --- views --------------------------------------------------------------------------------------------


def _counts(counts: Counts) -> str:
    return (
        f"{counts.responders} answered · {counts.clear} all clear · {counts.concern} concern · "
        f"{counts.goodcatch} good catch · {counts.comments} comment(s)"
    )


def _concern_parts(view: ConcernCard, *, with_actions: bool = True) -> list[_Part]:
    parts: list[_Part] = []
    if view.headline:
        parts.append(_Text(escape(view.headline), lead=":rotating_light: "))
    emoji = SEVERITY_EMOJI.get(view.severity, ":white_circle:")
    parts.append(header(f"{view.ref} · {view.severity.upper()} · {view.unit_name}"))
    status = view.status
    if view.acknowledged_label and not view.resolved_label:
        status += f" ({view.acknowledged_label})"
    fields = [
        f"*Status*\n{escape(status)}",
        f"*Severity*\n{emoji} {escape(view.severity)}",
        f"*Type*\n{escape(view.concern_type)} · {escape(view.category)}",
        f"*Reporter*\n{escape(view.reporter_label)}",
        f"*Raised*\n{escape(view.raised_label)}",
    ]
    parts.append({"type": "section", "fields": [mrkdwn(cut_markup(f, FIELD_LIMIT)) for f in fields]})
    parts.append(_Text(escape(view.text)))
    if view.phi_flagged:
        parts.append(
            context(
                "The reporter confirmed this is safe to post although it looked like a patient identifier."
            )
        )
    if view.resolution:
        lead = f"*Resolved by {escape(view.resolved_label or '')}.* What we did: "
        parts.append(_Text(escape(view.resolution), lead=lead))
    if view.not_possible:
        parts.append(_Text(escape(view.not_possible), lead=":red_circle: *Not possible now:* "))
    if view.title:
        parts.append(context(f"On the unit's stoplight report as: {escape(view.title)}"))
    if not with_actions:
        return parts
    if view.actions:
        parts.append(buttons(view.actions))
    else:
        parts.append(context("Replies in this thread reach the reporter while the concern is open."))
    return parts


def _read_whole(view: ConcernCard) -> str:
    """Where the whole of a shortened concern can be read (a modal opened by ``/concern show``)."""
    return f"Read the whole concern with `/concern show {escape(view.ref)}`."


def _huddle_prompt(view: HuddlePrompt) -> list[_Part]:
    state = "closed" if view.closed else f"open until {view.closes_label}"
    parts: list[_Part] = [
        header(f"Safety huddle · {view.unit_name}"),
        context(f"{escape(view.when_label)} · {escape(state)}"),
        _List("", [f"{n}. {escape(q)}" for n, q in enumerate(view.questions, 1)], "question(s)"),
    ]
    if view.rollup:  # a department's or executive huddle: each unit below it
        parts.append(_List("*Units*\n", [f"• {escape(line)}" for line in view.rollup], "unit(s)"))
    if view.open_items:
        items = [
            f"• {escape(i.ref)} ({escape(i.severity)}, {escape(i.status)}): {escape(i.summary)}"
            for i in view.open_items
        ]
        parts.append(_List("*Open items*\n", items, "open item(s)"))
    parts.append(context(escape(_counts(view.counts))))
    if view.actions:
        parts.append(buttons(view.actions))
        parts.append(context("Or reply in this thread: your comment is part of the huddle."))
    return parts


def _huddle_summary(view: HuddleSummary) -> list[_Part]:
    parts: list[_Part] = [
        header(f"Huddle summary · {view.unit_name}"),
        context(f"{escape(view.when_label)} · {escape(_counts(view.counts))}"),
    ]
    if view.comments:
        parts.append(_List("*Comments*\n", [f"• {escape(c)}" for c in view.comments], "comment(s)"))
    if view.concerns_raised:
        refs = [escape(ref) for ref in view.concerns_raised]
        parts.append(_List("*Concerns raised:* ", refs, "concern(s)", sep=", "))
    if view.good_catches:
        catches = [f"• {escape(g)}" for g in view.good_catches]
        parts.append(_List("*Good catches*\n", catches, "good catch(es)"))
    if view.open_items:
        refs = [escape(i.ref) for i in view.open_items]
        parts.append(_List("*Still open:* ", refs, "concern(s)", sep=", "))
    if view.missed_runs:
        missed = [escape(m) for m in view.missed_runs]
        parts.append(_List("*Missed huddles:* ", missed, "huddle(s)", sep=", "))
    if view.rollup:
        parts.append(_List("*Units*\n", [f"• {escape(line)}" for line in view.rollup], "unit(s)"))
    return parts


# What a reporter's update is, said first where it changes what they can do next.
_UPDATE_HEADINGS = {"not_possible": "Not possible now"}
_MARKS = {"green": "🟢 *Done*", "yellow": "🟡 *In progress*", "red": "🔴 *Not possible now*"}


def _reporter_update(view: ReporterUpdate) -> list[_Part]:
    parts: list[_Part] = []
    heading = _UPDATE_HEADINGS.get(view.event)
    if heading:
        parts.append(header(f"{heading} · {view.ref}" if view.ref else heading))
    parts.append(_Text(escape(view.text)))
    if view.event == "received":
        parts.append(context("Reply in this thread to add to your concern; the leaders will see it."))
    return parts


# A line's detail (UTF-16 units) when the whole report would not fit: more lines, less of each.
STOPLIGHT_DETAIL = 60


def _stoplight_line(item: StoplightItem, detail: int | None) -> str:
    line = f"• *{escape(item.ref)}* · {escape(item.title)}"
    if not item.detail:
        return line
    markup = escape(item.detail)
    return line + "\n      " + (markup if detail is None else cut_markup(markup, detail))


def _stoplight_unit(unit: StoplightUnit, *, named: bool, detail: int | None) -> list[_Part]:
    """A unit's part: its green, yellow and red lists (each shortened on its own), or the nothing line."""
    name = f"*{escape(unit.unit_name)}*\n" if named else ""
    if unit.nothing:
        return [{"type": "section", "text": mrkdwn(cut_markup(name + escape(unit.nothing), SECTION_LIMIT))}]
    parts: list[_Part] = []
    for colour in ("green", "yellow", "red"):
        items: list[StoplightItem] = getattr(unit, colour)
        if items:
            title = (name if not parts else "") + _MARKS[colour] + "\n"
            parts.append(_List(title, [_stoplight_line(i, detail) for i in items], "line(s)"))
    if unit.more:
        parts.append(context(f"…and {unit.more} more not listed here."))
    return parts


def _stoplight(view: Stoplight, *, detail: int | None = None) -> list[_Part]:
    parts: list[_Part] = [header(view.title)]
    for unit in view.units:
        parts += _stoplight_unit(unit, named=len(view.units) > 1, detail=detail)
    if view.legend:
        parts.append(context(escape(view.legend)))
    return parts


def _parts(view: View) -> list[_Part]:
    match view:
        case ConcernCard():
            return _concern_parts(view)
        case HuddlePrompt():
            return _huddle_prompt(view)
        case HuddleSummary():
            return _huddle_summary(view)
        case ThreadMessage():
            return [_Text(escape(view.text), lead=f"*{escape(view.author_label)}:* ")]
        case ReporterUpdate():
            return _reporter_update(view)
        case Stoplight():
            return _stoplight(view)
        case GoodCatchPost():
            lead = (
                f":star: *Good catch!* {escape(view.giver_label)} recognised "
                f"*{escape(view.recipient_label)}*: "
            )
            return [_Text(escape(view.text), lead=lead)]
        case Notice():
            lead = TONE_EMOJI.get(view.tone, "") + " " if view.tone in TONE_EMOJI else ""
            if view.title:
                lead += f"*{escape(view.title)}*\n"
            return [_Text(escape(view.text), lead=lead)]
        case _:
            return [_Text(escape(str(view)))]


def render(view: View, *, budget: int = MESSAGE_TEXT_BUDGET) -> list[Block]:
    """The Block Kit blocks of a core view: at most 50, and at most ``budget`` units of text in all."""
    shortened = SHORTENED
    if isinstance(view, ConcernCard):
        shortened = SHORTENED[:-1] + " " + _read_whole(view) + "_"
    parts = _parts(view)
    if isinstance(view, Stoplight) and _natural(parts) > budget:
        # A line the unit can see beats the detail of another: shorter details before fewer lines.
        parts = _stoplight(view, detail=STOPLIGHT_DETAIL)
    return _lay_out(parts, budget=budget, shortened=shortened)


def _natural(parts: list[_Part]) -> int:
    """The text of ``parts`` if nothing were shortened."""
    return sum(measure([p]).text if isinstance(p, dict) else p.size() for p in parts)


def concern_details(view: ConcernCard) -> list[Block]:
    """The whole of a concern, for a modal (no buttons: those work on the card in its channel)."""
    return _lay_out(_concern_parts(view, with_actions=False), budget=None, limit=SURFACE_BLOCKS)


def fallback_text(view: View) -> str:
    """The notification text of a message (escaped, at most 3000 UTF-16 units)."""
    match view:
        case ConcernCard():
            text = f"{view.ref} ({view.severity}) in {view.unit_name}: {view.text}"
        case HuddlePrompt():
            text = f"Safety huddle for {view.unit_name}, {view.when_label}"
        case HuddleSummary():
            text = f"Huddle summary for {view.unit_name}"
        case ThreadMessage():
            text = f"{view.author_label}: {view.text}"
        case GoodCatchPost():
            text = f"Good catch! {view.giver_label} recognised {view.recipient_label}"
        case Notice():
            text = f"{view.title}: {view.text}" if view.title else view.text
        case ReporterUpdate():
            heading = _UPDATE_HEADINGS.get(view.event)
            text = f"{heading}: {view.text}" if heading else view.text
        case Stoplight():
            text = view.title
        case _:
            text = "huddlebot"
    return _notification(text)


def _notification(text: str) -> str:
    # Cut before escaping too (escaping only lengthens), so a 20,000-character concern is not escaped whole.
    words = " ".join(text[: FALLBACK_LIMIT * 2].split())
    return cut_markup(escape(words), FALLBACK_LIMIT) or "huddlebot"


def compact(view: View) -> list[Block]:
    """A minimal message Slack surely takes, for when it refused the full one as too long or malformed:
    the notification text in one section, a note, and the view's buttons (a leader still acknowledges)."""
    note = "This message was too long for Slack, so it is shown shortened."
    if isinstance(view, ConcernCard):
        note += " " + _read_whole(view)
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(fallback_text(view))}, context(note)]
    actions = getattr(view, "actions", None)
    if actions:
        row = buttons(actions)
        if row["elements"]:
            blocks.append(row)
    return blocks


def reply_blocks(reply: Reply) -> list[Block]:
    """An ephemeral answer to the person who asked: the reply's text, and its detail if it has one."""
    tone = TONE_EMOJI.get(reply.tone, "")
    text = _Text(escape(reply.text), lead=f"{tone} " if tone else "")
    if reply.detail is None or isinstance(reply.detail, HomeTab):
        return _lay_out([text])
    head = _lay_out([text], budget=SECTION_LIMIT)
    return fit(head + render(reply.detail, budget=MESSAGE_TEXT_BUDGET - measure(head).text))


def reply_text(reply: Reply) -> str:
    """The fallback text of an ephemeral reply."""
    return _notification(reply.text)


def _line(item: ConcernLine, *, with_reporter: bool) -> str:
    emoji = SEVERITY_EMOJI.get(item.severity, ":white_circle:")
    who = f" · {escape(item.reporter_label)}" if with_reporter and item.reporter_label else ""
    return (
        f"{emoji} *{escape(item.ref)}* · {escape(item.unit_name)} · {escape(item.status)}{who}\n"
        f"{escape(item.concern_type)}, raised {escape(item.raised_label)}: {escape(item.summary)}"
    )


def home_view(home: HomeTab) -> dict[str, Any]:
    """The App Home tab: the person's own concerns, and for leaders the open ones in their units."""
    blocks: list[Block] = [header(home.title)]
    blocks.append(
        context(
            "Raise a concern at any time with `/concern`. "
            "Anonymous ones are not listed here: follow them up with `/concern follow-up CODE`."
        )
    )
    blocks.append({"type": "header", "text": plain("My concerns", HEADER_LIMIT)})
    if home.mine:
        for item in home.mine:
            blocks += sections(_line(item, with_reporter=False))
    else:
        blocks.append(context(escape(home.mine_note)))
    if home.leader_units:
        blocks.append({"type": "divider"})
        blocks.append(header("Open concerns in my units"))
        blocks.append(context(escape(", ".join(home.leader_units))))
        if home.open_in_units:
            for item in home.open_in_units:
                blocks += sections(_line(item, with_reporter=True))
        else:
            blocks.append(context("Nothing open. :tada:"))
    return {"type": "home", "blocks": fit(blocks, SURFACE_BLOCKS, budget=None)}
