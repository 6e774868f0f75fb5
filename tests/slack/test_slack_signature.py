"""Every request to /slack/events is verified first: missing, malformed, stale or forged → 401, never a 500,
and the body of a refused request is never logged."""

from __future__ import annotations

import json
import logging
import time
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


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"X-Slack-Request-Timestamp": str(int(time.time()))}, id="no-signature"),
        pytest.param(_signed(_command_body(), str(int(time.time()) - 301)), id="stale"),
        pytest.param(_signed(_command_body(), str(int(time.time()) + 400)), id="future"),
        pytest.param(_signed(_command_body(), str(int(time.time())), secret="not-the-secret"), id="forged"),
        pytest.param({"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=00"}, id="ts-words"),
        pytest.param(
            {"X-Slack-Request-Timestamp": "١٧٠٠٠٠٠٠٠٠", "X-Slack-Signature": "v0=00"}, id="ts-arabic"
        ),
        pytest.param({"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=00"}, id="ts-float"),
        pytest.param({"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=00"}, id="ts-huge"),
        pytest.param(
            {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v1=abc"},
            id="sig-shape",
        ),
    ],
)
async def test_unverified_requests_are_refused_with_401_and_not_logged(
    slack_sqlite: SlackHarness, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, text = await _raw(slack_sqlite, _command_body(), headers)
    assert status == 401
    assert json.loads(text) == {"error": "invalid request"}
    assert not slack_sqlite.fake.calls[1:]  # nothing reached Slack (the first call is the start-up auth.test)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused a request" in logged
    assert SECRET_WORDS not in logged and "Bed+12" not in logged and "U0ALEX01" not in logged


async def test_a_tampered_body_is_refused(slack_sqlite: SlackHarness) -> None:
    body = _command_body()
    headers = _signed(body, str(int(time.time())))
    status, _ = await _raw(slack_sqlite, body.replace(b"Bed", b"Bad"), headers)
    assert status == 401


async def test_a_signed_but_broken_payload_is_a_400_not_a_500(slack_sqlite: SlackHarness) -> None:
    body = b"payload=%7Bnot-json"
    status, _ = await _raw(slack_sqlite, body, _signed(body, str(int(time.time()))))
    assert status == 400
    body = b"\xff\xfe\xfa"
    status, _ = await _raw(slack_sqlite, body, _signed(body, str(int(time.time()))))
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
