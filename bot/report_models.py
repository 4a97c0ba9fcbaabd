"""Which models a dataset report estimates for (product §9 "Cost"): the chosen backend's model,
and the default model of every other configured backend. Used by `validate` and by the bot."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.backend_names import backend_name
from bot.core.models import (
    ModelInfo,
    UnknownModelError,
    backend_of_model,
    backends_of_model,
    known_model_ids,
    resolve_model,
)

# Backends whose datasets can be validated and priced.
SUPPORTED = ("openai", "together", "azure")
# The setting that names each backend's default model (product §9).
DEFAULT_MODEL_SETTING = {
    "openai": "FTBOT_DEFAULT_MODEL",
    "together": "FTBOT_TOGETHER_MODEL",
    "azure": "FTBOT_DEFAULT_MODEL",
}


class ModelChoiceError(ValueError):
    """A backend or model the report cannot be made for; the message is one line."""


@dataclass(frozen=True, slots=True)
class ReportModels:
    """The model a report is for, and the default models of the other configured backends."""

    model: ModelInfo
    also: tuple[ModelInfo, ...]

    @property
    def backend(self) -> str:
        """The chosen model's backend."""
        return self.model.backend


def check_backend(backend: str) -> str:
    """`backend` when reports support it; ModelChoiceError (one line) when not."""
    if backend not in SUPPORTED:
        raise ModelChoiceError(f"unknown backend {backend!r}; backends: {', '.join(SUPPORTED)}")
    return backend


def default_model(backend: str, defaults: dict[str, str]) -> ModelInfo:
    """The default model of `backend`, named by its setting in `defaults` (setting -> value)."""
    setting = DEFAULT_MODEL_SETTING[check_backend(backend)]
    try:
        return resolve_model(defaults[setting], backend)
    except UnknownModelError as exc:
        raise ModelChoiceError(f"{setting}: {exc}") from None


def choose(
    *,
    backend: str | None,
    model: str | None,
    default_backend: str,
    configured: tuple[str, ...],
    defaults: dict[str, str],
) -> ReportModels:
    """The models to report on: `--backend`, else the backend of `--model`, else the default;
    `--model`, else that backend's default model; plus the other configured backends' defaults.

    A model of another backend than `backend` or an unknown model: ModelChoiceError.
    """
    owners = backends_of_model(model) if model else ()
    # A GPT id OpenAI and Azure share: the default backend when it is one of them, else the
    # first configured of them (OpenAI before Azure).
    owner = (
        (default_backend if default_backend in owners else backend_of_model(model, configured))
        if model
        else None
    )
    if backend and backend in owners:
        owner = backend
    chosen = check_backend(backend or owner or default_backend)
    if model is None:
        info = default_model(chosen, defaults)
    elif owner is not None and owner != chosen:
        raise ModelChoiceError(
            f"{model} is a model of {backend_name(owner)}, not of {backend_name(chosen)} "
            f"({backend_name(chosen)}'s models: {', '.join(known_model_ids(chosen))})"
        )
    else:
        try:
            info = resolve_model(model, chosen)
        except UnknownModelError:
            raise ModelChoiceError(
                f"unknown {backend_name(chosen)} model {model!r}; known models: "
                + ", ".join(known_model_ids(chosen))
            ) from None
    also = tuple(
        default_model(other, defaults)
        for other in configured
        if other != chosen and other in SUPPORTED
    )
    return ReportModels(info, also)


def for_bot(
    *, default_backend: str, configured: tuple[str, ...], defaults: dict[str, str]
) -> ReportModels:
    """The bot's dataset report: the default backend's default model (when reports do not
    support that backend yet, the first configured one they do, else OpenAI), plus the default
    model of every other configured backend."""
    if default_backend not in SUPPORTED:
        default_backend = next((b for b in configured if b in SUPPORTED), "openai")
    return choose(
        backend=default_backend,
        model=None,
        default_backend=default_backend,
        configured=configured,
        defaults=defaults,
    )
