"""`start` on each backend: new options parsed, options a backend lacks refused by name, the
learning rate checked in the backend's own meaning, hyperparameters mapped (product §9)."""

from __future__ import annotations

import pytest

from bot.core import commands
from bot.core.command_types import Start
from bot.core.message import plain
from bot.core.models import resolve_model
from bot.core.start_rules import (
    EPOCHS,
    METHOD_NAMES,
    hyperparameters,
    limits,
    method_for,
    model_fits,
    price_words,
    quotes_price,
    refusal,
    refusal_of,
)

QWEN = "Qwen/Qwen2.5-7B-Instruct"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("start d backend=together", Start("d", backend="together")),
     ("start d backend=OpenAI", Start("d", backend="openai")),
     ("start d backend=azure", Start("d", backend="azure")),
     (f"start d model={QWEN} lr=0.00002 training=full checkpoints=3",
      Start("d", model=QWEN, lr=2e-5, training="full", checkpoints=3)),
     ("start d training=LoRA", Start("d", training="lora")),
     ("start d model=acme/not-a-model", Start("d", model="acme/not-a-model")),
     ("cost d model=acme/unknown", commands.Cost("d", "acme/unknown"))],
)  # fmt: skip
def test_new_start_options_parse(text: str, expected: commands.Command) -> None:
    assert commands.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [("start d backend=fireworks", "`backend` must be one of `openai`, `together`, `azure`"),
     ("start d backend=", "needs a value"),
     ("start d training=qlora", "`training` must be `lora` or `full`"),
     ("start d checkpoints=0", "`checkpoints` must be between 1 and 20"),
     ("start d checkpoints=21", "`checkpoints` must be between 1 and 20"),
     ("start d checkpoints=two", "`checkpoints` must be a whole number"),
     ("start d model=gpt-9", "known models")],
)  # fmt: skip
def test_new_start_options_refused(text: str, needle: str) -> None:
    with pytest.raises(commands.UsageError) as info:
        commands.parse(text)
    message = str(info.value)
    assert needle in message and "Usage" in message and "\n" not in message


def test_help_says_which_learning_rate_applies_where_and_lists_the_new_options() -> None:
    (start,) = [line for line in commands.help_lines() if line[0].startswith("/finetune start")]
    usage, summary, _ = start
    for option in ("[backend=…]", "[training=…]", "[checkpoints=…]"):
        assert option in usage
    assert "multiplier" in summary and "absolute learning rate" in summary
    assert "OpenAI" in summary and "Together" in summary


@pytest.mark.parametrize(
    ("cmd", "backend", "needle"),
    [(Start("d", training="full"), "openai", "OpenAI has no `training=` option"),
     (Start("d", training="lora"), "openai", "OpenAI has no `training=` option"),
     (Start("d", checkpoints=3), "openai", "OpenAI has no `checkpoints=` option"),
     (Start("d", lr=0.0005), "openai", "learning-rate multiplier: between 0.001 and 10"),
     (Start("d", lr=0.5), "together", "absolute learning rate: between 0.0000001 and 0.01"),
     (Start("d", lr=2e-5, suffix="a" * 27), "together", "at most 26 characters"),
     (Start("d", training="lora"), "azure", "Azure OpenAI has no `training=` option"),
     (Start("d", checkpoints=2), "azure", "Azure OpenAI has no `checkpoints=` option"),
     (Start("d", lr=2e-5), "azure", "On Azure OpenAI `lr=` is the learning-rate multiplier"),
     (Start("d", suffix="a" * 27), "azure", "at most 26 characters")],
)  # fmt: skip
def test_refused_by_name(cmd: Start, backend: str, needle: str) -> None:
    refused = refusal(cmd, backend)
    assert refused is not None and needle in plain(refused)


@pytest.mark.parametrize(
    ("cmd", "backend"),
    [(Start("d", lr=0.1, seed=3, batch=8, epochs=2, suffix="x"), "openai"),
     (Start("d", lr=2e-5, training="full", checkpoints=3, seed=3, batch=8), "together"),
     (Start("d", lr=1e-7), "together"), (Start("d", lr=0.01), "together"),
     (Start("d", suffix="a" * 26), "together"),
     (Start("d", lr=0.1, seed=3, batch=8, epochs=2, suffix="a" * 26), "azure")],
)  # fmt: skip
def test_accepted(cmd: Start, backend: str) -> None:
    assert refusal(cmd, backend) is None


def test_hyperparameters_in_each_backends_terms() -> None:
    cmd = Start("d", epochs=2, batch=8, lr=2e-5, training="full", checkpoints=3)
    assert hyperparameters(cmd, "together") == {
        "n_epochs": 2,
        "batch_size": 8,
        "learning_rate": 2e-5,
        "n_checkpoints": 3,
        "training_type": "full",
    }
    assert hyperparameters(Start("d", epochs=2, lr=0.5), "openai") == {
        "n_epochs": 2,
        "learning_rate_multiplier": 0.5,
    }
    assert hyperparameters(Start("d"), "together") == {}


def test_price_words_label_the_quote_as_the_backends() -> None:
    assert quotes_price(QWEN, "together") and not quotes_price("gpt-4o-mini-2024-07-18", "openai")
    assert (
        price_words(model=QWEN, backend="together", cost_usd=1.23, tokens=456_789)
        == "Together AI's quote: $1.23 for 456,789 tokens"
    )
    assert "gave no quote" in price_words(
        model=QWEN, backend="together", cost_usd=None, tokens=None
    )
    assert (
        price_words(model="gpt-4o-mini-2024-07-18", backend="openai", cost_usd=0.5, tokens=9)
        == "estimated $0.50"
    )


@pytest.mark.parametrize(
    ("cmd", "backend", "field"),
    [(Start("d", training="full"), "openai", "training"),
     (Start("d", checkpoints=3), "azure", "checkpoints"),
     (Start("d", lr=0.0005), "openai", "lr"), (Start("d", lr=0.5), "together", "lr"),
     (Start("d", suffix="a" * 27), "together", "suffix"),
     (Start("d", suffix="a" * 27), "azure", "suffix"), (Start("d"), "fireworks", "backend")],
)  # fmt: skip
def test_a_refusal_names_the_option_refused(cmd: Start, backend: str, field: str) -> None:
    refused = refusal_of(cmd, backend)
    assert refused is not None and refused[0] == field
    assert refusal(cmd, backend) == refused[1]


def test_each_backend_has_its_number_limits() -> None:
    assert set(limits("openai")) == {"epochs", "batch", "lr", "seed"} == set(limits("azure"))
    assert set(limits("together")) == {"epochs", "batch", "lr", "checkpoints"}
    assert (limits("openai")["lr"].low, limits("openai")["lr"].high) == (0.001, 10.0)
    assert (limits("together")["lr"].low, limits("together")["lr"].high) == (1e-7, 1e-2)
    assert limits("together")["lr"].decimal and not limits("openai")["epochs"].decimal
    assert EPOCHS.holds(50) and not EPOCHS.holds(51) and not EPOCHS.holds(2.5)
    assert limits("together")["lr"].holds(2e-5) and not limits("openai")["lr"].holds(2e-5)
    # the command's parsers use the same limits
    with pytest.raises(commands.UsageError, match="between 1 and 50"):
        commands.parse_epochs("51")


@pytest.mark.parametrize(
    ("fmt", "model", "backend", "fits"),
    [("chat", "gpt-4o-mini-2024-07-18", "openai", True),
     ("dpo", "gpt-4o-mini-2024-07-18", "openai", True),
     ("dpo", "gpt-3.5-turbo-0125", "openai", False),
     ("chat", "babbage-002", "openai", False),
     ("prompt_completion", "babbage-002", "openai", True),
     ("prompt_completion", "gpt-4o-mini-2024-07-18", "openai", False),
     ("chat_tools", QWEN, "together", True), ("dpo", QWEN, "together", True)],
)  # fmt: skip
def test_a_model_fits_the_data_it_can_train(fmt: str, model: str, backend: str, fits: bool) -> None:
    assert model_fits(resolve_model(model, backend), fmt) is fits
    assert METHOD_NAMES[method_for(fmt)] == (
        "Preference (DPO)" if fmt == "dpo" else "Supervised (SFT)"
    )
