"""The core (``bot/``) imports no platform SDK, no web framework, no SQLAlchemy, no adapter and no
storage module; only the composition root and the CLI wire those in."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
FORBIDDEN = {"slack_bolt", "slack_sdk", "botbuilder", "sqlalchemy", "aiohttp", "adapters", "storage"}
COMPOSITION_ROOT = {"bootstrap.py", "cli.py"}
# A type hint may name the web framework, as long as nothing imports it at run time.
TYPE_HINTS_ONLY = {"platform.py": {"aiohttp"}}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.AST) -> list[tuple[str, bool, int]]:
    """Every imported top-level package, whether only under ``if TYPE_CHECKING:``, and its line."""
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, type_checking: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_checking)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name.split(".")[0], type_checking, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module.split(".")[0], type_checking, node.lineno))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.append((argument.value.split(".")[0], type_checking, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, type_checking)

    visit(tree, False)
    return found


CORE_FILES = sorted(p for p in BOT.glob("*.py") if p.name not in COMPOSITION_ROOT)


def test_the_core_is_all_there() -> None:
    names = {p.name for p in CORE_FILES}
    assert {"core.py", "concerns.py", "huddles.py", "escalation.py", "outbox.py", "platform.py"} <= names


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.name)
def test_core_module_imports_nothing_of_platforms_or_storage(path: Path) -> None:
    allowed_for_hints = TYPE_HINTS_ONLY.get(path.name, set())
    bad = [
        f"{path.name}:{line}: imports {module}"
        for module, type_checking, line in imports(ast.parse(path.read_text(encoding="utf-8")))
        if module in FORBIDDEN and not (type_checking and module in allowed_for_hints)
    ]
    assert bad == []


def test_the_checker_catches_what_it_must() -> None:
    source = """
import sqlalchemy as sa
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from aiohttp import web
def later():
    from storage.tables import concerns
    import slack_sdk.web
"""
    found = {(module, hinted) for module, hinted, _ in imports(ast.parse(source))}
    assert {("sqlalchemy", False), ("aiohttp", True), ("storage", False), ("slack_sdk", False)} <= found
