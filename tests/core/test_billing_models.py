"""Epoch rule, cost, and the model catalogue."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.billing import cost_usd, default_epochs
from bot.core.models import UnknownModelError, catalogue, resolve_model, trainable_models
from bot.core.validation import analyze
from tests.conftest import TODAY, shared


@pytest.mark.parametrize(
    ("n", "epochs"),
    [
        (1, 25),  # ceil(100/1) = 100, capped at 25
        (4, 25),
        (5, 20),
        (7, 15),  # ceil(100/7) = 15 (the cookbook's floor would say 14)
        (10, 10),
        (33, 4),  # 99 < 100 -> ceil(100/33) = 4
        (34, 3),  # 102 >= 100
        (8333, 3),  # 24,999 <= 25,000
        (8334, 2),  # 25,002 > 25,000 -> floor(25000/8334) = 2
        (12500, 2),
        (12501, 1),
        (100_000, 1),
    ],
)
def test_default_epochs(n: int, epochs: int) -> None:
    assert default_epochs(n) == epochs


def test_cost() -> None:
    assert cost_usd(8233, 20, 3.0) == 0.49398
    assert cost_usd(8242, 20, 8.0) == 1.31872


def test_catalogue_is_data_with_the_documented_models() -> None:
    ids = {m.id for m in catalogue()}
    assert {"gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-4.1-2025-04-14"} <= ids
    mini = resolve_model("gpt-4o-mini-2024-07-18")
    assert (mini.training_usd_per_1m, mini.example_limit, mini.encoding) == (
        3.0,
        65536,
        "o200k_base",
    )
    assert resolve_model("gpt-3.5-turbo").encoding == "cl100k_base"


def test_trainable_models_follow_shutdown_dates() -> None:
    ids = [m.id for m in trainable_models(TODAY, "openai")]
    assert ids == [
        "gpt-4o-mini-2024-07-18",
        "gpt-4o-2024-08-06",
        "gpt-4.1-2025-04-14",
        "gpt-4.1-mini-2025-04-14",
    ]
    before = [m.id for m in trainable_models(dt.date(2026, 10, 1))]
    assert "gpt-4.1-nano-2025-04-14" in before
    assert "gpt-3.5-turbo-0125" in before


@pytest.mark.parametrize(
    ("name", "resolved"),
    [
        ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("ft:gpt-4.1-mini-2025-04-14:org::abc123", "gpt-4.1-mini-2025-04-14"),
        ("ft:gpt-4o-mini-2024-07-18:my-org:custom:9ABel2dg:ckpt-step-88", "gpt-4o-mini-2024-07-18"),
    ],
)
def test_resolve_aliases_and_fine_tuned_names(name: str, resolved: str) -> None:
    assert resolve_model(name).id == resolved


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModelError) as info:
        resolve_model("gpt-9")
    assert "gpt-4o-mini-2024-07-18" in str(info.value)


def test_toy_dataset_numbers_equal_the_cookbook() -> None:
    toy = shared("toy_chat_fine_tuning.jsonl")
    report = analyze(toy, model=resolve_model("gpt-4o-mini-2024-07-18"), today=TODAY).to_json()
    assert report["total_tokens"] == 8233
    assert report["billed_tokens_per_epoch"] == 8233
    assert report["default_epochs"] == 20
    assert report["estimated_cost_usd"] == pytest.approx(0.49398)
    assert report["warnings"]["missing_system_message"]["count"] == 1
    assert report["warnings"]["missing_user_message"]["count"] == 1
    assert set(report["errors"]) == {"too_few_examples"}
    assert report["format"] == "chat" and report["examples"] == 5
    old = analyze(toy, model=resolve_model("gpt-3.5-turbo-0125"), today=TODAY).to_json()
    assert (old["total_tokens"], old["billed_tokens_per_epoch"]) == (8242, 8242)
    assert old["estimated_cost_usd"] == pytest.approx(1.31872)
    stats = old["token_stats"]
    assert (stats["min"], stats["median"], stats["max"], stats["p95"]) == (26, 45, 8032, 6447.8)


def test_drone_dataset_is_valid_chat_with_tools() -> None:
    report = analyze(
        shared("drone_training.jsonl"), model=resolve_model("gpt-4o-mini"), today=TODAY
    ).to_json()
    assert (report["format"], report["examples"], report["valid"]) == ("chat_tools", 103, True)
    assert report["tokens_estimated"] is True
    assert report["token_stats"]["min"] > 465  # every example carries 465 tokens of tools


def test_catalogue_rows_name_their_backend_tokenizer_and_billing_rule() -> None:
    from bot.core.billing import model_default_epochs

    for model in catalogue():
        assert model.backend in ("openai", "together", "azure"), model.id
        assert model.price_source and model.price_date is not None, model.id
    llama = resolve_model("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference")
    assert (llama.backend, llama.tokens_estimated, llama.quoted) == ("together", True, True)
    assert model_default_epochs(llama, 10) == 1  # Together's default, not OpenAI's rule
    mini = resolve_model("gpt-4o-mini")
    assert (mini.backend, mini.tokens_estimated, mini.quoted) == ("openai", False, False)
    assert model_default_epochs(mini, 10) == 10


def test_models_resolve_per_backend_and_names_with_a_slash_are_together() -> None:
    from bot.core.models import backend_of_model

    assert backend_of_model("gpt-4o-mini") == "openai"
    assert backend_of_model("Qwen/Qwen2.5-7B-Instruct") == "together"
    assert backend_of_model("someone/unknown-model") == "together"
    assert backend_of_model("gpt-9") is None
    with pytest.raises(UnknownModelError) as info:
        resolve_model("gpt-4o-mini", backend="together")
    assert "gpt-4o-mini-2024-07-18" not in info.value.known
    assert [m.backend for m in trainable_models(TODAY, "together")] == ["together"] * 3
