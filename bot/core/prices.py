"""The operator's own training rates (FTBOT_PRICES): a small TOML file, checked line by line.

Azure OpenAI bills fine-tuning per training token, but its rates differ by region and training
tier (regional, Global, Developer) and no rate is readable offline (models.toml), so the catalogue
marks Azure's models `billing = "unknown"`. A team that knows its rates writes them down once:

    [[price]]
    backend = "azure"
    model = "gpt-4o-mini"            # an id or alias of that backend's catalogue
    training_usd_per_1m = 3.30
    source = "Azure price sheet, East US 2, Global training"
    date = 2026-11-20                # optional: when the rate was read

and the bot estimates, approves and totals those jobs in dollars like OpenAI's. A rate may also
correct a per-token model's rate (a price change the catalogue has not caught up with). Models
whose backend quotes each job's price itself (Together AI) take no rate: the quote is the price.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib

from bot.core.backend_names import NAMES
from bot.core.models import PriceOverride, file_catalogue

_KEYS = frozenset(
    {
        "backend",
        "model",
        "training_usd_per_1m",
        "source",
        "date",
        "inference_input_usd_per_1m",
        "inference_output_usd_per_1m",
    }
)
_MAX_RATE = 10_000.0  # dollars per 1M tokens: anything above is a typo (OpenAI's dearest is $100)


class PriceFileError(ValueError):
    """A price file the bot cannot use; the message names the entry and what is wrong."""


def parse_prices(text: str) -> tuple[PriceOverride, ...]:
    """The rates of a price file, each checked against the catalogue; PriceFileError if any
    entry is wrong (nothing is half-applied)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PriceFileError(f"not valid TOML: {exc}") from None
    unknown_tables = set(raw) - {"price"}
    if unknown_tables:
        raise PriceFileError(f"unknown table {sorted(unknown_tables)[0]!r} (expected [[price]])")
    entries = raw.get("price", [])
    if not isinstance(entries, list):
        raise PriceFileError("`price` must be an array of tables ([[price]])")
    found: list[PriceOverride] = []
    seen: set[tuple[str, str]] = set()
    for number, entry in enumerate(entries, start=1):
        price = _entry(entry, f"price #{number}")
        key = (price.backend, _model_id(price))
        if key in seen:
            raise PriceFileError(
                f"price #{number}: {price.model} on {price.backend} is priced twice"
            )
        seen.add(key)
        found.append(price)
    return tuple(found)


def _entry(entry: object, where: str) -> PriceOverride:
    if not isinstance(entry, dict):
        raise PriceFileError(f"{where}: expected a table")
    extra = set(entry) - _KEYS
    if extra:
        raise PriceFileError(f"{where}: unknown key {sorted(extra)[0]!r}")
    for key in ("backend", "model", "training_usd_per_1m", "source"):
        if key not in entry:
            raise PriceFileError(f"{where}: `{key}` is missing")
    backend, model, source = entry["backend"], entry["model"], entry["source"]
    if backend not in NAMES:
        raise PriceFileError(f"{where}: backend must be one of {', '.join(NAMES)}")
    if not isinstance(model, str) or not model.strip():
        raise PriceFileError(f"{where}: `model` must be a model name")
    if not isinstance(source, str) or not source.strip():
        raise PriceFileError(f"{where}: `source` must say where the rate comes from")
    date = entry.get("date")
    if date is not None and not (isinstance(date, dt.date) and not isinstance(date, dt.datetime)):
        raise PriceFileError(f"{where}: `date` must be a date such as 2026-11-20")
    price = PriceOverride(
        backend=backend,
        model=model.strip(),
        training_usd_per_1m=_rate(entry["training_usd_per_1m"], where, "training_usd_per_1m"),
        source=" ".join(source.split()),
        date=date,
        inference_input_usd_per_1m=_optional_rate(entry, where, "inference_input_usd_per_1m"),
        inference_output_usd_per_1m=_optional_rate(entry, where, "inference_output_usd_per_1m"),
    )
    _model_id(price, where)
    return price


def _optional_rate(entry: dict[str, object], where: str, key: str) -> float | None:
    return _rate(entry[key], where, key) if key in entry else None


def _rate(value: object, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PriceFileError(f"{where}: `{key}` must be a number of dollars per 1M tokens")
    rate = float(value)
    if not math.isfinite(rate) or rate <= 0 or rate > _MAX_RATE:
        raise PriceFileError(
            f"{where}: `{key}` must be above 0 and at most {_MAX_RATE:,.0f} dollars per 1M tokens"
        )
    return rate


def _model_id(price: PriceOverride, where: str = "") -> str:
    """The catalogue id the rate applies to; PriceFileError when there is none it may price."""
    for model in file_catalogue():
        if price.applies_to(model):
            if model.billing == "quote":
                raise PriceFileError(
                    f"{where}: {price.model} on {price.backend} is priced by the backend's own "
                    "quote for each job; it takes no rate"
                )
            return model.id
    raise PriceFileError(f"{where}: {price.model} is not a {price.backend} model of the catalogue")
