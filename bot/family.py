"""Patients and families speak up: a concern with a source, raised from the unit's public page.

A family concern is an ordinary concern (same lifecycle, escalation and stoplight rules) whose
``text`` is only a neutral line — "Family concern · 4 West · today · room 12" ("Patient concern" when
the patient wrote) and a link to the dashboard — while the family's own words (which may name the
patient) live in ``family_concerns`` and are shown only on the dashboard's concern page. Every chat
view is built from ``concern.text``, so nothing the family typed can reach a chat platform, whatever
path (card, alert, escalation, digest, thread) carries it. Contact details are sealed with the Fernet
key; without a key the page does not offer the field.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import receipts
from bot.concerns import _DUMMY_HASH, announce
from bot.errors import Refusal
from bot.model import (
    CLOSED_STATUSES,
    Anonymity,
    Concern,
    ConcernMessage,
    ConcernStatus,
    ConcernType,
    Person,
    QualityAim,
    Severity,
    parse_reference,
)
from bot.policy import frozen_policy, handle_of
from bot.publish import post, record, redraw, reply_under
from bot.reply import Reply
from bot.routing import leader_addresses, person_addresses, safety_officer_addresses
from bot.text import MAX_SHORT_CHARS, clean
from bot.views import Notice, ThreadMessage

if TYPE_CHECKING:
    from bot.config import Unit
    from bot.core import Core
    from bot.ports import Tx

log = logging.getLogger("huddlebot.family")

# Who wrote, as the form asks it: the leaders answer a patient and a relative differently.
PATIENT = "patient"
FAMILY = "family"
# Stored before the form asked; such a row stays as it is, since nobody can now tell which it was.
PATIENT_OR_FAMILY = "patient_family"
SOURCES = (PATIENT, FAMILY)  # what a new concern may say
FAMILY_SOURCES = (PATIENT, FAMILY, PATIENT_OR_FAMILY)  # every source a family concern row may hold
# Who the leaders' chat says wrote it ("Patient concern", "The family answered").
WRITERS = {PATIENT: "patient", FAMILY: "family", PATIENT_OR_FAMILY: "family"}
URGENCIES = ("wait", "today", "now")
URGENCY_LABELS = {"wait": "it can wait", "today": "today", "now": "now"}
SEVERITY_FOR = {"wait": Severity.LOW, "today": Severity.MODERATE, "now": Severity.IMMEDIATE}
MAX_WORDS = 2_000  # a family message; longer is refused kindly (the form says so)
MAX_CONTACT = 200
ROOM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{0,11}$")  # "12", "4W-12", "Bed 3": no room for a name
# The flood guard: at most this many cards per unit in this window; then one line says how many wait.
FLOOD_CARDS = 3
FLOOD_WINDOW = timedelta(minutes=10)


@dataclass(eq=False, slots=True)
class FamilyConcern:
    """What a family member sent, kept beside its concern (``concern_id``); never posted to chat."""

    concern_id: int
    unit_id: str
    source: str
    urgency: str
    words: str
    language: str
    created_at: datetime
    room: str | None = None
    contact_sealed: str | None = None


@dataclass(frozen=True, slots=True)
class RaiseFamilyConcern:
    """A patient or a family member sends the unit's public form."""

    unit: str
    text: str
    urgency: str
    source: str  # SOURCES: who is writing, the patient or someone close to them
    language: str = "en"
    room: str | None = None
    contact: str | None = None
    dashboard_url: str = ""
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerFamilyConcern:
    """A family member answers the leaders, with their receipt code."""

    code: str
    text: str
    who: str  # the client address, for the guessing limit only; never stored


@dataclass(frozen=True, slots=True)
class FamilyLine:
    """One message of the conversation, as the family sees it."""

    role: str  # "leader", "family" or "system"
    author: str
    text: str  # for "system": only the leader's own words in it (a note, what was done, why)
    at: datetime
    event: str | None = None  # for "system": SYSTEM_EVENTS' name, which the page says in its language


# The core writes its updates into the conversation in English ("Acknowledged by Dana. Note").
# The family's page must say them in the family's language, from its catalog, so each is read
# back as an event, who, and the leader's own words; one it does not know is only "an update".
SYSTEM_EVENTS = (
    ("acknowledged", re.compile(r"Acknowledged by (?P<who>.+?)\.(?: (?P<words>.*))?", re.S)),
    ("in_progress", re.compile(r"(?P<who>.+?) marked it in progress\.(?: (?P<words>.*))?", re.S)),
    ("resolved", re.compile(r"Resolved by (?P<who>.+?)\. What we did: (?P<words>.*)", re.S)),
    ("not_possible", re.compile(r"Not possible now \((?P<who>.+?)\)\. Why: (?P<words>.*)", re.S)),
    ("escalated", re.compile(r"Escalated to (?P<who>.+?)\.", re.S)),
)


def system_line(text: str, at: datetime) -> FamilyLine:
    """A system message of the conversation as the family's page shows it (never its English)."""
    for event, pattern in SYSTEM_EVENTS:
        found = pattern.fullmatch(text)
        if found:
            # Escalation names a tier of the organisation, which the family has no use for.
            who = "" if event == "escalated" else found["who"]
            words = found.groupdict().get("words") or ""
            return FamilyLine(role="system", author=who, text=words, at=at, event=event)
    return FamilyLine(role="system", author="", text="", at=at, event="update")


@dataclass(frozen=True, slots=True)
class FamilyThread:
    """What a family member sees with their code: their words, the status and the conversation."""

    ref: str
    unit_name: str
    status: str
    words: str
    urgency: str
    created_at: datetime
    lines: tuple[FamilyLine, ...]


@dataclass
class FloodGuard:
    """Cards per unit in a sliding window, in memory (each replica guards its own share)."""

    cards: int = FLOOD_CARDS
    window: timedelta = FLOOD_WINDOW
    _sent: dict[str, deque[datetime]] = field(default_factory=dict)
    _held: dict[str, int] = field(default_factory=dict)

    def allow(self, unit_id: str, now: datetime) -> bool:
        """True if a card may go now (and count it); False counts one more held back."""
        sent = self._sent.setdefault(unit_id, deque())
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        if not sent:
            self._held.pop(unit_id, None)
        if len(sent) < self.cards:
            sent.append(now)
            return True
        self._held[unit_id] = self._held.get(unit_id, 0) + 1
        return False

    def held(self, unit_id: str) -> int:
        """How many were held back in the current burst."""
        return self._held.get(unit_id, 0)


def flood_guard(core: Core) -> FloodGuard:
    """The core's flood guard (made on first use; each process keeps its own)."""
    guard = getattr(core, "_family_flood", None)
    if guard is None:
        guard = FloodGuard()
        core._family_flood = guard  # type: ignore[attr-defined]
    return guard


def family_unit(core: Core, unit_id: str) -> Unit | None:
    """The unit whose public page this is, if the organisation turned it on."""
    unit = core.config.unit(unit_id)
    return unit if unit is not None and getattr(unit, "family_page", False) else None


def card_line(unit_name: str, urgency: str, room: str | None, source: str) -> str:
    """The words leaders see in chat: who, where, how soon, which room. Never the family's own words."""
    parts = [f"{WRITERS[source].capitalize()} concern", unit_name, URGENCY_LABELS[urgency]]
    if room:
        parts.append(f"room {room}")
    return " · ".join(parts)


def seal_contact(core: Core, contact: str, at: datetime) -> str:
    """The family's contact details, encrypted with the sealing key."""
    assert core.sealer is not None
    return core.sealer.seal_text(contact, at=at)


def open_contact(core: Core, token: str | None) -> str | None:
    """The family's contact details, for the unit's leaders on the dashboard only."""
    if not token or core.sealer is None:
        return None
    return core.sealer.unseal_text(token)


async def raise_family_concern(core: Core, tx: Tx, cmd: RaiseFamilyConcern) -> Reply:
    """Store the family's concern, post a card without their words, and give them a receipt code."""
    unit = family_unit(core, cmd.unit)
    if unit is None:
        raise Refusal("This unit has no family page.", code="no_family_page")
    if cmd.urgency not in URGENCIES:
        raise Refusal("Choose how soon it needs attention.", code="bad_urgency")
    if cmd.source not in SOURCES:  # the old value too: a new concern says which of the two wrote it
        raise Refusal("Choose who is writing.", code="bad_source")
    words = clean(cmd.text, limit=MAX_WORDS, what="message").text
    room = (cmd.room or "").strip() or None
    if room is not None and not ROOM.match(room):
        raise Refusal("A room or bed is a short number, like 12 or 4W-12.", code="bad_room")
    contact = (cmd.contact or "").strip() or None
    if contact is not None and (core.sealer is None or len(contact) > MAX_CONTACT):
        raise Refusal("Contact details cannot be kept here.", code="bad_contact")
    now = core.now()
    severity = SEVERITY_FOR[cmd.urgency]
    policy = frozen_policy(core, unit, severity)
    concern = Concern(
        unit_id=unit.id,
        severity=severity,
        category=QualityAim.PATIENT_CENTRED,
        concern_type=ConcernType.OTHER,
        # Nobody on staff raised it: no reporter fields, and its receipt code is the way back.
        anonymity=Anonymity.ANONYMOUS,
        text="",
        created_at=now,
        updated_at=now,
        status=ConcernStatus.OPEN,
        policy=policy,
        next_escalation_at=now + timedelta(seconds=policy["sla_seconds"]),
        idempotency_key=cmd.idempotency_key,
    )
    concern.id, existing = await tx.new_concern_id(idempotency_key=cmd.idempotency_key, anonymous=True)
    if existing is not None:
        code = receipts.new_code(existing.ref, key=core.receipt_key, submission=cmd.idempotency_key)
        return Reply(text="already received", tone="success", ref=existing.ref, receipt_code=code)
    link = f"{cmd.dashboard_url.rstrip('/')}/dashboard/concerns/{concern.ref}" if cmd.dashboard_url else ""
    writer = WRITERS[cmd.source]
    concern.text = card_line(unit.name, cmd.urgency, room, cmd.source) + (
        f"\nThe {writer}'s words are on the dashboard only: {link}" if link else ""
    )
    code = receipts.new_code(concern.ref, key=core.receipt_key, submission=cmd.idempotency_key)
    parts = receipts.split_code(code)
    assert parts is not None
    concern.receipt_hash = receipts.hash_secret(parts[1])
    tx.add(concern)
    tx.add(
        FamilyConcern(
            concern_id=concern.id,
            unit_id=unit.id,
            source=cmd.source,
            urgency=cmd.urgency,
            words=words,
            language=cmd.language[:8],
            created_at=now,
            room=room,
            contact_sealed=seal_contact(core, contact, now) if contact else None,
        )
    )
    if flood_guard(core).allow(unit.id, now):
        await announce(core, tx, concern, unit, actor=_actor(cmd.source))
        if severity == Severity.IMMEDIATE:
            await _alert_officers(core, tx, concern, unit, writer)
    else:
        await _flood_line(core, tx, concern, unit, now, link, _actor(cmd.source))
    return Reply(text="received", tone="success", ref=concern.ref, receipt_code=code)


def _actor(source: str) -> str:
    """Who the audit log says did it (a person of no name)."""
    return "patient" if source == PATIENT else "family member"


async def _alert_officers(core: Core, tx: Tx, concern: Concern, unit: Unit, writer: str) -> None:
    """Now: the safety officers are told at once too (the unit's leaders by ``announce``)."""
    alert = Notice(
        title=f"{writer.capitalize()} concern: now", tone="warning", text=f"{concern.ref}: {concern.text}"
    )
    leaders = {a for h in unit.leaders for a in person_addresses(core, h)}
    for address in safety_officer_addresses(core):
        if address not in leaders:
            await post(tx, core, address, alert, role="alert", concern_id=concern.id)


async def _flood_line(
    core: Core, tx: Tx, concern: Concern, unit: Unit, now: datetime, link: str, actor: str
) -> None:
    """Past the flood guard: no card, and one line per window (redrawn) saying how many wait."""
    window = int(now.timestamp() // FLOOD_WINDOW.total_seconds())
    held = flood_guard(core).held(unit.id)
    text = (
        f"{held} more family message{'s' if held != 1 else ''} waiting on the dashboard for {unit.name} "
        "(too many arrived at once to post each one here)."
    )
    view = Notice(title="Family messages waiting", tone="warning", text=text)
    for address in leader_addresses(core, unit):
        key = f"family:flood:{unit.id}:{window}:{address.target}"
        if not await post(tx, core, address, view, role="family_flood", msg_key=key, once=True):
            first = await tx.post_by_key(msg_key=key)
            if first is not None:
                await redraw(tx, core, [first], lambda _post: view)
    await record(tx, core, actor, "concern.raised", concern_id=concern.id, unit=unit.id, held=True)


async def _family_concern_for_code(core: Core, tx: Tx, who: str, code: str) -> tuple[Concern, FamilyConcern]:
    now = core.now()
    key = f"web:{who}"
    if core.follow_up_limiter.blocked_until(key, now) is not None:
        raise Refusal("Too many codes that did not match. Please wait and try again.", code="rate_limited")
    parts = receipts.split_code(code)
    concern_id = parse_reference(parts[0]) if parts else None
    concern = await tx.get(Concern, concern_id) if concern_id else None
    family = await tx.get(FamilyConcern, concern_id) if concern is not None else None
    stored = concern.receipt_hash if concern is not None and family is not None else _DUMMY_HASH
    if parts is None or concern is None or family is None or not receipts.verify_secret(parts[1], stored):
        core.follow_up_limiter.failed(key, now)
        raise Refusal("That code does not match a message.", code="bad_receipt")
    core.follow_up_limiter.succeeded(key)
    return concern, family


async def family_thread(core: Core, code: str, who: str) -> FamilyThread:
    """What the family sees with their code (``Refusal`` for a wrong one)."""
    async with core.uow() as tx:
        concern, family = await _family_concern_for_code(core, tx, who, code)
        assert concern.id is not None
        messages = await tx.concern_messages(concern_id=concern.id)
    unit = core.config.unit(concern.unit_id)
    lines = tuple(
        system_line(m.text, m.created_at)
        if m.author_role == "system"
        else FamilyLine(
            role="family" if m.author_role == "reporter" else m.author_role,
            author=m.author_name or "",
            text=m.text,
            at=m.created_at,
        )
        for m in messages
    )
    return FamilyThread(
        ref=concern.ref,
        unit_name=unit.name if unit else concern.unit_id,
        status=concern.status,
        words=family.words,
        urgency=family.urgency,
        created_at=family.created_at,
        lines=lines,
    )


async def answer_family_concern(core: Core, tx: Tx, cmd: AnswerFamilyConcern) -> Reply:
    """The family's answer joins the conversation; the leaders' thread hears only that there is one."""
    concern, family = await _family_concern_for_code(core, tx, cmd.who, cmd.code)
    assert concern.id is not None
    if concern.status in CLOSED_STATUSES:  # resolved, or closed as not possible now
        raise Refusal("This conversation is closed.", code="already_resolved")
    text = clean(cmd.text, limit=min(MAX_SHORT_CHARS, MAX_WORDS), what="answer").text
    tx.add(
        ConcernMessage(
            concern_id=concern.id, author_role="reporter", author_name=None, text=text, created_at=core.now()
        )
    )
    cards = await tx.posts_for(role="card", concern_id=concern.id)
    await reply_under(
        tx,
        core,
        cards,
        ThreadMessage(
            ref=concern.ref,
            author_label="huddlebot",
            text=f"The {WRITERS.get(family.source, 'family')} answered: read it on the dashboard.",
        ),
        role="thread",
    )
    await record(tx, core, _actor(family.source), "concern.reporter_replied", concern_id=concern.id)
    return Reply(text="answered", tone="success", ref=concern.ref)


@dataclass(frozen=True, slots=True)
class FamilyDetail:
    """The family's message as the dashboard's concern page shows it."""

    source: str
    urgency: str
    room: str | None
    words: str
    language: str
    contact: str | None  # only for the unit's own leaders; None otherwise or when not given


async def family_detail(core: Core, ref: str, viewer: Person) -> FamilyDetail | None:
    """What the family sent, for a viewer the dashboard already let see the concern ``ref``.

    The contact details are opened only for the leaders of the concern's own unit.
    """
    concern_id = parse_reference(ref)
    if concern_id is None:
        return None
    async with core.uow() as tx:
        family = await tx.get(FamilyConcern, concern_id)
    if family is None:
        return None
    handle = handle_of(core, viewer)
    unit = core.config.unit(family.unit_id)
    own_leader = unit is not None and handle is not None and handle in unit.leaders
    return FamilyDetail(
        source=family.source,
        urgency=URGENCY_LABELS.get(family.urgency, family.urgency),
        room=family.room,
        words=family.words,
        language=family.language,
        contact=open_contact(core, family.contact_sealed) if own_leader else None,
    )
