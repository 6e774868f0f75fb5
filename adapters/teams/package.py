"""``huddlebot teams-package``: the zip a Teams administrator uploads (manifest.json and two icons).

The template is ``adapters/teams/app_package/manifest.json``, shipped with the icons as package data (so it
works from a wheel as well as a checkout); the app id and the organisation's details are filled in here. No
SDK import: it runs anywhere.
"""

from __future__ import annotations

import copy
import json
import re
import zipfile
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

MANIFEST_DIR: Traversable = files("adapters.teams") / "app_package"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


class PackageError(Exception):
    """The package cannot be built as asked; the message says why."""


@dataclass(frozen=True)
class PackageDetails:
    """What an administrator may set; the rest comes from the template."""

    app_id: str
    version: str = "1.0.0"
    developer: str | None = None
    website: str | None = None
    privacy_url: str | None = None
    terms_url: str | None = None
    short_name: str | None = None


def load_template(directory: Traversable = MANIFEST_DIR) -> dict[str, Any]:
    """The manifest template."""
    return json.loads((directory / "manifest.json").read_text(encoding="utf-8"))


def build_manifest(details: PackageDetails, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest for ``details``; ``PackageError`` for an id or URL Teams would refuse."""
    if not GUID.match(details.app_id or ""):
        raise PackageError(
            f"--app-id must be the Azure Bot's Microsoft App ID, a GUID such as "
            f"0a1b2c3d-4e5f-6789-abcd-ef0123456789 (got {details.app_id[:60]!r})"
        )
    if not SEMVER.match(details.version):
        raise PackageError(
            f"--version must look like 1.0.0 (got {details.version[:40]!r}); raise it for every upload"
        )
    for flag, url in (
        ("--website", details.website),
        ("--privacy-url", details.privacy_url),
        ("--terms-url", details.terms_url),
    ):
        if url is not None and not url.lower().startswith("https://"):
            raise PackageError(f"{flag} must be an https:// address (got {url[:80]!r})")
    manifest = copy.deepcopy(template if template is not None else load_template())
    manifest["id"] = details.app_id
    manifest["version"] = details.version
    for bot in manifest.get("bots", []):
        bot["botId"] = details.app_id
    for extension in manifest.get("composeExtensions", []):
        extension["botId"] = details.app_id
    if "webApplicationInfo" in manifest:
        manifest["webApplicationInfo"]["id"] = details.app_id
    developer = manifest["developer"]
    if details.developer:
        developer["name"] = details.developer[:32]
    if details.website:
        developer["websiteUrl"] = details.website
    if details.privacy_url:
        developer["privacyUrl"] = details.privacy_url
    if details.terms_url:
        developer["termsOfUseUrl"] = details.terms_url
    if details.short_name:
        manifest["name"]["short"] = details.short_name[:30]
    return manifest


def build_package(
    details: PackageDetails, out: Path, directory: Traversable = MANIFEST_DIR
) -> dict[str, Any]:
    """Write the zip (manifest.json, color.png, outline.png at its root); returns the manifest."""
    manifest = build_manifest(details, load_template(directory))
    icons = manifest["icons"]
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        for name in (icons["color"], icons["outline"]):
            package.writestr(name, (directory / name).read_bytes())
    return manifest


def run(
    *,
    app_id: str,
    out: str | None,
    version: str,
    developer: str | None,
    website: str | None,
    privacy_url: str | None,
    terms_url: str | None,
) -> int:
    """The CLI command; prints what to do next. Exit status 2 for a bad argument."""
    details = PackageDetails(
        app_id=app_id.strip(),
        version=version,
        developer=developer,
        website=website,
        privacy_url=privacy_url,
        terms_url=terms_url,
    )
    target = Path(out or "huddlebot-teams.zip")
    try:
        manifest = build_package(details, target)
    except PackageError as error:
        print(error)
        return 2
    except FileNotFoundError as error:
        print(
            f"The Teams app template is missing from this huddlebot install ({error.filename}): reinstall "
            "huddlebot (pip install --force-reinstall <the same wheel or checkout>) and run this again."
        )
        return 2
    placeholders = [
        key
        for key, value in manifest["developer"].items()
        if isinstance(value, str) and "example.org" in value
    ]
    print(f"Wrote {target} (app {manifest['id']}, version {manifest['version']}).")
    if placeholders:
        print(
            "Note: the developer URLs are still placeholders ("
            + ", ".join(placeholders)
            + "); pass --website, --privacy-url and --terms-url with your organisation's pages."
        )
    print("Upload it in the Teams admin center: Teams apps → Manage apps → Upload new app.")
    return 0
