"""What each backend accepts on `start` (product §9): options it lacks are refused by name,
the learning rate is checked in its own meaning, and the rest is mapped to its
hyperparameters. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.backend_names import AZURE as AZURE
from bot.core.backend_names import OPENAI as OPENAI
from bot.core.backend_names import TOGETHER as TOGETHER
from bot.core.backend_names import backend_name
from bot.core.billing import unknown_price
from bot.core.command_types import Start
from bot.core.fmt import number
from bot.core.message import Code, Message, say
from bot.core.models import ModelInfo, UnknownModelError, resolve_model
from bot.core.reports import usd

# OpenAI recommends multipliers of 0.02–0.2; far below 0.001 nothing is learnt, far above 10
# the weights diverge, and the API itself only asks for "> 0".
OPENAI_LR = (0.001, 10.0)
# Together takes an absolute learning rate (default 1e-5); its model limits span about 1e-7..1e-2.
TOGETHER_LR = (1e-7, 1e-2)
TOGETHER_DEFAULT_LR = 1e-5
# Together's suffixes hold 40 characters; the bot appends a 14-character request tag
# (`-ftb` + 10 hex, bot/backends/together_shapes.py) that finds the job after an ambiguous create.
TOGETHER_SUFFIX_MAX = 40 - 14


@dataclass(frozen=True, slots=True)
class Limit:
    """The range of a numeric start option (inclusive); `decimal` when it takes fractions."""

    low: float
    high: float
    decimal: bool = False

    @property
    def whole(self) -> tuple[int, int]:
        """The range as whole numbers."""
        return int(self.low), int(self.high)

    def holds(self, value: float) -> bool:
        """True when `value` is in range (and whole, unless the option takes fractions)."""
        return self.low <= value <= self.high and (self.decimal or float(value).is_integer())


EPOCHS = Limit(1, 50)
BATCH = Limit(1, 256)
SEED = Limit(0, 2**31 - 1)
CHECKPOINTS = Limit(1, 20)  # Together's intermediate checkpoints


def limits(backend: str) -> dict[str, Limit]:
    """The numeric options `backend` takes, by Start field, with their ranges: the learning rate
    is OpenAI's (and Azure's) multiplier or Together's absolute rate; the seed is OpenAI's, the
    number of checkpoints Together's."""
    if backend == TOGETHER:
        lr = Limit(*TOGETHER_LR, decimal=True)
        return {"epochs": EPOCHS, "batch": BATCH, "lr": lr, "checkpoints": CHECKPOINTS}
    return {"epochs": EPOCHS, "batch": BATCH, "lr": Limit(*OPENAI_LR, decimal=True), "seed": SEED}


METHOD_NAMES = {"supervised": "Supervised (SFT)", "dpo": "Preference (DPO)"}


def method_for(file_format: str | None) -> str:
    """The one method a dataset's data trains with: preference pairs DPO, anything else SFT."""
    return "dpo" if file_format == "dpo" else "supervised"


def method_formats(method: str, model: ModelInfo) -> tuple[str, ...]:
    """The dataset formats `model` reads with `method`."""
    return ("dpo",) if method == "dpo" else supervised_formats(model.formats)


def model_fits(model: ModelInfo, file_format: str | None) -> bool:
    """True when `model` can train a dataset of `file_format` (with the method that data takes)."""
    method = method_for(file_format)
    return method in model.methods and file_format in method_formats(method, model)


def lr_help() -> str:
    """Which learning rate `lr=` means on which backend (help, errors)."""
    return (
        f"on OpenAI and Azure OpenAI the learning-rate multiplier "
        f"({number(OPENAI_LR[0])}–{number(OPENAI_LR[1])}), on "
        f"Together AI the absolute learning rate ({number(TOGETHER_LR[0])}–{number(TOGETHER_LR[1])}, "
        f"default {number(TOGETHER_DEFAULT_LR)})"
    )


def _lacks(backend: str, option: str, why: str) -> Message:
    return say(f"{backend_name(backend)} has no ", Code(f"{option}="), f" option ({why}); drop it.")


def refusal(cmd: Start, backend: str) -> Message | None:
    """Why `cmd` can't run on `backend` as asked (an option it lacks, a value out of its
    range), or None. Azure takes OpenAI's options (the same API); its suffix also carries the
    request tag, as Together's does."""
    refused = refusal_of(cmd, backend)
    return refused[1] if refused else None


def refusal_of(cmd: Start, backend: str) -> tuple[str, Message] | None:
    """`refusal`, with the Start field refused (`backend` when the backend takes no jobs)."""
    shown = backend
    if backend == AZURE:
        if cmd.suffix is not None and len(cmd.suffix) > TOGETHER_SUFFIX_MAX:
            return "suffix", say(
                f"On Azure OpenAI `suffix=` holds at most {TOGETHER_SUFFIX_MAX} characters (I add "
                "a request tag to it), got ",
                Code(cmd.suffix),
                ".",
            )
        backend = OPENAI  # every other rule is OpenAI's
    if backend == OPENAI:
        if cmd.training is not None:
            return "training", _lacks(
                shown, "training", "it trains the whole model, no LoRA/full choice"
            )
        if cmd.checkpoints is not None:
            return "checkpoints", _lacks(
                shown, "checkpoints", "it keeps the last 3 epochs' checkpoints"
            )
        low, high = OPENAI_LR
        if cmd.lr is not None and not low <= cmd.lr <= high:
            return "lr", say(
                f"On {backend_name(shown)} `lr=` is the learning-rate multiplier: between {number(low)} and "
                f"{number(high)} (0.02–0.2 usually works best), not {number(cmd.lr)}."
            )
        return None
    if backend == TOGETHER:
        low, high = TOGETHER_LR
        if cmd.lr is not None and not low <= cmd.lr <= high:
            return "lr", say(
                f"On Together AI `lr=` is the absolute learning rate: between {number(low)} and "
                f"{number(high)} (its default is {number(TOGETHER_DEFAULT_LR)}), not {number(cmd.lr)}."
            )
        if cmd.suffix is not None and len(cmd.suffix) > TOGETHER_SUFFIX_MAX:
            return "suffix", say(
                f"On Together AI `suffix=` holds at most {TOGETHER_SUFFIX_MAX} characters (I add a "
                "request tag to it), got ",
                Code(cmd.suffix),
                ".",
            )
        return None
    return "backend", say(
        f"{backend_name(backend)} can't train new jobs from here yet (not supported yet)."
    )


def hyperparameters(cmd: Start, backend: str) -> dict[str, Any]:
    """The job's hyperparameters in `backend`'s own terms (only those given)."""
    if backend == TOGETHER:
        hyper: dict[str, Any] = {
            "n_epochs": cmd.epochs,
            "batch_size": cmd.batch,
            "learning_rate": cmd.lr,
            "n_checkpoints": cmd.checkpoints,
            "training_type": cmd.training,
        }
    else:
        hyper = {
            "n_epochs": cmd.epochs,
            "batch_size": cmd.batch,
            "learning_rate_multiplier": cmd.lr,
        }
    return {name: value for name, value in hyper.items() if value is not None}


def supervised_formats(formats: tuple[str, ...]) -> tuple[str, ...]:
    """The dataset formats a model trains with the supervised method (all but preference data)."""
    return tuple(f for f in formats if f != "dpo")


def quotes_price(model: str, backend: str) -> bool:
    """True when `backend` quotes the price of training `model` itself (the catalogue's rule)."""
    try:
        return resolve_model(model, backend).quoted
    except UnknownModelError:
        return False


def _unpriced(model: str, backend: str) -> bool:
    try:
        return resolve_model(model, backend).unpriced
    except UnknownModelError:
        return False


def price_words(
    *,
    model: str,
    backend: str,
    cost_usd: float | None,
    tokens: int | None,
    before_start: bool = False,
) -> str:
    """A job's price as the bot knows it: the estimate, or the backend's own quote (labelled
    as the backend's; `before_start`, that it will quote one), or that it gave none. `$`
    amounts in the bot's own words."""
    if not quotes_price(model, backend):
        return f"estimated {usd(cost_usd or 0)}"
    if _unpriced(model, backend):
        return unknown_price(backend)
    if before_start:
        return f"{backend_name(backend)} quotes the price when the job starts"
    if cost_usd is None:
        return f"{backend_name(backend)} gave no quote (cost unknown)"
    return f"{backend_name(backend)}'s quote: {usd(cost_usd)} for {tokens or 0:,} tokens"
