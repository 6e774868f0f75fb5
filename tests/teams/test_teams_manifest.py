"""The Teams app package: a manifest valid against the 1.29 schema, the icons Teams asks for, the zip."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from adapters.teams.package import MANIFEST_DIR, PackageDetails, PackageError, build_manifest, load_template
from bot.cli import main
from tests.teams.schemas import manifest_errors

APP = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Width, height and RGBA pixels of an 8-bit RGBA PNG (filter type 0 rows, as ours are written)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert (depth, color) == (8, 6)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    pixels = []
    stride = 1 + 4 * width
    for y in range(height):
        row = raw[y * stride : (y + 1) * stride]
        assert row[0] == 0
        pixels.extend(tuple(row[1 + 4 * x : 5 + 4 * x]) for x in range(width))  # type: ignore[misc]
    return width, height, pixels  # type: ignore[return-value]


def test_the_template_and_the_generated_manifest_are_valid() -> None:
    assert manifest_errors(load_template()) == []
    manifest = build_manifest(
        PackageDetails(
            app_id=APP, version="1.2.3", developer="Example Health", website="https://example-health.org"
        )
    )
    assert manifest_errors(manifest) == []
    assert manifest["manifestVersion"] == "1.29"
    assert manifest["id"] == manifest["bots"][0]["botId"] == manifest["composeExtensions"][0]["botId"] == APP
    assert manifest["webApplicationInfo"]["id"] == APP
    bot = manifest["bots"][0]
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    commands = {tuple(cl["scopes"]): [c["title"] for c in cl["commands"]] for cl in bot["commandLists"]}
    # A reporter reopens their own concern, and a leader logs a round, in the personal chat only.
    assert commands == {
        ("personal",): ["concern", "huddle", "goodcatch", "reopen", "round", "help"],
        ("team", "groupChat"): ["concern", "huddle", "goodcatch", "help"],
    }
    raise_concern = manifest["composeExtensions"][0]["commands"][0]
    assert raise_concern["type"] == "action" and raise_concern["fetchTask"] is True
    assert raise_concern["title"] == "Raise a safety concern"
    rsc = manifest["authorization"]["permissions"]["resourceSpecific"]
    assert {"name": "ChannelMessage.Read.Group", "type": "Application"} in rsc


def test_icons_are_the_sizes_and_colours_teams_requires() -> None:
    width, height, pixels = read_png((MANIFEST_DIR / "color.png").read_bytes())
    assert (width, height) == (192, 192) and all(p[3] == 255 for p in pixels)
    width, height, pixels = read_png((MANIFEST_DIR / "outline.png").read_bytes())
    assert (width, height) == (32, 32)
    assert all(p[:3] == (255, 255, 255) for p in pixels)  # white only,
    assert any(p[3] == 0 for p in pixels) and any(p[3] == 255 for p in pixels)  # on a transparent background


def test_teams_package_command_writes_the_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pkg" / "huddlebot.zip"
    assert main(["teams-package", "--app-id", APP, "--out", str(out), "--version", "2.0.1"]) == 0
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert package.read("color.png") == (MANIFEST_DIR / "color.png").read_bytes()
    assert manifest_errors(manifest) == [] and manifest["version"] == "2.0.1" and manifest["id"] == APP
    said = capsys.readouterr().out
    assert "Upload it in the Teams admin center" in said and "placeholders" in said


@pytest.mark.parametrize(
    "args,problem",
    [
        (["--app-id", "not-a-guid"], "must be the Azure Bot's Microsoft App ID"),
        (["--app-id", APP, "--version", "1.0"], "--version must look like 1.0.0"),
        (["--app-id", APP, "--website", "http://insecure.example"], "--website must be an https:// address"),
    ],
)
def test_teams_package_refuses_what_teams_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    assert main(["teams-package", *args, "--out", str(tmp_path / "x.zip")]) == 2
    assert problem in capsys.readouterr().out
    assert not (tmp_path / "x.zip").exists()
    with pytest.raises(PackageError):
        build_manifest(PackageDetails(app_id="nope"))


def test_the_message_extension_commands_are_the_ones_the_bot_handles() -> None:
    from adapters.teams.bot import FOLLOW_UP, RAISE_CONCERN

    extension = load_template()["composeExtensions"][0]
    assert sorted(c["id"] for c in extension["commands"]) == sorted([RAISE_CONCERN, FOLLOW_UP])
