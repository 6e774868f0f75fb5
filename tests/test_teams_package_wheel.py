"""`huddlebot teams-package` from a real install: build the wheel, install it in a fresh virtualenv outside
the checkout, and build the Teams app package there (issue 10, point 5).

The fresh venv gets huddlebot only (``--no-deps``); its third-party dependencies come from this venv's
site-packages through PYTHONPATH. A PYTHONPATH entry does not run ``.pth`` files, so this checkout's
editable install (a ``.pth`` finder) is not seen: the test checks that ``bot`` and the template are loaded
from the fresh venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
# What the wheel is built from: a copy, so the build's build/ and *.egg-info stay out of the checkout.
SOURCES = ("pyproject.toml", "README.md", "bot", "adapters", "storage")


def run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def test_teams_package_works_from_a_wheel_installed_outside_the_checkout(tmp_path: Path) -> None:
    source = tmp_path / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], cwd=tmp_path)
    (wheel,) = wheels.glob("huddlebot-*.whl")
    with zipfile.ZipFile(wheel) as built:
        names = set(built.namelist())
    for name in ("manifest.json", "color.png", "outline.png"):
        assert f"adapters/teams/app_package/{name}" in names

    fresh = tmp_path / "fresh-venv"
    venv.EnvBuilder(with_pip=False).create(fresh)
    python = fresh / "bin" / "python"
    run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], cwd=tmp_path)

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "HUDDLEBOT_", "VIRTUAL_ENV"))
    }
    env["PYTHONPATH"] = sysconfig.get_paths()["purelib"]  # third-party dependencies only
    where = run(
        [
            str(python),
            "-c",
            "import bot, adapters.teams.package as p; print(bot.__file__); print(p.MANIFEST_DIR)",
        ],
        cwd=work,
        env=env,
    ).stdout.split()
    for path in where:
        assert Path(path).resolve().is_relative_to(fresh.resolve()), where
        assert not Path(path).resolve().is_relative_to(ROOT), where

    out = work / "x.zip"
    result = run(
        [str(python), "-m", "bot.cli", "teams-package", "--app-id", APP, "--out", str(out)], cwd=work, env=env
    )
    assert f"Wrote {out}" in result.stdout
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert package.read("color.png")[:8] == package.read("outline.png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP
