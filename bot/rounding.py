"""Leader rounding: a reminder at each leader's rounding time, and ``/round`` to log what they heard.

The rhythm is per leader in the organisation file (``people.<handle>.rounding``), in each unit's own
time zone. A round is a row of its own (``Round``: counts, the concerns its issues became, what was
heard for the next reminder) and an audit record (``round.logged``). What was heard becomes what the
rest of huddlebot already knows: a good catch, a concern raised on rounds, or an item tracked on the
stoplight (a concern the leader raised and marked in progress, with its title). The digest and the
dashboard count rounds done against the rhythm ("planned") and what became of the issues heard.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import concerns, recognition
from bot.commands import GiveGoodCatch, LogRound, RaiseConcern, SetConcernStatus
from bot.errors import Refusal
from bot.huddles import OPEN_STATUSES
from bot.model import ConcernStatus, Round, RoundIssue, parse_reference
from bot.policy import handle_of, require_leader, resolve_unit
from bot.publish import post, record
from bot.reply import Reply
from bot.routing import person_addresses
from bot.text import MAX_SHORT_CHARS, clean, excerpt
from bot.views import Notice
from bot.visibility import seen_by

if TYPE_CHECKING:
    from bot.config import RoundingRhythm, Unit
    from bot.core import Core
    from bot.ports import Tx

log = logging.getLogger("huddlebot.rounding")

MAX_COUNT = 500  # people spoken with on one round: more is a typing mistake
MAX_ITEMS = 10  # wins, issues or barriers of one kind on one round


def last_round_time(core: Core, rhythm: RoundingRhythm, unit: Unit, now: datetime) -> datetime | None:
    """The latest scheduled round of ``rhythm`` on ``unit`` at or before ``now`` (wall clock, unit zone)."""
    zone = core.config.timezone_for(unit.id)
    today = now.astimezone(zone).date()
    for back in range(8):
        day = today - timedelta(days=back)
        if not rhythm.runs_on(day.weekday()):
            continue
        # A wall-clock time: on a daylight-saving day a time in the gap is taken as the hour after
        # it, an ambiguous one as its first occurrence; either way, once (the claim is the local date).
        at = datetime.combine(day, rhythm.at, tzinfo=zone).astimezone(UTC)
        if at <= now:
            return at
    return None


async def send_due(core: Core, now: datetime) -> int:
    """Send each leader their rounding reminders that fell due, once (the outbox key is the claim)."""
    sent = 0
    for handle, person in core.config.people.items():
        for rhythm in person.rounding:
            for unit_id in rhythm.units:
                unit = core.config.unit(unit_id)
                if unit is None:
                    continue
                at = last_round_time(core, rhythm, unit, now)
                if at is None or now - at > core.config.huddle_grace:
                    continue
                local = at.astimezone(core.config.timezone_for(unit.id))
                key = f"round:{handle}:{unit.id}:{local:%Y-%m-%d %H:%M}"
                addresses = person_addresses(core, handle)
                if not addresses:
                    continue
                async with core.uow() as tx:
                    if await tx.post_by_key(msg_key=f"{key}:{addresses[0].target}"):
                        continue
                    view = await reminder(core, tx, handle, unit)
                    for address in addresses:
                        if await post(
                            tx,
                            core,
                            address,
                            view,
                            role="rounding",
                            msg_key=f"{key}:{address.target}",
                            once=True,
                        ):
                            sent += 1
    return sent


async def reminder(core: Core, tx: Tx, handle: str, unit: Unit) -> Notice:
    """What ``handle`` should follow up on ``unit``.

    Open yellow and red items, the concerns waiting longest, and what they heard on their last round.
    """
    units = [unit.id, *(u.id for u in core.config.descendants(unit.id))]
    found = await tx.find_concerns(
        unit_ids=units, statuses=[*OPEN_STATUSES, ConcernStatus.NOT_POSSIBLE], limit=1000
    )
    found = [c for c in found if seen_by(core, c, [handle])]
    lines = [f"Time to round on {unit.name}. Log it afterwards with /round {unit.id}."]

    def about(c: object) -> str:
        return c.title or excerpt(c.text, 80)  # type: ignore[attr-defined]

    yellow = [c for c in found if c.status == ConcernStatus.IN_PROGRESS][:5]
    red = [c for c in found if c.status == ConcernStatus.NOT_POSSIBLE][:5]
    waiting = sorted(
        (c for c in found if c.status in (ConcernStatus.OPEN, ConcernStatus.ACKNOWLEDGED)),
        key=lambda c: c.created_at,
    )[:3]
    if yellow:
        lines.append("In progress (yellow): " + "; ".join(f"{c.ref} {about(c)}" for c in yellow))
    if red:
        lines.append("Not possible now (red): " + "; ".join(f"{c.ref} {about(c)}" for c in red))
    if waiting:
        lines.append("Waiting longest: " + "; ".join(f"{c.ref} {about(c)}" for c in waiting))
    last = await tx.last_round(leader=handle, unit_id=unit.id)
    if last is not None and last.heard:
        lines.append("Last round you heard: " + "; ".join(last.heard))
    if len(lines) == 1:
        lines.append("Nothing open to follow up there: ask what is getting in the way today.")
    return Notice(title=f"Rounding · {unit.name}", text="\n".join(lines))


_NAMED = re.compile(r"^@([^\s:]+)\s*:\s*(.+)$", re.DOTALL)


def _on_behalf(core: Core, cmd: LogRound, text: str) -> str:
    """A concern's words for an issue heard: the staff member named only if the leader wrote ``@who:``.

    Writing the name is the leader's record that the colleague agreed to be named; otherwise the
    leader alone is the concern's source.
    """
    named = _NAMED.match(text)
    if named is None:
        return f"Heard on rounds: {text}"
    who, words = named.group(1), named.group(2).strip()
    handle = who if core.config.person(who) else core.config.handle_for(cmd.where.platform, who)
    entry = core.config.person(handle) if handle else None
    if entry is None:
        raise Refusal(
            f"I don't know @{who[:40]}. Write the colleague's handle from the organisation file, or leave "
            "the name out to raise it on their behalf without it. Nothing was logged.",
            code="unknown_person",
        )
    return f"Heard on rounds from {entry.name}, who agreed to be named: {words}"


def _items(values: tuple[str, ...], what: str) -> list[str]:
    if len(values) > MAX_ITEMS:
        raise Refusal(f"At most {MAX_ITEMS} {what} a round. Nothing was logged.", code="too_many")
    return [clean(v, limit=MAX_SHORT_CHARS, what=what).text for v in values if v.strip()]


async def log_round(core: Core, tx: Tx, cmd: LogRound) -> Reply:
    """Record a round, and turn what was heard into good catches, concerns and tracked items."""
    unit = resolve_unit(core, cmd.unit, cmd.where)
    require_leader(core, cmd.person, unit, f"log a round on {unit.name}", hint="")
    for count in (cmd.staff, cmd.patients, cmd.families):
        if not 0 <= count <= MAX_COUNT:
            raise Refusal(
                f"Counts are whole numbers from 0 to {MAX_COUNT}. Nothing was logged.", code="bad_count"
            )
    raised = _items(cmd.concerns, "issues to raise")
    raised_texts = [_on_behalf(core, cmd, text) for text in raised]
    tracked = _items(cmd.tracked, "issues to track")
    barriers = _items(cmd.barriers, "tools or barriers")
    if len(cmd.wins) > MAX_ITEMS:
        raise Refusal(f"At most {MAX_ITEMS} wins a round. Nothing was logged.", code="too_many")
    done: list[str] = []
    for recipient, text in cmd.wins:
        reply = await recognition.give_good_catch(
            core,
            tx,
            GiveGoodCatch(person=cmd.person, where=cmd.where, recipient=recipient, text=text, unit=unit.id),
        )
        done.append(f"good catch for {recipient.lstrip('@')}")
        del reply
    refs: list[str] = []
    for text in raised_texts:
        reply = await concerns.raise_concern(
            core, tx, RaiseConcern(person=cmd.person, where=cmd.where, unit=unit.id, text=text)
        )
        if reply.ref is None:
            raise Refusal(reply.text, code=reply.code or "not_raised")
        refs.append(reply.ref)
        done.append(f"concern {reply.ref}")
    tracked_refs: list[str] = []
    for text in tracked:
        reply = await concerns.raise_concern(
            core,
            tx,
            RaiseConcern(person=cmd.person, where=cmd.where, unit=unit.id, text=f"Heard on rounds: {text}"),
        )
        assert reply.ref is not None
        await concerns.set_status(
            core,
            tx,
            SetConcernStatus(
                person=cmd.person,
                ref=reply.ref,
                status="in_progress",
                title=excerpt(text, 120),
            ),
        )
        tracked_refs.append(reply.ref)
        done.append(f"tracked {reply.ref}")
    now = core.now()
    who = handle_of(core, cmd.person) or f"{cmd.person.platform}:{cmd.person.user_id}"
    await record(
        tx,
        core,
        who,
        "round.logged",
        unit=unit.id,
        staff=cmd.staff,
        patients=cmd.patients,
        families=cmd.families,
        wins=len(cmd.wins),
        concerns=refs,
        tracked=tracked_refs,
        barriers=barriers,
    )
    heard = [*(f"{r}: {excerpt(t, 60)}" for r, t in zip(refs, raised, strict=True))]
    heard += [f"{r} (tracked): {excerpt(t, 60)}" for r, t in zip(tracked_refs, tracked, strict=True)]
    heard += [f"needs: {excerpt(b, 60)}" for b in barriers]
    kept = await tx.insert(
        Round(
            unit_id=unit.id,
            leader=who,
            logged_at=now,
            staff=cmd.staff,
            patients=cmd.patients,
            families=cmd.families,
            wins=len(cmd.wins),
            barriers=barriers,
            heard=heard,
        )
    )
    assert kept.id is not None
    for kind, made in (("raised", refs), ("tracked", tracked_refs)):
        for ref in made:
            tx.add(RoundIssue(round_id=kept.id, concern_id=_id(ref), kind=kind))
    log.info("round logged unit=%s", unit.id)
    spoke = f"{cmd.staff} staff, {cmd.patients} patients, {cmd.families} families"
    return Reply(
        text=f"Round on {unit.name} logged ({spoke})." + (f" Done: {', '.join(done)}." if done else ""),
        tone="success",
    )


def _id(ref: str) -> int:
    found = parse_reference(ref)
    assert found is not None, ref
    return found


# --- rounds planned, done, and what came of them (the digest and the dashboard) ---------------------


@dataclass(frozen=True, slots=True)
class RoundingLine:
    """One leader on one unit over a period: rounds planned and done, and the issues heard since."""

    leader: str  # their name
    unit_id: str
    unit: str  # its name
    planned: int
    done: int
    heard: int  # issues raised or tracked from these rounds
    resolved: int
    in_progress: int
    not_possible: int
    still_open: int  # open or acknowledged


def planned_between(core: Core, rhythm: RoundingRhythm, unit: Unit, start: datetime, end: datetime) -> int:
    """How many rounds ``rhythm`` plans on ``unit`` in ``[start, end)`` (wall clock, unit zone)."""
    zone = core.config.timezone_for(unit.id)
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    count = 0
    while day <= last:
        if rhythm.runs_on(day.weekday()):
            at = datetime.combine(day, rhythm.at, tzinfo=zone).astimezone(UTC)
            count += start <= at < end
        day += timedelta(days=1)
    return count


async def summary(
    core: Core, tx: Tx, unit_ids: Sequence[str] | None, *, start: datetime, end: datetime
) -> list[RoundingLine]:
    """Rounds planned and done per leader and unit of ``unit_ids`` (None: all) in ``[start, end)``."""
    wanted = None if unit_ids is None else set(unit_ids)
    planned: dict[tuple[str, str], int] = {}
    for handle, person in core.config.people.items():
        for rhythm in person.rounding:
            for unit_id in rhythm.units:
                unit = core.config.unit(unit_id)
                if unit is None or (wanted is not None and unit_id not in wanted):
                    continue
                key = (handle, unit_id)
                planned[key] = planned.get(key, 0) + planned_between(core, rhythm, unit, start, end)
    done = {
        (leader, unit_id): n
        for leader, unit_id, n in await tx.rounds_done(unit_ids=unit_ids, start=start, end=end)
    }
    outcomes: dict[tuple[str, str], dict[str, int]] = {}
    for leader, unit_id, status, n in await tx.round_outcomes(unit_ids=unit_ids, start=start, end=end):
        outcomes.setdefault((leader, unit_id), {})[status] = n
    lines = []
    for handle, unit_id in sorted(set(planned) | set(done)):
        heard = outcomes.get((handle, unit_id), {})
        unit, person = core.config.unit(unit_id), core.config.person(handle)
        lines.append(
            RoundingLine(
                leader=person.name if person else handle,
                unit_id=unit_id,
                unit=unit.name if unit else unit_id,
                planned=planned.get((handle, unit_id), 0),
                done=done.get((handle, unit_id), 0),
                heard=sum(heard.values()),
                resolved=heard.get(ConcernStatus.RESOLVED, 0),
                in_progress=heard.get(ConcernStatus.IN_PROGRESS, 0),
                not_possible=heard.get(ConcernStatus.NOT_POSSIBLE, 0),
                still_open=heard.get(ConcernStatus.OPEN, 0) + heard.get(ConcernStatus.ACKNOWLEDGED, 0),
            )
        )
    return sorted(lines, key=lambda line: (line.unit, line.leader))


def summary_text(lines: Sequence[RoundingLine]) -> list[str]:
    """The digest's lines about rounds (nothing when nobody plans or logs rounds there)."""
    out = []
    for line in lines:
        text = f"Rounds: {line.leader} on {line.unit}, {line.done} done"
        text += f" of {line.planned} planned" if line.planned else " (none planned)"
        if line.heard:
            text += (
                f"; {line.heard} issues heard: {line.resolved} resolved, {line.in_progress} in progress, "
                f"{line.not_possible} not possible now, {line.still_open} still open"
            )
        out.append(text)
    return out
