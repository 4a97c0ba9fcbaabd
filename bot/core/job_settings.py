"""The settings a job really trained with, as its backend reports them (pure, defensive).

OpenAI and Azure answer with `method.<type>.hyperparameters` (older jobs: top-level
`hyperparameters`), "auto" until the job starts, and `seed`; Together answers with flat fields
(`n_epochs`, `batch_size`, an absolute `learning_rate`, `random_seed`, `training_method`).
A field of the wrong type counts as unknown: one odd answer must not break a status.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

METHOD_NAMES = {"supervised": "Supervised (SFT)", "dpo": "Preference (DPO)"}
TOGETHER_METHODS = {"sft": "supervised", "dpo": "dpo"}


@dataclass(frozen=True, slots=True)
class JobSettings:
    """Method and hyperparameters as resolved by the backend (None: not known or still "auto")."""

    method: str | None = None  # supervised | dpo | reinforcement
    epochs: int | None = None
    batch_size: int | None = None
    lr_multiplier: float | None = None  # OpenAI, Azure
    learning_rate: float | None = None  # Together (absolute)
    seed: int | None = None
    suffix: str | None = None
    beta: float | None = None  # DPO
    training_type: str | None = None  # Together: "lora" or "full"


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def openai_settings(data: Mapping[str, Any]) -> JobSettings:
    """From an OpenAI (or Azure) job object: the method's hyperparameters first."""
    method = _dict(data.get("method"))
    kind = _text(method.get("type"))
    hyper = {
        **_dict(data.get("hyperparameters")),
        **_dict(_dict(method.get(kind or "")).get("hyperparameters")),
    }
    return JobSettings(
        method=kind or ("supervised" if hyper else None),
        epochs=_whole(hyper.get("n_epochs")),
        batch_size=_whole(hyper.get("batch_size")),
        lr_multiplier=_number(hyper.get("learning_rate_multiplier")),
        seed=_whole(data.get("seed")),
        suffix=_text(data.get("user_provided_suffix")) or _text(data.get("suffix")),
        beta=_number(hyper.get("beta")),
    )


def together_settings(data: Mapping[str, Any]) -> JobSettings:
    """From a Together job object."""
    raw = data.get("training_method")
    kind = _text(_dict(raw).get("method")) if isinstance(raw, dict) else _text(raw)
    return JobSettings(
        method=TOGETHER_METHODS.get(kind or "", kind),
        epochs=_whole(data.get("n_epochs")),
        batch_size=_whole(data.get("batch_size")),  # "max" until resolved: unknown
        learning_rate=_number(data.get("learning_rate")),
        seed=_whole(data.get("random_seed")),
        suffix=_text(data.get("suffix")),
        beta=_number(_dict(raw).get("dpo_beta")),
        training_type=_training_type(data.get("training_type")),
    )


def _training_type(raw: Any) -> str | None:
    kind = (_text(_dict(raw).get("type")) if isinstance(raw, dict) else _text(raw)) or ""
    return kind.lower() if kind.lower() in ("lora", "full") else None


def method_name(method: str | None) -> str:
    """`Supervised (SFT)`, `Preference (DPO)`; other methods as the backend names them."""
    return METHOD_NAMES.get(method or "", method or "unknown")


def epoch_of(*, step: int, total_steps: int, epochs: int | None, finished: bool) -> int | None:
    """The epoch a step falls in (1-based), from the step count and the number of epochs."""
    if not epochs or total_steps <= 0:
        return None
    if finished or step >= total_steps:
        return epochs
    return min(epochs, step * epochs // total_steps + 1)
