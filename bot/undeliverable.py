"""When a concern's card cannot reach its leaders, for good: the patient-safety officers get it instead.

A concern that was accepted must reach someone who can act on it. A leaders' channel the bot was removed
from, or one that was archived, dead-letters the card; escalation would only notice after the SLA. So the
officers get the card at once, with a headline that says why, and the admin's log line says where.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.model import CLOSED_STATUSES, Concern, OutboxItem
from bot.present import concern_card
from bot.publish import post, record
from bot.routing import safety_officer_addresses

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger("huddlebot.concerns")


async def card_undeliverable(core: Core, row: OutboxItem) -> None:
    """``row`` was dead-lettered: if it was a concern's card for its leaders, send the officers a copy."""
    if row.role != "card" or row.op != "post" or row.concern_id is None:
        return
    async with core.uow() as tx:
        concern = await tx.get(Concern, row.concern_id)
        if concern is None or concern.status in CLOSED_STATUSES:
            return
        unit = core.config.unit(concern.unit_id)
        home = unit.name if unit else concern.unit_id
        card = concern_card(
            core,
            concern,
            for_safety_officer=True,
            headline=f"Could not reach the leaders of {home}: please make sure they see this concern",
        )
        sent = 0
        for address in safety_officer_addresses(core):
            sent += await post(
                tx,
                core,
                address,
                card,
                role="card_copy",
                concern_id=concern.id,
                msg_key=f"concern:{concern.id}:card:undelivered:{address.target}",
                once=True,
            )
        if sent:
            await record(
                tx, core, "system", "concern.card_undeliverable", concern_id=concern.id, unit=concern.unit_id
            )
    if sent:
        log.warning(
            "concern %s: its leaders' card could not be delivered; sent to the safety officers", concern.ref
        )
