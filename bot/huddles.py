"""Huddles: open a run (claimed once), post the prompt, record answers, close it with a summary."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import actions
from bot.commands import AnswerHuddle, HuddleStatus, OpenHuddle, RaiseConcern
from bot.errors import Refusal
from bot.model import Address, Anonymity, Answer, ConcernStatus, HuddleResponse, HuddleRun, RunStatus
from bot.policy import local_day_label, local_label, name_of, parse_choice, require_leader, resolve_unit
from bot.publish import post, record, redraw, reply_under
from bot.reply import Reply
from bot.routing import unit_channels
from bot.text import MAX_SHORT_CHARS, clean
from bot.views import Action, Counts, HuddlePrompt, HuddleSummary, Notice, OpenItem
from bot.visibility import in_unit_places

if TYPE_CHECKING:
    from bot.config import Unit
    from bot.core import Core
    from bot.ports import Tx

log = logging.getLogger("huddlebot.huddles")

OPEN_STATUSES = [ConcernStatus.OPEN, ConcernStatus.ACKNOWLEDGED, ConcernStatus.IN_PROGRESS]
_ANSWERS = {
    "clear": Answer.CLEAR,
    "all-clear": Answer.CLEAR,
    "concern": Answer.CONCERN,
    "goodcatch": Answer.GOOD_CATCH,
    "good-catch": Answer.GOOD_CATCH,
    "comment": Answer.COMMENT,
}


async def open_run(
    core: Core,
    tx: Tx,
    unit: Unit,
    *,
    claim_key: str,
    scheduled_for: datetime,
    closes_at: datetime,
    opened_by: str,
) -> HuddleRun | None:
    """Claim and open a run and queue its prompt; None if another replica (or click) already did."""
    now = core.now()
    run = await tx.insert_if_absent(
        HuddleRun(
            unit_id=unit.id,
            claim_key=claim_key,
            scheduled_for=scheduled_for,
            closes_at=closes_at,
            opened_at=now,
            opened_by=opened_by,
        )
    )
    if run is None:
        return None
    assert run.id is not None
    prompt = await _prompt(core, tx, run, unit)
    for address in unit_channels(core, unit):
        await post(
            tx,
            core,
            address,
            prompt,
            role="prompt",
            msg_key=f"run:{run.id}:prompt:{address.target}",
            run_id=run.id,
        )
    await record(tx, core, opened_by, "huddle.opened", run_id=run.id, unit=unit.id, claim=claim_key)
    log.info("huddle run %s opened unit=%s claim=%s", run.id, unit.id, claim_key)
    tx.after_commit(core.metrics.huddles_opened.inc)
    return run


async def record_missed(
    core: Core, tx: Tx, unit: Unit, *, claim_key: str, scheduled_for: datetime, closes_at: datetime
) -> bool:
    """Record a huddle nobody could post in time (the bot was down); shown in the next summary."""
    run = await tx.insert_if_absent(
        HuddleRun(
            unit_id=unit.id,
            claim_key=claim_key,
            scheduled_for=scheduled_for,
            closes_at=closes_at,
            status=RunStatus.MISSED,
            opened_by="schedule",
        )
    )
    if run is None:
        return False
    await record(tx, core, "system", "huddle.missed", run_id=run.id, unit=unit.id, claim=claim_key)
    log.warning("huddle missed unit=%s claim=%s", unit.id, claim_key)
    tx.after_commit(core.metrics.huddles_missed.inc)
    return True


async def _open_items(core: Core, tx: Tx, unit: Unit) -> list[OpenItem]:
    # The unit channel is read by everyone on the unit: list references and types, never text or reporter.
    unit_ids = [unit.id, *(u.id for u in core.config.descendants(unit.id))]
    concerns = in_unit_places(await tx.find_concerns(unit_ids=unit_ids, statuses=OPEN_STATUSES, limit=10))
    # An anonymous concern shows up only once its leaders have it (it waits until then: see
    # ``ConcernStatus.WAITING``), and with its day only.
    return [
        OpenItem(
            ref=c.ref,
            severity=c.severity,
            status=c.status.replace("_", " "),
            summary=f"{c.concern_type}, raised "
            + (local_day_label if c.is_anonymous else local_label)(core, c.unit_id, c.created_at),
        )
        for c in concerns
    ]


async def _counts(tx: Tx, run: HuddleRun) -> Counts:
    assert run.id is not None
    latest: dict[str, str] = {}
    comments = 0
    for response in await tx.responses(run_id=run.id):
        if response.answer == Answer.COMMENT:
            comments += 1
            latest.setdefault(response.responder_key, Answer.COMMENT)
        else:
            latest[response.responder_key] = response.answer
    answers = list(latest.values())
    return Counts(
        clear=answers.count(Answer.CLEAR),
        concern=answers.count(Answer.CONCERN),
        goodcatch=answers.count(Answer.GOOD_CATCH),
        comments=comments,
        responders=len(latest),
    )


async def _prompt(core: Core, tx: Tx, run: HuddleRun, unit: Unit, *, closed: bool = False) -> HuddlePrompt:
    assert run.id is not None
    buttons = (
        []
        if closed
        else [
            Action(
                id="answer_clear",
                label="All clear",
                style="primary",
                value=actions.huddle_action("answer_clear", run.id),
            ),
            Action(
                id="answer_concern",
                label="Raise a concern",
                value=actions.huddle_action("answer_concern", run.id),
            ),
            Action(
                id="answer_goodcatch",
                label="Share a good catch",
                value=actions.huddle_action("answer_goodcatch", run.id),
            ),
        ]
    )
    return HuddlePrompt(
        run_id=run.id,
        unit_name=unit.name,
        when_label=local_label(core, unit.id, run.scheduled_for),
        closes_label=local_label(core, unit.id, run.closes_at).split(" ", 3)[-1],
        questions=[unit.questions.look_back, unit.questions.look_ahead, unit.questions.follow_up],
        open_items=await _open_items(core, tx, unit),
        counts=await _counts(tx, run),
        closed=closed,
        actions=buttons,
        rollup=await _rollup(core, tx, unit),
    )


async def _rollup(core: Core, tx: Tx, unit: Unit) -> list[str]:
    """For a department or executive huddle: each unit below it, its latest huddle and what is open."""
    children = [u for u in core.config.units if u.parent == unit.id]
    if not children:
        return []
    now = core.now()
    runs = await tx.runs_between(
        unit_ids=[c.id for c in children], start=now - timedelta(days=2), end=now + timedelta(seconds=1)
    )
    below = [c.id for c in children] + [d.id for c in children for d in core.config.descendants(c.id)]
    open_concerns = in_unit_places(await tx.find_concerns(unit_ids=below, statuses=OPEN_STATUSES, limit=5000))
    lines = []
    for child in children:
        subtree = {child.id, *(d.id for d in core.config.descendants(child.id))}
        held = [r for r in runs if r.unit_id == child.id and r.status != RunStatus.MISSED]
        missed = [
            r
            for r in runs
            if r.unit_id == child.id
            and r.status == RunStatus.MISSED
            and r.scheduled_for >= now - timedelta(days=1)
        ]
        if held:
            latest = held[-1]
            counts = await _counts(tx, latest)
            huddle = (
                f"last huddle {local_label(core, child.id, latest.scheduled_for)}: {counts.responders} "
                f"answered ({counts.clear} all clear, {counts.concern} concern)"
            )
        else:
            huddle = "no huddle in the last two days"
        mine = [c for c in open_concerns if c.unit_id in subtree]
        waiting = sum(1 for c in mine if c.status == ConcernStatus.OPEN)
        escalated = sum(1 for c in mine if c.status == ConcernStatus.OPEN and c.escalation_level > 0)
        line = (
            f"{child.name}: {huddle}; {len(mine)} open concern(s), {waiting} not acknowledged, "
            f"{escalated} escalated"
        )
        lines.append(line + (f"; {len(missed)} missed huddle(s)" if missed else ""))
    return lines


async def open_now(core: Core, tx: Tx, cmd: OpenHuddle) -> Reply:
    """A leader starts a huddle outside the schedule; if one is open already, nothing changes."""
    unit = resolve_unit(core, cmd.unit, cmd.where)
    require_leader(
        core,
        cmd.person,
        unit,
        "start a huddle",
        hint="You can answer the next scheduled huddle, and raise a concern at any time with /concern.",
    )
    current = await tx.open_run(unit_id=unit.id)
    if current is not None:
        return Reply(
            text=f"A huddle for {unit.name} is already open "
            f"(until {local_label(core, unit.id, current.closes_at)})."
        )
    now = core.now()
    window = unit.huddles[0].window if unit.huddles else timedelta(minutes=30)
    local = now.astimezone(core.config.timezone_for(unit.id))
    run = await open_run(
        core,
        tx,
        unit,
        claim_key=f"adhoc@{local:%Y-%m-%dT%H:%M}",
        scheduled_for=now,
        closes_at=now + window,
        opened_by=name_of(core, cmd.person),
    )
    if run is None:
        return Reply(text=f"A huddle for {unit.name} was started a moment ago.")
    return Reply(
        text=f"Huddle started for {unit.name}; it closes at {local_label(core, unit.id, run.closes_at)}.",
        tone="success",
    )


async def status(core: Core, tx: Tx, cmd: HuddleStatus) -> Reply:
    """Where the unit's huddle is at, and how many concerns are open."""
    unit = resolve_unit(core, cmd.unit, cmd.where)
    run = await tx.open_run(unit_id=unit.id)
    open_concerns = in_unit_places(
        await tx.find_concerns(unit_ids=[unit.id], statuses=OPEN_STATUSES, limit=1000)
    )
    unacknowledged = sum(1 for c in open_concerns if c.status == ConcernStatus.OPEN)
    lines = []
    if run is None:
        lines.append(f"No huddle is open for {unit.name} right now.")
        nxt = _next_scheduled(core, unit)
        if nxt:
            lines.append(f"Next: {nxt}.")
    else:
        counts = await _counts(tx, run)
        lines.append(
            f"The {local_label(core, unit.id, run.scheduled_for)} huddle is open until "
            f"{local_label(core, unit.id, run.closes_at)}: {counts.responders} answered "
            f"({counts.clear} all clear, {counts.concern} concern, {counts.goodcatch} good catch)."
        )
    lines.append(f"Open concerns: {len(open_concerns)} ({unacknowledged} not yet acknowledged).")
    return Reply(text="\n".join(lines))


def _next_scheduled(core: Core, unit: Unit) -> str | None:
    from bot.schedule import occurrences_between

    now = core.now()
    upcoming = occurrences_between(core.config, unit, now, now + timedelta(days=8))
    return local_label(core, unit.id, upcoming[0].scheduled_for) if upcoming else None


async def answer(core: Core, tx: Tx, cmd: AnswerHuddle) -> Reply:
    """Record an answer to the open huddle and refresh the prompt's counts."""
    choice = _ANSWERS.get(parse_choice(cmd.answer, list(_ANSWERS), "", "huddle answer"))
    if cmd.run_id is not None:
        run = await tx.get(HuddleRun, cmd.run_id)
        unit = core.config.unit(run.unit_id) if run else None
    else:
        unit = resolve_unit(core, cmd.unit, cmd.where)
        run = await tx.open_run(unit_id=unit.id)
    if run is None or unit is None:
        raise Refusal(
            "There's no huddle open here right now. You can still raise a concern at any time with /concern.",
            code="no_open_huddle",
        )
    if run.status != RunStatus.OPEN:
        raise Refusal(
            f"That huddle closed at {local_label(core, unit.id, run.closes_at)}. "
            "You can still raise a concern at any time with /concern.",
            code="huddle_closed",
        )
    assert run.id is not None
    text = (
        clean(cmd.text, limit=MAX_SHORT_CHARS, what="answer").text if cmd.text and cmd.text.strip() else None
    )
    if choice == Answer.COMMENT and text is None:
        raise Refusal("The comment is empty.", code="empty_text")
    name = name_of(core, cmd.person)
    extra = ""
    if choice == Answer.CONCERN and text:
        from bot.concerns import raise_concern

        raised = await raise_concern(
            core,
            tx,
            RaiseConcern(
                person=cmd.person, where=cmd.where, text=text, unit=unit.id, anonymity=Anonymity.NAMED
            ),
        )
        if not raised.ok:
            return raised
        extra = f" {raised.text}"
    tx.add(
        HuddleResponse(
            run_id=run.id,
            answer=choice,
            text=text,
            created_at=core.now(),
            responder_key=f"{cmd.person.platform}:{cmd.person.user_id}",
            responder_name=name,
        )
    )
    prompt = await _prompt(core, tx, run, unit)
    await redraw(tx, core, await tx.posts_for(role="prompt", run_id=run.id), lambda _: prompt)
    said = {
        Answer.CLEAR: "all clear",
        Answer.CONCERN: "a concern",
        Answer.GOOD_CATCH: "a good catch",
        Answer.COMMENT: "your comment",
    }[choice]
    return Reply(text=f"Thanks, {name}: recorded {said} for the {unit.name} huddle.{extra}", tone="success")


async def close_run(core: Core, tx: Tx, run: HuddleRun) -> bool:
    """Close a run once: post the summary in the prompt's thread and freeze the prompt."""
    assert run.id is not None
    if not await tx.update(
        HuddleRun, run.id, where={"status": RunStatus.OPEN}, status=RunStatus.CLOSED, closed_at=core.now()
    ):
        return False
    unit = core.config.unit(run.unit_id)
    if unit is None:
        return True
    prompts = await tx.posts_for(role="prompt", run_id=run.id)
    summary = await _summary(core, tx, run, unit)
    await reply_under(tx, core, prompts, summary, role="summary")
    prompt = await _prompt(core, tx, run, unit, closed=True)
    await redraw(tx, core, prompts, lambda _: prompt)
    await record(
        tx, core, "system", "huddle.closed", run_id=run.id, unit=unit.id, responders=summary.counts.responders
    )
    return True


async def _summary(core: Core, tx: Tx, run: HuddleRun, unit: Unit) -> HuddleSummary:
    assert run.id is not None
    start = run.opened_at or run.scheduled_for
    comments = [
        f"{r.responder_name} ({r.answer.replace('goodcatch', 'good catch')}): {r.text}"
        for r in await tx.responses(run_id=run.id)
        if r.text
    ]
    # Anonymous concerns are left out: a list of what was raised during this huddle would point at who.
    raised = [
        c.ref
        for c in in_unit_places(
            await tx.find_concerns(unit_ids=[unit.id], created_from=start, created_to=core.now())
        )
        if c.anonymity != Anonymity.ANONYMOUS
    ]
    catches = [
        f"{g.giver_name} recognised {g.recipient_label}: {g.text}"
        for g in await tx.good_catches_between(unit_id=unit.id, start=start, end=core.now())
    ]
    missed = [
        local_label(core, unit.id, r.scheduled_for)
        for r in await tx.runs_between(
            unit_ids=[unit.id], start=run.scheduled_for - timedelta(days=1), end=run.scheduled_for
        )
        if r.status == RunStatus.MISSED
    ]
    return HuddleSummary(
        run_id=run.id,
        unit_name=unit.name,
        when_label=local_label(core, unit.id, run.scheduled_for),
        counts=await _counts(tx, run),
        comments=comments,
        concerns_raised=raised,
        good_catches=catches,
        open_items=await _open_items(core, tx, unit),
        missed_runs=missed,
        rollup=await _rollup(core, tx, unit),
    )


def reminder_lead(core: Core, run: HuddleRun) -> timedelta:
    """How long before a run closes its reminder goes: the configured lead, at most half the window."""
    window = run.closes_at - (run.opened_at or run.scheduled_for)
    return min(core.config.huddle_reminder_before, window / 2)


async def remind(core: Core, tx: Tx, run: HuddleRun) -> bool:
    """Post, once, a reminder in the prompt's thread that the huddle is about to close (nobody is tagged)."""
    assert run.id is not None
    unit = core.config.unit(run.unit_id)
    prompts = await tx.posts_for(role="prompt", run_id=run.id)
    if unit is None or not prompts:
        return False
    counts = await _counts(tx, run)
    minutes = max(1, round((run.closes_at - core.now()).total_seconds() / 60))
    view = Notice(
        text=f"This huddle closes in {minutes} min. {counts.responders} answered so far. "
        "If you haven't yet, use the buttons on the prompt or reply in this thread."
    )
    posted = False
    for root in prompts:
        address = Address(root.platform or "", root.tenant or "", root.channel, None, root.user_id)
        posted |= await post(
            tx,
            core,
            address,
            view,
            role="reminder",
            thread_key=root.msg_key,
            run_id=run.id,
            msg_key=f"run:{run.id}:reminder:{root.target}",
            once=True,
        )
    return posted
