"""The Bot Framework SDK is archived upstream: only ``adapters/teams/sdk.py`` may import it, so a move to
its successor touches one module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDK = {"botbuilder", "botframework", "msrest", "msal"}
ALLOWED = {ROOT / "adapters" / "teams" / "sdk.py"}


def test_only_the_sdk_module_imports_the_sdk() -> None:
    offenders = []
    for package in ("adapters", "bot", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                if any(name.split(".")[0] in SDK for name in names) and path not in ALLOWED:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
