"""huddlebot through Microsoft's own Teams client emulator, the Microsoft 365 Agents Playground (npm
``@microsoft/m365agentsplayground``, pinned in ``tests/teams/playground/package-lock.json``), in headless
Chromium driven by Playwright (issue 10, point 7).

A real ``huddlebot serve`` (Teams in development mode: no app id, so no token; SQLite) and two playgrounds,
one per person, both pointed at it with ``BOT_ENDPOINT``. Each playground is the Bot Connector for its own
client (huddlebot answers at the ``serviceUrl`` the playground puts in every activity): Jo Martin, a nurse
who raises the concern in her personal chat, and Dana Reyes, 4 West's leader, in the team. The walk:
install in both personal chats and in the team (the bot's hello in General), ``help``, a typed concern
and its receipt, ``@huddlebot huddle now`` in the unit's channel, the concern card in the leaders'
channel, Acknowledge, Reply and Resolve on the card (``adaptiveCard/action``, the card refreshed in
place), Jo's updates in her chat, a second concern closed with the card's *Not possible now* form (the
reason and the stoplight title; Jo told why), and an anonymous concern through the *Raise a safety
concern* dialog (a message-extension action command: ``composeExtension/fetchTask`` and
``submitAction``).

What the playground (0.2.28) cannot do, so the Activity-protocol tests (``test_teams_e2e.py`` and the
other tests beside this one, with the fake connector) cover it instead:
* a plain reply in a channel thread without @mentioning the bot is shown in the UI but never sent to the
  bot (it has no resource-specific consent, ChannelMessage.Read.Group);
* a card's ``Action.Submit`` with ``msteams: {type: task/fetch}`` (the huddle prompt's *Raise a concern*)
  sends nothing: only the compose box's message-extension command opens a dialog;
* one user per client and no manifest: there is no command menu, and the command id is typed in.

Screenshots of both clients are saved in the test's tmp directory. Outside CI the test skips with the
reason when Node.js, the installed playground (``npm ci`` in tests/teams/playground), Chromium
(``/usr/bin/chromium``, or ``HUDDLEBOT_CHROMIUM``) or Playwright is missing; in CI (``CI=true``) it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYGROUND_DIR = Path(__file__).resolve().parent / "playground"
PLAYGROUND_BIN = PLAYGROUND_DIR / "node_modules" / ".bin" / "agentsplayground"
CHROMIUM = os.environ.get("HUDDLEBOT_CHROMIUM", "/usr/bin/chromium")
# As this machine's Chromium must run: no sandbox as root, and no calls home on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
WAIT_MS = 20_000  # per UI expectation: a card or message the bot sends through the outbox

TENANT = "00000000-0000-0000-0000-0000000000001"
UNIT_CHANNEL = "19:4west@thread.tacv2"  # the team's General channel
LEADERS_CHANNEL = "19:4west-leaders@thread.tacv2"
DANA = ("29:1dana-reyes", "Dana Reyes", "dana")
JO = ("29:1jo-martin", "Jo Martin", "jo")

ORGANISATION = f"""\
organization: {{name: Playground Health, timezone: America/Chicago}}
people:
  dana: {{name: Dana Reyes, teams: "{DANA[0]}"}}
  jo: {{name: Jo Martin, teams: "{JO[0]}"}}
  sam: {{name: Sam Patel, teams: "29:1sam-patel"}}
safety_officers: [sam]
escalation: {{anonymous_delay: {{min: 1m, max: 2m}}}}
digest: {{enabled: false}}
units:
  - id: 4west
    name: 4 West Med-Surg
    tier: 1
    leaders: [dana]
    channels: {{teams: "{UNIT_CHANNEL}"}}
    leaders_channel: {{teams: "{LEADERS_CHANNEL}"}}
"""


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js (node) is not installed"
    if not PLAYGROUND_BIN.exists():
        return f"the Agents Playground is not installed: run `npm ci` in {PLAYGROUND_DIR.relative_to(ROOT)}"
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    return None


def playground_config(user: tuple[str, str, str]) -> str:
    """The playground's mock tenant: ``user`` is the person at this client; one team, whose General
    channel is 4 West's unit channel, and the leaders' channel (the playground allows one more)."""
    user_id, name, handle = user
    given, surname = name.split(" ", 1)
    others = "\n".join(
        f"  - {{id: '29:1other-{n}', name: Colleague {n}, userPrincipleName: other{n}@example.org,"
        f" aadObjectId: 00000000-0000-0000-0000-00000000010{n}, givenName: Colleague, surname: '{n}',"
        f" email: other{n}@example.org}}"
        for n in range(1, 6)  # the playground wants exactly five
    )
    return f"""\
version: "0.1.1"
tenantId: {TENANT}
bot: {{id: "28:huddlebot-playground", name: huddlebot}}
currentUser:
  id: "{user_id}"
  name: {name}
  userPrincipleName: {handle}@example.org
  aadObjectId: 00000000-0000-0000-0000-0000000000{len(handle):02}
  givenName: {given}
  surname: {surname}
  email: {handle}@example.org
users:
{others}
personalChat: {{id: "a:1personal-{handle}"}}
groupChat: {{id: "19:groupchat-{handle}@thread.v2", name: Group Chat}}
team:
  id: "{UNIT_CHANNEL}"
  name: 4 West
  aadGroupId: 00000000-0000-0000-0000-000000000031
  channels:
    - {{id: "{LEADERS_CHANNEL}", name: 4 West leaders}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, chars: int = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ({self.log}) ---\n{text[-chars:]}"


def wait_for(url: str, process: Process, deadline: float = 40.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.name} exited ({process.popen.returncode}):\n{process.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{process.name} did not answer at {url}:\n{process.tail()}")


@dataclass
class Stack:
    serve: Process
    playgrounds: dict[str, tuple[Process, int]]
    database: Path

    def logs(self) -> str:
        return "\n".join([self.serve.tail(), *(p.tail() for p, _ in self.playgrounds.values())])

    def delivered(self, deadline: float = 20.0) -> None:
        """Wait until huddlebot's outbox has sent everything already due (as ``deliver()`` does in the
        Activity-protocol tests). A card update that lands while a leader has the card's Reply or Resolve
        form open redraws the card and closes the form, in the playground as in Teams: so the test opens
        a form only once the updates it caused have arrived."""
        start = time.monotonic()
        while time.monotonic() - start < deadline:
            now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
            with closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5)) as db:
                (due,) = db.execute(
                    "SELECT count(*) FROM outbox WHERE status = 'pending' AND due_at <= ?", (now,)
                ).fetchone()
            if not due:
                time.sleep(0.5)  # the playground draws what it was sent
                return
            time.sleep(0.1)
        raise AssertionError(f"huddlebot still had {due} deliveries due after {deadline} s:\n{self.logs()}")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    missing = _missing()
    if missing:
        if IN_CI:
            pytest.fail(f"CI must drive the Teams playground, but {missing}")
        pytest.skip(missing)
    processes: list[Process] = []

    def start(name: str, args: list[str], env: dict[str, str], cwd: Path) -> Process:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as handle:
            popen = subprocess.Popen(
                args, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        process = Process(name, popen, log)
        processes.append(process)
        return process

    base = {k: v for k, v in os.environ.items() if not k.startswith(("HUDDLEBOT_", "SLACK_", "MICROSOFT_"))}
    (tmp_path / "huddlebot.yaml").write_text(ORGANISATION)
    env = {
        **base,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'huddlebot.db'}",
        "HUDDLEBOT_CONFIG": str(tmp_path / "huddlebot.yaml"),
        "HUDDLEBOT_TEAMS": "1",  # development mode: no app id, no token; the playground checks none
        "HUDDLEBOT_LOG_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    migrate = subprocess.run(
        [sys.executable, "-m", "bot.cli", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    port = free_port()
    serve = start("huddlebot", [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], env, ROOT)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", serve)
        playgrounds: dict[str, tuple[Process, int]] = {}
        for user in (JO, DANA):
            handle = user[2]
            home = tmp_path / f"playground-{handle}"
            home.mkdir()
            (home / "playground.yml").write_text(playground_config(user))
            ui_port = free_port()
            playground_env = {
                **base,
                "BOT_ENDPOINT": f"http://127.0.0.1:{port}/api/messages",
                "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(home / "playground.yml"),
                "M365_AGENTS_PLAYGROUND_LOGFILE": str(home / "playground.log"),
                "TEAMSAPPTESTER_BROWSER": "none",  # it would open a desktop browser
            }
            args = [str(PLAYGROUND_BIN), "--port", str(ui_port), "--channel-id", "msteams"]
            process = start(f"playground-{handle}", [*args, "--disable-telemetry"], playground_env, home)
            playgrounds[handle] = (process, ui_port)
        for process, ui_port in playgrounds.values():
            wait_for(f"http://127.0.0.1:{ui_port}/", process)
        yield Stack(serve, playgrounds, tmp_path / "huddlebot.db")
    finally:
        for process in reversed(processes):
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in processes:
            try:
                process.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=5)


def test_a_concern_through_the_teams_playground(stack: Stack, tmp_path: Path) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    def only_loopback(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "http://localhost", "ws://localhost")):
            route.continue_()
        else:  # the UI asks a CDN for fonts: never leave the machine
            route.abort()

    def open_client(browser: Any, handle: str) -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.route("**/*", only_loopback)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        # Only wait for the response: both clients then load their 5 MB of script at the same time.
        page.goto(f"http://127.0.0.1:{stack.playgrounds[handle][1]}/", wait_until="commit")
        return page

    def go_to(page: Page, conversation: str) -> None:
        page.get_by_role("treeitem", name=re.compile(conversation)).click()

    def say(page: Page, text: str) -> None:
        box = page.get_by_role("textbox").last
        box.fill(text)
        box.press("Enter")

    def shows(page: Page, text: str | re.Pattern[str]) -> None:
        expect(page.get_by_text(text).last).to_be_visible()

    pages: dict[str, Page] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            jo = pages["jo"] = open_client(browser, "jo")
            dana = pages["dana"] = open_client(browser, "dana")
            for page in (jo, dana):  # a busy CI machine may take a while to start a client
                expect(page.get_by_role("treeitem").first).to_be_visible(timeout=90_000)
            # Installed in Jo's personal chat as her client starts: huddlebot says hello there.
            go_to(jo, "Personal Chat")
            shows(jo, "Hello, I'm huddlebot")
            # Installed in Dana's personal chat, and in the team when Dana opens it: hello in General.
            go_to(dana, "General")
            shows(dana, "Hello, I'm huddlebot")

            # help, in Jo's chat: the help card again.
            helps = jo.get_by_text("What you can ask me")
            expect(helps).to_have_count(1)
            say(jo, "help")
            expect(helps).to_have_count(2)

            # A concern typed in Jo's personal chat: the receipt, with its reference.
            say(jo, "concern --severity high --unit 4west The IV pump in room 12 alarmed twice overnight")
            shows(jo, re.compile(r"Your concern C-1001 was received for 4 West Med-Surg \(high\)"))

            # Dana @mentions huddlebot in the unit's channel: the huddle prompt, with the open concern.
            box = dana.get_by_role("textbox").first
            box.click()
            box.type("@hud")
            dana.get_by_role("menuitem", name="huddlebot").click()
            box.type(" huddle now")
            dana.get_by_role("button", name="Post", exact=True).click()
            shows(dana, "Safety huddle · 4 West Med-Surg")
            shows(dana, "C-1001")

            # The concern's card in the leaders' channel, with Jo's name (a named concern).
            go_to(dana, "4 West leaders")
            shows(dana, "C-1001 · HIGH")
            shows(dana, "Jo Martin")
            shows(dana, "The IV pump in room 12 alarmed twice overnight")
            shows(dana, "Open: not yet acknowledged")

            # Acknowledge: the card is refreshed in place, the thread says who.
            dana.get_by_role("button", name="Acknowledge", exact=True).click()
            shows(dana, re.compile(r"Acknowledged \(Dana Reyes"))
            shows(dana, "Acknowledged by Dana Reyes.")
            expect(dana.get_by_role("button", name="Acknowledge", exact=True)).to_have_count(0)

            # Reply, from the card's own form.
            stack.delivered()
            dana.get_by_role("button", name="Reply", exact=True).click()
            dana.get_by_placeholder("What do you want to say?").fill("Biomed is checking the pump now")
            dana.get_by_role("button", name="Send reply", exact=True).click()
            shows(dana, "Biomed is checking the pump now")

            # Resolve, saying what was done: the card says Resolved and has no buttons left.
            stack.delivered()
            dana.get_by_role("button", name="Resolve", exact=True).click()
            dana.get_by_placeholder("What was done about it?").fill("Pump swapped; alarm volume checked")
            dana.get_by_role("button", name="Resolve", exact=True).last.click()
            shows(dana, re.compile(r"^Resolved"))
            expect(dana.get_by_role("button", name="Reply", exact=True)).to_have_count(0)

            # Jo's updates, in her personal chat, as they happened.
            shows(jo, re.compile(r"acknowledged by Dana Reyes", re.IGNORECASE))
            shows(jo, "Biomed is checking the pump now")
            shows(jo, re.compile(r"resolved by Dana Reyes", re.IGNORECASE))
            shows(jo, "Pump swapped; alarm volume checked")

            # Not possible now, from the card's own form: a required reason and a short stoplight title.
            say(jo, "concern --unit 4west We need a second bladder scanner on nights")
            shows(jo, re.compile(r"Your concern C-1002 was received"))
            stack.delivered()
            shows(dana, "We need a second bladder scanner on nights")
            dana.get_by_role("button", name="Not possible now", exact=True).click()
            dana.get_by_placeholder(re.compile(r"^e\.g\. The budget")).fill(
                "The budget is frozen until April"
            )
            dana.get_by_placeholder("e.g. Second bladder scanner").fill("Second bladder scanner")
            dana.get_by_role("button", name="Close as not possible now", exact=True).click()
            shows(dana, re.compile(r"Not possible now: Dana Reyes, .*Why: The budget is frozen until April"))
            shows(dana, "On the unit's stoplight as: Second bladder scanner")
            expect(dana.get_by_role("button", name="Not possible now", exact=True)).to_have_count(0)
            shows(jo, re.compile(r"Your concern can't be acted on now · C-1002"))
            shows(jo, re.compile(r"Why: The budget is frozen until April"))

            # An anonymous concern through the Raise a safety concern dialog (a message-extension action).
            jo.get_by_label("Trigger Message Extension App").click()
            jo.get_by_role("menuitem", name="Action Command").click()
            jo.get_by_placeholder("Input command id or leave blanks").fill("raiseConcern")
            jo.get_by_role("dialog").get_by_text("Fetch the dialog dynamically from the app").click()
            jo.get_by_role("button", name="Create", exact=True).click()
            dialog = jo.get_by_role("dialog")
            expect(dialog.get_by_text("Raise a safety concern")).to_be_visible()
            dialog.get_by_placeholder(re.compile("Describe it")).fill("Two patients with one name on 4 West")
            dialog.get_by_role("combobox").first.click()
            jo.get_by_role("option", name="4 West Med-Surg").click()
            dialog.get_by_text(re.compile("^Anonymous: nobody")).click()
            dialog.get_by_role("button", name="Send", exact=True).click()
            # The receipt replaces the form in the dialog: the only place its code is ever shown.
            expect(dialog.get_by_text(re.compile(r"copy it now"))).to_be_visible()
            expect(dialog.get_by_text("Two patients with one name on 4 West")).to_have_count(0)
            jo.screenshot(path=tmp_path / "playground-jo-dialog.png")
        except BaseException:
            print(stack.logs())
            raise
        finally:
            for handle, page in pages.items():
                page.screenshot(path=tmp_path / f"playground-{handle}.png")
            print(f"screenshots in {tmp_path}")
            browser.close()
