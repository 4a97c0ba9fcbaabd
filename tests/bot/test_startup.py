"""`finetune-bot serve` checks every setting first: a missing or unusable one is one line, answered
before anything heavy is imported and before the database or any file is touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SettingsError, check_serve, load_settings
from tests.bot.test_cli import finetune_bot

# What serving needs and checking settings must not: importing these takes seconds.
HEAVY = (
    "bot.app", "bot.server", "slack_bolt", "slack_sdk", "sqlalchemy", "alembic", "openai",
    "matplotlib", "waitress", "apscheduler",
)  # fmt: skip
PROBE = (
    "import json, sys\n"
    "from bot.cli import main\n"
    "code = main(['serve'])\n"
    f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
    "print(json.dumps({'code': code, 'heavy': heavy}))\n"
)


SLACK = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
KEY = {"OPENAI_API_KEY": "sk-x"}  # a backend key: serving needs one (product §9)


@pytest.fixture(autouse=True)
def no_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*SLACK, "DATABASE_URL", "OPENAI_API_KEY", "TOGETHER_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def clean_env(tmp_path: Path, **values: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), **values}


def serve_in(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The console script, run the way a user runs it, from `cwd`."""
    return subprocess.run(
        [finetune_bot(), "serve"], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def probe(cwd: Path, env: dict[str, str]) -> dict[str, object]:
    """`main(['serve'])` in a fresh interpreter: its exit code and the heavy modules loaded."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


CASES = {
    "no token": ({}, "SLACK_BOT_TOKEN is not set"),
    "no signing secret": ({"SLACK_BOT_TOKEN": "xoxb-x"}, "SLACK_SIGNING_SECRET is not set"),
    "database directory missing": (
        {
            "SLACK_BOT_TOKEN": "xoxb-x",
            "SLACK_SIGNING_SECRET": "s",
            "DATABASE_URL": "sqlite:////nonexistent-ftbot/bot.db",
            **KEY,
        },
        "DATABASE_URL: directory /nonexistent-ftbot does not exist",
    ),
    "not a database URL": (
        {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "DATABASE_URL": "bot.db", **KEY},
        "DATABASE_URL: not a database URL",
    ),
    "no backend key": (
        {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s"},
        "no fine-tuning backend is configured: set OPENAI_API_KEY (OpenAI), TOGETHER_API_KEY "
        "(Together AI) or AZURE_OPENAI_API_KEY",
    ),
    "azure key without endpoint": (
        {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "AZURE_OPENAI_API_KEY": "k"},
        "AZURE_OPENAI_ENDPOINT is not set (Azure OpenAI needs",
    ),
    "azure key without api version": (
        {
            "SLACK_BOT_TOKEN": "xoxb-x",
            "SLACK_SIGNING_SECRET": "s",
            "AZURE_OPENAI_API_KEY": "k",
            "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com",
        },
        "OPENAI_API_VERSION is not set (Azure OpenAI needs",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_missing_setting_is_one_line_and_touches_nothing(tmp_path: Path, case: str) -> None:
    values, needle = CASES[case]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    out = serve_in(cwd, clean_env(tmp_path, **values))
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"finetune-bot: {needle}"), out.stderr
    assert list(cwd.iterdir()) == []  # no finetune-bot.db, no migrate lock


@pytest.mark.parametrize("case", CASES)
def test_settings_are_checked_before_anything_heavy_is_imported(tmp_path: Path, case: str) -> None:
    values, _ = CASES[case]
    assert probe(tmp_path, clean_env(tmp_path, **values)) == {"code": 2, "heavy": []}


def test_the_probe_sees_heavy_imports_when_serving_goes_further(tmp_path: Path) -> None:
    # Every setting right, Slack unreachable: serve gets as far as the Slack client, so the
    # probe above would notice if checking the settings imported the same modules.
    env = clean_env(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-x",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL="http://127.0.0.1:9/api/",
        DATABASE_URL=f"sqlite:///{tmp_path}/bot.db",
        **KEY,
    )
    result = probe(tmp_path, env)
    heavy = result["heavy"]
    assert result["code"] == 2 and isinstance(heavy, list)
    assert {"bot.app", "slack_bolt", "sqlalchemy"} <= set(heavy)
    assert not (tmp_path / "bot.db").exists()  # Slack refused before the database was touched


def test_signing_secret_message_offers_socket_mode() -> None:
    settings = load_settings(SLACK_BOT_TOKEN="xoxb-x", DATABASE_URL="sqlite://")
    with pytest.raises(SettingsError) as info:
        check_serve(settings)
    assert "SLACK_APP_TOKEN" in str(info.value) and "Socket Mode" in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///relative.db",
        "sqlite+pysqlite:///relative.db?timeout=5",
        "postgresql://user:pw@db-host/finetune",
        "postgresql+psycopg://db-host/finetune",
    ],
)
def test_usable_database_urls_pass(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    check_serve(
        load_settings(SLACK_BOT_TOKEN="xoxb-x", SLACK_APP_TOKEN="xapp-x", DATABASE_URL=url, **KEY)
    )


def test_a_bad_database_url_is_not_echoed() -> None:
    settings = load_settings(
        SLACK_BOT_TOKEN="xoxb-x", SLACK_APP_TOKEN="xapp-x", DATABASE_URL="user:secret-pw@db", **KEY
    )
    with pytest.raises(SettingsError) as info:
        check_serve(settings)
    assert str(info.value).startswith("DATABASE_URL: ") and "secret-pw" not in str(info.value)


@pytest.mark.parametrize(
    "keys",
    [
        {"OPENAI_API_KEY": "sk-x"},
        {"TOGETHER_API_KEY": "tg-x"},
        {"OPENAI_API_KEY": "sk-x", "TOGETHER_API_KEY": "tg-x"},
    ],
)
def test_any_one_backend_key_is_enough_to_serve(keys: dict[str, str]) -> None:
    check_serve(load_settings(SLACK_BOT_TOKEN="xoxb-x", SLACK_APP_TOKEN="xapp-x", **keys))


def test_without_a_backend_key_serve_names_both_variables_and_no_secret() -> None:
    settings = load_settings(SLACK_BOT_TOKEN="xoxb-secret-token", SLACK_SIGNING_SECRET="sig-secret")
    with pytest.raises(SettingsError) as info:
        check_serve(settings)
    message = str(info.value)
    assert "OPENAI_API_KEY" in message and "TOGETHER_API_KEY" in message
    assert "\n" not in message and "secret" not in message
