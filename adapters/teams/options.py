"""Whether and how to serve Teams, from the environment (no SDK import: cheap to check at start).

Teams is served when ``MICROSOFT_APP_ID`` (or any ``MICROSOFT_APP_*``) is set, or when
``HUDDLEBOT_TEAMS=1`` asks for it without credentials. With ``HUDDLEBOT_ENV=production`` missing
credentials are fatal; in development the endpoint then runs unauthenticated, and says so loudly.
``HUDDLEBOT_TEAMS_TENANTS`` (comma-separated tenant ids) limits who may talk to the bot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.settings import Settings

APP_TYPES = {
    "multitenant": "MultiTenant",
    "singletenant": "SingleTenant",
    "userassignedmsi": "UserAssignedMSI",
}


class TeamsConfigError(Exception):
    """The Teams settings cannot be used; the message says what to set."""


@dataclass(frozen=True)
class TeamsOptions:
    """The Teams adapter's settings."""

    app_id: str | None
    password: str | None
    app_type: str
    tenant_id: str | None
    production: bool
    allowed_tenants: frozenset[str] = field(default_factory=frozenset)
    interval: float = 0.6
    tenant_rate: float = 25.0

    @property
    def authenticated(self) -> bool:
        """False in development without credentials."""
        return bool(self.app_id)

    @property
    def tenant(self) -> str:
        """The one tenant this process serves, or "" when it may serve several."""
        if self.app_type in ("SingleTenant", "UserAssignedMSI") and self.tenant_id:
            return self.tenant_id
        if len(self.allowed_tenants) == 1:
            return next(iter(self.allowed_tenants))
        return ""

    @classmethod
    def from_env(cls, settings: Settings, environ: Mapping[str, str]) -> TeamsOptions | None:
        """The options, or None when Teams is not asked for; ``TeamsConfigError`` if they are unusable."""
        password = (
            settings.microsoft_app_password.get_secret_value() if settings.microsoft_app_password else None
        )
        wanted = bool(
            settings.microsoft_app_id or password or settings.microsoft_app_tenant_id
        ) or environ.get("HUDDLEBOT_TEAMS", "").strip().lower() in ("1", "true", "yes", "on")
        if not wanted:
            return None
        app_type = APP_TYPES.get(settings.microsoft_app_type.lower(), settings.microsoft_app_type)
        tenants = frozenset(
            t.strip() for t in environ.get("HUDDLEBOT_TEAMS_TENANTS", "").split(",") if t.strip()
        )
        options = cls(
            app_id=(settings.microsoft_app_id or "").strip() or None,
            password=password,
            app_type=app_type,
            tenant_id=(settings.microsoft_app_tenant_id or "").strip() or None,
            production=settings.production,
            allowed_tenants=tenants,
        )
        options.check()
        return options

    def check(self) -> None:
        """Refuse what cannot work: production without credentials, a registration missing a part."""
        missing = []
        if not self.app_id:
            if self.production:
                missing.append("MICROSOFT_APP_ID")
            elif self.password or self.tenant_id:
                missing.append("MICROSOFT_APP_ID (the other MICROSOFT_APP_* settings are set)")
        if self.app_id and self.app_type in ("MultiTenant", "SingleTenant") and not self.password:
            missing.append("MICROSOFT_APP_PASSWORD")
        if self.app_id and self.app_type in ("SingleTenant", "UserAssignedMSI") and not self.tenant_id:
            missing.append(f"MICROSOFT_APP_TENANT_ID (MICROSOFT_APP_TYPE is {self.app_type})")
        if missing:
            raise TeamsConfigError(
                "Microsoft Teams cannot start: set " + ", ".join(missing) + ". "
                "They come from the Azure Bot registration (see the README, 'Microsoft Teams')."
                + (
                    " HUDDLEBOT_ENV=production never runs Teams without authentication."
                    if self.production
                    else ""
                )
            )
