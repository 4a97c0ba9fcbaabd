"""Settings: defaults, parsing, one-line errors, secrets never shown."""

from __future__ import annotations

import pytest

from bot.config import Settings, SettingsError, load_settings, require

VARS = [
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL", "PORT", "FTBOT_POLL_SECONDS",
    "FTBOT_ADMINS", "FTBOT_DEFAULT_MODEL", "FTBOT_MAX_FILE_MB", "FTBOT_APPROVAL_USD",
]  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARS:
        monkeypatch.delenv(name, raising=False)


def test_every_contract_variable_has_a_field() -> None:
    assert set(VARS) <= set(Settings.model_fields)


def test_defaults() -> None:
    s = load_settings()
    assert s.SLACK_API_URL == "https://slack.com/api/"
    assert s.DATABASE_URL == "sqlite:///finetune-bot.db"
    assert (s.PORT, s.FTBOT_POLL_SECONDS, s.FTBOT_MAX_FILE_MB) == (3000, 30, 512)
    assert s.FTBOT_DEFAULT_MODEL == "gpt-4o-mini-2024-07-18"
    assert s.FTBOT_APPROVAL_USD is None and s.FTBOT_ADMINS == ()
    assert not s.socket_mode


def test_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTBOT_ADMINS", "U1, U2,,U3")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("OPENAI_BASE_URL", "")  # empty means unset (the SDK would break on "")
    monkeypatch.setenv("FTBOT_DEFAULT_MODEL", "gpt-4.1-mini")
    monkeypatch.setenv("FTBOT_APPROVAL_USD", "25")
    s = load_settings()
    assert s.FTBOT_ADMINS == ("U1", "U2", "U3")
    assert s.DATABASE_URL == "postgresql+psycopg://postgres@127.0.0.1/test"
    assert s.SLACK_API_URL == "http://127.0.0.1:9/api/"
    assert s.OPENAI_BASE_URL is None
    assert s.FTBOT_DEFAULT_MODEL == "gpt-4.1-mini-2025-04-14"
    assert s.FTBOT_APPROVAL_USD == 25


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("PORT", "-1"),
        ("FTBOT_POLL_SECONDS", "0"),
        ("FTBOT_MAX_FILE_MB", "lots"),
        ("FTBOT_APPROVAL_USD", "-1"),
        ("FTBOT_DEFAULT_MODEL", "gpt-9"),
        ("SLACK_API_URL", "slack.com/api"),
    ],
)
def test_malformed_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message


def test_secrets_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    s = load_settings()
    assert "sk-test" not in repr(s) and "xoxb-test" not in str(s)
    assert s.OPENAI_API_KEY is not None
    assert s.OPENAI_API_KEY.get_secret_value() == "sk-test-not-a-real-key"


def test_require_names_the_missing_variable() -> None:
    with pytest.raises(SettingsError, match=r"^SLACK_BOT_TOKEN is not set"):
        require(load_settings(), "SLACK_BOT_TOKEN")
