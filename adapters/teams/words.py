"""The core's sentences said the Teams way: its commands, its dialogs, and where there is a thread.

The core names Slack-style commands (``/concern follow-up CODE``); Teams has bot commands typed to
huddlebot and dialogs opened under the message box. A personal chat has no threads: a reporter
answers there by replying to huddlebot's message.
"""

from __future__ import annotations

import re

# The dialogs' titles, as the manifest names its commands (a command title is at most 32 characters).
RAISE_DIALOG = "Raise a safety concern"
FOLLOW_UP_DIALOG = "Follow up on a concern"
ROUND_DIALOG = "Log a round"
UNDER_THE_BOX = "under the message box, **+** or **…**"

_FOLLOW_UP = re.compile(r"/concern follow-up(?: (C-[0-9A-Z][0-9A-Z-]*[0-9A-Z]))?")


def _follow_up(match: re.Match[str]) -> str:
    dialog = f"huddlebot's *{FOLLOW_UP_DIALOG}* dialog"
    code = match.group(1)
    return f"{dialog} ({UNDER_THE_BOX}) and the code {code}" if code else dialog


def teams_words(text: str, *, ref: str | None = None, threaded: bool = True) -> str:
    """``text`` with the core's commands said the Teams way.

    ``ref``: the concern the text is about (to say how to reopen it). ``threaded``: whether the message
    goes where people can answer in a thread (a team's channel), not a personal or group chat.
    """
    text = (
        _FOLLOW_UP.sub(_follow_up, text)
        .replace("/concern ack", "ack")
        .replace("/concern reopen", "reopen")  # never "concern reopen …": that would raise a new concern
        .replace("/concern", "concern")
        .replace("/huddle", "huddle")
        .replace("/goodcatch", "goodcatch")
    )
    if ref:
        text = text.replace(
            "reopen it and say why.", f"reopen it: write `reopen {ref} why it isn't fixed` to me."
        )
    if not threaded:
        for thread, chat in _NO_THREAD:
            text = text.replace(thread, chat)
    return text


# Said of "this thread" by the core, and what is true in a chat that has none.
_NO_THREAD = (
    ("you can answer in this thread", "you can answer by replying to this message"),  # a reporter's update
    (" or reply in this thread.", "."),  # a huddle's reminder, where its prompt is in a group chat
    ("replies in this thread reach", "replies in its thread reach"),  # a note about a channel thread
)
