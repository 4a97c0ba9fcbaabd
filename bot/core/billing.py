"""Default epochs, billed tokens and training cost, as the fine-tuning service computes them."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from bot.core.backend_names import backend_name
from bot.core.models import ModelInfo

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def default_epochs(n_examples: int) -> int:
    """The epoch count the service picks for `n_examples` examples (the contract's rule)."""
    if n_examples <= 0:
        return MAX_DEFAULT_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, math.ceil(MIN_TARGET_EXAMPLES / n_examples))
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def cost_usd(billed_tokens_per_epoch: int, epochs: int, usd_per_1m: float) -> float:
    """Training cost: billed tokens per epoch × epochs × price per 1M tokens."""
    return round(billed_tokens_per_epoch * epochs * usd_per_1m / 1_000_000, 8)


@dataclass(frozen=True, slots=True)
class BillingLine:
    """The estimate for one model."""

    model: str
    encoding: str
    example_limit: int
    usd_per_1m: float
    billed_tokens_per_epoch: int
    epochs: int
    cost_usd: float
    trainable: bool
    shutdown: dt.date | None
    backend: str = "openai"
    quoted: bool = False  # the backend quotes the price itself: cost_usd is not known here
    unpriced: bool = False  # no rate known and no quote either (quoted too): the price is unknown
    tokens_estimated: bool = False  # counted with an approximation of the model's tokenizer

    @property
    def billed_tokens(self) -> int:
        """Tokens billed over all epochs."""
        return self.billed_tokens_per_epoch * self.epochs


def billing_line(
    model: ModelInfo, billed_per_epoch: int, epochs: int, today: dt.date
) -> BillingLine:
    """Cost line for `model` given its billed tokens per epoch."""
    return BillingLine(
        model=model.id,
        encoding=model.encoding,
        example_limit=model.example_limit,
        usd_per_1m=model.training_usd_per_1m,
        billed_tokens_per_epoch=billed_per_epoch,
        epochs=epochs,
        cost_usd=cost_usd(billed_per_epoch, epochs, model.training_usd_per_1m),
        trainable=model.is_trainable(today),
        shutdown=model.shutdown,
        backend=model.backend,
        quoted=model.quoted,
        unpriced=model.unpriced,
        tokens_estimated=model.tokens_estimated,
    )


def unknown_price(backend: str) -> str:
    """How the bot says that no price is known for a backend's model (Azure without FTBOT_PRICES)."""
    return f"price unknown ({backend_name(backend)} publishes no rate the bot can read)"


def model_default_epochs(model: ModelInfo, n_examples: int) -> int:
    """The epochs `model`'s backend picks when none are given: OpenAI's rule, or a fixed count."""
    rule = model.epochs_rule
    return default_epochs(n_examples) if rule == "openai" else int(rule)
