"""Escalation: an unacknowledged concern goes one tier up each time its frozen SLA runs out."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.model import Concern, ConcernMessage
from bot.policy import duration_label
from bot.present import concern_card
from bot.publish import post, record, reply_under
from bot.routing import leader_addresses, person_addresses
from bot.views import ThreadMessage
from bot.visibility import routed_around

if TYPE_CHECKING:
    from bot.core import Core
    from bot.ports import Tx

log = logging.getLogger("huddlebot.escalation")


async def take_step(core: Core, tx: Tx, concern: Concern, now: datetime) -> bool:
    """Carry out an escalation step already claimed by ``Tx.claim_escalations``.

    The claim raised ``escalation_level`` by one (so each step happens once, whichever replica
    claimed it); this posts the step and schedules the next one, in the claiming transaction.
    """
    assert concern.id is not None
    chain = concern.policy.get("chain", [])
    sla = timedelta(seconds=concern.policy["sla_seconds"])
    level = concern.escalation_level - 1  # the step being taken, counted from 0
    if level >= len(chain):
        return False  # the chain is exhausted: nobody higher to tell
    if level + 1 < len(chain):
        await tx.update(Concern, concern.id, next_escalation_at=now + sla)
    step = chain[level]
    unit = core.config.unit(concern.unit_id)
    home = unit.name if unit else concern.unit_id
    target_unit = core.config.unit(step["unit"]) if "unit" in step else None
    if target_unit is not None:
        label, addresses = target_unit.name, leader_addresses(core, target_unit)
    else:
        around = routed_around(core, concern)
        handles = [h for h in step.get("safety_officers") or core.config.safety_officers if h not in around]
        label = "the patient-safety officers"
        addresses = [a for handle in handles for a in person_addresses(core, handle)]
    # An anonymous concern's leaders got it after a random delay, and the exact wait would give away
    # when it was raised: count the SLA periods since they got it instead.
    waited = duration_label(
        sla.total_seconds() * (level + 1)
        if concern.is_anonymous
        else (now - concern.created_at).total_seconds()
    )
    card = concern_card(
        core, concern, headline=f"Escalated to {label}: not acknowledged by {home} after {waited}"
    )
    for address in addresses:
        await post(
            tx,
            core,
            address,
            card,
            role="card_copy",
            concern_id=concern.id,
            msg_key=f"concern:{concern.id}:card:esc{level + 1}:{address.target}",
        )
    reminder = f"Reminder: not acknowledged after {waited}. Escalated to {label}."
    tx.add(
        ConcernMessage(
            concern_id=concern.id,
            author_role="system",
            author_name=None,
            text=f"Escalated to {label}.",
            created_at=now,
        )
    )
    await reply_under(
        tx,
        core,
        await tx.posts_for(role="card", concern_id=concern.id),
        ThreadMessage(ref=concern.ref, author_label="huddlebot", text=reminder),
        role="thread",
    )
    await record(tx, core, "system", "concern.escalated", concern_id=concern.id, level=level + 1, to=label)
    log.info("concern %s escalated level=%s to=%s", concern.ref, level + 1, label)
    tx.after_commit(core.metrics.escalations.labels(str(level + 1)).inc)
    return True


async def nudge(core: Core, tx: Tx, concern: Concern, now: datetime) -> None:
    """Remind the leaders, in the card's thread, that an acknowledged concern is still open (claimed)."""
    assert concern.id is not None
    every = core.config.escalation.nudge_open_after
    await tx.update(Concern, concern.id, nudge_at=now + every)
    since = duration_label((now - (concern.acknowledged_at or concern.created_at)).total_seconds())
    text = (
        f"{concern.ref} is still open, {since} after "
        f"{concern.acknowledged_by or 'a leader'} acknowledged it. "
        "Is there an update for the reporter, or can it be resolved?"
    )
    await reply_under(
        tx,
        core,
        await tx.posts_for(role="card", concern_id=concern.id),
        ThreadMessage(ref=concern.ref, author_label="huddlebot", text=text),
        role="thread",
    )
    await record(tx, core, "system", "concern.nudged", concern_id=concern.id)
