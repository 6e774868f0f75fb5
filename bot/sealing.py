"""Sealing an anonymous reporter's address, for the "notify me" option only.

The address is encrypted with a key from the environment (``HUDDLEBOT_SEAL_KEY``, a Fernet
key) and stored apart from the concern. Leaders never see it; only the relay that sends the
"you have a reply" nudge opens it. Without the key the option is not offered.
"""

from __future__ import annotations

import json
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken

from bot.model import Address


class Sealer:
    """Encrypts and decrypts addresses with one Fernet key."""

    def __init__(self, key: str | bytes) -> None:
        self._fernet = Fernet(key)

    @staticmethod
    def new_key() -> str:
        """A fresh key to put in ``HUDDLEBOT_SEAL_KEY``."""
        return Fernet.generate_key().decode()

    def seal(self, address: Address, *, at: datetime | None = None) -> str:
        """An opaque token for ``address``.

        A Fernet token carries its creation time in the clear; ``at`` sets it (an anonymous concern
        gives its posting time), so the token does not say when the reporter sent the concern.
        """
        payload = json.dumps(
            {"p": address.platform, "t": address.tenant, "c": address.channel, "u": address.user}
        )
        if at is None:
            return self._fernet.encrypt(payload.encode()).decode()
        return self._fernet.encrypt_at_time(payload.encode(), int(at.timestamp())).decode()

    def unseal(self, token: str) -> Address | None:
        """The address inside ``token``, or None if it was sealed with another key."""
        try:
            data = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            return None
        return Address(platform=data["p"], tenant=data["t"], channel=data["c"], user=data["u"])

    def seal_text(self, text: str, *, at: datetime | None = None) -> str:
        """An opaque token for a short text (a family's phone number or email)."""
        if at is None:
            return self._fernet.encrypt(text.encode()).decode()
        return self._fernet.encrypt_at_time(text.encode(), int(at.timestamp())).decode()

    def unseal_text(self, token: str) -> str | None:
        """The text inside ``token``, or None if it was sealed with another key."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError):
            return None
