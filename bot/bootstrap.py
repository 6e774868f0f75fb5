"""The composition root: the one place that wires storage, messengers, clock and core together.

It (with ``bot.cli``) is the only module of ``bot/`` that imports ``storage`` or ``adapters``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.clock import Clock, SystemClock
from bot.config import OrgConfig, load_config
from bot.core import Core
from bot.dashboard import Dashboard
from bot.outbox import Dispatcher
from bot.ports import Messenger
from bot.sealing import Sealer
from bot.settings import Settings
from bot.sign_in import SignIn
from bot.undeliverable import card_undeliverable
from storage.engine import create_engine, database_url, redacted
from storage.migrate import upgrade_async
from storage.queries import SqlReadSide
from storage.transaction import SqlUnitOfWork

log = logging.getLogger("huddlebot")


@dataclass
class App:
    """A wired huddlebot: the core, its dispatcher, and what must be closed at the end."""

    core: Core
    dispatcher: Dispatcher
    settings: Settings
    engine_url: str
    dashboard: Dashboard
    sign_in: SignIn

    async def close(self) -> None:
        """Release the database connections."""
        await self.core.uow.engine.dispose()  # type: ignore[attr-defined]


def sealer_from(settings: Settings) -> Sealer | None:
    """The sealer for 'notify me', if a key is configured."""
    key = settings.huddlebot_seal_key
    return Sealer(key.get_secret_value()) if key else None


async def build(
    *,
    config: OrgConfig | Path,
    settings: Settings | None = None,
    clock: Clock | None = None,
    tenants: dict[str, str],
    messengers: dict[str, Messenger],
    migrate: bool | None = None,
) -> App:
    """Wire a huddlebot. ``migrate`` defaults to True on SQLite (the embedded default), False otherwise."""
    settings = settings or Settings()
    org = load_config(config) if isinstance(config, Path) else config
    url = database_url(settings.database_url)
    is_sqlite = make_url(url).get_backend_name() == "sqlite"
    if migrate if migrate is not None else is_sqlite:
        await upgrade_async(url)
    engine = create_engine(url)
    uow = SqlUnitOfWork(engine)
    clock = clock or SystemClock()
    sealer = sealer_from(settings)
    core = Core(config=org, uow=uow, clock=clock, tenants=tenants, sealer=sealer)
    if settings.huddlebot_seal_key:
        # Replicas sharing the key give a retried anonymous submission the same receipt code.
        secret = settings.huddlebot_seal_key.get_secret_value().encode()
        core.receipt_key = hashlib.sha256(b"huddlebot receipt codes\0" + secret).digest()
    dispatcher = Dispatcher(uow=uow, clock=clock, messengers=messengers, sealer=sealer, metrics=core.metrics)
    dispatcher.on_dead = partial(card_undeliverable, core)
    core.on_commit.append(dispatcher.kick)
    reads = SqlReadSide(engine)
    dashboard = Dashboard(
        core,
        reads,
        smallest_group=settings.huddlebot_smallest_group,
        snapshot_after=settings.huddlebot_dashboard_snapshot_ms / 1000,
    )
    session_key = settings.huddlebot_session_key
    sign_in = SignIn(
        core,
        reads,
        # Replicas must share the key that signs sessions: set it, or they share one kept in the database.
        key=session_key.get_secret_value().encode() if session_key else None,
        base_url=settings.dashboard_url,
        session_lifetime=timedelta(hours=settings.huddlebot_session_hours),
    )
    log.info("database %s; platforms %s", redacted(url), ", ".join(tenants) or "none")
    return App(
        core=core,
        dispatcher=dispatcher,
        settings=settings,
        engine_url=url,
        dashboard=dashboard,
        sign_in=sign_in,
    )
