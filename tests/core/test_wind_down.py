"""OpenAI's wind-down in words and data: the countdown, what a refusal says next, and which
settings of a refused request mean the same on another backend."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.wind_down import carried_values, closing_notice, next_steps

CLOSES = dt.date(2027, 1, 6)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 12, 1), "OpenAI stops taking new fine-tuning jobs on 6 Jan 2027 (in 36 days)"),
        (dt.date(2027, 1, 5), "OpenAI stops taking new fine-tuning jobs on 6 Jan 2027 (in 1 day)"),
        (dt.date(2025, 1, 6), "OpenAI stops taking new fine-tuning jobs on 6 Jan 2027 (in 730 days)"),
        (dt.date(2027, 1, 6), None),
        (dt.date(2027, 3, 1), None),
    ],
)  # fmt: skip
def test_the_countdown_wording(today: dt.date, expected: str | None) -> None:
    assert closing_notice(today, CLOSES) == expected


REQUEST = {
    "method": "dpo",
    "hyperparameters": {"n_epochs": 3, "batch_size": 8, "learning_rate_multiplier": 0.5},
    "suffix": "drone",
    "seed": 7,
}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        # Together: the multiplier is not its absolute rate, and its form takes no seed
        ("together", {"method": "dpo", "epochs": "3", "batch": "8", "suffix": "drone"}),
        # Azure OpenAI takes OpenAI's parameters: all of them mean the same
        ("azure", {"method": "dpo", "epochs": "3", "batch": "8", "lr": "0.5", "suffix": "drone", "seed": "7"}),
    ],
)  # fmt: skip
def test_the_carried_settings_table(target: str, expected: dict[str, str]) -> None:
    assert carried_values(target=target, **REQUEST) == expected  # type: ignore[arg-type]


def test_nothing_given_nothing_carried_and_odd_values_are_dropped() -> None:
    assert (
        carried_values(target="together", method=None, hyperparameters=None, suffix=None, seed=None)
        == {}
    )
    odd = {"n_epochs": True, "batch_size": "auto", "learning_rate_multiplier": None}
    values = carried_values(
        target="azure", method="supervised", hyperparameters=odd, suffix="", seed=None
    )
    assert values == {"method": "supervised", "batch": "auto"}


def test_next_steps_name_the_other_backends_or_say_how_to_configure_one() -> None:
    assert "on Together AI instead" in str(next_steps(("together",)))
    assert "on Together AI or Azure OpenAI instead" in str(next_steps(("together", "azure")))
    none = str(next_steps(()))
    assert "TOGETHER_API_KEY" in none
    assert "AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and OPENAI_API_VERSION" in none
