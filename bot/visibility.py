"""Who may see a concern: the one rule for concerns routed around the unit's own leaders.

A reporter can say a concern involves one of their unit's leaders (``Concern.involves_leader``).
Such a concern goes to the next tier's leaders and the patient-safety officers, never to the unit's
own leaders: not its card, not an escalation step, not a digest line, not the Home tab, not a
dashboard page or count, not a huddle prompt, the stoplight or a huddle status. Every place that
routes or reads concerns asks this module; nothing else decides it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.errors import Refusal
from bot.model import Address, Concern, Person
from bot.policy import handle_of, is_leader
from bot.routing import CONSOLE, leader_addresses, person_addresses

if TYPE_CHECKING:
    from bot.config import Unit
    from bot.core import Core


def routed_around(core: Core, concern: Concern) -> frozenset[str]:
    """The handles that must never see ``concern``: its unit's own leaders, if it involves one."""
    if not concern.involves_leader:
        return frozenset()
    unit = core.config.unit(concern.unit_id)
    return frozenset(unit.leaders) if unit else frozenset()


def may_lead(core: Core, person: Person, concern: Concern) -> bool:
    """True if ``person`` may see and act on ``concern`` as a leader (or an officer)."""
    unit = core.config.unit(concern.unit_id)
    if unit is None or not is_leader(core, person, unit):
        return False
    return handle_of(core, person) not in routed_around(core, concern)


def seen_by(core: Core, concern: Concern, handles: Iterable[str]) -> bool:
    """True unless one of ``handles`` (the readers of a place) is routed around ``concern``."""
    return not (routed_around(core, concern) & set(handles))


def in_unit_places(concerns: Iterable[Concern]) -> list[Concern]:
    """What may be listed or counted where a unit's staff and leaders read.

    Its channel, prompts, roll-ups, the stoplight, huddle status: never a concern routed around a leader.
    """
    return [c for c in concerns if not c.involves_leader]


def hidden_units(core: Core, handle: str | None) -> tuple[str, ...]:
    """The units whose routed-around concerns ``handle`` must not see (those they lead directly)."""
    if handle is None:
        return ()
    return tuple(u.id for u in core.config.units if handle in u.leaders)


def routing_tier(core: Core, unit: Unit) -> Unit | None:
    """The unit a routed-around concern of ``unit`` goes to: the next tier up."""
    parents = core.config.ancestors(unit.id)
    return parents[0] if parents else None


def check_can_route_around(core: Core, unit: Unit) -> None:
    """Refuse a concern that involves a leader when nobody above the unit could receive it."""
    if routing_tier(core, unit) is None and not core.config.safety_officers:
        raise Refusal(
            f"Nobody above {unit.name} is configured to receive a concern about its leaders, so nothing "
            "was sent. Please speak to the patient-safety officer or use the hospital's usual channels.",
            code="no_one_above",
        )


def card_addresses(core: Core, concern: Concern, unit: Unit) -> list[Address]:
    """Where ``concern``'s leaders' cards go: the unit's leaders, or around them the next tier's.

    Around a leader, the next tier's leaders get it in their leaders' channel if they have one, else
    in DMs (never in the department's own channel, which the unit's leader may read), and every
    patient-safety officer in a DM.
    """
    if not concern.involves_leader:
        return leader_addresses(core, unit)
    around = routed_around(core, concern)
    above = routing_tier(core, unit)
    out: list[Address] = []
    if above is not None:
        for platform, tenant in core.tenants.items():
            if platform == CONSOLE:
                out.append(Address(platform, tenant, channel=f"{above.id}-leaders"))
                continue
            channel = above.leaders_channel.on(platform) if above.leaders_channel else None
            if channel:
                out.append(Address(platform, tenant, channel=channel))
            else:
                out += [
                    a
                    for h in above.leaders
                    if h not in around
                    for a in person_addresses(core, h)
                    if a.platform == platform
                ]
    out += [a for h in core.config.safety_officers if h not in around for a in person_addresses(core, h)]
    seen: set[str] = set()
    return [a for a in out if not (a.target in seen or seen.add(a.target))]  # type: ignore[func-returns-value]
