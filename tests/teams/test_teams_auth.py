"""Authentication of POST /api/messages with a locally generated RSA key and a stubbed OpenID metadata
document (served by the fake connector): every bad token is a 401, never a 500, and nothing is stored."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.config import OrgConfig
from storage.tables import metadata
from tests.teams.conftest import (
    APP_ID,
    STAFF,
    UNIT_CHANNELS,
    TeamsHarness,
    close_harness,
    dev_options,
    fixture,
    make_teams_harness,
)
from tests.teams.fake_connector import TOKEN, FakeConnector

SDK_CONSTANTS = "botframework.connector.auth.AuthenticationConstants"
ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    data = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "use": "sig", "endorsements": ["msteams"]}


class Tokens:
    """Outbound tokens for the connector (no Microsoft Entra call in tests): the one the fake takes."""

    async def token(self) -> str:
        return TOKEN

    def invalidate(self) -> None:
        pass


KEY = new_key()


def token(service_url: str, *, key: rsa.RSAPrivateKey = KEY, kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": APP_ID,
        "exp": now + 3600,
        "nbf": now - 60,
        "iat": now - 60,
        "serviceurl": service_url,
    }
    payload.update(claims)
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def secured(
    db_url: str, example_config: OrgConfig, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TeamsHarness]:
    """huddlebot with credentials, whose token keys come from a stub served on loopback."""
    keys = FakeConnector()
    keys.jwks = {"keys": [jwk(KEY, "k1")]}
    await keys.start()
    monkeypatch.setattr(
        f"{SDK_CONSTANTS}.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL", keys.metadata_url("channel")
    )
    monkeypatch.setattr(
        f"{SDK_CONSTANTS}.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL", keys.metadata_url("emulator")
    )
    blocking: list[str] = []
    monkeypatch.setattr("requests.get", lambda url, *a, **k: blocking.append(url))  # the SDK's own refresh
    options = dev_options(app_id=APP_ID, password="not-used-in-tests", allowed_tenants=frozenset())
    h = await make_teams_harness(db_url, example_config, options=options, token_source=Tokens())
    h.keys = keys  # type: ignore[attr-defined]
    yield h
    assert blocking == [], "the SDK fetched keys with blocking I/O on the event loop"
    await close_harness(h)
    await keys.close()


async def everything(h: TeamsHarness) -> dict[str, list]:
    out = {}
    async with h.core.uow.engine.connect() as conn:  # type: ignore[attr-defined]
        for table in metadata.sorted_tables:
            out[table.name] = list(await conn.execute(sa.select(table)))
    return out


def install(h: TeamsHarness) -> dict[str, Any]:
    return h.prepare(fixture("conversation_update_bot_added_to_team"))


async def test_a_valid_token_is_accepted_and_outbound_calls_carry_the_bot_token(
    secured: TeamsHarness,
) -> None:
    activity = install(secured)
    status, _ = await secured.post(
        activity, headers={"Authorization": f"Bearer {token(activity['serviceUrl'])}"}
    )
    assert status == 200
    assert secured.fake.calls and all(
        c.authorization == f"Bearer {TOKEN}" and c.accepted for c in secured.fake.calls
    )


def bad_tokens(service_url: str) -> dict[str, str | None]:
    now = int(time.time())
    return {
        "no header": None,
        "not bearer": f"Basic {token(service_url)}",
        "garbage": "Bearer not.a.jwt",
        "wrong audience": f"Bearer {token(service_url, aud='11111111-2222-3333-4444-555555555555')}",
        "wrong issuer": f"Bearer {token(service_url, iss='https://evil.example')}",
        "expired": f"Bearer {token(service_url, exp=now - 3600, nbf=now - 7200, iat=now - 7200)}",
        "unknown kid": f"Bearer {token(service_url, kid='nobody-knows-me')}",
        "signed by another key": f"Bearer {token(service_url, key=new_key())}",
        "alg none": "Bearer "
        + jwt.encode(
            {"iss": ISSUER, "aud": APP_ID, "exp": now + 3600, "serviceurl": service_url},
            None,
            algorithm="none",
            headers={"kid": "k1"},
        ),
        "another service url": f"Bearer {token('https://evil.example/')}",
    }


async def test_every_bad_token_is_401_and_stores_nothing(secured: TeamsHarness) -> None:
    activity = install(secured)
    for case, header in bad_tokens(activity["serviceUrl"]).items():
        headers = {"Authorization": header} if header else {}
        status, body = await secured.post(activity, headers=headers)
        assert status == 401, case
        assert body == {"error": "unauthorized"}, case
    assert secured.fake.calls == []
    assert all(rows == [] for rows in (await everything(secured)).values())


async def test_an_invoke_with_a_bad_token_is_401_too(secured: TeamsHarness) -> None:
    invoke = secured.invoke(
        "composeExtension/submitAction",
        {"commandId": "raiseConcern", "data": {"huddlebot_form": "concern", "text": "x", "unit": "4west"}},
        user=STAFF,
        channel=UNIT_CHANNELS["4west"],
    )
    expired = token(invoke["serviceUrl"], exp=int(time.time()) - 3600)
    status, _ = await secured.post(invoke, headers={"Authorization": f"Bearer {expired}"})
    assert status == 401


async def test_a_rotated_key_is_fetched_once_and_unknown_keys_do_not_hammer_the_metadata(
    secured: TeamsHarness,
) -> None:
    keys: FakeConnector = secured.keys  # type: ignore[attr-defined]
    fetched = keys.metadata_fetches
    rotated = new_key()
    keys.jwks["keys"].append(jwk(rotated, "k2"))
    activity = install(secured)
    status, _ = await secured.post(
        activity, headers={"Authorization": f"Bearer {token(activity['serviceUrl'], key=rotated, kid='k2')}"}
    )
    assert status == 200
    assert keys.metadata_fetches > fetched
    fetched = keys.metadata_fetches
    for _ in range(3):
        status, _ = await secured.post(
            activity, headers={"Authorization": f"Bearer {token(activity['serviceUrl'], kid='k9')}"}
        )
        assert status == 401
    assert keys.metadata_fetches == fetched  # at most one look per five minutes


async def test_an_allowlisted_bot_refuses_other_tenants_with_403(
    db_url: str, example_config: OrgConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = FakeConnector()
    keys.jwks = {"keys": [jwk(KEY, "k1")]}
    await keys.start()
    monkeypatch.setattr(
        f"{SDK_CONSTANTS}.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL", keys.metadata_url("channel")
    )
    monkeypatch.setattr(
        f"{SDK_CONSTANTS}.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL", keys.metadata_url("emulator")
    )
    options = dev_options(app_id=APP_ID, password="x", allowed_tenants=frozenset({"only-this-tenant"}))
    h = await make_teams_harness(db_url, example_config, options=options, token_source=Tokens())
    try:
        activity = install(h)
        status, _ = await h.post(
            activity, headers={"Authorization": f"Bearer {token(activity['serviceUrl'])}"}
        )
        assert status == 403
        assert all(rows == [] for rows in (await everything(h)).values())
        assert h.fake.calls == []
    finally:
        await close_harness(h)
        await keys.close()
