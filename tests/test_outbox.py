"""The outbox: what a use case commits is delivered once its platform answers — nothing lost, nothing
doubled — permanent failures are dead-lettered where an admin sees them, and a dispatcher that dies
after leasing rows loses nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from adapters.console.messenger import ConsoleMessenger
from bot.commands import RaiseConcern
from bot.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from bot.model import Address, Person
from bot.outbox import Dispatcher
from bot.ports import Delivered
from bot.views import View
from tests.conftest import Harness
from tests.sql import rows

ROOT = Path(__file__).resolve().parent.parent


class Unreliable:
    """The console Messenger behind a platform that fails (everywhere, or in one channel) until told."""

    platform = "console"

    def __init__(
        self,
        inner: ConsoleMessenger,
        error: type[DeliveryError] | None = TransientDeliveryError,
        channel: str | None = None,
    ) -> None:
        self.inner, self.error, self.channel = inner, error, channel
        self.failures = 0

    def _maybe_fail(self, channel: str | None) -> None:
        if self.error is not None and self.channel in (None, channel):
            self.failures += 1
            raise self.error("channel_not_found" if self.error is PermanentDeliveryError else "HTTP 503")

    async def post(self, address: Address, view: View) -> Delivered:
        self._maybe_fail(address.channel)
        return await self.inner.post(address, view)

    async def update(self, channel: str, message_ref: str, view: View) -> None:
        self._maybe_fail(channel)
        await self.inner.update(channel, message_ref, view)

    def min_interval(self, address: Address) -> float:
        return self.inner.min_interval(address)


def install(harness: Harness, messenger: Unreliable) -> Unreliable:
    harness.app.dispatcher.messengers["console"] = messenger
    return messenger


async def assert_each_post_delivered_exactly_once(harness: Harness) -> None:
    posts = await rows(harness, "SELECT id, status, message_ref FROM outbox WHERE op = 'post'")
    assert posts and all(p["status"] == "sent" for p in posts), posts
    refs = [p["message_ref"] for p in posts]
    assert len(set(refs)) == len(refs)  # one platform message per row...
    assert sorted(refs) == sorted(harness.messenger.messages)  # ...and no platform message without one
    statuses = Counter(r["status"] for r in await rows(harness, "SELECT status FROM outbox"))
    assert set(statuses) <= {"sent", "superseded"}, statuses


async def test_a_concern_committed_while_the_platform_fails_is_delivered_once_it_recovers(
    harness: Harness,
) -> None:
    flaky = install(harness, Unreliable(harness.messenger))
    out = await harness.run("""
        as alex
        /concern --severity high --type medication Insulin pens stored without patient labels
        as dana
        ack C-1001 Pharmacy is relabelling them
        reply C-1001 Which fridge?
    """)
    # The people who typed were answered at once; nothing reached a channel yet.
    assert "Your concern C-1001 was received" in out
    assert "You acknowledged C-1001." in out
    assert flaky.failures > 0
    assert harness.messenger.messages == {}
    waiting = await rows(harness, "SELECT attempts, last_error FROM outbox WHERE status = 'pending'")
    assert waiting and any(r["attempts"] > 0 and r["last_error"] == "HTTP 503" for r in waiting)

    flaky.error = None  # the platform is back
    harness.clock.advance(timedelta(minutes=10))  # past every backoff
    await harness.app.dispatcher.deliver_all()
    await harness.app.dispatcher.deliver_all()  # a second pass finds nothing left to send twice

    await assert_each_post_delivered_exactly_once(harness)
    leaders = harness.transcript("4west-leaders")
    assert leaders.count("[C-1001] HIGH · medication") == 1
    assert "Status: Acknowledged (by Dana Reyes" in leaders  # the update went to the card, in order
    assert leaders.count("↳ huddlebot: Acknowledged by Dana Reyes. Pharmacy is relabelling them") == 1
    assert leaders.count("↳ Dana Reyes: Which fridge?") == 1
    dm = harness.transcript("@alex")
    assert dm.count("Your concern C-1001 is on its way to the leaders") == 1
    assert dm.count("was acknowledged by Dana Reyes") == 1
    assert dm.count("Dana Reyes replied about C-1001: Which fridge?") == 1


async def test_a_permanent_failure_is_dead_lettered_and_listed_for_the_admin(harness: Harness) -> None:
    install(harness, Unreliable(harness.messenger, PermanentDeliveryError, channel="4west-leaders"))
    await harness.run("""
        as alex
        /concern --severity high Bed 7 call bell does not ring at the desk
    """)
    (dead,) = await rows(harness, "SELECT * FROM outbox WHERE status = 'dead'")
    assert (dead["channel"], dead["role"], dead["last_error"]) == (
        "4west-leaders",
        "card",
        "channel_not_found",
    )
    assert "is on its way to the leaders" in harness.transcript("@alex")  # other targets went on
    assert await rows(harness, "SELECT id FROM outbox WHERE status = 'pending'") == []

    out = await harness.run("outbox")
    assert f"dead #{dead['id']} console 4west-leaders: channel_not_found" in out

    listed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "outbox"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": harness.app.engine_url, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert f"#{dead['id']} " in listed.stdout
    assert "console 4west-leaders card post attempts=1 channel_not_found" in listed.stdout


async def test_thread_replies_and_updates_under_a_dead_message_are_dead_lettered_not_stuck(
    harness: Harness,
) -> None:
    flaky = install(harness, Unreliable(harness.messenger, TransientDeliveryError, channel="4west-leaders"))
    await harness.run("""
        as alex
        /concern --severity high Suction canisters overflowing in the dirty utility
        as dana
        ack C-1001 Housekeeping called
    """)
    queued = await rows(harness, "SELECT op, role FROM outbox WHERE status = 'pending' ORDER BY id")
    assert {"op": "post", "role": "thread"} in queued and {"op": "update", "role": "card"} in queued

    flaky.error = PermanentDeliveryError  # now the channel is gone for good
    harness.clock.advance(timedelta(minutes=10))
    await harness.app.dispatcher.deliver_all()

    assert await rows(harness, "SELECT id FROM outbox WHERE status = 'pending'") == []
    dead = await rows(harness, "SELECT op, role, last_error FROM outbox WHERE status = 'dead' ORDER BY id")
    assert dead[0] == {"op": "post", "role": "card", "last_error": "channel_not_found"}
    assert {
        "op": "post",
        "role": "thread",
        "last_error": "the message it belongs to was never delivered",
    } in (dead)
    assert {
        "op": "update",
        "role": "card",
        "last_error": "the message it belongs to was never delivered",
    } in (dead)
    assert "was acknowledged by Dana Reyes" in harness.transcript("@alex")

    # Later work on the concern does not queue anything under the dead card.
    before = len(await rows(harness, "SELECT id FROM outbox"))
    await harness.run("reply C-1001 Canisters replaced")
    added = await rows(harness, "SELECT channel, status FROM outbox WHERE id > :n", n=before)
    assert added and all(r["channel"] != "4west-leaders" for r in added)


async def test_rows_leased_by_a_dispatcher_that_died_are_delivered_once_after_the_lease(
    harness: Harness,
) -> None:
    alex = Person("console", "local", "alex", "Alex Kim")
    reply = await harness.core.handle(
        RaiseConcern(
            person=alex,
            where=Address("console", "local", channel="4west"),
            text="Wheelchair brakes fail on the 4 West loaner chairs",
            severity="immediate",
        )
    )
    assert reply.ok
    now = harness.clock.now()
    async with harness.core.uow() as tx:  # a dispatcher leases the rows, then its process dies
        leased = await tx.claim_outbox(
            now=now, lease_until=now + timedelta(seconds=60), platforms=["console"], limit=100
        )
    assert len({row.target for row in leased}) >= 3  # leaders' channel, two leaders' DMs, the reporter

    survivor = Dispatcher(
        uow=harness.core.uow, clock=harness.clock, messengers={"console": harness.messenger}
    )
    report = await survivor.deliver_all()
    assert report.sent == 0 and harness.messenger.messages == {}  # the lease still holds

    harness.clock.advance(timedelta(seconds=61))
    report = await survivor.deliver_all()
    assert report.sent == len(leased)
    assert (await survivor.deliver_all()).sent == 0
    await assert_each_post_delivered_exactly_once(harness)
    assert harness.transcript("@lee").count("Immediate concern: stop the line: C-1001") == 1


async def test_a_card_its_leaders_cannot_get_goes_to_the_safety_officers_at_once(harness: Harness) -> None:
    install(harness, Unreliable(harness.messenger, PermanentDeliveryError, channel="4west-leaders"))
    await harness.run("""
        as alex
        /concern --severity moderate The bed alarm in 14 is switched off at night
    """)
    officer = harness.transcript("@sam")
    assert "Could not reach the leaders of 4 West Med-Surg: please make sure they see this concern" in officer
    assert "The bed alarm in 14 is switched off at night" in officer
    # The reporter was never told it reached the leaders.
    assert "reached" not in harness.transcript("@alex")
    audit = await rows(
        harness, "SELECT actor, action FROM audit_events WHERE action = 'concern.card_undeliverable'"
    )
    assert audit == [{"actor": "system", "action": "concern.card_undeliverable"}]
    await harness.app.dispatcher.deliver_all()
    assert harness.transcript("@sam").count("Could not reach the leaders") == 1  # once, not per pass
