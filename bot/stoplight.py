"""The stoplight report ("you said, we did"): what became of a unit's concerns this week, for the unit.

Posted weekly to each unit's channel (``stoplight:`` in the organisation file, the unit's time zone),
and on demand with ``/huddle stoplight``. Green: resolved, with what was done; yellow: in progress,
with the latest update; red: not possible now, with the reason. A department's or executive
channel gets the roll-up of the units below it.

The unit's channel is read by everyone on the unit, so a line shows the leader's title; the
reporter's own words only if a named reporter allowed it (``--share``); for an anonymous or
confidential concern only the leader's title (or its type), nothing that points to the reporter.
A concern routed around the unit's leaders (``bot.visibility``) is never on it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.commands import ShowStoplight
from bot.model import Anonymity, Concern
from bot.policy import is_leader, resolve_unit
from bot.publish import post, record
from bot.reply import Reply
from bot.routing import unit_channels
from bot.text import excerpt
from bot.views import Stoplight, StoplightItem, StoplightUnit
from bot.visibility import in_unit_places

if TYPE_CHECKING:
    from bot.config import Unit
    from bot.core import Core
    from bot.ports import Tx

log = logging.getLogger("huddlebot.stoplight")

NOTHING = "Nothing raised this week — thank you for your huddles."
PER_COLOUR = 15  # a unit's lines per colour; more are counted, not listed (chat messages have limits)
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SHORT = 160


def _label(core: Core, concern: Concern) -> str:
    """What the unit reads about ``concern``.

    Never anything that points to an anonymous or confidential reporter; a named reporter's words only
    if they allowed it.
    """
    if concern.title:
        return concern.title
    if concern.anonymity == Anonymity.NAMED and concern.share_words:
        return excerpt(concern.text, _SHORT)
    return f"A concern about {core.config.type_label(concern.concern_type).lower()}"


def _private(concern: Concern) -> bool:
    return concern.anonymity != Anonymity.NAMED


def _pick(found: list[tuple[Concern, str, int]]) -> tuple[dict[str, list[Concern]], int]:
    """A unit's listed concerns by colour (storage keeps ``PER_COLOUR`` of each), and how many more."""
    picked: dict[str, list[Concern]] = {"green": [], "yellow": [], "red": []}
    totals: dict[str, int] = {}
    for concern, colour, total in found:
        if in_unit_places([concern]):  # storage leaves routed-around concerns out; never list one anyway
            picked[colour].append(concern)
            totals[colour] = total
    return picked, sum(totals[colour] - len(picked[colour]) for colour in totals)


def unit_section(
    core: Core, unit: Unit, picked: dict[str, list[Concern]], more: int, updates: dict[int, str]
) -> StoplightUnit:
    """One unit's green, yellow and red lines; ``updates``: the latest leader's word on each in progress."""
    lines: dict[str, list[StoplightItem]] = {"green": [], "yellow": [], "red": []}
    for colour, concerns in picked.items():
        for concern in concerns:
            detail = None
            if not _private(concern):
                if colour == "green":
                    detail = concern.resolution
                elif colour == "yellow":
                    detail = updates.get(concern.id or 0)
                else:
                    detail = concern.not_possible_reason
            lines[colour].append(
                StoplightItem(
                    colour=colour,  # type: ignore[arg-type]
                    ref=concern.ref,
                    title=_label(core, concern),
                    detail=excerpt(detail, _SHORT) if detail else None,
                )
            )
    return StoplightUnit(
        unit_name=unit.name,
        **lines,
        more=more,
        nothing=None if more or any(picked.values()) else NOTHING,
    )


async def build(core: Core, tx: Tx, unit: Unit, *, start: datetime, end: datetime) -> Stoplight:
    """The report for ``unit``'s channel.

    A unit's own concerns; for a department or executive group, the roll-up of every unit below it.
    """
    units = [unit] if unit.tier == 1 else [unit, *core.config.descendants(unit.id)]
    found = await tx.stoplight_concerns(
        unit_ids=[u.id for u in units], start=start, end=end, per_colour=PER_COLOUR
    )
    by_unit: dict[str, list[tuple[Concern, str, int]]] = {}
    for line in found:
        by_unit.setdefault(line[0].unit_id, []).append(line)
    picks = [_pick(by_unit.get(u.id, [])) for u in units]
    # The latest update of every yellow line listed, in one read (a roll-up lists hundreds).
    yellow = [c.id for picked, _ in picks for c in picked["yellow"] if c.id is not None and not _private(c)]
    updates = await tx.latest_leader_messages(concern_ids=yellow)
    sections = [
        unit_section(core, u, picked, more, updates) for u, (picked, more) in zip(units, picks, strict=True)
    ]
    if unit.tier > 1:  # a group's own section only when it has concerns of its own
        sections = [s for s in sections[:1] if not s.nothing] + sections[1:]
    zone = core.config.timezone_for(unit.id)
    week = f"{start.astimezone(zone):%a %d %b} to {end.astimezone(zone):%a %d %b}"
    return Stoplight(
        title=f"You said, we did · {unit.name} · {week}",
        units=sections,
        legend="Green: done · Yellow: in progress · Red: not possible now, and why",
    )


def last_stoplight_time(core: Core, unit: Unit, now: datetime) -> datetime | None:
    """The latest scheduled report of ``unit`` at or before ``now``, in its own time zone."""
    settings = core.config.stoplight
    if not settings.enabled:
        return None
    zone = core.config.timezone_for(unit.id)
    local_now = now.astimezone(zone)
    back = (local_now.weekday() - _DAYS.index(settings.day)) % 7
    candidate = datetime.combine(local_now.date() - timedelta(days=back), settings.at, tzinfo=zone)
    if candidate > local_now:
        candidate = datetime.combine(candidate.date() - timedelta(days=7), settings.at, tzinfo=zone)
    return candidate.astimezone(UTC)


async def send_due(core: Core, now: datetime) -> int:
    """Queue each unit's weekly report once, whichever replica gets here first.

    The outbox key is the claim, as for the digest. A replica down for a day leaves that week out.
    """
    sent = 0
    for unit in core.config.units:
        at = last_stoplight_time(core, unit, now)
        if at is None or now - at > timedelta(days=1):
            continue
        addresses = unit_channels(core, unit)
        if not addresses:
            continue
        week = at.astimezone(core.config.timezone_for(unit.id)).date().isoformat()
        async with core.uow() as tx:
            if await tx.post_by_key(msg_key=f"stoplight:{unit.id}:{week}:{addresses[0].target}"):
                continue
            view = await build(core, tx, unit, start=at - timedelta(days=7), end=at)
            posted = False
            for address in addresses:
                if await post(
                    tx,
                    core,
                    address,
                    view,
                    role="stoplight",
                    msg_key=f"stoplight:{unit.id}:{week}:{address.target}",
                    once=True,
                ):
                    sent += 1
                    posted = True
            if posted:
                await record(tx, core, "system", "stoplight.sent", unit=unit.id, week=week)
    return sent


async def show(core: Core, tx: Tx, cmd: ShowStoplight) -> Reply:
    """``/huddle stoplight [UNIT]``: the last seven days' report, now.

    A leader's goes to the unit's channel; anyone else sees it privately (the channel is not flooded).
    """
    unit = resolve_unit(core, cmd.unit, cmd.where)
    now = core.now()
    view = await build(core, tx, unit, start=now - timedelta(days=7), end=now)
    if not is_leader(core, cmd.person, unit):
        return Reply(text=view.title, detail=view)  # type: ignore[arg-type]
    addresses = unit_channels(core, unit)
    for address in addresses:
        await post(tx, core, address, view, role="stoplight")
    await record(tx, core, "system", "stoplight.posted", unit=unit.id)
    where = "its channel" if addresses else "nowhere: the unit has no channel here"
    return Reply(text=f"The stoplight report of {unit.name} was posted to {where}.", tone="success")
