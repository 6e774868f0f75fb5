"""Cleaning what people type, and spotting what looks like a patient identifier."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.errors import Refusal

MAX_CONCERN_CHARS = 20_000
MAX_SHORT_CHARS = 4_000  # replies, notes, "what we did"

# Bidirectional overrides, embeddings, isolates and marks can make text read differently from
# what is stored ("Trojan Source"); NUL and other control characters break exports and terminals.
_INVISIBLE = dict.fromkeys(
    [
        *range(0x00, 0x09),
        0x0B,
        0x0C,
        *range(0x0E, 0x20),
        0x7F,
        0x061C,
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
        0xFEFF,
    ],
)


@dataclass(frozen=True, slots=True)
class CleanText:
    """Text made safe to store, and how many invisible characters were taken out."""

    text: str
    removed: int


def clean(text: str | None, *, limit: int, what: str = "text") -> CleanText:
    """Strip control and bidi characters; refuse empty or over-long text with a kind message."""
    raw = unicodedata.normalize("NFC", text or "")
    visible = raw.translate(_INVISIBLE)
    cleaned = visible.replace("\r\n", "\n").replace("\r", "\n").strip()
    removed = len(raw) - len(visible)
    if not cleaned:
        raise Refusal(f"The {what} is empty. Please write a few words about it.", code="empty_text")
    if len(cleaned) > limit:
        raise Refusal(
            f"The {what} is {len(cleaned):,} characters long; the limit is {limit:,}. "
            "Nothing was saved. Please shorten it or split it in two.",
            code="text_too_long",
        )
    return CleanText(text=cleaned, removed=removed)


_PHI_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "a medical record number",
        re.compile(r"\b(?:MRN|medical record(?: number| no\.?)?|chart)\s*[:#]?\s*\d{5,}", re.IGNORECASE),
    ),
    ("a date of birth", re.compile(r"\b(?:DOB|d\.o\.b\.?|date of birth|born)\b\s*[:#]?", re.IGNORECASE)),
    ("a date of birth", re.compile(r"\b(?:0?[1-9]|1[0-2])[/-](?:0?[1-9]|[12]\d|3[01])[/-](?:19|20)\d{2}\b")),
    ("a date of birth", re.compile(r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b")),
    ("a phone number", re.compile(r"(?<!\w)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")),
    ("a medical record number", re.compile(r"(?<![\w.-])\d{7,10}(?![\w.-])")),
]


def looks_like_phi(text: str) -> list[str]:
    """The kinds of patient identifier ``text`` seems to contain (empty if none), each named once."""
    found: list[str] = []
    for label, pattern in _PHI_PATTERNS:
        if label not in found and pattern.search(text):
            found.append(label)
    return found


def excerpt(text: str, limit: int = 80) -> str:
    """The first line of ``text``, cut to ``limit`` characters with an ellipsis."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def take_title(text: str) -> tuple[str | None, str]:
    """A typed command's ``--title``: the title and the text without it (None: no title given).

    ``--title WORD`` or ``--title "A FEW WORDS"`` leading the text; further on, ``--title "A FEW
    WORDS"`` anywhere or ``--title A FEW WORDS`` to the end. ValueError when ``--title`` has no value.
    """
    text = text.strip()
    if not text.startswith("--title"):
        before, found, after = text.partition(" --title")
        if not found:
            return None, text
        after = after.strip()
        if after.startswith('"') and '"' in after[1:]:  # quoted: the title, and the text goes on after it
            title, _, tail = after[1:].partition('"')
            if not title.strip():
                raise ValueError("--title needs a value")
            return title.strip(), f"{before.strip()} {tail.strip()}".strip()
        if not after:
            raise ValueError("--title needs a value")
        return after, before.strip()
    rest = text.removeprefix("--title").strip()
    if rest.startswith('"') and '"' in rest[1:]:
        title, _, after = rest[1:].partition('"')
        if not title.strip():
            raise ValueError("--title needs a value")
        return title.strip(), after.strip()
    word, _, after = rest.partition(" ")
    if not word:
        raise ValueError("--title needs a value")
    return word, after.strip()
