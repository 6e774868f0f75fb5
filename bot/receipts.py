"""Receipt codes: how an anonymous reporter finds their concern again without being known.

The code names the concern and carries 80 random bits; only a slow, salted hash of the random
part is stored, so a database dump does not give the codes away.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

# Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand survives.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_CODE = re.compile(r"^C-?(\d{4,12})-([0-9A-Z]{4})-?([0-9A-Z]{4})-?([0-9A-Z]{4})-?([0-9A-Z]{4})$")


def new_code(reference: str, *, key: bytes | None = None, submission: str | None = None) -> str:
    """A receipt code for the concern with human reference ``reference`` (e.g. ``C-1042``).

    With ``submission`` (the request's idempotency key) and ``key`` (a secret that never enters the
    database), the code is derived from them: every answer to the same submission — a double click, a
    platform's retry, on any replica sharing the key — shows the same code, and nothing stored turns
    back into it. Without them it is random.
    """
    if key is not None and submission:
        digest = hmac.new(key, b"receipt\0" + submission.encode(), hashlib.sha256).digest()
        secret = "".join(_ALPHABET[b % 32] for b in digest[:16])
    else:
        secret = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return f"{reference}-{secret[0:4]}-{secret[4:8]}-{secret[8:12]}-{secret[12:16]}"


def split_code(code: str) -> tuple[str, str] | None:
    """The reference and the secret part of a code, or None if it is not shaped like one."""
    normal = code.strip().upper().replace(" ", "").translate(str.maketrans("OIL", "011"))
    match = _CODE.match(normal)
    if not match:
        return None
    return f"C-{match.group(1)}", "".join(match.groups()[1:])


def hash_secret(secret: str) -> str:
    """A salted scrypt hash of the secret part, for storage."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_secret(secret: str, stored: str | None) -> bool:
    """True if ``secret`` matches the stored hash (constant-time)."""
    try:
        scheme, salt_b64, digest_b64 = (stored or "").split("$")
        salt, digest = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    return hmac.compare_digest(hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT), digest)
