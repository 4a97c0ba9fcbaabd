"""FTBOT_PRICES (bot/core/prices.py): the operator's own training rates, checked entry by entry,
and applied to the catalogue so Azure jobs are estimated and approved in dollars."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.billing import billing_line
from bot.core.models import catalogue, resolve_model, use_prices
from bot.core.prices import PriceFileError, parse_prices

AZURE_MINI = """
[[price]]
backend = "azure"
model = "gpt-4o-mini"
training_usd_per_1m = 1.65
source = "Azure price sheet, East US 2, Global training"
date = 2026-11-20
"""


def test_a_rate_makes_an_azure_model_priced_per_token() -> None:
    assert resolve_model("gpt-4o-mini", "azure").unpriced
    use_prices(parse_prices(AZURE_MINI))
    model = resolve_model("gpt-4o-mini", "azure")
    assert (model.billing, model.training_usd_per_1m) == ("per_token", 1.65)
    assert not model.quoted and not model.unpriced
    assert model.price_date == dt.date(2026, 11, 20)
    assert "FTBOT_PRICES" in model.price_source and "East US 2" in model.price_source
    # only that backend's model: OpenAI's gpt-4o-mini and Azure's gpt-4o keep theirs
    assert resolve_model("gpt-4o-mini", "openai").training_usd_per_1m == 3.0
    assert resolve_model("gpt-4o", "azure").unpriced
    line = billing_line(model, 1_000_000, 2, dt.date(2026, 12, 1))
    assert line.cost_usd == pytest.approx(3.30) and not line.quoted
    use_prices(())
    assert resolve_model("gpt-4o-mini", "azure").unpriced


def test_the_snapshot_id_works_like_the_alias() -> None:
    text = AZURE_MINI.replace('"gpt-4o-mini"', '"gpt-4o-mini-2024-07-18"')
    use_prices(parse_prices(text))
    assert resolve_model("gpt-4o-mini", "azure").training_usd_per_1m == 1.65


def test_inference_rates_are_optional() -> None:
    use_prices(parse_prices(AZURE_MINI + "inference_input_usd_per_1m = 0.33\n"))
    model = resolve_model("gpt-4o-mini", "azure")
    assert model.inference_input_usd_per_1m == 0.33
    assert (
        model.inference_output_usd_per_1m
        == next(
            m for m in catalogue() if m.id == model.id and m.backend == "azure"
        ).inference_output_usd_per_1m
    )


def test_an_empty_file_prices_nothing() -> None:
    assert parse_prices("") == ()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[[price]\n", "not valid TOML"),
        ("[prices]\nx = 1\n", "unknown table 'prices'"),
        ("price = 3\n", "array of tables"),
        (AZURE_MINI.replace('backend = "azure"\n', ""), "price #1: `backend` is missing"),
        (AZURE_MINI.replace('"azure"', '"bedrock"'), "backend must be one of openai, together"),
        (AZURE_MINI.replace('"gpt-4o-mini"', '"gpt-9"'), "gpt-9 is not a azure model"),
        (AZURE_MINI.replace("1.65", "0"), "must be above 0"),
        (AZURE_MINI.replace("1.65", "-2"), "must be above 0"),
        (AZURE_MINI.replace("1.65", "1e9"), "at most 10,000"),
        (AZURE_MINI.replace("1.65", "nan"), "must be above 0"),
        (AZURE_MINI.replace("1.65", '"1.65"'), "must be a number"),
        (AZURE_MINI.replace("1.65", "true"), "must be a number"),
        (AZURE_MINI.replace('"Azure price sheet, East US 2, Global training"', '"  "'), "`source`"),
        (AZURE_MINI.replace("2026-11-20", '"last week"'), "`date` must be a date"),
        (AZURE_MINI + "region = 'eastus2'\n", "unknown key 'region'"),
        (AZURE_MINI + AZURE_MINI.replace('"gpt-4o-mini"', '"gpt-4o-mini-2024-07-18"'), "twice"),
        (
            '[[price]]\nbackend = "together"\n'
            'model = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"\n'
            'training_usd_per_1m = 0.5\nsource = "x"\n',
            "own quote for each job; it takes no rate",
        ),
    ],
)
def test_a_bad_price_file_is_refused_by_entry(text: str, needle: str) -> None:
    with pytest.raises(PriceFileError) as caught:
        parse_prices(text)
    assert needle in str(caught.value)
