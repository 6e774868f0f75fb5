"""`make run` twice on the same database: the second console session continues the first one's chat —
threads, card updates and inboxes attach to the posts they belong to — and its time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def console(tmp_path: Path, script: str) -> str:
    path = tmp_path / "script.txt"
    path.write_text(script, encoding="utf-8")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'huddlebot.db'}",
        "PYTHONPATH": str(ROOT),
    }
    for unwanted in ("HUDDLEBOT_CONFIG", "HUDDLEBOT_ENV", "SLACK_BOT_TOKEN", "HUDDLEBOT_SEAL_KEY"):
        env.pop(unwanted, None)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", "--script", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done.stdout


def test_a_second_session_continues_the_first_ones_chat(tmp_path: Path) -> None:
    console(
        tmp_path,
        """
        as alex
        /concern --severity high --type equipment The IV pump in room 12 alarms with no fault shown
        /concern --anonymous --severity moderate Night shift is short two nurses most weekends
        tick 15m
        """,
    )
    second = console(
        tmp_path,
        """
        as dana
        ack C-1001 Biomed is checking the pump
        reply C-1001 Which pump number?
        channel 4west
        as alex
        inbox
        """,
    )
    assert "continuing the chat of an earlier session" in second
    leaders = second[second.index("── #4west-leaders ──") : second.index("── @alex ──")]
    named, anonymous = leaders.split("Reporter: Anonymous")  # the named card comes first
    # The card from the first session shows its new state, and the replies sit in its thread.
    assert "[C-1001]" in named and "Status: Acknowledged (by Dana Reyes" in named
    assert "↳ huddlebot: Acknowledged by Dana Reyes. Biomed is checking the pump" in named
    assert "↳ Dana Reyes: Which pump number?" in named
    # The anonymous concern's card is in the leaders' channel, not in the reporter's DM thread.
    assert "Night shift is short two nurses" in anonymous and "Status: Open" in anonymous
    inbox = second[second.index("── @alex ──") :]
    assert inbox.count("Your concern C-1001 is on its way to the leaders") == 1  # the first DM, kept
    assert "was acknowledged by Dana Reyes" in inbox
    assert "Night shift is short" not in inbox


def test_the_second_session_starts_where_the_first_left_the_clock(tmp_path: Path) -> None:
    first = console(tmp_path, "now\ntick 3d\n")
    before, after = [line for line in first.splitlines() if "⏱" in line][-2:]
    assert before != after  # three days on
    second = console(tmp_path, "now\n")
    assert [line for line in second.splitlines() if "⏱" in line] == [after]
