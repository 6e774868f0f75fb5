"""The console session: play any person in any unit, move the clock, and see what everyone received."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TextIO

from adapters.console.messenger import ConsoleMessenger
from adapters.console.render import render_stoplight
from adapters.console.translate import Usage, Where, split_word, translate
from bot.bootstrap import App
from bot.clock import ManualClock
from bot.config import parse_duration
from bot.due_work import run_due_work
from bot.model import OutboxStatus, Person
from bot.views import Stoplight

_CLOCK_KEY = "console_clock"  # where the console's time stood when a session stopped

HELP = """\
Who and where
  as HANDLE                 become someone (a name not in the directory is a member of staff)
  in UNIT                   go to a unit's channel (its leaders' channel is UNIT-leaders)
  who                       who and where you are; `units` lists the units, `people` the directory
Speaking up
  /concern [--anonymous|--confidential] [--notify-me] [--severity low|moderate|high|immediate]
           [--category AIM] [--type TYPE] [--unit UNIT] [--post-anyway] [--share]
           [--involves-leader] TEXT
           --share: your words may appear on the unit's stoplight report (named concerns only)
           --involves-leader: it involves one of the unit's leaders; it goes to the next tier and
           the patient-safety officers instead, never to the unit's own leaders
  /concern follow-up CODE [TEXT]   (anonymous reporters: read replies, answer them)
  reopen REF-or-CODE WHY    the reporter reopens a resolved concern
  /goodcatch @HANDLE TEXT   recognise a colleague
Huddles
  /huddle now | /huddle status | /huddle stoplight [UNIT]   (the "you said, we did" report)
  answer clear|concern|goodcatch|comment [TEXT]
Leaders
  ack REF [NOTE] · reply REF TEXT · status REF in_progress [--title T] [NOTE] · show REF
  resolve REF [--title T] WHAT-WE-DID · not-possible REF [--title T] REASON
  (--title "A FEW WORDS": the short title the unit reads on the stoplight report)
  /round UNIT [--staff N] [--patients N] [--families N] [--win @HANDLE WHAT]
         [--concern ISSUE] [--track ISSUE] [--barrier NEED]   log a leader's round (flags repeat)
         (--concern @HANDLE: ISSUE names the colleague who raised it, only if they agreed)
Seeing and time
  inbox                     what you received (direct messages)
  channel [UNIT]            the unit's channel and its leaders' channel, with threads
  tick DURATION             move the clock (15m, 1h, 2d) and run what became due
  now · outbox · help · quit
The dashboard
  dashboard                 a private sign-in link to the dashboard, for whoever you are now"""


class ConsoleSession:
    """One person at a time, on the console platform."""

    def __init__(
        self, app: App, messenger: ConsoleMessenger, clock: ManualClock, output: Callable[[str], None] = print
    ) -> None:
        self.app, self.messenger, self.clock, self.output = app, messenger, clock, output
        self.core = app.core
        self.tenant = self.core.tenants["console"]
        config = self.core.config
        home = next((u for u in config.units if u.tier == 1), config.units[0])
        self.unit: str | None = home.id
        self.person = self._person(home.leaders[0] if home.leaders else "staff")

    def _person(self, handle: str) -> Person:
        entry = self.core.config.person(handle)
        return Person("console", self.tenant, handle, entry.name if entry else handle.title())

    @property
    def prompt(self) -> str:
        """``handle@unit>``."""
        return f"{self.person.user_id}@{self.unit or '-'}> "

    async def execute(self, line: str) -> bool:
        """Run one line; False when the person asked to quit."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        verb, rest = split_word(line)
        local = self._local_verbs().get(verb.lower())
        if local is not None:
            result = local(rest)
            if asyncio.iscoroutine(result):
                result = await result
            return result is not False
        try:
            command = translate(line, Where(self.person, self.unit))
        except Usage as usage:
            self.output(f"  ← {usage}")
            return True
        reply = await self.core.handle(command)
        if not reply.silent:
            mark = {"error": "✗", "warning": "!", "success": "✓"}.get(reply.tone, "·")
            self.output(_indent(f"← (only you) {mark} {reply.text}"))
            if isinstance(reply.detail, Stoplight):
                self.output(_indent(render_stoplight(reply.detail)))
        await self.app.dispatcher.deliver_all()
        return True

    def _local_verbs(self) -> dict[str, Callable[[str], object]]:
        return {
            "as": self._as,
            "in": self._in,
            "who": self._who,
            "units": self._units,
            "people": self._people,
            "inbox": self._inbox,
            "channel": self._channel,
            "tick": self._tick,
            "now": self._now,
            "outbox": self._outbox,
            "dashboard": self._dashboard,
            "help": lambda _: self.output(HELP),
            "quit": lambda _: False,
            "exit": lambda _: False,
        }

    def _as(self, rest: str) -> None:
        handle = rest.strip().lstrip("@").lower()
        if not handle:
            self.output("  ← Usage: as HANDLE")
            return
        self.person = self._person(handle)
        known = "" if self.core.config.person(handle) else " (not in the directory: a member of staff)"
        self.output(f"  You are now {self.person.display_name}{known}.")

    def _in(self, rest: str) -> None:
        unit = self.core.config.find_unit(rest.strip()) if rest.strip() else None
        if unit is None:
            self.output(f"  ← I don't know a unit called '{rest.strip()[:40]}'. Type units for the list.")
            return
        self.unit = unit.id
        self.output(f"  You are in #{unit.id} ({unit.name}).")

    def _who(self, _: str) -> None:
        self.output(f"  You are {self.person.display_name} ({self.person.user_id}) in #{self.unit}.")

    def _units(self, _: str) -> None:
        for unit in self.core.config.units:
            parent = f", under {unit.parent}" if unit.parent else ""
            leaders = ", ".join(unit.leaders) or "-"
            self.output(f"  {unit.id:12} tier {unit.tier}{parent}: {unit.name} (leaders: {leaders})")

    def _people(self, _: str) -> None:
        for handle, entry in self.core.config.people.items():
            self.output(f"  {handle:10} {entry.name}")

    def _inbox(self, _: str) -> None:
        self.output(_indent(self.messenger.transcript(f"@{self.person.user_id}")))

    def _channel(self, rest: str) -> None:
        unit = (
            self.core.config.find_unit(rest.strip())
            if rest.strip()
            else self.core.config.unit(self.unit or "")
        )
        if unit is None:
            self.output("  ← Which unit? channel UNIT")
            return
        self.output(_indent(self.messenger.transcript(unit.id)))
        self.output(_indent(self.messenger.transcript(f"{unit.id}-leaders")))

    async def _tick(self, rest: str) -> None:
        try:
            total = parse_duration(rest.strip())
        except ValueError as error:
            self.output(f"  ← {error}")
            return
        # Walk the clock in steps so what falls due in between happens at about its time.
        step = max(timedelta(minutes=1), total / 360)
        remaining = total
        while remaining > timedelta(0):
            move = min(step, remaining)
            self.clock.advance(move)
            remaining -= move
            await run_due_work(self.core, self.app.dispatcher)
        await self._remember_time()
        self._now("")

    def _now(self, _: str) -> None:
        zone = self.core.config.timezone_for(self.unit) if self.unit else None
        local = self.clock.now().astimezone(zone) if zone else self.clock.now()
        self.output(f"  ⏱ {local:%a %d %b %Y %H:%M} {local.tzname()}")

    async def _outbox(self, _: str) -> None:
        async with self.core.uow() as tx:
            pending = await tx.outbox_items(status=OutboxStatus.PENDING, limit=1000)
            dead = await tx.outbox_items(status=OutboxStatus.DEAD, limit=1000)
        self.output(f"  outbox: {len(pending)} waiting, {len(dead)} dead-lettered")
        for row in dead:
            self.output(
                f"    dead #{row.id} {row.platform} {row.channel or '(direct message)'}: {row.last_error}"
            )

    async def _dashboard(self, _: str) -> None:
        reply = await self.app.sign_in.request_link(self.person)
        mark = "✓" if reply.ok else "✗"
        self.output(_indent(f"← (only you) {mark} {reply.text}"))

    async def resume(self, *, keep_time: bool = True) -> None:
        """Continue where an earlier session on this database stopped: its chat, and (unless the
        clock was set on purpose) its time, if that had been moved past the present."""
        async with self.core.uow() as tx:
            sent = await tx.outbox_items(status=OutboxStatus.SENT, limit=1_000_000, platform="console")
            stopped_at = await tx.get_meta(key=_CLOCK_KEY)
        restored = self.messenger.restore(sent)
        if keep_time and stopped_at:
            earlier = datetime.fromisoformat(stopped_at)
            if earlier > self.clock.now():
                self.clock.set(earlier)
        if restored:
            self.output(f"  (continuing the chat of an earlier session: {restored} messages)")

    async def _remember_time(self) -> None:
        async with self.core.uow() as tx:
            await tx.set_meta(key=_CLOCK_KEY, value=self.clock.now().isoformat())

    async def run(self, lines: Iterable[str], *, echo: bool) -> None:
        """Run a script; with ``echo`` each line is printed after the prompt, as if typed."""
        await run_due_work(self.core, self.app.dispatcher)
        try:
            for line in lines:
                if echo and line.strip():
                    self.output(f"{self.prompt}{line.rstrip()}")
                if not await self.execute(line):
                    break
        finally:
            await self._remember_time()

    async def interact(self, stdin: TextIO = sys.stdin) -> None:
        """Read lines from a person at a terminal until they quit or close stdin."""
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
        self.output("huddlebot console. Type help for the commands, quit to leave.")
        await run_due_work(self.core, self.app.dispatcher)
        try:
            while True:
                try:
                    line = await asyncio.to_thread(input, self.prompt)
                except (EOFError, KeyboardInterrupt):
                    self.output("")
                    return
                if not await self.execute(line):
                    return
        finally:
            await self._remember_time()


def _indent(text: str) -> str:
    head, *tail = text.splitlines() or [""]
    return "\n".join(["  " + head, *("    " + line for line in tail)])
