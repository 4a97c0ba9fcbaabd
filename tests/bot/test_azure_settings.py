"""Azure OpenAI's settings (product §9): the openai SDK's own variables, the key a secret."""

from __future__ import annotations

import pytest

from bot.app import backends
from bot.config import SECRET_VARIABLES, SettingsError, check_serve, load_settings

SLACK = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "DATABASE_URL": "sqlite://"}
AZURE = {
    "AZURE_OPENAI_API_KEY": "azure-secret-key",
    "AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com/",
    "OPENAI_API_VERSION": "2025-04-01-preview",
}


def test_azure_alone_is_enough_to_serve_and_is_configured() -> None:
    settings = load_settings(**SLACK, **AZURE)
    check_serve(settings)
    assert settings.configured_backends == ("azure",)
    assert settings.AZURE_OPENAI_ENDPOINT == "https://res.openai.azure.com"
    registry = backends(settings)
    assert registry.configured() == ("azure",)
    assert registry.get("azure").configured


def test_the_azure_key_is_a_secret() -> None:
    assert "AZURE_OPENAI_API_KEY" in SECRET_VARIABLES
    assert "azure-secret-key" not in repr(load_settings(**SLACK, **AZURE))


@pytest.mark.parametrize(
    ("missing", "needle"),
    [("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_ENDPOINT is not set"),
     ("OPENAI_API_VERSION", "OPENAI_API_VERSION is not set")],
)  # fmt: skip
def test_a_key_without_endpoint_or_version_is_one_settings_error(missing: str, needle: str) -> None:
    values = {k: v for k, v in AZURE.items() if k != missing}
    with pytest.raises(SettingsError) as caught:
        load_settings(**SLACK, **values)
    assert str(caught.value).startswith(needle) and "\n" not in str(caught.value)


def test_an_endpoint_must_be_a_url() -> None:
    with pytest.raises(SettingsError, match="AZURE_OPENAI_ENDPOINT: must be an http"):
        load_settings(**SLACK, **{**AZURE, "AZURE_OPENAI_ENDPOINT": "res.openai.azure.com"})


def test_no_backend_names_all_three_keys() -> None:
    with pytest.raises(SettingsError) as caught:
        check_serve(load_settings(**SLACK))
    for key in ("OPENAI_API_KEY", "TOGETHER_API_KEY", "AZURE_OPENAI_API_KEY"):
        assert key in str(caught.value)


def test_without_the_azure_key_azure_is_not_configured() -> None:
    settings = load_settings(**SLACK, OPENAI_API_KEY="sk")
    assert backends(settings).configured() == ("openai",)
