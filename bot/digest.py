"""The weekly digest: how speaking up went last week, for each unit's and department's leaders.

Figures only, never people; any figure that would rest on fewer than five concerns or people is
left out, so a digest cannot point at who spoke up.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import rounding
from bot.model import ConcernStatus, RunStatus
from bot.policy import duration_label
from bot.publish import post, record
from bot.routing import leader_addresses
from bot.views import Notice
from bot.visibility import seen_by

if TYPE_CHECKING:
    from bot.config import Unit
    from bot.core import Core
    from bot.ports import Tx

SMALLEST_GROUP = 5
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def last_digest_time(core: Core, now: datetime) -> datetime | None:
    """The latest scheduled digest instant at or before ``now`` (None when digests are off)."""
    settings = core.config.digest
    if not settings.enabled:
        return None
    zone = _org_zone(core)
    local_now = now.astimezone(zone)
    back = (local_now.weekday() - _DAYS.index(settings.day)) % 7
    candidate = datetime.combine(local_now.date() - timedelta(days=back), settings.at, tzinfo=zone)
    if candidate > local_now:
        candidate -= timedelta(days=7)
    return candidate.astimezone(UTC)


def _org_zone(core: Core) -> ZoneInfo:
    return ZoneInfo(core.config.organization.timezone)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def build(core: Core, tx: Tx, unit: Unit, *, start: datetime, end: datetime) -> Notice:
    """The digest of ``unit`` (and every unit below it) for ``[start, end)``."""
    unit_ids = [unit.id, *(u.id for u in core.config.descendants(unit.id))]
    readers = unit.leaders  # a concern routed around one of them is not theirs to read or count
    raised = await tx.find_concerns(unit_ids=unit_ids, created_from=start, created_to=end, limit=100_000)
    raised = [c for c in raised if seen_by(core, c, readers)]
    count = len(raised)
    lines = [f"Concerns raised: {count}"]
    if count >= SMALLEST_GROUP:
        urgent = sum(1 for c in raised if c.severity in ("high", "immediate"))
        # Patients' and families' concerns counted apart, under the same rule as any other split.
        family = await tx.family_sources(unit_ids=unit_ids, created_from=start, created_to=end)
        from_families = sum(1 for c in raised if c.id in family)
        lines[0] += f" ({urgent} high or immediate"
        lines[0] += f"; {from_families} from patients and families)" if from_families else ")"
    acked = [c for c in raised if c.acknowledged_at is not None]
    to_ack = [(c.acknowledged_at - c.created_at).total_seconds() for c in acked]  # type: ignore[operator]
    within = sum(1 for c, seconds in zip(acked, to_ack, strict=True) if seconds <= c.policy["sla_seconds"])
    # A concern whose deadline has not come yet and that nobody acknowledged is neither in time nor late:
    # it is not counted until one of the two is true.
    judged = sum(
        1
        for c in raised
        if c.acknowledged_at is not None or c.created_at + timedelta(seconds=c.policy["sla_seconds"]) <= end
    )
    if judged:
        lines.append(
            f"Acknowledged within their deadline: {within} of {judged} ({round(100 * within / judged)}%)"
        )
    resolved = [(c.resolved_at - c.created_at).total_seconds() for c in raised if c.resolved_at is not None]
    for label, values in (("acknowledge", to_ack), ("resolve", resolved)):
        if len(values) >= SMALLEST_GROUP:
            lines.append(
                f"Time to {label}: median {duration_label(_percentile(values, 0.5))}, "
                f"90th percentile {duration_label(_percentile(values, 0.9))}"
            )
        elif values:
            lines.append(f"Time to {label}: fewer than {SMALLEST_GROUP}, not shown")
    closed = sum(1 for c in raised if c.not_possible_at is not None)
    if closed:  # apart from resolved: "not possible now" is a closing, not a fix
        lines.append(f"Closed as not possible now (with the reason): {closed}")
    waiting = await tx.find_concerns(unit_ids=unit_ids, statuses=[ConcernStatus.OPEN], limit=100_000)
    waiting = [c for c in waiting if seen_by(core, c, readers)]
    overdue = sum(1 for c in waiting if c.created_at + timedelta(seconds=c.policy["sla_seconds"]) < end)
    lines.append(f"Waiting for acknowledgement past their deadline now: {overdue}")
    runs = await tx.runs_between(unit_ids=unit_ids, start=start, end=end)
    held = [r for r in runs if r.status != RunStatus.MISSED]
    missed = len(runs) - len(held)
    if runs:
        line = f"Huddles: {len(held)} held, {missed} missed"
        answers = [
            len({r.responder_key for r in await tx.responses(run_id=run.id)}) for run in held if run.id
        ]
        if sum(answers) >= SMALLEST_GROUP:
            line += f"; on average {sum(answers) / len(answers):.1f} people answered each"
        lines.append(line)
    catches = 0
    for unit_id in unit_ids:
        catches += len(await tx.good_catches_between(unit_id=unit_id, start=start, end=end))
    lines.append(f"Good catches shared: {catches}")
    # Rounds are the leaders' own work, not anyone's speaking up: shown whatever the numbers.
    lines += rounding.summary_text(await rounding.summary(core, tx, unit_ids, start=start, end=end))
    zone = _org_zone(core)
    week = f"the week to {end.astimezone(zone):%a %d %b %H:%M}"
    return Notice(title=f"Weekly safety digest · {unit.name} · {week}", text="\n".join(lines))


async def send_due(core: Core, now: datetime) -> int:
    """Queue this week's digest for every unit's leaders, once (the outbox key is the claim)."""
    at = last_digest_time(core, now)
    if at is None or now - at > timedelta(days=1):  # a replica down all day: the next one is next week
        return 0
    week = at.astimezone(_org_zone(core)).date().isoformat()
    async with core.uow() as tx:
        if await tx.get_meta(key=f"digest:{week}"):
            return 0  # every unit's digest of this week is queued already
    sent = 0
    for unit in core.config.units:
        addresses = leader_addresses(core, unit)
        if not addresses:
            continue
        async with core.uow() as tx:
            if await tx.post_by_key(msg_key=f"digest:{unit.id}:{week}:{addresses[0].target}"):
                continue
            view = await build(core, tx, unit, start=at - timedelta(days=7), end=at)
            for address in addresses:
                if await post(
                    tx,
                    core,
                    address,
                    view,
                    role="digest",
                    msg_key=f"digest:{unit.id}:{week}:{address.target}",
                    once=True,
                ):
                    sent += 1
            await record(tx, core, "system", "digest.sent", unit=unit.id, week=week)
    async with core.uow() as tx:
        await tx.set_meta(key=f"digest:{week}", value=core.now().isoformat())
    return sent
