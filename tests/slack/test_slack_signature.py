"""Every request to /slack/events is verified first: missing, malformed, stale or forged → 401, never a 500,
and the body of a refused request is never logged."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from adapters.slack.signature import SignatureCheck
from tests.slack.harness import SECRET, SlackHarness, payload

SECRET_WORDS = "Bed 12 alarm ignored"


def _command_body() -> bytes:
    form = payload("slash_command.txt")
    form.update(command="/concern", text=SECRET_WORDS, user_id="U0ALEX01", channel_id="C04WEST01")
    return urlencode(form).encode()


async def _raw(slack: SlackHarness, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    response = await slack.client.post(
        "/slack/events", data=body, headers={"Content-Type": "application/x-www-form-urlencoded", **headers}
    )
    return response.status, await response.text()


def _signed(body: bytes, ts: str, secret: str = SECRET) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": SignatureCheck(secret).sign(body, ts)}


def _now(offset: int = 0) -> str:
    """A request timestamp, computed when the test runs (never when the file is imported)."""
    return str(int(time.time()) + offset)


# Each case: the headers, built when the test runs, and the one reason the log must give for refusing them.
REFUSALS: dict[str, tuple[Callable[[], dict[str, str]], str]] = {
    "missing": (lambda: {}, "missing signature headers"),
    "no-signature": (lambda: {"X-Slack-Request-Timestamp": _now()}, "missing signature headers"),
    "no-timestamp": (
        lambda: {"X-Slack-Signature": _signed(_command_body(), _now())["X-Slack-Signature"]},
        "missing signature headers",
    ),
    "stale": (lambda: _signed(_command_body(), _now(-301)), "stale timestamp"),
    "future": (lambda: _signed(_command_body(), _now(+400)), "stale timestamp"),
    "forged": (lambda: _signed(_command_body(), _now(), secret="not-the-secret"), "signature does not match"),
    "ts-words": (
        lambda: {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=00"},
        "malformed timestamp",
    ),
    "ts-arabic": (
        lambda: {"X-Slack-Request-Timestamp": "١٧٠٠٠٠٠٠٠٠", "X-Slack-Signature": "v0=00"},
        "malformed timestamp",
    ),
    "ts-float": (
        lambda: {"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=00"},
        "malformed timestamp",
    ),
    "ts-huge": (
        lambda: {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=00"},
        "malformed timestamp",
    ),
    "sig-shape": (
        lambda: {"X-Slack-Request-Timestamp": _now(), "X-Slack-Signature": "v1=abc"},
        "malformed signature",
    ),
}


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The reasons the endpoint logged for refusing requests."""
    prefix = "slack: refused a request to /slack/events: "
    return [r.getMessage()[len(prefix) :] for r in caplog.records if r.getMessage().startswith(prefix)]


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_unverified_requests_are_refused_with_401_for_their_own_reason_and_not_logged(
    slack_sqlite: SlackHarness, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_headers, reason = REFUSALS[case]
    caplog.set_level(logging.DEBUG)
    status, text = await _raw(slack_sqlite, _command_body(), make_headers())
    assert status == 401
    assert json.loads(text) == {"error": "invalid request"}
    assert not slack_sqlite.fake.calls[1:]  # nothing reached Slack (the first call is the start-up auth.test)
    assert _refusals(caplog) == [reason]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET_WORDS not in logged and "Bed+12" not in logged and "U0ALEX01" not in logged


async def test_a_tampered_body_is_refused_as_not_matching(
    slack_sqlite: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = _command_body()
    headers = _signed(body, _now())
    status, _ = await _raw(slack_sqlite, body.replace(b"Bed", b"Bad"), headers)
    assert status == 401
    assert _refusals(caplog) == ["signature does not match"]


async def test_a_request_signed_just_inside_the_window_is_accepted(
    slack_sqlite: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = json.dumps(payload("url_verification.json")).encode()
    for offset in (-290, +290):  # 10 s to spare for a slow machine, both ways
        headers = {"Content-Type": "application/json", **_signed(body, _now(offset))}
        response = await slack_sqlite.client.post("/slack/events", data=body, headers=headers)
        assert response.status == 200, offset
    assert _refusals(caplog) == []


@pytest.mark.parametrize(
    ("age", "reason"),
    [(0, None), (300, None), (-300, None), (301, "stale timestamp"), (-301, "stale timestamp")],
)
def test_the_five_minute_window_is_inclusive_both_ways(age: int, reason: str | None) -> None:
    now = 1_800_000_000
    check = SignatureCheck(SECRET, clock=lambda: now)
    body = _command_body()
    assert check.problem(body, _signed(body, str(now - age))) == reason


async def test_a_signed_but_broken_payload_is_a_400_not_a_500(slack_sqlite: SlackHarness) -> None:
    body = b"payload=%7Bnot-json"
    status, _ = await _raw(slack_sqlite, body, _signed(body, _now()))
    assert status == 400
    body = b"\xff\xfe\xfa"
    status, _ = await _raw(slack_sqlite, body, _signed(body, _now()))
    assert status == 400


async def test_url_verification_answers_the_challenge(slack_sqlite: SlackHarness) -> None:
    status, body = await slack_sqlite.post(
        json.dumps(payload("url_verification.json")).encode(), "application/json"
    )
    assert status == 200
    assert body == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_signature_of_slacks_own_documented_example() -> None:
    # From Slack's "Verifying requests from Slack" page: the documented secret, timestamp, body and signature.
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    check = SignatureCheck(secret, clock=lambda: 1531420618)
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert check.sign(body, "1531420618") == expected
    assert (
        check.problem(body, {"X-Slack-Request-Timestamp": "1531420618", "X-Slack-Signature": expected})
        is None
    )
