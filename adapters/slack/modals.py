"""The Slack modals: raise a concern, reply, mark in progress, resolve, close as not possible now, follow
up anonymously, recognise a good catch, log a round, and read a concern whole.

Each form's ``callback_id`` says which form it is; its ``private_metadata`` holds a ``FormContext``
(ids only). People's text inside a modal is escaped like everywhere else. A modal holds at most 100
blocks and 3000 characters a text (UTF-16 units, as in ``blocks``); a form never loses its inputs
to make room: what is read is shortened, what is typed into stays.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.slack.blocks import (
    SECTION_LIMIT,
    SURFACE_BLOCKS,
    Block,
    concern_details,
    context,
    cut_markup,
    escape,
    fit,
    mrkdwn,
    plain,
    sections,
    text_sections,
    units,
)
from adapters.slack.translate import FormContext
from bot.config import OrgConfig
from bot.model import Anonymity, QualityAim, Severity
from bot.reply import Reply
from bot.rounding import MAX_COUNT, MAX_ITEMS
from bot.views import ConcernCard

CONCERN_FORM = "concern"
REPLY_FORM = "concern_reply"
RESOLVE_FORM = "concern_resolve"
NOT_POSSIBLE_FORM = "concern_not_possible"
IN_PROGRESS_FORM = "concern_in_progress"
ROUND_FORM = "round"
FOLLOW_UP_FORM = "concern_follow_up"
GOOD_CATCH_FORM = "good_catch"
CONCERN_VIEW = "concern_view"

INPUT_LIMIT = 3000  # Slack's plain_text_input max_length
TITLE_LIMIT = 24  # a modal's title, submit and close
METADATA_LIMIT = 3000  # private_metadata
TITLE_CHARS = 120  # a stoplight title: ``bot.concerns._title`` keeps at most this many

_SEVERITY_LABELS = {
    Severity.LOW: "Low",
    Severity.MODERATE: "Moderate",
    Severity.HIGH: "High",
    Severity.IMMEDIATE: "Immediate: stop the line",
}
_AIM_LABELS = {aim: aim.value.replace("-", " ").capitalize() for aim in QualityAim}
_ANONYMITY = [
    (Anonymity.NAMED, "Named", "Leaders see your name and can talk to you directly."),
    (
        Anonymity.CONFIDENTIAL,
        "Confidential",
        "Only the patient-safety officer sees your name; leaders see 'Confidential'.",
    ),
    (
        Anonymity.ANONYMOUS,
        "Anonymous",
        "Nobody can find out it was you, not even IT. You get a receipt code to follow it up.",
    ),
]


def _option(value: str, label: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": plain(label, 75), "value": value}
    if description:
        option["description"] = plain(description, 75)
    return option


def _select(block_id: str, label: str, options: list[dict[str, Any]], initial: str | None) -> Block:
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options[:100]}
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return {"type": "input", "block_id": block_id, "label": plain(label, 2000), "element": element}


def _text_input(
    block_id: str,
    label: str,
    *,
    initial: str | None = None,
    hint: str | None = None,
    optional: bool = False,
    multiline: bool = True,
    placeholder: str | None = None,
    max_length: int = INPUT_LIMIT,
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _checkbox(block_id: str, label: str, text: str, description: str, checked: bool) -> Block:
    option = {"text": plain(text, 75), "value": "yes", "description": plain(description, 75)}
    element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": [option]}
    if checked:
        element["initial_options"] = [option]
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": True,
    }


def _modal(callback_id: str, title: str, blocks: list[Block], meta: FormContext, submit: str | None) -> dict:
    metadata = meta.dump()
    if units(metadata) > METADATA_LIMIT:  # ids only: longer means a bug, not a long concern
        raise ValueError(f"private_metadata of {callback_id} is {units(metadata)} units long")
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, TITLE_LIMIT),
        "close": plain("Close" if submit is None else "Cancel", TITLE_LIMIT),
        "blocks": fit(blocks, SURFACE_BLOCKS, budget=None),  # keeps the inputs, whatever it cuts
        "private_metadata": metadata,
    }
    if submit is not None:
        view["submit"] = plain(submit, TITLE_LIMIT)
    return view


def concern_form(
    config: OrgConfig,
    meta: FormContext,
    *,
    prefill: str = "",
    default_unit: str | None = None,
    offer_notify: bool,
    values: dict[str, Any] | None = None,
    phi_warning: str | None = None,
) -> dict[str, Any]:
    """The form to raise a concern. ``values`` re-fills it after a warning; ``phi_warning`` adds the
    warning and the "post anyway" box."""
    values = values or {}
    blocks: list[Block] = []
    if phi_warning:
        blocks += text_sections(phi_warning, lead=":warning: ")
    else:
        blocks.append(
            context(
                "Speaking up keeps patients safe. Please leave out patient identifiers (names, MRN, "
                "date of birth): say 'the patient in bed 12' instead."
            )
        )
    blocks.append(
        _text_input(
            "description",
            "What happened, or what could happen?",
            initial=values.get("description") or prefill,
            placeholder="e.g. The bed alarm on bed 12 was switched off twice tonight.",
        )
    )
    if phi_warning:
        blocks.append(
            _checkbox(
                "post_anyway",
                "Patient identifiers",
                "Post anyway",
                "I checked: it contains no patient identifiers.",
                False,
            )
        )
    severities = [_option(s.value, label) for s, label in _SEVERITY_LABELS.items()]
    blocks.append(_select("severity", "How serious is it?", severities, values.get("severity") or "moderate"))
    aims = [_option(a.value, label) for a, label in _AIM_LABELS.items()]
    blocks.append(
        _select("category", "Which quality aim does it touch?", aims, values.get("category") or "safe")
    )
    # The organisation's own types and labels (the respect type among them): what is stored is the key.
    types = [_option(key, label) for key, label in config.type_labels().items()]
    blocks.append(_select("type", "What is it about?", types, values.get("type") or "other"))
    blocks.append(
        _checkbox(
            "involves_leader",
            "About one of your leaders?",
            "This involves one of this unit's leaders",
            "It goes to the leaders above them and the safety officer, never to them.",
            "yes" in (values.get("involves_leader") or []),
        )
    )
    units = [_option(u.id, u.name) for u in config.units]
    blocks.append(_select("unit", "Which unit?", units, values.get("unit") or default_unit))
    anonymity = [_option(a.value, label, text) for a, label, text in _ANONYMITY]
    element: dict[str, Any] = {"type": "radio_buttons", "action_id": "value", "options": anonymity}
    chosen = values.get("anonymity") or Anonymity.NAMED.value
    element["initial_option"] = next(o for o in anonymity if o["value"] == chosen)
    blocks.append(
        {
            "type": "input",
            "block_id": "anonymity",
            "label": plain("Who may know it was you?"),
            "element": element,
        }
    )
    blocks.append(
        context(
            "An anonymous concern reaches the leaders after a short random delay, so its timing doesn't "
            "point to you. An *immediate* one goes at once: its timing is not hidden."
        )
    )
    blocks.append(
        _checkbox(
            "share",
            "The unit's stoplight report",
            "You may show my own words on the unit's stoplight report",
            "Named concerns only: otherwise the unit reads only the leader's title.",
            "yes" in (values.get("share") or []),
        )
    )
    if offer_notify:
        blocks.append(
            _checkbox(
                "notify",
                "If anonymous",
                "Notify me when there is a reply",
                "Sealed: leaders never see who; an operator with the key could.",
                "yes" in (values.get("notify") or []),
            )
        )
        blocks.append(
            context(
                "Without 'notify me', nothing links an anonymous concern to you: you check for replies "
                "with your receipt code. With it, your address is kept encrypted, apart from the concern, "
                "and huddlebot sends you exactly this, in your chat with it: \u201cThere is news on an "
                "anonymous concern you raised. Read it with /concern follow-up and your receipt code.\u201d "
                "It names no concern, but a workspace admin's export of chats could show that you raised "
                "an anonymous concern."
            )
        )
    return _modal(CONCERN_FORM, "Raise a safety concern", blocks, meta, "Send")


def receipt(reply: Reply) -> dict[str, Any]:
    """The confirmation that replaces the form: the reference and, for anonymous, the receipt code."""
    blocks: list[Block] = text_sections(reply.text, lead=":white_check_mark: ")
    if reply.receipt_code:
        code = escape(reply.receipt_code)
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(f"*Your receipt code* (copy it now; it is not shown again):\n`{code}`"),
            }
        )
        blocks.append(context(f"Follow it up with `/concern follow-up {code}`. Only you see this window."))
    return _modal(CONCERN_FORM + "_receipt", "Concern received", blocks, FormContext(), None)


def message(title: str, text: str, *, tone: str = "info") -> dict[str, Any]:
    """A modal that only says something (a confirmation or a refusal)."""
    lead = {"success": ":white_check_mark: ", "warning": ":warning: ", "error": ":no_entry: "}.get(tone, "")
    return _modal("notice", title, text_sections(text, lead=lead), FormContext(), None)


def reply_form(meta: FormContext, ref: str) -> dict[str, Any]:
    """A leader's reply to the reporter of ``ref``."""
    blocks = [
        _text_input(
            "text", f"Your reply about {ref}", hint="The reporter is told; it is also added to the thread."
        )
    ]
    return _modal(REPLY_FORM, f"Reply to {ref}", blocks, meta, "Send")


def _title_input() -> Block:
    # The unit reads this line on the stoplight, where an anonymous reporter's words never go.
    return _text_input(
        "title",
        "Short title for the unit's stoplight report",
        optional=True,
        multiline=False,
        max_length=TITLE_CHARS,
        placeholder="e.g. Second bladder scanner",
        hint="Everyone on the unit reads it. For an anonymous or confidential concern it is all they read.",
    )


def resolve_form(meta: FormContext, ref: str) -> dict[str, Any]:
    """Resolve ``ref``: what was done, and the stoplight's short title."""
    blocks = [
        _text_input(
            "text",
            "What we did",
            hint="The reporter is told this, so say what changed. They can reopen it if it isn't fixed.",
        ),
        _title_input(),
    ]
    return _modal(RESOLVE_FORM, f"Resolve {ref}", blocks, meta, "Resolve")


def in_progress_form(meta: FormContext, ref: str) -> dict[str, Any]:
    """Mark ``ref`` in progress: the latest update (optional) and the stoplight's short title."""
    blocks = [
        _text_input(
            "note",
            "What is being done (the latest update the unit sees)",
            optional=True,
            placeholder="e.g. Meeting the staffing office on Tuesday.",
            hint="The reporter is told. The unit reads it in yellow on the stoplight report.",
        ),
        _title_input(),
    ]
    return _modal(IN_PROGRESS_FORM, f"In progress: {ref}", blocks, meta, "Mark in progress")


def not_possible_form(meta: FormContext, ref: str) -> dict[str, Any]:
    """Close ``ref`` as not possible now: the reason (required) and the stoplight's short title."""
    blocks = [
        _text_input(
            "reason",
            f"Why {ref} isn't possible now",
            placeholder="e.g. The budget is frozen until April; we will look again then.",
            hint="The reporter is told, and can reopen it. The unit reads it in red on the stoplight report.",
        ),
        _title_input(),
    ]
    return _modal(NOT_POSSIBLE_FORM, "Not possible now", blocks, meta, "Close it")


def _number(block_id: str, label: str) -> Block:
    element = {
        "type": "number_input",
        "action_id": "value",
        "is_decimal_allowed": False,
        "min_value": "0",
        "max_value": str(MAX_COUNT),
        "initial_value": "0",
    }
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": True,
    }


def round_form(meta: FormContext, units: list[tuple[str, str]], *, unit: str | None) -> dict[str, Any]:
    """Log a round on one of ``units`` (id, name: those the leader leads), ``unit`` chosen if given."""
    one_a_line = f"One a line, at most {MAX_ITEMS}."
    blocks: list[Block] = [
        context("Counts only: never write a patient's name here."),
        _select("unit", "Which unit did you round on?", [_option(i, name) for i, name in units], unit),
        _number("staff", "Staff you spoke with"),
        _number("patients", "Patients you spoke with"),
        _number("families", "Families you spoke with"),
        _text_input(
            "wins",
            "Wins",
            optional=True,
            placeholder="@jo: caught a look-alike vial before it was drawn up",
            hint=f"{one_a_line} Write each as @person: what they did. Each is shared as a good catch.",
        ),
        _text_input(
            "concerns",
            "Issues to raise as concerns",
            optional=True,
            hint=(
                f"{one_a_line} Each is raised with you as its source (heard on rounds): leave the staff "
                "member's name out unless they agreed."
            ),
        ),
        _text_input(
            "tracked",
            "Issues to track on the stoplight",
            optional=True,
            hint=f"{one_a_line} Each shows in yellow (in progress) on the unit's stoplight report.",
        ),
        _text_input("barriers", "Tools or barriers needed", optional=True, hint=one_a_line),
    ]
    return _modal(ROUND_FORM, "Log a round", blocks, meta, "Log round")


# A message of the conversation starts with its time, as the core writes it ("Wed 25 Nov 07:05 CST · ").
_MESSAGE_START = re.compile(r"^[A-Z][a-z]{2} \d{2} [A-Z][a-z]{2} \d{2}:\d{2} ?\S* · ")


def _conversation(text: str) -> tuple[str, list[str]]:
    """The core's follow-up text split into its head (reference, status, what was written) and its
    messages, oldest first. A message may have several lines; each starts with its time."""
    head: list[str] = []
    messages: list[list[str]] = []
    for line in text.split("\n"):
        if _MESSAGE_START.match(line):
            messages.append([line])
        elif messages:
            messages[-1].append(line)
        else:
            head.append(line)
    return "\n".join(head), ["\n".join(m) for m in messages]


def follow_up_form(meta: FormContext, conversation: str) -> dict[str, Any]:
    """An anonymous reporter's view of their concern, with a box to answer the leaders.

    The newest messages are the ones to answer: they are shown (oldest of them first, as in a chat)
    as far as the modal's 100 blocks allow, older ones are counted, and the answer box and its
    "Send" always stay.
    """
    head, messages = _conversation(conversation)
    top = sections(cut_markup(escape(head), SECTION_LIMIT)) if head.strip() else []
    answer = _text_input(
        "text",
        "Answer the leaders (optional)",
        optional=True,
        hint="It reaches the leaders without your name.",
    )
    room = SURFACE_BLOCKS - len(top) - 2  # the answer box, and the note on earlier messages
    shown: list[Block] = []
    count = 0
    for message in reversed(messages):
        blocks = sections(escape(message))
        if len(blocks) > room:
            break
        shown = blocks + shown
        room -= len(blocks)
        count += 1
    blocks = list(top)
    if count < len(messages):
        hidden = len(messages) - count
        blocks.append(
            context(
                f"_{hidden} earlier message{'s' if hidden != 1 else ''} not shown; the newest {count} below._"
            )
        )
    return _modal(FOLLOW_UP_FORM, "Your concern", [*blocks, *shown, answer], meta, "Send")


def concern_view(card: ConcernCard) -> dict[str, Any]:
    """A concern read whole (``/concern show C-1042``): its card, however long, without the buttons."""
    blocks = concern_details(card)
    blocks.append(context("Acknowledge, reply and resolve from its card in the leaders' channel."))
    return _modal(CONCERN_VIEW, card.ref, blocks, FormContext(), None)


def good_catch_form(meta: FormContext) -> dict[str, Any]:
    """Recognise a colleague."""
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": "recipient",
            "label": plain("Who made the good catch?"),
            "element": {"type": "users_select", "action_id": "value"},
        },
        _text_input(
            "text",
            "What did they catch?",
            placeholder="e.g. Spotted a look-alike vial before it was drawn up.",
        ),
    ]
    return _modal(GOOD_CATCH_FORM, "Share a good catch", blocks, meta, "Share")
