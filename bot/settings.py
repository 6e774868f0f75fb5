"""Process settings from the environment: secrets and wiring (the organisation is in the YAML file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config import bundled_example_path


class Settings(BaseSettings):
    """Every environment variable huddlebot reads, with its default."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str | None = None
    huddlebot_env: Literal["development", "production"] = "development"
    huddlebot_config: Path | None = None
    huddlebot_seal_key: SecretStr | None = Field(default=None, description="Fernet key for 'notify me'")
    huddlebot_host: str = "127.0.0.1"
    huddlebot_port: int = 3000
    huddlebot_log_level: str = "INFO"
    # How often each replica looks for due work (the cron jobs make huddles punctual regardless).
    huddlebot_due_every: float = Field(default=15.0, gt=0)
    # /healthz answers 503 when the oldest due outbox row has waited longer than this (seconds).
    huddlebot_health_max_lag: float = Field(default=120.0, gt=0)
    # Drills and multi-process tests only: read "now" from this file instead of the system clock.
    huddlebot_drill_clock_file: str | None = None
    # The dashboard: the address people open it at (sign-in links point there; https in production),
    # the key that signs its sessions (else one is kept in the database), how long a session lasts,
    # and the smallest group any figure may rest on.
    huddlebot_dashboard_url: str | None = None
    # Where patients and families reach the speak-up pages (the poster's QR code); default: the dashboard's.
    huddlebot_public_url: str | None = None
    huddlebot_session_key: SecretStr | None = None
    huddlebot_session_hours: float = Field(default=12.0, gt=0)
    huddlebot_smallest_group: int = Field(default=5, ge=2)
    # The overview's twelve-week figures of a scope that take longer than this to count are kept as a
    # snapshot, counted again every minute in the background (bot/trends.py); the page shows its time.
    huddlebot_dashboard_snapshot_ms: float = Field(default=100.0, ge=0)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Messages a second across the workspace (Slack also limits each channel to about 1 a second).
    slack_workspace_rate: float = Field(default=20.0, gt=0)

    microsoft_app_id: str | None = None
    microsoft_app_password: SecretStr | None = None
    microsoft_app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = "MultiTenant"
    microsoft_app_tenant_id: str | None = None

    @property
    def production(self) -> bool:
        """True when running for real: missing credentials are then fatal."""
        return self.huddlebot_env == "production"

    @property
    def public_url(self) -> str:
        """Where families reach ``/speak-up/<unit>`` (``HUDDLEBOT_PUBLIC_URL``, else the dashboard's)."""
        return (self.huddlebot_public_url or self.dashboard_url).rstrip("/")

    @property
    def dashboard_url(self) -> str:
        """Where the dashboard is reached (``HUDDLEBOT_DASHBOARD_URL``, else this server's address)."""
        return (self.huddlebot_dashboard_url or f"http://{self.huddlebot_host}:{self.huddlebot_port}").rstrip(
            "/"
        )


def config_path(explicit: str | Path | None, settings: Settings) -> Path:
    """``--config``, else ``HUDDLEBOT_CONFIG``, else ``./huddlebot.yaml``, else the bundled example."""
    if explicit:
        return Path(explicit)
    if settings.huddlebot_config:
        return settings.huddlebot_config
    local = Path("huddlebot.yaml")
    return local if local.exists() else bundled_example_path()
