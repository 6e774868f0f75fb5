"""Fail fast, say why: a set-up mistake ends the command at once with exit 2 and one line that names what
to set or fix — never a traceback, never a server that starts and quietly does nothing."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from bot.config import bundled_example_path
from storage.migrate import head_revision
from tests.test_cli import huddlebot

UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/nowhere"


def one_line(result_stderr: str) -> str:
    lines = [line for line in result_stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result_stderr
    assert "Traceback" not in result_stderr
    return lines[0]


@pytest.fixture
def org_file(tmp_path: Path) -> Path:
    path = tmp_path / "org.yaml"
    shutil.copyfile(bundled_example_path(), path)
    return path


def test_production_without_a_platform_refuses_to_start(tmp_path: Path, org_file: Path) -> None:
    result = huddlebot(tmp_path, "serve", HUDDLEBOT_ENV="production", HUDDLEBOT_CONFIG=str(org_file))
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "no chat platform is configured" in line
    assert "SLACK_BOT_TOKEN" in line and "MICROSOFT_APP_ID" in line


def test_production_with_half_of_slack_refuses_to_start(tmp_path: Path, org_file: Path) -> None:
    only_token = huddlebot(
        tmp_path,
        "serve",
        HUDDLEBOT_ENV="production",
        HUDDLEBOT_CONFIG=str(org_file),
        SLACK_BOT_TOKEN="xoxb-1",
    )
    assert only_token.returncode == 2
    assert "Slack also needs SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN" in one_line(only_token.stderr)
    only_secret = huddlebot(
        tmp_path,
        "serve",
        HUDDLEBOT_ENV="production",
        HUDDLEBOT_CONFIG=str(org_file),
        SLACK_SIGNING_SECRET="s",
    )
    assert only_secret.returncode == 2
    assert "Slack also needs SLACK_BOT_TOKEN" in one_line(only_secret.stderr)


def test_production_without_an_organisation_file_does_not_run_the_example(tmp_path: Path) -> None:
    result = huddlebot(tmp_path, "serve", HUDDLEBOT_ENV="production", SLACK_BOT_TOKEN="xoxb-1")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "set HUDDLEBOT_CONFIG" in line and "bundled Example Health file is only for trying" in line


def test_an_unreachable_slack_is_named_as_a_network_failure(tmp_path: Path, org_file: Path) -> None:
    result = huddlebot(
        tmp_path,
        "serve",
        HUDDLEBOT_CONFIG=str(org_file),
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL="http://127.0.0.1:1/api/",
    )
    assert result.returncode == 2
    line = one_line(_errors_only(result.stderr))
    assert "could not reach Slack at http://127.0.0.1:1/api/" in line
    assert "did not accept SLACK_BOT_TOKEN" not in result.stderr


def _errors_only(stderr: str) -> str:
    """The serve command logs at INFO before it fails; the failure is the line it prints itself."""
    return "\n".join(line for line in stderr.splitlines() if line.startswith("huddlebot:"))


@pytest.mark.parametrize(
    "command", [["outbox"], ["outbox", "--pending"], ["console", "--script", os.devnull]]
)
def test_commands_on_an_unreachable_database_answer_in_one_line(tmp_path: Path, command: list[str]) -> None:
    result = huddlebot(tmp_path, *command, DATABASE_URL=UNREACHABLE_PG)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "cannot reach the database at postgresql+asyncpg://postgres@127.0.0.1:1/nowhere" in line
    assert "DATABASE_URL" in line


def test_serve_and_migrate_on_an_unreachable_database_answer_in_one_line(tmp_path: Path) -> None:
    for command in (["serve"], ["migrate"]):
        result = huddlebot(tmp_path, *command, DATABASE_URL=UNREACHABLE_PG)
        assert result.returncode == 2, command
        assert "cannot reach the database" in one_line(_errors_only(result.stderr))
        assert "Traceback" not in result.stderr


def test_outbox_on_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    result = huddlebot(tmp_path, "outbox")
    assert result.returncode == 2
    assert f"is empty; this version needs {head_revision()}: run `huddlebot migrate` first" in one_line(
        result.stderr
    )


def test_migrate_names_the_revisions_it_went_from_and_to(tmp_path: Path) -> None:
    first = huddlebot(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    assert f"migrated from an empty database to {head_revision()}" in first.stdout
    again = huddlebot(tmp_path, "migrate")
    assert f"is up to date (migration {head_revision()})" in again.stdout


def test_development_says_which_organisation_file_it_uses_and_a_taken_port_is_one_line(
    tmp_path: Path,
) -> None:
    # A half-configured Slack stops serve in production; in development it only warns, and the log says
    # which organisation file is in use. A port that is taken then ends the process, in one line.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = huddlebot(tmp_path, "serve", "--port", str(port), SLACK_BOT_TOKEN="xoxb-1")
    assert result.returncode == 2
    assert "(the bundled example organisation)" in result.stderr
    assert "SLACK_BOT_TOKEN is set, but Slack also needs SLACK_SIGNING_SECRET" in result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in one_line(_errors_only(result.stderr))
