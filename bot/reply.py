"""The immediate answer to whoever sent a command: shown only to them (ephemeral)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.views import View


@dataclass(frozen=True, slots=True)
class Reply:
    """Text for the sender, plus what an adapter may need to render it well."""

    text: str
    tone: str = "info"  # info | success | warning | error
    code: str | None = None  # a refusal's stable code, e.g. "phi_warning"
    ref: str | None = None
    receipt_code: str | None = None
    detail: View | None = None
    silent: bool = False  # nothing worth showing (e.g. chatter in a thread the bot does not own)

    @property
    def ok(self) -> bool:
        """False when the command was refused."""
        return self.tone != "error"
