"""Anonymous against IT too. A database reader (every table: concerns, outbox, audit, sealed addresses,
dedupe rows) and the application log cannot place an anonymous concern between one person's named
concerns more precisely than its posting delay; counts change when it is posted, not when it is sent;
and every answer to the same submission — double clicks, platform retries — carries the same receipt
code, which nothing stored turns back into. Both backends."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from bot.commands import RaiseConcern
from bot.model import ANONYMOUS_IDS, Address, Person
from tests.conftest import SEAL_KEY, Harness
from tests.sql import as_text, dump, rows
from tests.steps import receipt_code, receipt_ref

ALEX = Person("console", "local", "alex", "Alex Kim")
IN_4WEST = Address("console", "local", channel="4west")


def _at(value: object) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def test_nothing_stored_or_logged_places_an_anonymous_concern_between_named_ones(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    delay = harness.core.config.escalation.anonymous_delay
    start = harness.clock.now()
    await harness.run("as alex\n/concern --type equipment The hoist in bay 2 jerks when lowering")
    harness.clock.advance(timedelta(seconds=1))
    await harness.run("/concern --type equipment The bladder scanner battery is flat")
    harness.clock.advance(timedelta(seconds=1))
    submitted = harness.clock.now()
    logged_before = len(caplog.records)
    out = await harness.run("/concern --anonymous --notify-me --type staffing We were told to skip breaks")
    logged_during = caplog.records[logged_before:]
    ref = receipt_ref(receipt_code(out))
    harness.clock.advance(timedelta(seconds=1))
    await harness.run("/concern --type equipment The linen cart blocks the fire door")
    harness.clock.advance(timedelta(seconds=1))
    await harness.run("/concern --type equipment Suction at bed 9 is weak")

    # The log says nothing at all while the anonymous concern is sent.
    assert [r.getMessage() for r in logged_during if r.name.startswith("huddlebot")] == []
    # Until it is posted, it has no outbox or audit row, and no count includes it.
    waiting = await rows(harness, "SELECT * FROM concerns WHERE anonymity = 'anonymous'")
    assert [w["status"] for w in waiting] == ["waiting"]
    anon_id = waiting[0]["id"]
    assert await rows(harness, "SELECT id FROM outbox WHERE concern_id = :c", c=anon_id) == []
    assert await rows(harness, "SELECT id FROM audit_events WHERE concern_id = :c", c=anon_id) == []
    status = await harness.run("as dana\n/huddle status")
    assert "Open concerns: 4 (4 not yet acknowledged)" in status

    harness.clock.advance(delay.max)  # its posting time comes
    await harness.run("tick 1m")
    assert f"[{ref}]" in harness.transcript("4west-leaders")
    assert "Open concerns: 5 (5 not yet acknowledged)" in await harness.run("/huddle status")

    dumped = await dump(harness)
    named = sorted(c["id"] for c in dumped["concerns"] if c["anonymity"] == "named")
    # Its id is drawn from a range of its own, at random: it is not between the named ones.
    assert named == list(range(named[0], named[0] + 4)) and anon_id in ANONYMOUS_IDS
    # Every time stored about it is its posting time or later: after all four named concerns, which
    # were raised within 4 s around it. The reader learns only that it was sent in the delay window.
    earliest = submitted + delay.min
    (anon,) = [c for c in dumped["concerns"] if c["id"] == anon_id]
    assert _at(anon["created_at"]) >= earliest and _at(anon["updated_at"]) >= earliest
    its_outbox = [o for o in dumped["outbox"] if o["concern_id"] == anon_id]
    its_audit = [a for a in dumped["audit_events"] if a["concern_id"] == anon_id]
    assert its_outbox and its_audit
    assert all(_at(o["created_at"]) >= earliest and _at(o["due_at"]) >= earliest for o in its_outbox)
    assert all(_at(a["at"]) >= earliest for a in its_audit)
    # Its rows were written after everything about the named concerns: ids say "posted later", nothing more.
    named_outbox = [o["id"] for o in dumped["outbox"] if o["concern_id"] in named]
    named_audit = [a["id"] for a in dumped["audit_events"] if a["concern_id"] in named]
    assert min(o["id"] for o in its_outbox) > max(named_outbox)
    assert min(a["id"] for a in its_audit) > max(named_audit)
    # The sealed address's token carries a time in the clear (Fernet): the posting time, too.
    (sealed,) = dumped["sealed_addresses"]
    sealed_at = datetime.fromtimestamp(Fernet(SEAL_KEY).extract_timestamp(sealed["token"]), UTC)
    assert sealed_at >= earliest.replace(microsecond=0)
    assert dumped["processed_events"] == []
    # The named concerns' own times stay exact, between start and start + 4 s.
    assert all(
        start <= _at(c["created_at"]) <= start + timedelta(seconds=4)
        for c in dumped["concerns"]
        if c["id"] in named
    )
    assert anon["idempotency_key"] is None


async def test_every_answer_to_one_submission_shows_the_same_receipt_code(harness: Harness) -> None:
    command = RaiseConcern(
        person=ALEX,
        where=IN_4WEST,
        text="The agency nurse was left alone with six patients",
        anonymity="anonymous",
        idempotency_key="slack:view:6f1c2a9e",
    )
    replies = await asyncio.gather(*(harness.core.handle(command) for _ in range(20)))
    codes = {reply.receipt_code for reply in replies}
    assert len(codes) == 1 and None not in codes, [r.text for r in replies]
    (code,) = codes
    assert all(code in reply.text for reply in replies)  # every answer shows it, not "shown before"
    assert len(await rows(harness, "SELECT id FROM concerns")) == 1
    # Stored only as a slow hash: no form of the code is in the database.
    everything = as_text(await dump(harness))
    secret = code.split("-", 2)[2]
    for form in (code, secret, secret.replace("-", "")):
        assert form not in everything
    # And it works: the reporter can follow up with the code every answer showed.
    out = await harness.run(f"as alex\n/concern follow-up {code}")
    assert "You wrote: The agency nurse was left alone" in out


async def test_an_immediate_anonymous_concern_says_its_timing_is_not_hidden(harness: Harness) -> None:
    out = await harness.run(
        "as alex\n/concern --anonymous --severity immediate Oxygen off on bed 4, nobody here"
    )
    assert "Because it is immediate, it went to the leaders at once: its timing is not hidden." in out
    assert f"[{receipt_ref(receipt_code(out))}]" in harness.transcript("4west-leaders")
