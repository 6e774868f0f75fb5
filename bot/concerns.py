"""Concerns: raise, acknowledge, talk, set status, resolve, reopen, and anonymous follow-up."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import huddles, receipts
from bot.commands import (
    AcknowledgeConcern,
    AnswerHuddle,
    FollowUp,
    MarkNotPossible,
    MessageInThread,
    RaiseConcern,
    ReopenConcern,
    ReplyToConcern,
    ResolveConcern,
    SetConcernStatus,
    ShowConcern,
)
from bot.errors import NotAllowed, NotFound, Refusal
from bot.model import (
    CLOSED_STATUSES,
    Address,
    Anonymity,
    Answer,
    Concern,
    ConcernMessage,
    ConcernStatus,
    OutboxStatus,
    Person,
    QualityAim,
    SealedAddress,
    Severity,
    parse_reference,
)
from bot.policy import (
    duration_label,
    frozen_policy,
    handle_of,
    local_label,
    name_of,
    parse_choice,
    require_leader,
    resolve_unit,
)
from bot.present import concern_card
from bot.publish import post, post_sealed, record, redraw, reply_under
from bot.reply import Reply
from bot.routing import person_addresses, safety_officer_addresses
from bot.text import MAX_CONCERN_CHARS, MAX_SHORT_CHARS, clean, excerpt, looks_like_phi
from bot.views import Notice, ReporterUpdate, ThreadMessage
from bot.visibility import card_addresses, check_can_route_around, may_lead, routed_around, routing_tier

if TYPE_CHECKING:
    from bot.config import Unit
    from bot.core import Core
    from bot.ports import Tx

log = logging.getLogger("huddlebot.concerns")

NUDGE_TEXT = (
    "There is news on an anonymous concern you raised. Read it with /concern follow-up and your receipt code."
)
# Verifying against this when no concern matches keeps a wrong code as slow as a right one.
_DUMMY_HASH = receipts.hash_secret("0" * 16)


async def raise_concern(core: Core, tx: Tx, cmd: RaiseConcern) -> Reply:
    """Store a concern and queue its card for the unit's leaders; the reporter gets a receipt."""
    unit = resolve_unit(core, cmd.unit, cmd.where)
    cleaned = clean(cmd.text, limit=MAX_CONCERN_CHARS, what="concern")
    severity = parse_choice(cmd.severity, list(Severity), Severity.MODERATE, "severity")
    category = parse_choice(cmd.category, list(QualityAim), QualityAim.SAFE, "category")
    concern_type = parse_choice(cmd.concern_type, list(core.config.type_labels()), "other", "type")
    anonymity = parse_choice(cmd.anonymity, list(Anonymity), Anonymity.NAMED, "anonymity level")
    anonymous = anonymity == Anonymity.ANONYMOUS
    notify = cmd.notify_me and anonymous
    if notify and core.sealer is None:
        raise Refusal(
            "'Notify me' isn't available here (no sealing key is configured), so nothing was sent. "
            "Raise it again without it, and check back with your receipt code.",
            code="notify_unavailable",
        )
    phi = looks_like_phi(cleaned.text)
    if phi and not cmd.post_anyway:
        raise Refusal(
            f"This looks like it may contain {' and '.join(phi)}. "
            "Chat is not the place for patient identifiers: please take them out "
            "(say 'the patient in bed 12' instead), or confirm that it is safe to post. "
            "Nothing was posted.",
            code="phi_warning",
        )
    if cmd.involves_leader:
        check_can_route_around(core, unit)
    now = core.now()
    policy = frozen_policy(core, unit, severity)
    if cmd.involves_leader and core.config.ancestors(unit.id):
        # Its first stop is the next tier already (``bot.visibility``): escalation starts above it.
        policy["chain"] = policy["chain"][1:]
    delay = timedelta(0)
    if anonymous and severity != Severity.IMMEDIATE:
        low, high = core.config.escalation.anonymous_delay.min, core.config.escalation.anonymous_delay.max
        delay = timedelta(seconds=core.rng.uniform(low.total_seconds(), high.total_seconds()))
    # An anonymous concern waits, and is stored as of when its leaders will get it: nothing stored
    # (its id, its times, its outbox and audit rows) says when the reporter sent it.
    posted_at = now + delay
    concern = Concern(
        unit_id=unit.id,
        severity=severity,
        category=category,
        concern_type=concern_type,
        anonymity=anonymity,
        text=cleaned.text,
        created_at=posted_at,
        updated_at=posted_at,
        status=ConcernStatus.WAITING if delay else ConcernStatus.OPEN,
        policy=policy,
        notify_sealed=notify,
        phi_flagged=bool(phi),
        # The clock starts when the leaders get the card.
        next_escalation_at=posted_at + timedelta(seconds=policy["sla_seconds"]),
        idempotency_key=cmd.idempotency_key,
        # Only a named reporter's words can be shown on the stoplight: others show only the title.
        share_words=cmd.share and anonymity == Anonymity.NAMED,
        involves_leader=cmd.involves_leader,
    )
    if not anonymous:
        concern.reporter_platform = cmd.person.platform
        concern.reporter_tenant = cmd.person.tenant
        concern.reporter_user_id = cmd.person.user_id
        concern.reporter_name = name_of(core, cmd.person)
        concern.reporter_handle = handle_of(core, cmd.person)
    # Everything below is added, not written at once: with the id known up front, the concern, its
    # cards and its audit record reach the database together, in one statement.
    concern.id, existing = await tx.new_concern_id(idempotency_key=cmd.idempotency_key, anonymous=anonymous)
    if existing is not None:  # the same request again (a retry, a double click): the key says so
        return _already_received(core, existing, cmd.idempotency_key)

    code = None
    if anonymous:
        code = receipts.new_code(concern.ref, key=core.receipt_key, submission=cmd.idempotency_key)
        parts = receipts.split_code(code)
        assert parts is not None
        concern.receipt_hash = receipts.hash_secret(parts[1])
    tx.add(concern)
    if notify and core.sealer is not None:
        token = core.sealer.seal(Address.dm(cmd.person), at=posted_at)
        tx.add(SealedAddress(concern_id=concern.id, platform=cmd.person.platform, token=token))
    if not delay:
        await announce(core, tx, concern, unit, actor=_reporter_actor(core, concern, cmd.person))
    if not anonymous:
        sla = duration_label(policy["sla_seconds"])
        await post(
            tx,
            core,
            Address.dm(cmd.person),
            ReporterUpdate(
                ref=concern.ref,
                event="received",
                text=f"Thank you for speaking up. Your concern {concern.ref} is on its way to "
                f"{_who_gets_it(core, concern, unit)}; "
                f"they aim to acknowledge it within {sla}. "
                "Updates will come here; to add something, reply to this message.",
            ),
            role="dm",
            msg_key=f"concern:{concern.id}:dm",
            concern_id=concern.id,
        )
    return Reply(
        text=_receipt_text(core, concern, unit, code, delay, cleaned.removed),
        tone="success",
        ref=concern.ref,
        receipt_code=code,
    )


async def announce(core: Core, tx: Tx, concern: Concern, unit: Unit, *, actor: str) -> None:
    """Queue a concern's cards for its leaders (and the officers, and an alert when it is immediate).

    A named concern is announced as it is raised; an anonymous one when its posting time comes, and
    only then is it logged, counted and audited, so that no record says when it was sent.
    """
    assert concern.id is not None
    card = concern_card(core, concern)
    officers = {a.target for a in safety_officer_addresses(core)}
    confidential = concern.anonymity == Anonymity.CONFIDENTIAL
    for address in card_addresses(core, concern, unit):
        if confidential and address.target in officers:
            continue  # the officers get the card that names a confidential reporter, below
        await post(
            tx,
            core,
            address,
            card,
            role="card",
            msg_key=f"concern:{concern.id}:card:{address.target}",
            concern_id=concern.id,
        )
    if confidential:
        officer_card = concern_card(core, concern, for_safety_officer=True)
        around = routed_around(core, concern)
        for address in [
            a for h in core.config.safety_officers if h not in around for a in person_addresses(core, h)
        ]:
            await post(
                tx,
                core,
                address,
                officer_card,
                role="card_copy",
                msg_key=f"concern:{concern.id}:card:so:{address.target}",
                concern_id=concern.id,
            )
    if concern.severity == Severity.IMMEDIATE:
        await _alert_immediate(core, tx, concern, unit)
    severity, anonymity = concern.severity, concern.anonymity
    await record(
        tx,
        core,
        actor,
        "concern.raised",
        concern_id=concern.id,
        unit=unit.id,
        severity=severity,
        anonymity=anonymity,
    )
    ref = concern.ref

    def raised() -> None:  # only once it is stored: a commit can still lose a race with a twin request
        log.info("concern %s raised unit=%s severity=%s anonymity=%s", ref, unit.id, severity, anonymity)
        core.metrics.concerns_raised.labels(severity, anonymity).inc()

    tx.after_commit(raised)


async def post_waiting(core: Core, tx: Tx, concern: Concern) -> None:
    """An anonymous concern's posting time has come (claimed by ``Tx.claim_anonymous_posts``)."""
    unit = _unit(core, concern)
    await announce(core, tx, concern, unit, actor="anonymous reporter")


def _receipt_text(
    core: Core, concern: Concern, unit: Unit, code: str | None, delay: timedelta, removed: int
) -> str:
    sla = duration_label(concern.policy["sla_seconds"])
    lines = [
        f"Thank you for speaking up. Your concern {concern.ref} was received for {unit.name} "
        f"({concern.severity}); its leaders aim to acknowledge it within {sla}."
    ]
    if concern.involves_leader:
        lines[0] = (
            f"Thank you for speaking up. Your concern {concern.ref} about {unit.name} ({concern.severity}) "
            f"goes to {_who_gets_it(core, concern, unit)}, never to {unit.name}'s own leaders; "
            f"they aim to acknowledge it within {sla}."
        )
    if code:
        lines.append(
            "It is anonymous: huddlebot did not record who you are, so nobody, IT included, can find out."
        )
        lines.append(f"Your receipt code: {code}")
        lines.append(
            "Keep it somewhere safe: it will not be shown again, and it is the only way back to this "
            f"concern. See replies and answer them with /concern follow-up {code}"
        )
        if delay:
            lines.append(
                f"So that its timing doesn't point to you, it reaches the leaders within "
                f"{duration_label(core.config.escalation.anonymous_delay.max.total_seconds())}."
            )
        else:
            lines.append("Because it is immediate, it went to the leaders at once: its timing is not hidden.")
        if concern.notify_sealed:
            lines.append("You'll get a short 'you have a reply' nudge; leaders never see who it goes to.")
    elif concern.anonymity == Anonymity.CONFIDENTIAL:
        lines.append("It is confidential: only the patient-safety officer can see your name.")
    if concern.phi_flagged:
        lines.append(
            "You confirmed it is safe to post although it looked like it contained a patient identifier."
        )
    if removed:
        lines.append(f"({removed} invisible control character(s) were removed from the text.)")
    return "\n".join(lines)


def _who_gets_it(core: Core, concern: Concern, unit: Unit) -> str:
    """Whom the reporter is told their concern goes to."""
    if not concern.involves_leader:
        return f"the leaders of {unit.name}"
    above = routing_tier(core, unit)
    officers = "the patient-safety officers" if core.config.safety_officers else ""
    return " and ".join(p for p in (f"the leaders of {above.name}" if above else "", officers) if p)


def _already_received(core: Core, concern: Concern, submission: str | None) -> Reply:
    text = f"This concern was already received as {concern.ref}; it was not raised twice."
    code = None
    if concern.is_anonymous:
        # The same submission gives the same code, so a lost first answer loses nothing.
        code = receipts.new_code(concern.ref, key=core.receipt_key, submission=submission)
        text += f"\nYour receipt code: {code}\nSee replies and answer them with /concern follow-up {code}"
    return Reply(text=text, tone="success", ref=concern.ref, receipt_code=code)


async def _alert_immediate(core: Core, tx: Tx, concern: Concern, unit: Unit) -> None:
    """Stop the line: every leader of the unit and of its parent is told at once, wherever they are."""
    around = routed_around(core, concern)
    handles = [h for h in unit.leaders if h not in around]
    parents = core.config.ancestors(unit.id)[:1]
    for parent in parents:
        handles.extend(h for h in parent.leaders if h not in handles and h not in around)
    alert = Notice(
        title="Immediate concern: stop the line",
        tone="warning",
        text=f"{concern.ref} in {unit.name} ({concern.concern_type}): {excerpt(concern.text, 200)}\n"
        f"Acknowledge it on its card ({concern.ref}).",
    )
    for handle in handles:
        for address in person_addresses(core, handle):
            await post(tx, core, address, alert, role="alert", concern_id=concern.id)


async def load_concern(tx: Tx, ref: str) -> Concern:
    """The concern ``ref`` names, or a kind refusal."""
    concern_id = parse_reference(ref)
    if concern_id is None:
        raise Refusal(f"'{ref[:40]}' isn't a concern reference; they look like C-1042.", code="bad_reference")
    concern = await tx.get(Concern, concern_id)
    if concern is None:
        raise NotFound(f"I can't find a concern called {ref[:40]}. Check the reference and try again.")
    return concern


def _unit(core: Core, concern: Concern) -> Unit:
    unit = core.config.unit(concern.unit_id)
    if unit is None:  # the unit was removed from the configuration after the concern was raised
        raise Refusal(
            f"{concern.ref} belongs to a unit that is no longer configured ({concern.unit_id}). "
            "Ask your huddlebot administrator.",
            code="unit_gone",
        )
    return unit


def _is_reporter(concern: Concern, person: Person) -> bool:
    return (
        not concern.is_anonymous
        and concern.reporter_user_id == person.user_id
        and concern.reporter_platform == person.platform
        and concern.reporter_tenant == person.tenant
    )


def _reporter_actor(core: Core, concern: Concern, person: Person) -> str:
    """How the audit log names the reporter: never an anonymous or confidential one."""
    if concern.anonymity == Anonymity.ANONYMOUS:
        return "anonymous reporter"
    if concern.anonymity == Anonymity.CONFIDENTIAL:
        return "confidential reporter"
    return handle_of(core, person) or f"{person.platform}:{person.user_id}"


def _leader_actor(core: Core, person: Person) -> str:
    return handle_of(core, person) or f"{person.platform}:{person.user_id}"


def _require_lead(core: Core, person: Person, concern: Concern, unit: Unit, doing: str) -> None:
    """Like ``require_leader``, and never for a leader the concern is routed around."""
    if not may_lead(core, person, concern):
        require_leader(core, person, unit, doing)  # the usual polite refusal for everyone else
        raise NotAllowed(f"Only the leaders of {unit.name} can {doing}. Nothing was changed.")


def _not_resolved(core: Core, concern: Concern, doing: str) -> None:
    if concern.status == ConcernStatus.NOT_POSSIBLE:
        when = local_label(core, concern.unit_id, concern.not_possible_at) if concern.not_possible_at else ""
        raise Refusal(
            f"{concern.ref} was closed as not possible now ({concern.not_possible_by}, {when}), so I can't "
            f"{doing} it. If it needs more work, the reporter can reopen it.",
            code="already_resolved",
        )
    if concern.status == ConcernStatus.RESOLVED:
        when = local_label(core, concern.unit_id, concern.resolved_at) if concern.resolved_at else ""
        raise Refusal(
            f"{concern.ref} is already resolved ({concern.resolved_by}, {when}), so I can't {doing} it. "
            "If it needs more work, the reporter can reopen it.",
            code="already_resolved",
        )


async def _cards(tx: Tx, concern: Concern) -> list:
    assert concern.id is not None
    return await tx.posts_for(role="card", concern_id=concern.id)


async def _redraw_cards(core: Core, tx: Tx, concern: Concern) -> None:
    assert concern.id is not None
    posts = await tx.posts_for(role="card", concern_id=concern.id)
    posts += await tx.posts_for(role="card_copy", concern_id=concern.id)
    card, officer_card = concern_card(core, concern), concern_card(core, concern, for_safety_officer=True)
    await redraw(tx, core, posts, lambda p: officer_card if p.msg_key and ":so:" in p.msg_key else card)


async def _tell_reporter(core: Core, tx: Tx, concern: Concern, event: str, text: str) -> None:
    """Tell the reporter in their DM thread; an anonymous one only gets a nudge, and only if they asked."""
    assert concern.id is not None
    if concern.is_anonymous:
        if concern.notify_sealed:
            sealed = await tx.get(SealedAddress, concern.id)
            # One unsent "there is news" covers whatever else happens before it goes (a leader's first
            # reply also acknowledges: two identical nudges at once would look broken).
            queued = await tx.posts_for(role="sealed", concern_id=concern.id)
            if sealed is not None and not any(p.status == OutboxStatus.PENDING for p in queued):
                await post_sealed(
                    tx,
                    core,
                    sealed.platform,
                    # Generic on purpose: an admin's export of DMs must not link this person to
                    # this concern, only to having raised an anonymous concern (the form says so).
                    ReporterUpdate(ref="", event="nudge", text=NUDGE_TEXT),
                    concern_id=concern.id,
                )
        return
    if concern.reporter_platform is None or concern.reporter_user_id is None:
        return
    address = Address(concern.reporter_platform, concern.reporter_tenant or "", user=concern.reporter_user_id)
    await post(
        tx,
        core,
        address,
        ReporterUpdate(ref=concern.ref, event=event, text=text),
        role="dm",  # type: ignore[arg-type]
        thread_key=f"concern:{concern.id}:dm",
        concern_id=concern.id,
    )


async def _say(
    core: Core,
    tx: Tx,
    concern: Concern,
    role: str,
    author: str | None,
    label: str,
    text: str,
    *,
    typed_under: str | None = None,
) -> None:
    """Add to the conversation and show it in every card's thread.

    ``typed_under`` is the card whose thread the message was typed in: it is there already.
    """
    assert concern.id is not None
    tx.add(
        ConcernMessage(
            concern_id=concern.id, author_role=role, author_name=author, text=text, created_at=core.now()
        )
    )
    await reply_under(
        tx,
        core,
        [card for card in await _cards(tx, concern) if card.msg_key != typed_under],
        ThreadMessage(ref=concern.ref, author_label=label, text=text),
        role="thread",
    )


async def _acknowledge(core: Core, tx: Tx, concern: Concern, person: Person, note: str | None = None) -> bool:
    """Acknowledge once: a conditional update, so two leaders at once make one acknowledgement."""
    assert concern.id is not None
    now, name = core.now(), name_of(core, person)
    claimed = await tx.update(
        Concern,
        concern.id,
        where={"acknowledged_at": None},
        acknowledged_at=now,
        acknowledged_by=name,
        status=ConcernStatus.ACKNOWLEDGED,
        next_escalation_at=None,
        nudge_at=now + core.config.escalation.nudge_open_after,
        updated_at=now,
    )
    if not claimed:
        return False
    concern.acknowledged_at, concern.acknowledged_by, concern.status = now, name, ConcernStatus.ACKNOWLEDGED
    unit = _unit(core, concern)
    text = f"Acknowledged by {name}." + (f" {note}" if note else "")
    await _say(core, tx, concern, "system", name, "huddlebot", text)
    await _redraw_cards(core, tx, concern)
    await _tell_reporter(
        core,
        tx,
        concern,
        "acknowledged",
        f"Your concern {concern.ref} was acknowledged by {name} ({unit.name})."
        + (f" {name} says: {note}" if note else ""),
    )
    await record(
        tx,
        core,
        _leader_actor(core, person),
        "concern.acknowledged",
        concern_id=concern.id,
        minutes_to_acknowledge=round((now - concern.created_at).total_seconds() / 60, 1),
    )
    waited = (now - concern.created_at).total_seconds()
    tx.after_commit(lambda: core.metrics.time_to_acknowledge.labels(concern.severity).observe(waited))
    log.info("concern %s acknowledged", concern.ref)
    return True


async def acknowledge(core: Core, tx: Tx, cmd: AcknowledgeConcern) -> Reply:
    """A leader acknowledges; doing it twice is harmless and says who was first."""
    concern = await load_concern(tx, cmd.ref)
    _require_lead(core, cmd.person, concern, _unit(core, concern), f"acknowledge {concern.ref}")
    _not_resolved(core, concern, "acknowledge")
    note = clean(cmd.note, limit=MAX_SHORT_CHARS, what="note").text if cmd.note and cmd.note.strip() else None
    if concern.acknowledged_at is not None or not await _acknowledge(core, tx, concern, cmd.person, note):
        fresh = await tx.get(Concern, concern.id) or concern
        when = local_label(core, fresh.unit_id, fresh.acknowledged_at) if fresh.acknowledged_at else ""
        return Reply(
            text=f"{fresh.ref} was already acknowledged by {fresh.acknowledged_by} ({when}). "
            "Nothing changed.",
            ref=fresh.ref,
        )
    return Reply(
        text=f"You acknowledged {concern.ref}. {_reporter_hears(concern)}", tone="success", ref=concern.ref
    )


def _reporter_hears(concern: Concern) -> str:
    if concern.is_anonymous:
        return "The reporter is anonymous: they will see it when they follow up" + (
            " (and get a nudge)." if concern.notify_sealed else "."
        )
    return "The reporter has been told."


async def _leader_reply(
    core: Core, tx: Tx, concern: Concern, person: Person, text: str, *, typed_under: str | None = None
) -> None:
    if concern.acknowledged_at is None:
        await _acknowledge(core, tx, concern, person)  # a leader's first reply is an acknowledgement
    name = name_of(core, person)
    await _say(core, tx, concern, "leader", name, name, text, typed_under=typed_under)
    await _tell_reporter(core, tx, concern, "reply", f"{name} replied about {concern.ref}: {text}")
    await record(tx, core, _leader_actor(core, person), "concern.replied", concern_id=concern.id)


async def _reporter_reply(core: Core, tx: Tx, concern: Concern, person: Person, text: str) -> None:
    label = {
        Anonymity.ANONYMOUS: "The reporter (anonymous)",
        Anonymity.CONFIDENTIAL: "The reporter (confidential)",
    }.get(Anonymity(concern.anonymity), f"{concern.reporter_name} (reporter)")
    author = None if concern.is_anonymous else concern.reporter_name
    await _say(core, tx, concern, "reporter", author, label, text)
    await record(
        tx, core, _reporter_actor(core, concern, person), "concern.reporter_replied", concern_id=concern.id
    )


async def reply(core: Core, tx: Tx, cmd: ReplyToConcern) -> Reply:
    """A leader's reply reaches the reporter; the reporter's reply reaches the leaders' thread."""
    concern = await load_concern(tx, cmd.ref)
    unit = _unit(core, concern)
    text = clean(cmd.text, limit=MAX_SHORT_CHARS, what="reply").text
    if may_lead(core, cmd.person, concern):
        await _leader_reply(core, tx, concern, cmd.person, text)
        return Reply(
            text=f"Your reply was added to {concern.ref}. {_reporter_hears(concern)}",
            tone="success",
            ref=concern.ref,
        )
    if _is_reporter(concern, cmd.person):
        await _reporter_reply(core, tx, concern, cmd.person, text)
        return Reply(
            text=f"Your reply was passed to the leaders of {unit.name} in {concern.ref}'s thread.",
            tone="success",
            ref=concern.ref,
        )
    raise NotAllowed(
        f"Only the leaders of {unit.name} and the person who raised {concern.ref} can reply to it. "
        "Nothing was sent. To raise something new, use /concern."
    )


async def set_status(core: Core, tx: Tx, cmd: SetConcernStatus) -> Reply:
    """A leader marks a concern in progress (acknowledging it first if nobody had).

    The note is the leaders' latest update: a leader message, as a reply is, so the stoplight's yellow
    line and the reporter's follow-up show it.
    """
    concern = await load_concern(tx, cmd.ref)
    unit = _unit(core, concern)
    status = parse_choice(
        cmd.status.replace("-", "_").replace(" ", "_"),
        ["in-progress"],
        "in-progress",
        "status you can set (use resolve to close it)",
    )
    _require_lead(core, cmd.person, concern, unit, f"change the status of {concern.ref}")
    _not_resolved(core, concern, "change the status of")
    if cmd.check_only:
        # A refusal, so that even a check that went further than meant would be rolled back.
        raise Refusal("Checked only: nothing was changed.", code="status_allowed")
    note = clean(cmd.note, limit=MAX_SHORT_CHARS, what="note").text if cmd.note and cmd.note.strip() else None
    title = _title(cmd.title)
    if concern.acknowledged_at is None:
        await _acknowledge(core, tx, concern, cmd.person)
    assert concern.id is not None
    if concern.status == ConcernStatus.IN_PROGRESS:
        said: list[str] = []
        if title and title != concern.title:
            await tx.update(Concern, concern.id, title=title, updated_at=core.now())
            concern.title = title
            await _redraw_cards(core, tx, concern)
            said.append(f"{concern.ref}'s title for the stoplight is now: {title}")
        if note:
            # Typed on a form opened before another leader marked it: the update is kept, not dropped.
            await _leader_reply(core, tx, concern, cmd.person, note)
            said.append(f"Your update on {concern.ref} was added. {_reporter_hears(concern)}")
        if said:
            return Reply(text=" ".join(said), tone="success" if note else "info", ref=concern.ref)
        return Reply(text=f"{concern.ref} is already in progress. Nothing changed.", ref=concern.ref)
    assert status == "in-progress"
    now, name = core.now(), name_of(core, cmd.person)
    title = title or concern.title
    await tx.update(Concern, concern.id, status=ConcernStatus.IN_PROGRESS, title=title, updated_at=now)
    concern.title = title
    concern.status = ConcernStatus.IN_PROGRESS
    await _say(core, tx, concern, "system", name, "huddlebot", f"{name} marked it in progress.")
    if note:
        await _say(core, tx, concern, "leader", name, name, note)
    await _redraw_cards(core, tx, concern)
    await _tell_reporter(
        core,
        tx,
        concern,
        "status",
        f"{name} is working on your concern {concern.ref}." + (f" {note}" if note else ""),
    )
    await record(tx, core, _leader_actor(core, cmd.person), "concern.in_progress", concern_id=concern.id)
    return Reply(text=f"{concern.ref} is now in progress.", tone="success", ref=concern.ref)


async def resolve(core: Core, tx: Tx, cmd: ResolveConcern) -> Reply:
    """A leader resolves with what was done; the reporter is told, the cards lose their buttons."""
    concern = await _leaders_to_close(core, tx, cmd.ref, cmd.person, "resolve")
    what = clean(cmd.text, limit=MAX_SHORT_CHARS, what="'what we did'").text
    title = _title(cmd.title) or concern.title
    now, name = await _acknowledged_first(core, tx, concern, cmd.person)
    if not await tx.update(
        Concern,
        concern.id,
        where={"resolved_at": None},
        status=ConcernStatus.RESOLVED,
        resolved_at=now,
        resolved_by=name,
        resolution=what,
        title=title,
        next_escalation_at=None,
        nudge_at=None,
        updated_at=now,
    ):
        raise Refusal(
            f"{concern.ref} was resolved a moment ago by someone else. Nothing changed.",
            code="already_resolved",
        )
    concern.status, concern.resolved_at, concern.resolved_by, concern.resolution = (
        ConcernStatus.RESOLVED,
        now,
        name,
        what,
    )
    concern.title = title
    return await _announce_closing(
        core,
        tx,
        concern,
        cmd.person,
        event="resolved",
        done="resolved",
        said=f"Resolved by {name}. What we did: {what}",
        told=f"Your concern {concern.ref} was resolved by {name}. What we did: {what}\n"
        f"If it isn't fixed, reopen it: /concern reopen {concern.ref} why it isn't fixed",
    )


async def _leaders_to_close(core: Core, tx: Tx, ref: str, person: Person, verb: str) -> Concern:
    """The concern ``ref``, if ``person`` leads it and it is still open.

    Every check that comes before a closing's own; they change nothing (a form checks with them first).
    """
    concern = await load_concern(tx, ref)
    _require_lead(core, person, concern, _unit(core, concern), f"{verb} {concern.ref}")
    _not_resolved(core, concern, verb)
    return concern


async def _acknowledged_first(core: Core, tx: Tx, concern: Concern, person: Person) -> tuple[datetime, str]:
    """Acknowledge ``concern`` if nobody had (a closing implies it); now, and who is acting."""
    if concern.acknowledged_at is None:
        await _acknowledge(core, tx, concern, person)
    assert concern.id is not None
    return core.now(), name_of(core, person)


async def _announce_closing(
    core: Core, tx: Tx, concern: Concern, person: Person, *, event: str, done: str, said: str, told: str
) -> Reply:
    """What every closing does once it is stored: the thread, the cards, the reporter, the audit log."""
    await _say(core, tx, concern, "system", name_of(core, person), "huddlebot", said)
    await _redraw_cards(core, tx, concern)
    await _tell_reporter(core, tx, concern, event, told)
    await record(tx, core, _leader_actor(core, person), f"concern.{event}", concern_id=concern.id)
    log.info("concern %s %s", concern.ref, done)
    return Reply(text=f"{concern.ref} is {done}. {_reporter_hears(concern)}", tone="success", ref=concern.ref)


def _title(text: str | None) -> str | None:
    """A leader's short title for the stoplight report (one line, 120 characters at most)."""
    if text is None or not text.strip():
        return None
    return clean(" ".join(text.split()), limit=120, what="title").text


async def not_possible(core: Core, tx: Tx, cmd: MarkNotPossible) -> Reply:
    """A leader closes a concern as not possible now, with the reason; the reporter is told why."""
    concern = await _leaders_to_close(core, tx, cmd.ref, cmd.person, "close")
    if not cmd.reason or not cmd.reason.strip():
        raise Refusal(
            "Say why it isn't possible now: the reporter and the unit will read it. Nothing was changed.",
            code="reason_needed",
        )
    why = clean(cmd.reason, limit=MAX_SHORT_CHARS, what="reason").text
    title = _title(cmd.title) or concern.title
    now, name = await _acknowledged_first(core, tx, concern, cmd.person)
    if not await tx.update(
        Concern,
        concern.id,
        where={"resolved_at": None, "not_possible_at": None},
        status=ConcernStatus.NOT_POSSIBLE,
        not_possible_at=now,
        not_possible_by=name,
        not_possible_reason=why,
        title=title,
        next_escalation_at=None,
        nudge_at=None,
        updated_at=now,
    ):
        raise Refusal(
            f"{concern.ref} was closed a moment ago by someone else. Nothing changed.",
            code="already_resolved",
        )
    concern.status, concern.not_possible_at, concern.not_possible_by = ConcernStatus.NOT_POSSIBLE, now, name
    concern.not_possible_reason, concern.title = why, title
    return await _announce_closing(
        core,
        tx,
        concern,
        cmd.person,
        event="not_possible",
        done="closed as not possible now",
        said=f"Not possible now ({name}). Why: {why}",
        told=f"Your concern {concern.ref} can't be acted on now, {name} says. Why: {why}\n"
        f"If you think it should be, reopen it: /concern reopen {concern.ref} why it should be",
    )


async def reopen(core: Core, tx: Tx, cmd: ReopenConcern) -> Reply:
    """The reporter reopens a resolved concern (by reference, or by receipt code if anonymous)."""
    text = clean(cmd.text, limit=MAX_SHORT_CHARS, what="reason").text
    if receipts.split_code(cmd.ref) is not None:
        concern = await _concern_for_code(core, tx, cmd.person, cmd.ref)
    else:
        concern = await load_concern(tx, cmd.ref)
        if not _is_reporter(concern, cmd.person):
            raise NotAllowed(
                f"Only the person who raised {concern.ref} can reopen it. "
                "If something is still wrong, raise a new concern with /concern."
            )
    if concern.status not in CLOSED_STATUSES:
        return Reply(
            text=f"{concern.ref} is still open, so there is nothing to reopen. Reply to it instead.",
            ref=concern.ref,
        )
    assert concern.id is not None
    now = core.now()
    await tx.update(
        Concern,
        concern.id,
        status=ConcernStatus.ACKNOWLEDGED,
        resolved_at=None,
        resolved_by=None,
        nudge_at=now + core.config.escalation.nudge_open_after,
        resolution=None,  # the card must not say "resolved" any more; the thread keeps what was done
        not_possible_at=None,
        not_possible_by=None,
        not_possible_reason=None,
        updated_at=now,
    )
    concern.status, concern.resolved_at, concern.resolved_by = ConcernStatus.ACKNOWLEDGED, None, None
    concern.resolution = concern.not_possible_reason = None
    concern.not_possible_at = concern.not_possible_by = None
    await _reporter_reply(core, tx, concern, cmd.person, f"Reopened: {text}")
    await _redraw_cards(core, tx, concern)
    await record(
        tx, core, _reporter_actor(core, concern, cmd.person), "concern.reopened", concern_id=concern.id
    )
    return Reply(
        text=f"{concern.ref} is open again and the leaders were told why.", tone="success", ref=concern.ref
    )


async def _concern_for_code(core: Core, tx: Tx, person: Person, code: str) -> Concern:
    """The anonymous concern a receipt code opens; guessing is slowed by a per-person limit."""
    who, now = f"{person.platform}:{person.tenant}:{person.user_id}", core.now()
    until = core.follow_up_limiter.blocked_until(who, now)
    if until is not None:
        raise Refusal(
            "Too many receipt codes that didn't match. "
            f"Please wait {duration_label((until - now).total_seconds())} and try again.",
            code="rate_limited",
        )
    parts = receipts.split_code(code)
    concern_id = parse_reference(parts[0]) if parts else None
    concern = await tx.get(Concern, concern_id) if concern_id else None
    stored = concern.receipt_hash if concern is not None and concern.is_anonymous else _DUMMY_HASH
    if parts is None or concern is None or not receipts.verify_secret(parts[1], stored):
        core.follow_up_limiter.failed(who, now)
        raise Refusal(
            "That receipt code doesn't match any concern. Check it (it looks like "
            "C-1042-ABCD-EFGH-JKMN-PQRS) and try again.",
            code="bad_receipt",
        )
    core.follow_up_limiter.succeeded(who)
    return concern


async def follow_up(core: Core, tx: Tx, cmd: FollowUp) -> Reply:
    """Show an anonymous reporter their concern's conversation; with text, pass their answer on."""
    concern = await _concern_for_code(core, tx, cmd.person, cmd.code)
    assert concern.id is not None
    unit = _unit(core, concern)
    added = ""
    if cmd.text and cmd.text.strip():
        text = clean(cmd.text, limit=MAX_SHORT_CHARS, what="reply").text
        await _reporter_reply(core, tx, concern, cmd.person, text)
        added = "Your answer was passed to the leaders, without your name.\n"
    status = concern.status.replace("_", " ")
    lines = [f"{added}{concern.ref} · {unit.name} · {status}", f"You wrote: {excerpt(concern.text, 200)}"]
    for message in await tx.concern_messages(concern_id=concern.id):
        author = (
            "You"
            if message.author_role == "reporter"
            else ("huddlebot" if message.author_role == "system" else message.author_name)
        )
        lines.append(f"{local_label(core, concern.unit_id, message.created_at)} · {author}: {message.text}")
    if len(lines) == 2:
        lines.append("No replies yet." if concern.acknowledged_at is None else "")
    return Reply(text="\n".join(line for line in lines if line), ref=concern.ref)


async def show(core: Core, tx: Tx, cmd: ShowConcern) -> Reply:
    """A leader, or the named reporter, sees a concern's current state."""
    concern = await load_concern(tx, cmd.ref)
    unit = _unit(core, concern)
    if not (may_lead(core, cmd.person, concern) or _is_reporter(concern, cmd.person)):
        raise NotAllowed(
            f"Only the leaders of {unit.name} and the person who raised {concern.ref} can see it."
        )
    card = concern_card(core, concern)
    return Reply(text=f"{concern.ref}: {card.status}", detail=card, ref=concern.ref)


async def message_in_thread(core: Core, tx: Tx, cmd: MessageInThread) -> Reply:
    """A plain message in a thread the bot owns: a leader's reply, a reporter's answer, a huddle comment."""
    if not cmd.where.thread or not cmd.where.channel:
        return Reply(text="", silent=True)
    root = await tx.post_by_message_ref(
        platform=cmd.where.platform, channel=cmd.where.channel, message_ref=cmd.where.thread
    )
    if root is None:
        return Reply(text="", silent=True)
    if root.role == "prompt" and root.run_id is not None:
        return await huddles.answer(
            core,
            tx,
            AnswerHuddle(
                person=cmd.person, where=cmd.where, answer=Answer.COMMENT, text=cmd.text, run_id=root.run_id
            ),
        )
    concern = await tx.get(Concern, root.concern_id) if root.concern_id else None
    if concern is None:
        return Reply(text="", silent=True)
    text = clean(cmd.text, limit=MAX_SHORT_CHARS, what="reply").text
    if root.role in ("card", "card_copy"):
        if not may_lead(core, cmd.person, concern):
            return Reply(
                text=f"Only leaders' replies in this thread reach the reporter of {concern.ref}; "
                "yours stays in the thread only.",
                tone="warning",
                ref=concern.ref,
            )
        await _leader_reply(core, tx, concern, cmd.person, text, typed_under=root.msg_key)
        return Reply(
            text=f"Added to {concern.ref}. {_reporter_hears(concern)}", tone="success", ref=concern.ref
        )
    if root.role == "dm" and _is_reporter(concern, cmd.person):
        await _reporter_reply(core, tx, concern, cmd.person, text)
        return Reply(
            text=f"Passed to the leaders in {concern.ref}'s thread.", tone="success", ref=concern.ref
        )
    return Reply(text="", silent=True)
