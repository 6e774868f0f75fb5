"""When Teams is served, and that production never runs it without authentication."""

from __future__ import annotations

import pytest

from adapters.teams.options import TeamsConfigError, TeamsOptions
from bot.cli import SetupError, _platforms
from bot.settings import Settings

APP = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_not_served_unless_asked() -> None:
    assert TeamsOptions.from_env(settings(), {}) is None
    assert TeamsOptions.from_env(settings(huddlebot_env="production"), {}) is None


def test_development_without_credentials_runs_unauthenticated() -> None:
    options = TeamsOptions.from_env(settings(), {"HUDDLEBOT_TEAMS": "1"})
    assert options is not None and not options.authenticated and options.tenant == ""


@pytest.mark.parametrize(
    "values,missing",
    [
        ({}, "MICROSOFT_APP_ID"),
        ({"microsoft_app_id": APP}, "MICROSOFT_APP_PASSWORD"),
        (
            {"microsoft_app_id": APP, "microsoft_app_password": "s", "microsoft_app_type": "SingleTenant"},
            "MICROSOFT_APP_TENANT_ID",
        ),
        ({"microsoft_app_id": APP, "microsoft_app_type": "UserAssignedMSI"}, "MICROSOFT_APP_TENANT_ID"),
    ],
)
def test_production_refuses_to_start_without_credentials(values: dict, missing: str) -> None:
    with pytest.raises(TeamsConfigError, match=missing):
        TeamsOptions.from_env(settings(huddlebot_env="production", **values), {"HUDDLEBOT_TEAMS": "1"})


async def test_serve_exits_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUDDLEBOT_TEAMS", "1")
    # ``serve`` turns a SetupError into one line and exit status 2.
    with pytest.raises(SetupError, match="Microsoft Teams cannot start: set MICROSOFT_APP_ID"):
        await _platforms(settings(huddlebot_env="production"))


def test_single_tenant_and_allowlist() -> None:
    single = TeamsOptions.from_env(
        settings(
            microsoft_app_id=APP,
            microsoft_app_password="s",
            microsoft_app_type="SingleTenant",
            microsoft_app_tenant_id="t-1",
        ),
        {},
    )
    assert single is not None and single.tenant == "t-1" and single.authenticated
    listed = TeamsOptions.from_env(
        settings(microsoft_app_id=APP, microsoft_app_password="s"),
        {"HUDDLEBOT_TEAMS_TENANTS": " t-2 , t-3 ,"},
    )
    assert listed is not None and listed.allowed_tenants == {"t-2", "t-3"} and listed.tenant == ""


async def test_serve_wires_teams_with_its_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUDDLEBOT_TEAMS", "1")
    (platform,) = [p for p in await _platforms(settings()) if p.name == "teams"]
    assert platform.messenger.platform == "teams"
    await platform.close()
