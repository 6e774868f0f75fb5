"""Signing in to the dashboard from chat: the platform already proved who the person is.

``dashboard`` in chat (or ``huddlebot dashboard-link HANDLE``) gives a private link: a random token,
kept only as a SHA-256, usable once, for ten minutes. Opening it and pressing "Sign in" starts a
session: a cookie holding who the person is and until when, signed with HMAC-SHA256. Forms carry a
CSRF token derived from the session. Nothing here knows HTTP: the web adapter sets the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.errors import Refusal
from bot.limits import AttemptLimiter
from bot.model import Person
from bot.policy import duration_label, handle_of
from bot.publish import record
from bot.read_side import SignInLink
from bot.reply import Reply

if TYPE_CHECKING:
    from bot.core import Core
    from bot.ports import ReadSide

LINK_LIFETIME = timedelta(minutes=10)
LINKS_PER_PERSON = 5  # within LINK_LIFETIME: more is someone pressing the button in a loop
SESSION_KEY_NAME = "dashboard_session_key"


def token_hash(token: str) -> str:
    """What is stored of a link's token: its SHA-256 (the token is random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in person, until ``expires``. ``sid`` is random: it keys the CSRF token."""

    person: Person
    sid: str
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SignIn:
    """Issues and redeems sign-in links, and signs and reads session cookies."""

    def __init__(
        self,
        core: Core,
        reads: ReadSide,
        *,
        key: bytes | None,
        base_url: str,
        session_lifetime: timedelta = timedelta(hours=12),
    ) -> None:
        self.core, self.reads = core, reads
        self.base_url = base_url.rstrip("/")
        self.session_lifetime = session_lifetime
        self._session_key = self._csrf_key = b""
        if key is not None:
            self._use(key)
        self._issued = AttemptLimiter(LINKS_PER_PERSON, LINK_LIFETIME)

    def _use(self, key: bytes) -> None:
        self._session_key = hmac.new(key, b"huddlebot dashboard session", hashlib.sha256).digest()
        self._csrf_key = hmac.new(key, b"huddlebot dashboard csrf", hashlib.sha256).digest()

    async def ready(self) -> None:
        """Load the signing key kept in the database, if none was configured (once, on first use)."""
        if not self._session_key:
            key = await self.reads.shared_secret(name=SESSION_KEY_NAME, new=secrets.token_urlsafe(32))
            self._use(key.encode())

    # --- links ----------------------------------------------------------------------------------

    async def link_for(self, person: Person, *, actor: str | None = None) -> str:
        """A new sign-in link for ``person``, written to the audit log.

        A ``Refusal`` if they asked for too many just now.
        """
        now = self.core.now()
        who = f"{person.platform}:{person.tenant}:{person.user_id}"
        until = self._issued.blocked_until(who, now)
        if until is not None:
            raise Refusal(
                f"You asked for {LINKS_PER_PERSON} sign-in links in a few minutes. "
                f"Please wait {duration_label((until - now).total_seconds())} and try again.",
                code="rate_limited",
            )
        self._issued.failed(who, now)  # counted as an attempt: the limiter counts issues here
        token = secrets.token_urlsafe(32)
        link = SignInLink(
            token_hash=token_hash(token),
            platform=person.platform,
            tenant=person.tenant,
            user_id=person.user_id,
            display_name=person.display_name or person.user_id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
        await self.ready()
        await self.reads.add_sign_in_link(link, now=now)
        handle = handle_of(self.core, person)
        async with self.core.uow() as tx:
            await record(
                tx,
                self.core,
                actor or handle or f"{person.platform}:{person.user_id}",
                "dashboard.link_issued",
                person=handle or f"{person.platform}:{person.user_id}",
            )
        return f"{self.base_url}/dashboard/sign-in?token={token}"

    async def request_link(self, person: Person) -> Reply:
        """The chat command ``dashboard``: the person's private link, shown only to them."""
        try:
            url = await self.link_for(person)
        except Refusal as refusal:
            return Reply(text=refusal.message, tone="error", code=refusal.code)
        minutes = int(LINK_LIFETIME.total_seconds() // 60)
        return Reply(
            text=f"Your private link to the huddlebot dashboard (it works once, for {minutes} minutes; "
            f"do not share it): {url}",
            tone="success",
        )

    async def redeem(self, token: str) -> Person | None:
        """The person a link was issued to, once: None if it is unknown, used or expired."""
        if not token or len(token) > 100:
            return None
        link = await self.reads.use_sign_in_link(token_hash=token_hash(token), now=self.core.now())
        if link is None:
            return None
        person = Person(link.platform, link.tenant, link.user_id, link.display_name)
        async with self.core.uow() as tx:
            handle = handle_of(self.core, person)
            await record(
                tx, self.core, handle or f"{person.platform}:{person.user_id}", "dashboard.signed_in"
            )
        return person

    # --- sessions -------------------------------------------------------------------------------

    def new_session(self, person: Person) -> tuple[str, Session]:
        """A signed cookie value for a new session of ``person``, and the session it holds."""
        assert self._session_key, "call ready() first"
        expires = self.core.now() + self.session_lifetime
        session = Session(person=person, sid=secrets.token_urlsafe(16), expires=expires)
        body = json.dumps(
            {
                "p": person.platform,
                "t": person.tenant,
                "u": person.user_id,
                "n": person.display_name,
                "s": session.sid,
                "e": int(expires.timestamp()),
            },
            separators=(",", ":"),
        ).encode()
        signature = hmac.new(self._session_key, body, hashlib.sha256).digest()
        return f"{_b64(body)}.{_b64(signature)}", session

    def read_session(self, value: str | None) -> Session | None:
        """The session a cookie holds, if it is signed by us and has not expired."""
        if not value or len(value) > 2000 or "." not in value or not self._session_key:
            return None
        body_text, _, signature_text = value.partition(".")
        try:
            body, signature = _unb64(body_text), _unb64(signature_text)
        except ValueError:
            return None
        if not hmac.compare_digest(hmac.new(self._session_key, body, hashlib.sha256).digest(), signature):
            return None
        try:
            data = json.loads(body)
            expires = datetime.fromtimestamp(int(data["e"]), UTC)
            person = Person(str(data["p"]), str(data["t"]), str(data["u"]), str(data["n"]))
            sid = str(data["s"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires <= self.core.now():
            return None
        return Session(person=person, sid=sid, expires=expires)

    def csrf_token(self, session: Session) -> str:
        """The token every form of this session carries."""
        return hmac.new(self._csrf_key, session.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        """True if ``token`` is this session's CSRF token."""
        return bool(token) and hmac.compare_digest(self.csrf_token(session), token or "")
