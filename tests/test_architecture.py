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


# The composition root and the server wire Bolt up; everything else stays Slack-free.
SLACK_WIRING = {ROOT / "bot/app.py", ROOT / "bot/server.py"}


@pytest.mark.parametrize(
    "path",
    [p for p in [*modules("bot"), *modules("storage")] if p not in SLACK_WIRING],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_handlers_know_slack(path: Path) -> None:
    assert not {"slack_bolt", "slack_sdk"} & imports(path)


@pytest.mark.parametrize(
    "path",
    [*modules("bot/core"), *modules("bot/services"), *modules("storage")],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_services_core_and_storage_know_no_http_clients(path: Path) -> None:
    assert not {"openai", "httpx", "urllib3", "requests", "waitress"} & imports(path)


@pytest.mark.parametrize("path", modules("bot"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_huge(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 450


@pytest.mark.parametrize("path", modules("handlers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_handlers_never_import_the_composition_root(path: Path) -> None:
    """Listeners get their dependencies handed in (handlers.deps.Deps); bot.app imports them,
    never the other way round, so importing a listener loads no engine, pool or scheduler."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.module not in ("bot.app", "bot.server", "bot.scheduler"), node.module
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name not in ("bot.app", "bot.server", "bot.scheduler"), alias.name


def test_importing_a_listener_loads_no_database_or_provider_sdk() -> None:
    import subprocess

    probe = (
        "import sys; import handlers.events.home; "
        "heavy = sorted(m for m in ('alembic', 'openai', 'matplotlib', 'apscheduler', 'bot.app')"
        " if m in sys.modules); print(','.join(heavy))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert found == "", found
