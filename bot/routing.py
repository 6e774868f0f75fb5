"""Where views go. Routing is data: a unit's configured channels on each platform this process serves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.model import Address

if TYPE_CHECKING:
    from bot.config import Unit
    from bot.core import Core

CONSOLE = "console"


def unit_channels(core: Core, unit: Unit) -> list[Address]:
    """The unit's own channel on every served platform (where huddle prompts go)."""
    out = []
    for platform, tenant in core.tenants.items():
        channel = unit.id if platform == CONSOLE else unit.channels.on(platform)
        if channel:
            out.append(Address(platform, tenant, channel=channel))
    return out


def leader_addresses(core: Core, unit: Unit) -> list[Address]:
    """Where the unit's leaders work: their channel, or a department's own, or each leader's DM.

    A concern never lands in a channel the whole unit reads.
    """
    out: list[Address] = []
    for platform, tenant in core.tenants.items():
        if platform == CONSOLE:
            out.append(Address(platform, tenant, channel=f"{unit.id}-leaders"))
            continue
        channel = unit.leaders_channel.on(platform) if unit.leaders_channel else None
        if not channel and unit.tier > 1:
            channel = unit.channels.on(platform)
        if channel:
            out.append(Address(platform, tenant, channel=channel))
        else:
            for handle in unit.leaders:
                out.extend(a for a in person_addresses(core, handle) if a.platform == platform)
    return out


def person_addresses(core: Core, handle: str) -> list[Address]:
    """A person's DM on every served platform where the directory knows them."""
    person = core.config.person(handle)
    if person is None:
        return []
    out = []
    for platform, tenant in core.tenants.items():
        user = handle if platform == CONSOLE else getattr(person, platform, None)
        if user:
            out.append(Address(platform, tenant, user=user))
    return out


def safety_officer_addresses(core: Core) -> list[Address]:
    """DMs of every patient-safety officer."""
    return [a for handle in core.config.safety_officers for a in person_addresses(core, handle)]
