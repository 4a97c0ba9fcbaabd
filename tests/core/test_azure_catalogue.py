"""The Azure OpenAI rows of the model catalogue: same ids as OpenAI's, looked up by backend."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.models import (
    backend_of_model,
    backends_of_model,
    known_model_ids,
    resolve_model,
    trainable_models,
)

AZURE_IDS = (
    "gpt-4o-mini-2024-07-18",
    "gpt-4o-2024-08-06",
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano-2025-04-14",
)


def test_azure_trains_the_gpt_models_it_fine_tunes() -> None:
    assert known_model_ids("azure") == AZURE_IDS


@pytest.mark.parametrize(
    ("model", "shutdown"),
    [("gpt-4o-mini", dt.date(2027, 4, 1)), ("gpt-4o", dt.date(2027, 4, 1)),
     ("gpt-4.1", dt.date(2027, 4, 14)), ("gpt-4.1-mini", dt.date(2027, 4, 14)),
     ("gpt-4.1-nano", dt.date(2027, 4, 14))],
)  # fmt: skip
def test_azure_rows_carry_azures_retirement_dates(model: str, shutdown: dt.date) -> None:
    info = resolve_model(model, "azure")
    assert info.backend == "azure" and info.shutdown == shutdown
    assert info.is_trainable(shutdown - dt.timedelta(days=1))
    assert not info.is_trainable(shutdown)


def test_azure_prices_are_unknown_never_invented() -> None:
    for model_id in AZURE_IDS:
        info = resolve_model(model_id, "azure")
        assert info.billing == "unknown" and info.unpriced and info.quoted
        assert info.training_usd_per_1m == 0.0
        assert info.price_source and info.price_date is not None
        assert not info.tokens_estimated


def test_the_same_id_resolves_per_backend() -> None:
    openai_row = resolve_model("gpt-4o-mini-2024-07-18", "openai")
    azure_row = resolve_model("gpt-4o-mini-2024-07-18", "azure")
    assert openai_row.backend == "openai" and azure_row.backend == "azure"
    assert openai_row.training_usd_per_1m > 0 and not openai_row.quoted
    assert backends_of_model("gpt-4o-mini") == ("openai", "azure")


@pytest.mark.parametrize(
    ("configured", "owner"),
    [(None, "openai"), (("openai", "azure"), "openai"), (("azure",), "azure"),
     (("together", "azure"), "azure"), (("together",), "openai")],
)  # fmt: skip
def test_a_shared_id_belongs_to_the_first_configured_of_openai_and_azure(
    configured: tuple[str, ...] | None, owner: str
) -> None:
    assert backend_of_model("gpt-4.1-mini", configured) == owner


def test_nano_stays_trainable_on_azure_after_openai_shut_it() -> None:
    day = dt.date(2026, 12, 1)
    assert "gpt-4.1-nano-2025-04-14" not in [m.id for m in trainable_models(day, "openai")]
    assert "gpt-4.1-nano-2025-04-14" in [m.id for m in trainable_models(day, "azure")]
