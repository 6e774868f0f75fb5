"""The bytes huddlebot sends the Bot Connector, and how many of them Teams takes in one message.

Teams refuses an activity over about 28 KB (413 ``MessageSizeTooBig``, sometimes 400), counting the
whole JSON body as sent: envelope, card and all, in UTF-8. The connector serializes with ``dumps`` and
cards are measured with ``size``: one encoding for both, so what is measured is what is sent (with
``ensure_ascii`` an emoji would count 12 bytes instead of 4).
"""

from __future__ import annotations

import json
from typing import Any

TEAMS_LIMIT_BYTES = 28_000  # what Teams is known to refuse above (it says "about 28 KB")
# What huddlebot allows itself for a whole activity: room for what the connector adds to the body
# (``id`` on an update, ``replyToId`` on a reply) and for the service's own rounding.
MESSAGE_LIMIT_BYTES = 27_000


def dumps(payload: Any) -> str:
    """The JSON text of a request body, exactly as the connector sends it."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def size(payload: Any) -> int:
    """Bytes ``payload`` takes on the wire (UTF-8 of ``dumps``)."""
    return len(dumps(payload).encode())
