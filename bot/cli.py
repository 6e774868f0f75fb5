"""The ``huddlebot`` command: console, serve, migrate, check-config, outbox, seal-key, teams-package...

... and dashboard-link (a sign-in link for an administrator).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import Clock, FileClock
from bot.config import ConfigError, bundled_example_path, load_config
from bot.platform import Platform
from bot.settings import Settings, config_path

log = logging.getLogger("huddlebot")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        help="organisation file (default ./huddlebot.yaml, else the bundled example)",
    )
    parser = argparse.ArgumentParser(
        prog="huddlebot", parents=[common], description="Daily safety huddles and speaking-up, in chat."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    console = sub.add_parser("console", parents=[common], help="try every flow in a terminal")
    console.add_argument(
        "--now", metavar="ISO-8601-INSTANT", help="start the clock here, e.g. 2026-03-08T01:30-06:00"
    )
    console.add_argument(
        "--script", metavar="FILE", help="run the commands in FILE instead of reading the terminal"
    )
    serve = sub.add_parser("serve", parents=[common], help="run the web server and scheduled jobs")
    serve.add_argument("--host", help="address to listen on (default HUDDLEBOT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default HUDDLEBOT_PORT or 3000)")
    sub.add_parser("migrate", parents=[common], help="create or upgrade the database schema")
    check = sub.add_parser("check-config", parents=[common], help="validate an organisation file")
    check.add_argument("file", nargs="?", help="the file to check (default: --config)")
    outbox = sub.add_parser("outbox", parents=[common], help="list dead-lettered deliveries")
    outbox.add_argument("--pending", action="store_true", help="list rows still waiting instead")
    sub.add_parser("seal-key", parents=[common], help="print a new HUDDLEBOT_SEAL_KEY for 'notify me'")
    poster = sub.add_parser(
        "poster", parents=[common], help="write a unit's printable family poster (PDF with its QR code)"
    )
    poster.add_argument("unit", help="the unit's id; its family_page must be on")
    poster.add_argument("--lang", choices=["en", "es"], default="en", help="the poster's language")
    poster.add_argument("--paper", choices=["a4", "letter"], default="a4")
    poster.add_argument("--out", metavar="FILE", help="where to write it (default poster-UNIT-LANG.pdf)")
    link = sub.add_parser(
        "dashboard-link",
        parents=[common],
        help="print a private sign-in link to the dashboard for a person in the directory (audited)",
    )
    link.add_argument("handle", help="the person's handle in the organisation file, e.g. sam")
    package = sub.add_parser(
        "teams-package", parents=[common], help="build the Microsoft Teams app package (zip) to upload"
    )
    package.add_argument("--app-id", required=True, help="the Azure Bot's Microsoft App ID (a GUID)")
    package.add_argument("--out", metavar="FILE", help="where to write it (default huddlebot-teams.zip)")
    package.add_argument("--version", default="1.0.0", help="app version; raise it for every upload")
    package.add_argument("--developer", help="your organisation's name, as Teams shows it (32 characters)")
    package.add_argument("--website", help="https:// page about huddlebot at your organisation")
    package.add_argument("--privacy-url", help="https:// privacy statement")
    package.add_argument("--terms-url", help="https:// terms of use")
    return parser


class SetupError(SystemExit):
    """Something the operator must set or fix before this command can run: one line, exit 2.

    A ``SystemExit``, so that nothing on the way out mistakes it for a fault to retry or log.
    """


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``huddlebot`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except SetupError as error:
        print(f"huddlebot: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    quiet = args.command in (
        "console",
        "check-config",
        "seal-key",
        "outbox",
        "teams-package",
        "dashboard-link",
    )
    logging.basicConfig(
        level=logging.WARNING if quiet else settings.huddlebot_log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("aiosqlite", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "check-config":
        return _check_config(Path(args.file) if args.file else config_path(args.config, settings))
    if args.command == "teams-package":
        from adapters.teams.package import run as teams_package

        return teams_package(
            app_id=args.app_id,
            out=args.out,
            version=args.version,
            developer=args.developer,
            website=args.website,
            privacy_url=args.privacy_url,
            terms_url=args.terms_url,
        )
    if args.command == "poster":
        return _poster(
            config_path(args.config, settings), settings, args.unit, args.lang, args.paper, args.out
        )
    if args.command == "seal-key":
        from bot.sealing import Sealer

        print(Sealer.new_key())
        return 0
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    path = config_path(args.config, settings)
    if args.command == "serve" and settings.production and path == bundled_example_path():
        raise SetupError(
            "in production, name your organisation file: set HUDDLEBOT_CONFIG=/path/to/huddlebot.yaml "
            "(or --config). The bundled Example Health file is only for trying huddlebot out."
        )
    try:
        load_config(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if not settings.production:
        example = " (the bundled example organisation)" if path == bundled_example_path() else ""
        log.info("organisation file: %s%s", path, example)
    if args.command == "console":
        return asyncio.run(_console(path, settings, args.now, args.script))
    if args.command == "serve":
        return asyncio.run(_serve(path, settings, args.host, args.port))
    if args.command == "outbox":
        return asyncio.run(_outbox(path, settings, args.pending))
    if args.command == "dashboard-link":
        return asyncio.run(_dashboard_link(path, settings, args.handle))
    return 2


def _poster(path: Path, settings: Settings, unit_id: str, lang: str, paper: str, out: str | None) -> int:
    from adapters.web.poster import page_url, poster_pdf

    try:
        config = load_config(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    unit = config.find_unit(unit_id)
    if unit is None:
        raise SetupError(f"there is no unit '{unit_id[:40]}' in {path}: `huddlebot check-config` lists them.")
    if not unit.family_page:
        raise SetupError(f"{unit.name} has no family page: set `family_page: true` on it in {path} first.")
    url = page_url(settings.public_url, unit)
    target = Path(out or f"poster-{unit.id}-{lang}.pdf")
    target.write_bytes(
        poster_pdf(unit, url=url, urgent_help=config.organization.urgent_help[lang], lang=lang, paper=paper)
    )
    print(f"Wrote {target} ({paper.upper()}, {lang}): its QR code opens {url}")
    if not settings.huddlebot_public_url:
        print(
            "Set HUDDLEBOT_PUBLIC_URL to the address families can reach before you print it.", file=sys.stderr
        )
    return 0


def _check_config(path: Path) -> int:
    try:
        config = load_config(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"{path}: OK ({len(config.units)} units, {len(config.people)} people).")
    return 0


async def _console(path: Path, settings: Settings, now: str | None, script: str | None) -> int:
    from adapters.console.messenger import ConsoleMessenger
    from adapters.console.session import ConsoleSession
    from bot.bootstrap import build
    from bot.clock import ManualClock, SystemClock

    start = SystemClock().now()
    if now:
        try:
            start = datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            start = None  # type: ignore[assignment]
        if start is None or start.tzinfo is None:
            print(
                "--now needs an instant with its offset, e.g. 2026-03-08T01:30:00-06:00 or 2026-03-08T07:30Z",
                file=sys.stderr,
            )
            return 2
    await _check_database(settings)
    clock = ManualClock(start)
    messenger = ConsoleMessenger()
    app = await build(
        config=path,
        settings=settings,
        clock=clock,
        tenants={"console": "local"},
        messengers={"console": messenger},
    )
    session = ConsoleSession(app, messenger, clock)
    try:
        await session.resume(keep_time=not now)
        if script:
            lines = await asyncio.to_thread(lambda: Path(script).read_text(encoding="utf-8").splitlines())
            await session.run(lines, echo=True)
        elif sys.stdin.isatty():
            await session.interact()
        else:
            await session.run(sys.stdin.read().splitlines(), echo=True)
    finally:
        await app.close()
    return 0


def _unreachable(url: str, error: BaseException) -> SetupError:
    from storage.engine import redacted

    cause = getattr(error, "orig", None) or error
    first = str(cause).strip().splitlines()[0][:160] if str(cause).strip() else ""
    detail = f"{type(cause).__name__}: {first}" if first else type(cause).__name__
    return SetupError(
        f"cannot reach the database at {redacted(url)} ({detail}). Is it running, and is DATABASE_URL right?"
    )


async def _revision(url: str) -> str | None:
    """The database's migration, or a ``SetupError`` saying it cannot be reached."""
    from storage.migrate import current_revision

    try:
        return await current_revision(url)
    except Exception as error:
        raise _unreachable(url, error) from None


async def _require_migrated(url: str) -> None:
    """Refuse, in one line, a database that is unreachable or not at this version's migration."""
    from storage.engine import redacted
    from storage.migrate import head_revision

    current, head = await _revision(url), head_revision()
    if current != head:
        at = f"at migration {current}" if current else "empty"
        raise SetupError(
            f"the database at {redacted(url)} is {at}; this version needs {head}: "
            "run `huddlebot migrate` first."
        )


async def _migrate(settings: Settings) -> int:
    from storage.engine import database_url, redacted
    from storage.migrate import head_revision, upgrade_async

    url = database_url(settings.database_url)
    before = await _revision(url)
    try:
        await upgrade_async(url)
    except Exception as error:
        raise _unreachable(url, error) from None
    head = head_revision()
    if before == head:
        print(f"Database {redacted(url)} is up to date (migration {head}).")
    else:
        print(
            f"Database {redacted(url)} migrated from {before or 'an empty database'} to {head}: up to date."
        )
    return 0


async def _serve(path: Path, settings: Settings, host: str | None, port: int | None) -> int:
    from aiohttp import web
    from sqlalchemy.engine import make_url

    from adapters.http.app import SCHEDULER_KEY, make_web_app
    from bot.bootstrap import build
    from bot.jobs import Jobs
    from storage.engine import database_url
    from storage.single_process import AlreadyServing, hold_serving_lock

    url = database_url(settings.database_url)
    if make_url(url).get_backend_name() != "sqlite":
        await _require_migrated(url)
    try:
        serving_lock = hold_serving_lock(url)
    except AlreadyServing as error:
        print(f"Refusing to start: {error}", file=sys.stderr)
        return 2
    platforms = await _platforms(settings)
    app = await build(
        config=path,
        settings=settings,
        tenants={p.name: p.tenant for p in platforms},
        messengers={p.name: p.messenger for p in platforms},
        clock=_drill_clock(settings),
    )
    jobs = Jobs(
        app.core,
        app.dispatcher,
        config_path=path,
        safety_net=timedelta(seconds=settings.huddlebot_due_every),
        trends=app.dashboard.trends,
    )
    jobs.start()
    web_app = make_web_app(app)
    web_app[SCHEDULER_KEY] = jobs
    for platform in platforms:
        platform.install(web_app, app)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    host, port = host or settings.huddlebot_host, port or settings.huddlebot_port
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await jobs.shutdown()
        await runner.cleanup()
        for platform in platforms:
            await platform.close()
        await app.close()
        raise SetupError(
            f"cannot listen on {host}:{port} ({error.strerror or type(error).__name__}): "
            "is another server using the port? Set HUDDLEBOT_PORT (or --port)."
        ) from None
    log.info("huddlebot listening on http://%s:%s (healthz at /healthz)", host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("shutting down")
    await jobs.shutdown()
    await runner.cleanup()
    for platform in platforms:
        await platform.close()
    await app.close()
    if serving_lock is not None:
        serving_lock.close()
    return 0


def _drill_clock(settings: Settings) -> Clock | None:
    """The shared drill clock, if one is configured (never in production)."""
    if not settings.huddlebot_drill_clock_file:
        return None
    if settings.production:
        raise SetupError("HUDDLEBOT_DRILL_CLOCK_FILE is for drills and tests, not production: unset it.")
    log.warning("DRILL: time is read from %s, not the system clock", settings.huddlebot_drill_clock_file)
    return FileClock(settings.huddlebot_drill_clock_file)


async def _platforms(settings: Settings) -> list[Platform]:
    """The chat platforms this process serves, from the environment.

    In production a half-configured platform, or none at all, is a ``SetupError``; in development
    the console and ``/healthz`` are enough, and a half-configured platform is a warning.
    """
    platforms: list[Platform] = []
    token = settings.slack_bot_token
    transport = settings.slack_signing_secret or settings.slack_app_token
    half = None
    if token and not transport:
        half = (
            "SLACK_BOT_TOKEN is set, but Slack also needs SLACK_SIGNING_SECRET (HTTP) "
            "or SLACK_APP_TOKEN (Socket Mode)"
        )
    elif transport and not token:
        half = (
            "SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set, but Slack also needs SLACK_BOT_TOKEN (xoxb-...)"
        )
    if half and settings.production:
        raise SetupError(half + ".")
    if half:
        log.warning("%s: Slack is off.", half)
    if token and transport:
        from adapters.slack.platform import SlackSetupError
        from adapters.slack.platform import connect as connect_slack

        try:
            platforms.append(await connect_slack(settings))
        except SlackSetupError as error:
            raise SetupError(str(error)) from None
    from adapters.teams.options import TeamsConfigError, TeamsOptions

    try:
        teams = TeamsOptions.from_env(settings, os.environ)
    except TeamsConfigError as error:
        raise SetupError(str(error)) from None
    if teams is not None:
        from adapters.teams.platform import TeamsPlatform
        from storage.conversations import TeamsConversations

        platforms.append(
            TeamsPlatform(teams, store_factory=lambda app: TeamsConversations(app.core.uow.engine))  # type: ignore[attr-defined]
        )
    if not platforms and settings.production:
        raise SetupError(
            "no chat platform is configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
            "(or SLACK_APP_TOKEN), or MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD."
        )
    if not platforms:
        log.warning("no chat platform is configured: serving /healthz only")
    return platforms


async def _check_database(settings: Settings) -> None:
    """Refuse an unreachable or unmigrated database; SQLite is migrated on first use instead."""
    from sqlalchemy.engine import make_url

    from storage.engine import database_url

    url = database_url(settings.database_url)
    if make_url(url).get_backend_name() != "sqlite":
        await _require_migrated(url)


async def _outbox(path: Path, settings: Settings, pending: bool) -> int:
    from bot.bootstrap import build
    from bot.model import OutboxStatus
    from storage.engine import database_url

    await _require_migrated(database_url(settings.database_url))  # a listing never creates a database
    app = await build(config=path, settings=settings, tenants={}, messengers={}, migrate=False)
    try:
        async with app.core.uow() as tx:
            rows = await tx.outbox_items(
                status=OutboxStatus.PENDING if pending else OutboxStatus.DEAD, limit=1000
            )
    finally:
        await app.close()
    if not rows:
        print("No pending deliveries." if pending else "No dead-lettered deliveries.")
    for row in rows:
        where = row.channel or ("(sealed)" if row.sealed else "(direct message)")
        print(
            f"#{row.id} {row.created_at:%Y-%m-%d %H:%M}Z {row.platform} {where} {row.role} {row.op} "
            f"attempts={row.attempts} {row.last_error or ''}".rstrip()
        )
    return 0


async def _dashboard_link(path: Path, settings: Settings, handle: str) -> int:
    """Print a sign-in link for ``handle``, as an administrator; the audit log says who it was for."""
    from bot.bootstrap import build
    from bot.errors import Refusal
    from bot.model import Person

    config = load_config(path)
    handle = handle.strip().lstrip("@").lower()
    entry = config.person(handle)
    if entry is None:
        raise SetupError(f"nobody called '{handle[:40]}' is in the organisation file ({path}).")
    await _check_database(settings)
    app = await build(config=config, settings=settings, tenants={"console": "local"}, messengers={})
    try:
        # The directory handle is the identity: what they see is worked out from it at every request.
        person = Person("console", "local", handle, entry.name)
        url = await app.sign_in.link_for(person, actor=f"cli (administrator) for {handle}")
    except Refusal as refusal:
        raise SetupError(refusal.message) from None
    finally:
        await app.close()
    print(f"Sign-in link for {entry.name} ({handle}): works once, for 10 minutes. Do not share it.")
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
