"""Small rules a person notices: you can't give yourself a good catch; a colleague the directory doesn't
know is never shown as a platform id; the digest's deadline figure counts only concerns it can judge."""

from __future__ import annotations

from datetime import timedelta

from bot import digest
from bot.commands import GiveGoodCatch
from bot.model import Address, Person
from tests.conftest import Harness
from tests.sql import row_counts

ALEX = Person("console", "local", "alex", "Alex Kim")
IN_4WEST = Address("console", "local", channel="4west")


async def test_nobody_can_give_themselves_a_good_catch(harness: Harness) -> None:
    before = await row_counts(harness)
    out = await harness.run("as alex\n/goodcatch @alex Caught my own wrong label")
    assert "you can't give one to yourself" in out
    reply = await harness.core.handle(
        GiveGoodCatch(person=ALEX, where=IN_4WEST, recipient="Alex", text="x", recipient_id="alex")
    )
    assert not reply.ok and reply.code == "self_recognition"
    assert await row_counts(harness) == before


async def test_a_colleague_the_directory_does_not_know_is_named_not_numbered(harness: Harness) -> None:
    unknown = GiveGoodCatch(
        person=ALEX,
        where=IN_4WEST,
        recipient="U0NOBODY1",
        recipient_id="U0NOBODY1",
        text="Spotted a bad seal",
    )
    reply = await harness.core.handle(unknown)
    assert reply.ok and "Thank you for recognising a member of staff." in reply.text
    named = GiveGoodCatch(
        person=ALEX,
        where=IN_4WEST,
        recipient="U0NOBODY2",
        recipient_id="U0NOBODY2",
        recipient_name="Jamie Lee",
        text="Double-checked a heparin rate",
    )
    assert "Thank you for recognising Jamie Lee." in (await harness.core.handle(named)).text
    await harness.app.dispatcher.deliver_all()
    channel = harness.transcript("4west")
    assert "U0NOBODY" not in channel
    assert "a member of staff" in channel and "Jamie Lee" in channel


async def test_the_digest_counts_deadlines_only_once_they_have_passed_or_were_met(harness: Harness) -> None:
    await harness.run("""
        as alex
        /concern --severity high The hoist battery in bay 3 is dead again
        /concern --severity high Two patients with the same surname in room 8 and 9
        /concern --severity low The family room kettle is broken
        as dana
        ack C-1001 Ordered a spare battery
    """)
    unit = harness.core.config.unit("4west")
    assert unit is not None
    start, end = harness.clock.now() - timedelta(hours=1), harness.clock.now() + timedelta(minutes=1)
    async with harness.core.uow() as tx:
        notice = await digest.build(harness.core, tx, unit, start=start, end=end)
    # Only C-1001 can be judged: the other two are still within their deadlines.
    assert "Acknowledged within their deadline: 1 of 1 (100%)" in notice.text
    async with harness.core.uow() as tx:
        later = await digest.build(harness.core, tx, unit, start=start, end=end + timedelta(days=8))
    assert "Acknowledged within their deadline: 1 of 3 (33%)" in later.text
