"""Who may do what, and the escalation policy a concern is raised under."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.errors import NotAllowed, Refusal
from bot.model import Address, Person, Severity

if TYPE_CHECKING:
    from bot.config import Unit
    from bot.core import Core


def handle_of(core: Core, person: Person) -> str | None:
    """The directory handle of ``person``, if the directory knows them."""
    return core.config.handle_for(person.platform, person.user_id)


def name_of(core: Core, person: Person) -> str:
    """How to show ``person`` to others: the directory's name, else the platform's, else their id."""
    handle = handle_of(core, person)
    entry = core.config.person(handle) if handle else None
    return entry.name if entry else (person.display_name or person.user_id)


def is_leader(core: Core, person: Person, unit: Unit) -> bool:
    """True for the unit's leaders, its higher tiers' leaders and the patient-safety officers."""
    handle = handle_of(core, person)
    if handle is None:
        return False
    return handle in core.config.leader_handles(unit.id) or handle in core.config.safety_officers


def units_led(core: Core, person: Person) -> list[Unit]:
    """The units ``person`` may act on as a leader (``is_leader``), in the organisation file's order."""
    return [unit for unit in core.config.units if is_leader(core, person, unit)]


_CONCERN_HINT = "If you want to add something, reply to the concern or raise a new one with /concern."


def require_leader(core: Core, person: Person, unit: Unit, doing: str, *, hint: str = _CONCERN_HINT) -> None:
    """Refuse politely unless ``person`` leads ``unit`` (or a tier above it)."""
    if not is_leader(core, person, unit):
        raise NotAllowed(f"Only the leaders of {unit.name} can {doing}. Nothing was changed. {hint}")


def resolve_unit(core: Core, text: str | None, where: Address | None) -> Unit:
    """The unit named in ``text``, else the one whose channel ``where`` is; refuse kindly otherwise."""
    if text:
        unit = core.config.find_unit(text)
        if unit is None:
            known = ", ".join(f"{u.id} ({u.name})" for u in core.config.units)
            raise Refusal(f"I don't know a unit called '{text[:60]}'. Units: {known}.", code="unknown_unit")
        return unit
    if where is not None and where.channel:
        found = core.config.unit_for_channel(where.platform, where.channel)
        if found is not None:
            return found[0]
    raise Refusal(
        "Which unit is this about? Say it with --unit UNIT, or use the command in the unit's channel.",
        code="unit_needed",
    )


def parse_choice(value: str | None, choices: list[str], default: str, what: str) -> str:
    """``value`` if it is one of ``choices`` (case-insensitive), else a refusal listing them."""
    if value is None or not value.strip():
        return default
    normal = value.strip().lower().replace("_", "-")
    if normal == "patient-centered":
        normal = "patient-centred"
    if normal not in choices:
        raise Refusal(
            f"'{value[:40]}' is not a {what}. Choose one of: {', '.join(choices)}.",
            code=f"unknown_{what.replace(' ', '_')}",
        )
    return normal


def frozen_policy(core: Core, unit: Unit, severity: str) -> dict[str, Any]:
    """The escalation chain a concern keeps for life, whatever the configuration says later."""
    sla = core.config.acknowledge_within(severity)
    chain: list[dict[str, Any]] = [{"unit": ancestor.id} for ancestor in core.config.ancestors(unit.id)]
    if core.config.safety_officers:
        chain.append({"safety_officers": list(core.config.safety_officers)})
    return {
        "sla_seconds": int(sla.total_seconds()),
        "chain": chain,
        "immediate": severity == Severity.IMMEDIATE,
    }


def local_label(core: Core, unit_id: str, instant: datetime) -> str:
    """``instant`` in the unit's wall-clock time, e.g. ``Wed 25 Nov 07:00 CST``."""
    zone: ZoneInfo = core.config.timezone_for(unit_id)
    local = instant.astimezone(zone)
    return local.strftime("%a %d %b %H:%M ") + (local.tzname() or "")


def local_day_label(core: Core, unit_id: str, instant: datetime) -> str:
    """The day of ``instant`` in the unit's time zone, e.g. ``Wed 25 Nov`` (for what must not be timed)."""
    return instant.astimezone(core.config.timezone_for(unit_id)).strftime("%a %d %b")


def duration_label(seconds: float) -> str:
    """A short human duration: ``15 min``, ``1 h``, ``1 h 30 min``, ``3 days``."""
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours >= 48 and minutes == 0 and hours % 24 == 0:
        return f"{hours // 24} days"
    return f"{hours} h" + (f" {minutes} min" if minutes else "")
