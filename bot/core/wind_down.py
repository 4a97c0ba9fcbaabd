"""OpenAI's wind-down of new fine-tuning jobs (product §9 "The wind-down path"): the countdown
wording, what a refused request says next, and which of its settings mean the same on another
backend. Pure: no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.backend_names import backend_name
from bot.core.fmt import number
from bot.core.message import Message, say

# How each backend is configured, as an admin reads it (product §9, the `openai` SDK's and the
# `together` SDK's own variables).
HOW_TO_CONFIGURE = {
    "together": "TOGETHER_API_KEY",
    "azure": "AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and OPENAI_API_VERSION",
}

# The start form's fields a refused OpenAI request carries to another backend's form, and the
# backends on which each means what it meant on OpenAI. `lr` is OpenAI's learning-rate
# multiplier: Azure OpenAI takes the same multiplier, Together an absolute rate (never carried).
# `seed`: Together's form has no seed field (a typed seed could be neither shown nor sent).
SAME_MEANING: dict[str, frozenset[str]] = {
    "method": frozenset({"openai", "together", "azure"}),
    "epochs": frozenset({"openai", "together", "azure"}),
    "batch": frozenset({"openai", "together", "azure"}),
    "suffix": frozenset({"openai", "together", "azure"}),
    "lr": frozenset({"openai", "azure"}),
    "seed": frozenset({"openai", "azure"}),
}


def day_text(day: dt.date) -> str:
    """'6 Jan 2027'."""
    return f"{day.day} {day:%b %Y}"


def closing_notice(today: dt.date, closes: dt.date) -> str | None:
    """'OpenAI stops taking new fine-tuning jobs on 6 Jan 2027 (in 37 days)' before the day;
    None from the day on."""
    days = (closes - today).days
    if days <= 0:
        return None
    when = "in 1 day" if days == 1 else f"in {days:,} days"
    return f"OpenAI stops taking new fine-tuning jobs on {day_text(closes)} ({when})"


def help_note(closes: dt.date) -> str:
    """`/finetune help`'s words on the wind-down path (plain text; the handler renders it)."""
    return (
        f"OpenAI stops taking new fine-tuning jobs on {day_text(closes)}. When it refuses a job "
        "(403 `training_not_available`), the refusal in the dataset's thread names the other "
        "configured backends (Together AI, Azure OpenAI) with a *Start on …* button: it opens "
        "the start form for the same dataset there, that backend's default model preselected "
        "and the settings that mean the same carried over (one job per request and backend). "
        "With no other backend configured, it says which variables an admin sets. Models "
        "already trained on OpenAI keep answering `try` and `compare`."
    )


def next_steps(others: Sequence[str]) -> Message:
    """After OpenAI refused a new job: where to train instead (the configured other backends,
    each offered as a button), or how an admin configures one."""
    if others:
        names = _join([backend_name(b) for b in others])
        return say(
            f" You can train this dataset on {names} instead: the button below opens the start "
            "form there, with this request's settings where they mean the same."
        )
    ways = [f"{HOW_TO_CONFIGURE[b]} for {backend_name(b)}" for b in ("together", "azure")]
    return say(
        " No other fine-tuning backend is configured here: to train elsewhere, an admin sets "
        + " or ".join(ways)
        + "."
    )


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def carried_values(
    *,
    target: str,
    method: str | None,
    hyperparameters: Mapping[str, Any] | None,
    suffix: str | None,
    seed: int | None,
) -> dict[str, str]:
    """A refused OpenAI request's settings as the start form's values on `target` (block id ->
    text), keeping only those that mean the same there."""
    hyper = hyperparameters or {}
    found: dict[str, Any] = {
        "method": method,
        "epochs": hyper.get("n_epochs"),
        "batch": hyper.get("batch_size"),
        "lr": hyper.get("learning_rate_multiplier"),
        "suffix": suffix,
        "seed": seed,
    }
    values: dict[str, str] = {}
    for block_id, value in found.items():
        if target not in SAME_MEANING[block_id] or value is None or isinstance(value, bool):
            continue
        if isinstance(value, float):
            values[block_id] = f"{number(value)}"
        elif isinstance(value, int | str) and str(value).strip():
            values[block_id] = str(value)
    return values
