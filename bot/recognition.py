"""Good catches: recognising a colleague who stopped something before it did harm."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands import GiveGoodCatch
from bot.errors import Refusal
from bot.model import GoodCatch
from bot.policy import handle_of, name_of, resolve_unit
from bot.publish import post, record
from bot.reply import Reply
from bot.routing import person_addresses, unit_channels
from bot.text import MAX_SHORT_CHARS, clean
from bot.views import GoodCatchPost, Notice

if TYPE_CHECKING:
    from bot.core import Core
    from bot.ports import Tx


async def give_good_catch(core: Core, tx: Tx, cmd: GiveGoodCatch) -> Reply:
    """Post the recognition to the unit's channel and tell the colleague, if the directory knows them."""
    unit = resolve_unit(core, cmd.unit, cmd.where)
    who = cmd.recipient.strip().lstrip("@")
    if not who:
        raise Refusal("Who made the good catch? Use /goodcatch @name what they caught.", code="no_recipient")
    handle = who if core.config.person(who) else core.config.handle_for(cmd.where.platform, who)
    if handle is None and cmd.recipient_id:
        handle = core.config.handle_for(cmd.where.platform, cmd.recipient_id)
    giver_handle = handle_of(core, cmd.person)
    if (handle is not None and handle == giver_handle) or cmd.person.user_id in (who, cmd.recipient_id):
        raise Refusal(
            "A good catch recognises a colleague, so you can't give one to yourself. If you caught "
            "something, tell your leaders (or raise it with /concern) so the unit learns from it.",
            code="self_recognition",
        )
    text = clean(cmd.text, limit=MAX_SHORT_CHARS, what="good catch").text
    entry = core.config.person(handle) if handle else None
    label = entry.name if entry else _label(who, cmd)
    giver = name_of(core, cmd.person)
    catch = await tx.insert(
        GoodCatch(
            unit_id=unit.id,
            giver_name=giver,
            recipient_label=label,
            text=text,
            created_at=core.now(),
            recipient_handle=handle if entry else None,
        )
    )
    view = GoodCatchPost(unit_name=unit.name, giver_label=giver, recipient_label=label, text=text)
    for address in unit_channels(core, unit):
        await post(tx, core, address, view, role="recognition")
    if handle and entry:
        for address in person_addresses(core, handle):
            await post(
                tx,
                core,
                address,
                Notice(
                    title="Good catch!",
                    tone="success",
                    text=f"{giver} recognised you for a good catch on {unit.name}: {text}",
                ),
                role="recognition",
            )
    await record(tx, core, giver_handle or "staff", "goodcatch.given", unit=unit.id, good_catch=catch.id)
    return Reply(text=f"Thank you for recognising {label}. It was shared with {unit.name}.", tone="success")


def _label(typed: str, cmd: GiveGoodCatch) -> str:
    """How to name a colleague the directory does not know: their platform name, or what was typed.

    Never a platform's user id, which means nothing to anyone reading the channel.
    """
    if cmd.recipient_name and cmd.recipient_name.strip().lstrip("@"):
        return clean(cmd.recipient_name.strip().lstrip("@"), limit=80, what="name").text
    if cmd.recipient_id and typed in (cmd.recipient_id, cmd.recipient_id.lstrip("@")):
        return "a member of staff"
    return clean(typed, limit=80, what="name").text
