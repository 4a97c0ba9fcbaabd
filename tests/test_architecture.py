"""The one rule, checked by AST: bot/core is pure; only handlers/ speaks Slack; storage speaks SQL."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE_ALLOWED = {"tiktoken", "tiktoken_ext", "orjson", "bot"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules("bot/core"), ids=lambda p: p.name)
def test_core_is_pure(path: Path) -> None:
    outside = {m for m in imports(path) if m not in sys.stdlib_module_names} - CORE_ALLOWED
    assert not outside, f"{path.name} imports {outside}"
    core_internal = {
        m for m in imports(path) if m == "bot"
    }  # bot.* imports must stay inside bot.core
    if core_internal:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot"):
                assert node.module.startswith("bot.core"), f"{path.name} imports {node.module}"


@pytest.mark.parametrize(
    "path", [*modules("bot"), *modules("storage")], ids=lambda p: str(p.relative_to(ROOT))
)
def test_only_handlers_know_slack_bolt(path: Path) -> None:
    assert "slack_bolt" not in imports(path)


@pytest.mark.parametrize("path", modules("bot"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_huge(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 450
