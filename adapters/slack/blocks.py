"""Core views as Block Kit, within Slack's limits, with every piece of people's text escaped.

Slack turns ``<!channel>``, ``<!here>``, ``<@U…>``, ``<!subteam^…>`` and ``<http://…|…>`` in message text
into notifications and links. Everything that is not our own markup goes through ``escape`` (``& < >``)
and is sent as ``verbatim`` mrkdwn, so bare URLs and ``#channel`` names are not linkified either.
A section holds at most 3000 characters and a message at most 50 blocks: long text is split into
several sections, and a message that would still be too long is cut with a note, never refused.
"""

from __future__ import annotations

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
    ThreadMessage,
    View,
)

Block = dict[str, Any]

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
MESSAGE_BLOCKS = 50
SURFACE_BLOCKS = 100  # modals and the App Home tab
FALLBACK_LIMIT = 3000  # the notification text; Slack allows more, nobody reads more in a notification

SEVERITY_EMOJI = {
    "immediate": ":red_circle:",
    "high": ":large_orange_circle:",
    "moderate": ":large_yellow_circle:",
}
TONE_EMOJI = {"success": ":white_check_mark:", "warning": ":warning:", "error": ":no_entry:"}


def escape(text: str) -> str:
    """Make text inert in Slack: ``&``, ``<`` and ``>`` become entities, so nothing notifies or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object; ``verbatim`` stops Slack from linkifying URLs and channel names."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain(text: str, limit: int = 3000) -> dict[str, Any]:
    """A plain_text object cut to ``limit`` characters."""
    return {"type": "plain_text", "text": cut(text, limit) or " ", "emoji": True}


def cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_markup(markup: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split already-escaped text into pieces of at most ``limit`` characters.

    Pieces end at a line break or a space where one is near, and never inside an entity (``&amp;``).
    """
    pieces: list[str] = []
    rest = markup
    while len(rest) > limit:
        window = rest[:limit]
        at = window.rfind("\n", limit // 2)
        if at <= 0:
            at = window.rfind(" ", limit // 2)
        if at <= 0:
            at = limit
            amp = window.rfind("&", limit - 6)
            if amp != -1 and ";" not in window[amp:]:
                at = amp
        pieces.append(rest[:at].rstrip())
        rest = rest[at:].lstrip("\n ") if at < len(rest) else ""
    if rest.strip() or not pieces:
        pieces.append(rest)
    return [p for p in pieces if p] or [" "]


def sections(markup: str) -> list[Block]:
    """One or more section blocks for escaped mrkdwn text of any length."""
    return [{"type": "section", "text": mrkdwn(piece)} for piece in split_markup(markup)]


def text_sections(text: str, *, lead: str = "") -> list[Block]:
    """Sections for people's ``text`` (escaped here), after our own ``lead`` markup."""
    return sections(lead + escape(text))


def context(markup: str) -> Block:
    """A small grey line (escaped mrkdwn)."""
    return {"type": "context", "elements": [mrkdwn(cut(markup, SECTION_LIMIT))]}


def header(text: str) -> Block:
    """A header block (plain text, which Slack never parses for mentions)."""
    return {"type": "header", "text": plain(text, HEADER_LIMIT)}


def buttons(actions: list[Action], block_id: str = "actions") -> Block:
    """An actions block: each core Action becomes a button whose action_id is the action's id."""
    elements = []
    for action in actions[:25]:
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action.id,
            "text": plain(action.label, 75),
            "value": action.value,
        }
        if action.style:
            button["style"] = action.style
        elements.append(button)
    return {"type": "actions", "block_id": block_id, "elements": elements}


def fit(blocks: list[Block], limit: int = MESSAGE_BLOCKS) -> list[Block]:
    """At most ``limit`` blocks: too many are cut, with a note saying so, rather than refused by Slack."""
    if len(blocks) <= limit:
        return blocks
    actions = [b for b in blocks if b.get("type") == "actions"][-1:]
    keep = limit - 1 - len(actions)
    dropped = len(blocks) - keep - len(actions)
    note = context(f"_…{dropped} more part(s) not shown here: Slack shows at most {limit} per message._")
    return [*blocks[:keep], note, *actions]


def _counts(counts: Counts) -> str:
    return (
        f"{counts.responders} answered · {counts.clear} all clear · {counts.concern} concern · "
        f"{counts.goodcatch} good catch · {counts.comments} comment(s)"
    )


def _concern_card(view: ConcernCard) -> list[Block]:
    blocks: list[Block] = []
    if view.headline:
        blocks += text_sections(view.headline, lead=":rotating_light: ")
    emoji = SEVERITY_EMOJI.get(view.severity, ":white_circle:")
    blocks.append(header(f"{view.ref} · {view.severity.upper()} · {view.unit_name}"))
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
    blocks.append({"type": "section", "fields": [mrkdwn(cut(f, FIELD_LIMIT)) for f in fields]})
    blocks += text_sections(view.text)
    if view.phi_flagged:
        blocks.append(
            context(
                "The reporter confirmed this is safe to post although it looked like a patient identifier."
            )
        )
    if view.resolution:
        blocks += text_sections(
            view.resolution, lead=f"*Resolved by {escape(view.resolved_label or '')}.* What we did: "
        )
    if view.actions:
        blocks.append(buttons(view.actions))
    else:
        blocks.append(context("Replies in this thread reach the reporter while the concern is open."))
    return blocks


def _huddle_prompt(view: HuddlePrompt) -> list[Block]:
    state = "closed" if view.closed else f"open until {view.closes_label}"
    blocks: list[Block] = [
        header(f"Safety huddle · {view.unit_name}"),
        context(f"{escape(view.when_label)} · {escape(state)}"),
    ]
    questions = "\n".join(f"{n}. {escape(q)}" for n, q in enumerate(view.questions, 1))
    blocks += sections(questions)
    if view.rollup:  # a department's or executive huddle: each unit below it
        blocks += sections("*Units*\n" + "\n".join(f"• {escape(line)}" for line in view.rollup))
    if view.open_items:
        items = "\n".join(
            f"• {escape(i.ref)} ({escape(i.severity)}, {escape(i.status)}): {escape(i.summary)}"
            for i in view.open_items
        )
        blocks += sections(f"*Open items*\n{items}")
    blocks.append(context(escape(_counts(view.counts))))
    if view.actions:
        blocks.append(buttons(view.actions))
        blocks.append(context("Or reply in this thread: your comment is part of the huddle."))
    return blocks


def _huddle_summary(view: HuddleSummary) -> list[Block]:
    blocks: list[Block] = [
        header(f"Huddle summary · {view.unit_name}"),
        context(f"{escape(view.when_label)} · {escape(_counts(view.counts))}"),
    ]
    if view.comments:
        blocks += sections("*Comments*\n" + "\n".join(f"• {escape(c)}" for c in view.comments))
    if view.concerns_raised:
        blocks += sections("*Concerns raised:* " + escape(", ".join(view.concerns_raised)))
    if view.good_catches:
        blocks += sections("*Good catches*\n" + "\n".join(f"• {escape(g)}" for g in view.good_catches))
    if view.open_items:
        blocks += sections("*Still open:* " + escape(", ".join(i.ref for i in view.open_items)))
    if view.missed_runs:
        blocks += sections("*Missed huddles:* " + escape(", ".join(view.missed_runs)))
    if view.rollup:
        blocks += sections("*Units*\n" + "\n".join(f"• {escape(line)}" for line in view.rollup))
    return blocks


def render(view: View) -> list[Block]:
    """The Block Kit blocks of a core view, at most 50."""
    match view:
        case ConcernCard():
            blocks = _concern_card(view)
        case HuddlePrompt():
            blocks = _huddle_prompt(view)
        case HuddleSummary():
            blocks = _huddle_summary(view)
        case ThreadMessage():
            blocks = text_sections(view.text, lead=f"*{escape(view.author_label)}:* ")
        case ReporterUpdate():
            blocks = text_sections(view.text)
            if view.event == "received":
                blocks.append(
                    context("Reply in this thread to add to your concern; the leaders will see it.")
                )
        case GoodCatchPost():
            blocks = text_sections(
                view.text,
                lead=f":star: *Good catch!* {escape(view.giver_label)} recognised "
                f"*{escape(view.recipient_label)}*: ",
            )
        case Notice():
            lead = TONE_EMOJI.get(view.tone, "") + " " if view.tone in TONE_EMOJI else ""
            if view.title:
                lead += f"*{escape(view.title)}*\n"
            blocks = text_sections(view.text, lead=lead)
        case _:
            blocks = text_sections(str(view))
    return fit(blocks)


def fallback_text(view: View) -> str:
    """The notification text of a message (escaped, short)."""
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
            text = view.text
        case _:
            text = "huddlebot"
    return escape(cut(" ".join(text.split()), FALLBACK_LIMIT))


def reply_blocks(reply: Reply) -> list[Block]:
    """An ephemeral answer to the person who asked: the reply's text, and its detail if it has one."""
    lead = TONE_EMOJI.get(reply.tone, "")
    blocks = text_sections(reply.text, lead=f"{lead} " if lead else "")
    if reply.detail is not None and not isinstance(reply.detail, HomeTab):
        blocks += render(reply.detail)
    return fit(blocks)


def reply_text(reply: Reply) -> str:
    """The fallback text of an ephemeral reply."""
    return escape(cut(reply.text, FALLBACK_LIMIT))


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
    blocks.append({"type": "header", "text": plain("My concerns")})
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
    return {"type": "home", "blocks": fit(blocks, SURFACE_BLOCKS)}
