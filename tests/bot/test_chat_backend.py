"""Which backend's chat completions serve FTBOT_CHAT_MODEL (mentions and DMs, product §9)."""

from __future__ import annotations

import pytest

from bot.config import load_settings

CASES = [
    ("gpt-4.1-mini", "openai"),  # an OpenAI chat model outside the fine-tuning catalogue
    ("gpt-4o-mini-2024-07-18", "openai"),  # in the catalogue, on OpenAI
    ("ft:gpt-4o-mini-2024-07-18:acme::abc123", "openai"),  # a fine-tuned OpenAI model
    ("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", "together"),  # in Together's catalogue
    ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "together"),  # chat only: a `/` says Together
    ("acme/my-model-2026", "together"),
]


@pytest.mark.parametrize(("model", "backend"), CASES)
def test_the_chat_model_names_its_backend(
    model: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FTBOT_CHAT_MODEL", raising=False)
    assert load_settings(FTBOT_CHAT_MODEL=model).chat_backend == backend


def test_the_default_chat_model_is_openais(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FTBOT_CHAT_MODEL", raising=False)
    assert load_settings().chat_backend == "openai"
