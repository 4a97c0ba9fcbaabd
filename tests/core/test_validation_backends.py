"""The analysis per backend (issue 13): the chosen backend's limits and minimum, its other
models, the default models of other backends (`also`), quoted prices and estimated counts, and
one tokenizer pass per distinct encoding, none when no model needs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bot.core.validation as validation
from bot.core.models import resolve_model
from bot.core.validation import analyze
from tests.conftest import TODAY, shared

MINI = resolve_model("gpt-4o-mini-2024-07-18")
LLAMA = resolve_model("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference")
QWEN = resolve_model("Qwen/Qwen2.5-7B-Instruct")
GPT35 = resolve_model("gpt-3.5-turbo-0125")
TOY = shared("toy_chat_fine_tuning.jsonl")  # 5 examples: 8,233 o200k / 8,242 cl100k tokens


def run(path: Path, model: Any, **kwargs: Any) -> dict[str, Any]:
    return analyze(path, model=model, today=TODAY, **kwargs).to_json()


@pytest.fixture
def encodings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The encodings each analysis loads, in order (one per tokenizer pass)."""
    seen: list[str] = []
    real = validation.get_encoding

    def recording(name: str) -> Any:
        seen.append(name)
        return real(name)

    monkeypatch.setattr(validation, "get_encoding", recording)
    return seen


def by_model(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["model"]: line for line in report["other_models"]}


@pytest.mark.parametrize(
    ("model", "also", "passes"),
    [
        (MINI, (), ["o200k_base"]),  # OpenAI only: no second encoding
        (MINI, (LLAMA,), ["o200k_base", "cl100k_base"]),  # Together added: one cl100k pass
        (LLAMA, (), ["cl100k_base"]),
        (LLAMA, (MINI,), ["cl100k_base", "o200k_base"]),
        (QWEN, (MINI,), ["cl100k_base", "o200k_base"]),
    ],
)
def test_one_pass_per_distinct_encoding(
    encodings: list[str], model: Any, also: tuple[Any, ...], passes: list[str]
) -> None:
    run(TOY, model, also=also)
    assert encodings == passes


def test_a_together_line_beside_openai_is_estimated_quoted_and_one_epoch() -> None:
    report = run(TOY, MINI, also=(LLAMA,))
    assert report["backend"] == "openai" and report["price"] == "per_token"
    assert (report["model"], report["epochs"], report["default_epochs"]) == (MINI.id, 20, 20)
    assert report["estimated_cost_usd"] == pytest.approx(0.49398)  # unchanged
    assert report["errors"]["too_few_examples"]["count"] == 1  # OpenAI's minimum applies
    line = by_model(report)[LLAMA.id]
    assert line == {
        "model": LLAMA.id,
        "billed_tokens_per_epoch": 8242,  # cl100k_base
        "epochs": 1,  # Together's default, not OpenAI's 20
        "estimated_cost_usd": None,  # Together AI quotes it: never $0.00
        "trainable": True,
        "backend": "together",
        "price": "quote",
        "tokens_estimated": True,
    }
    assert not any(m.startswith("Qwen/") for m in by_model(report))  # only the default model
    assert any(LLAMA.id in n and "estimates" in n for n in report["notes"])
    assert report["tokens_estimated"] is False  # the chosen model's own count is exact


def test_together_chosen_applies_its_rules() -> None:
    report = run(TOY, QWEN, also=(MINI,))
    assert (report["backend"], report["model"], report["encoding"]) == (
        "together",
        QWEN.id,
        "cl100k_base",
    )
    assert (report["epochs"], report["default_epochs"]) == (1, 1)
    assert report["estimated_cost_usd"] is None and report["price"] == "quote"
    assert report["tokens_estimated"] is True
    assert "too_few_examples" not in report["errors"]  # Together trains on 5 examples
    lines = by_model(report)
    # Together's other models, then OpenAI's default at OpenAI's epochs and price
    assert list(lines) == [LLAMA.id, "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference", MINI.id]
    assert lines[MINI.id]["epochs"] == 20
    assert lines[MINI.id]["billed_tokens_per_epoch"] == 8233
    assert lines[MINI.id]["estimated_cost_usd"] == pytest.approx(0.49398)
    assert lines[MINI.id]["tokens_estimated"] is False
    assert any(QWEN.id in n and "cl100k_base" in n for n in report["notes"])


def test_epochs_asked_for_apply_to_every_line() -> None:
    report = run(TOY, MINI, epochs=2, also=(LLAMA,))
    assert report["epochs"] == 2 and by_model(report)[LLAMA.id]["epochs"] == 2


def test_also_models_of_the_chosen_backend_are_not_repeated() -> None:
    report = run(TOY, MINI, also=(MINI, resolve_model("gpt-4.1-mini")))
    models = [MINI.id, *by_model(report)]
    assert len(models) == len(set(models))


def test_same_encoding_is_shared(encodings: list[str]) -> None:
    report = run(TOY, GPT35, also=(LLAMA,))  # both cl100k_base: one pass for both
    assert encodings.count("cl100k_base") == 1
    assert by_model(report)[LLAMA.id]["billed_tokens_per_epoch"] == report["total_tokens"] == 8242


def _example(text: str) -> str:
    return json.dumps(
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": text}]}
    )


def test_over_token_limit_uses_the_chosen_models_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    lines = [_example(f"short answer {i}") for i in range(11)]
    lines.insert(2, _example("hello " * 40_000))  # ~40k tokens: over Qwen's 32,768 only
    path.write_text("\n".join(lines) + "\n")
    on_qwen = run(path, QWEN, also=(MINI,))
    assert on_qwen["warnings"]["over_token_limit"] == {"count": 1, "lines": [3]}
    assert on_qwen["billed_tokens_per_epoch"] < on_qwen["total_tokens"]  # capped at 32,768
    on_mini = run(path, MINI, also=(QWEN,))
    assert "over_token_limit" not in on_mini["warnings"]
    assert (
        by_model(on_mini)[QWEN.id]["billed_tokens_per_epoch"] == on_qwen["billed_tokens_per_epoch"]
    )


def test_not_a_dataset_still_names_the_backend(tmp_path: Path) -> None:
    path = tmp_path / "image.jsonl"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    report = run(path, LLAMA, also=(MINI,))
    assert report["errors"] == {"not_jsonl": {"count": 1, "lines": []}}
    assert report["backend"] == "together" and report["estimated_cost_usd"] is None
