"""The ``huddlebot`` command as a newcomer runs it: migrate, console (scripted), serve, check-config."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.config import bundled_example_path

ROOT = Path(__file__).resolve().parent.parent

MISSION = """\
# A short mission: the huddle, a concern, its acknowledgement and resolution.
tick 10m
as alex
in 4west
answer clear
/concern --severity high --type equipment Glucometer 3 reads high against the lab
as dana
ack C-1001 Pulled from service
resolve C-1001 Replaced glucometer 3 and checked the other two
as alex
inbox
tick 30m
channel
"""


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUDDLEBOT_", "DATABASE_URL"))}
    env.update({"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'huddlebot.db'}", **extra})
    return env


def huddlebot(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=tmp_path,
        env=environment(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_migrate_then_a_scripted_console_session_walks_the_mission(tmp_path: Path) -> None:
    migrated = huddlebot(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "migrated from an empty database to" in migrated.stdout
    assert (tmp_path / "huddlebot.db").exists()

    script = tmp_path / "mission.txt"
    script.write_text(MISSION, encoding="utf-8")
    session = huddlebot(tmp_path, "console", "--now", "2026-11-25T12:50:00Z", "--script", str(script))
    assert session.returncode == 0, session.stderr
    out = session.stdout
    assert "dana@4west> tick 10m" in out  # each line is echoed after the prompt, as if typed
    assert "→ #4west: Safety huddle · 4 West Med-Surg · Wed 25 Nov 07:00 CST (open until 07:30 CST)" in out
    assert "Thanks, Alex Kim: recorded all clear for the 4 West Med-Surg huddle." in out
    assert "→ #4west-leaders: [C-1001] HIGH · equipment · safe · 4 West Med-Surg" in out
    assert "You acknowledged C-1001. The reporter has been told." in out
    assert "Your concern C-1001 was resolved by Dana Reyes. What we did: Replaced glucometer 3" in out
    assert "→ #4west, in thread: Huddle summary · 4 West Med-Surg · Wed 25 Nov 07:00 CST" in out
    assert "Status: Resolved" in out
    assert "Traceback" not in session.stderr


def test_console_now_needs_an_instant_with_its_offset(tmp_path: Path) -> None:
    result = huddlebot(tmp_path, "console", "--now", "2026-11-25T06:50:00", "--script", os.devnull)
    assert result.returncode == 2
    assert "--now needs an instant with its offset, e.g. 2026-03-08T01:30:00-06:00" in result.stderr
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_healthz_with_the_database_ok(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=environment(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, answer = time.monotonic() + 15, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    answer = (response.status, response.headers["Content-Type"], json.load(response))
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert answer is not None, f"no answer from /healthz; exit={server.poll()}"
        status, content_type, body = answer
        assert status == 200
        assert content_type.startswith("application/json")
        assert body["status"] == "ok" and body["database"] == "ok"
        assert body["dead_letters"] == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/plain")
        assert "huddlebot_outbox_dead_letters 0.0" in metrics
        assert "# TYPE huddlebot_concerns_raised_total counter" in metrics
        # SQLite takes one serving process: a second one on the same file must refuse, not double the jobs.
        second = huddlebot(tmp_path, "serve", "--host", "127.0.0.1", "--port", str(free_port()))
        assert second.returncode == 2
        assert "Refusing to start: another huddlebot process is already serving" in second.stderr
    finally:
        server.terminate()
        try:
            _, errors = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            _, errors = server.communicate()
    assert server.returncode == 0, errors  # SIGTERM is a clean shutdown
    assert "Traceback" not in errors


# One mistake of each kind the issue names; huddlebot reports them all at once.
BAD_CONFIG = """\
organization: {name: Example Health, timezone: America/Chicago}
people:
  dana: {name: Dana Reyes, slack: U0DANA01}
  sam: {name: Sam Patel, slack: U0SAM001}
units:
  - {id: 4west, name: 4 West, tier: 1, leaders: [dana]}
  - {id: 4west, name: 4 West again, tier: 1, leaders: [dana]}
  - {id: a, name: A, tier: 3, parent: b, leaders: [sam]}
  - {id: b, name: B, tier: 2, parent: a, leaders: [sam]}
  - {id: c, name: C, tier: 1, leaders: [dnaa]}
  - {id: d, name: D, tier: 1, leaders: [dana], timezone: America/Chicag}
  - id: e
    name: E
    tier: 1
    leaders: [dana]
    huddles:
      - {at: "07:00", window: 13h}
      - {at: "19:00", window: 30m}
"""


def test_check_config_names_the_line_and_the_field_of_each_mistake_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_CONFIG, encoding="utf-8")
    result = huddlebot(tmp_path, "check-config", "bad.yaml")
    assert result.returncode == 2
    for expected in [
        "bad.yaml:7: units[1].id: duplicate unit id '4west'; units[0] has it",
        "bad.yaml:8: units[2].parent: parent cycle: a → b → a; a unit cannot be above itself",
        "bad.yaml:10: units[4].leaders[0]: unknown person 'dnaa'; add them under people:",
        "bad.yaml:11: units[5].timezone: unknown time zone 'America/Chicag' (use an IANA name",
        "bad.yaml:17: units[6].huddles[0].window: window 13h is longer than the 12h gap to the next huddle",
    ]:
        assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_check_config_accepts_the_bundled_example(tmp_path: Path) -> None:
    result = huddlebot(tmp_path, "check-config", str(bundled_example_path()))
    assert result.returncode == 0, result.stderr
    assert "OK (7 units, 10 people)" in result.stdout
