"""Bad input: each gets a clear message to the person, and nothing in the database changes."""

from __future__ import annotations

import re
import string

import pytest

from bot.commands import RaiseConcern
from bot.model import Address, Person
from tests.conftest import Harness
from tests.sql import row_counts, rows

ALEX = Person("console", "local", "alex", "Alex Kim")
IN_4WEST = Address("console", "local", channel="4west")


async def refused(harness: Harness, script: str) -> str:
    """Run ``script``; assert it was refused and changed no row of any table. Returns what was printed."""
    before = await row_counts(harness)
    out = await harness.run(script)
    assert "✗" in out or "←" in out, out
    assert "✓" not in out, out
    assert await row_counts(harness) == before
    return out


async def raise_one(harness: Harness, script: str = "") -> None:
    await harness.run(script or "as alex\n/concern --severity high Sharps bin in 12 is overfull")


@pytest.mark.parametrize("line", ["/concern", "/concern    ", "/concern --severity high   "])
async def test_an_empty_concern_is_refused(harness: Harness, line: str) -> None:
    out = await refused(harness, line)
    assert "The concern is empty. Please write a few words about it." in out


async def test_a_whitespace_only_concern_is_refused(harness: Harness) -> None:
    before = await row_counts(harness)
    reply = await harness.core.handle(RaiseConcern(person=ALEX, where=IN_4WEST, text=" \t\n \u00a0 \r\n "))
    assert (reply.ok, reply.code) == (False, "empty_text")
    assert await row_counts(harness) == before


async def test_twenty_thousand_characters_are_stored_whole_and_one_more_is_refused(harness: Harness) -> None:
    words = (string.ascii_letters + " ") * 400
    text = ("Start. " + words)[:19_995] + " End."
    assert len(text) == 20_000
    out = await harness.run(f"as alex\n/concern {text}")
    assert "Your concern C-1001 was received" in out
    (stored,) = await rows(harness, "SELECT text FROM concerns")
    assert stored["text"] == text
    assert text in harness.transcript("4west-leaders").replace("\n          > ", "")

    out = await refused(harness, f"/concern {text}x")
    assert "The concern is 20,001 characters long; the limit is 20,000. Nothing was saved." in out


async def test_nul_bytes_and_right_to_left_marks_are_stripped_with_a_note(harness: Harness) -> None:
    out = await harness.run(
        "as alex\n/concern Pump\x00 in room \u202e21\u202c alarmed\u200f twice \u2067and\u2069 stopped"
    )
    assert "(6 invisible control character(s) were removed from the text.)" in out
    (stored,) = await rows(harness, "SELECT text FROM concerns")
    assert stored["text"] == "Pump in room 21 alarmed twice and stopped"
    assert not re.search("[\x00\u200e\u200f\u202a-\u202e\u2066-\u2069]", stored["text"])


async def test_unknown_unit(harness: Harness) -> None:
    out = await refused(harness, "as alex\n/concern --unit 9north Linen cart blocks the fire exit")
    assert "I don't know a unit called '9north'. Units: nursing-safety" in out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("--severity urgent", "'urgent' is not a severity. Choose one of: low, moderate, high, immediate."),
        ("--category fast", "'fast' is not a category. Choose one of: safe, timely, effective, efficient"),
        ("--type spill", "'spill' is not a type. Choose one of: falls, medication, equipment, staffing"),
        ("--colour red", "Unknown option --colour. Options: --anonymous, --confidential"),
    ],
)
async def test_unknown_severity_category_type_or_option(harness: Harness, flags: str, message: str) -> None:
    out = await refused(harness, f"as alex\n/concern {flags} Linen cart blocks the fire exit")
    assert message in out


async def test_only_the_units_leaders_may_acknowledge_resolve_or_set_status(harness: Harness) -> None:
    await raise_one(harness)
    for who in ("alex", "jo", "priya"):  # the reporter, staff, another unit's leader
        for line, doing in [
            ("ack C-1001", "acknowledge C-1001"),
            ("resolve C-1001 Emptied it", "resolve C-1001"),
            ("status C-1001 in_progress", "change the status of C-1001"),
        ]:
            out = await refused(harness, f"as {who}\n{line}")
            assert f"Only the leaders of 4 West Med-Surg can {doing}. Nothing was changed." in out, (
                who,
                line,
            )
    assert "Status: Open: not yet acknowledged" in harness.transcript("4west-leaders")


async def test_unknown_or_malformed_references(harness: Harness) -> None:
    await raise_one(harness)
    for line, message in [
        ("ack C-9999", "I can't find a concern called C-9999. Check the reference and try again."),
        ("ack banana", "'banana' isn't a concern reference; they look like C-1042."),
        ("ack C-1000", "'C-1000' isn't a concern reference"),
        ("resolve C-99999999999999 Done", "isn't a concern reference"),
        ("reply 1042 Hello", "I can't find a concern called 1042."),
        ("status C-1001 finished", "'finished' is not a status you can set (use resolve to close it)."),
        ("ack", "Usage: ack REF [NOTE]"),
    ]:
        out = await refused(harness, f"as dana\n{line}")
        assert message in out, line


async def test_an_already_resolved_concern_cannot_be_acknowledged_resolved_or_moved(harness: Harness) -> None:
    await raise_one(harness)
    await harness.run("as dana\nresolve C-1001 Emptied and a second bin added")
    for line, doing in [
        ("ack C-1001", "acknowledge"),
        ("resolve C-1001 Again", "resolve"),
        ("status C-1001 in_progress", "change the status of"),
    ]:
        out = await refused(harness, f"as lee\n{line}")
        assert f"C-1001 is already resolved (Dana Reyes, Wed 25 Nov 06:50 CST), so I can't {doing} it." in out


async def test_reopening_is_for_the_reporter_only(harness: Harness) -> None:
    await raise_one(harness)
    await harness.run("as dana\nresolve C-1001 Emptied")
    out = await refused(harness, "as jo\nreopen C-1001 Still full")
    assert "Only the person who raised C-1001 can reopen it." in out


async def test_a_wrong_receipt_code_is_refused_and_guessing_is_rate_limited(harness: Harness) -> None:
    out = await harness.run("as alex\n/concern --anonymous Night pharmacist is rude when called")
    code = re.search(r"Your receipt code: (\S+)", out).group(1)  # type: ignore[union-attr]
    wrong = code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB")

    guesses = [wrong, "C-1001-0000-0000-0000-0000", "C-1002-ABCD-EFGH-JKMN-PQRS", "not-a-code", wrong]
    for guess in guesses:
        out = await refused(harness, f"as jo\n/concern follow-up {guess} let me in")
        assert "That receipt code doesn't match any concern." in out

    out = await refused(harness, f"/concern follow-up {code} let me in")  # the right one, sixth try
    assert "Too many receipt codes that didn't match. Please wait 15 min and try again." in out
    assert "Night pharmacist" not in out

    out = await harness.run(f"as alex\n/concern follow-up {code}")  # the reporter is not locked out
    assert "You wrote: Night pharmacist is rude when called" in out


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Wrong dose given to MRN 1234567 on nights", "a medical record number"),
        ("Patient DOB 03/14/1962 had the wrong wristband", "a date of birth"),
        ("Family keeps calling (555) 123-4567 to complain", "a phone number"),
    ],
)
async def test_patient_identifiers_are_flagged_before_anything_is_stored(
    harness: Harness, text: str, kind: str
) -> None:
    out = await refused(harness, f"as alex\n/concern {text}")
    assert f"This looks like it may contain {kind}." in out
    assert "Chat is not the place for patient identifiers" in out
    assert "Nothing was posted." in out

    out = await harness.run(f"/concern --post-anyway {text}")
    assert "You confirmed it is safe to post although it looked like it contained a patient identifier." in (
        out
    )
    (stored,) = await rows(harness, "SELECT text, phi_flagged FROM concerns")
    assert stored["text"] == text and stored["phi_flagged"]
    assert "Note: the reporter confirmed this is safe to post" in harness.transcript("4west-leaders")


@pytest.mark.parametrize(
    "value",
    [
        '{"v":1,"a":"acknowledge","concern":1000000000000000000000000000000}',
        '{"v":1,"a":"acknowledge","concern":true}',
        '{"v":1,"a":"acknowledge","concern":0}',
        '{"v":1,"a":"answer_clear","run":-4}',
        "[" * 5000 + "]" * 5000,
        '{"v":1,"a":"acknowledge","concern":1,"pad":"' + "x" * 3000 + '"}',
    ],
)
def test_a_forged_button_value_is_out_of_date_never_a_crash(value: str) -> None:
    from bot.actions import parse_action
    from bot.errors import Refusal

    with pytest.raises(Refusal) as refused:
        parse_action(value)
    assert refused.value.code == "bad_action"
