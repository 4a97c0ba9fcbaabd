"""The fine-tuning model catalogue, loaded from models.toml (data, not code)."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One fine-tunable base model: price, limits, encoding and availability."""

    id: str
    aliases: tuple[str, ...]
    training_usd_per_1m: float
    example_limit: int
    encoding: str
    methods: tuple[str, ...]
    formats: tuple[str, ...]
    shutdown: dt.date | None = None
    inference_input_usd_per_1m: float = 0.0
    inference_output_usd_per_1m: float = 0.0
    backend: str = "openai"
    tokenizer: str = "exact"  # "estimate": `encoding` only approximates the model's tokenizer
    billing: str = "per_token"  # "quote": the backend quotes each job's price itself;
    # "unknown": no rate is known offline and the backend quotes none (Azure OpenAI)
    epochs_rule: str | int = "openai"  # the service's rule, or a fixed default epoch count
    price_source: str = ""
    price_date: dt.date | None = None
    inference_family: str | None = None  # the family its fine-tuned models answer in

    @property
    def tokens_estimated(self) -> bool:
        """True when token counts for this model are approximations (tokenizer not shipped)."""
        return self.tokenizer != "exact"

    @property
    def quoted(self) -> bool:
        """True when the bot has no per-token rate for the model: the price is the backend's
        own quote, or unknown (never shown in dollars)."""
        return self.billing in ("quote", "unknown")

    @property
    def unpriced(self) -> bool:
        """True when no price is known at all: no rate offline and no quote from the backend."""
        return self.billing == "unknown"

    def is_trainable(self, today: dt.date) -> bool:
        """True while the model can still be fine-tuned on `today`."""
        return self.shutdown is None or today < self.shutdown


class UnknownModelError(ValueError):
    """Raised for a model name that is not in the catalogue."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown model {name!r}; known models: {', '.join(known)}")
        self.name = name
        self.known = known


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """A per-token training rate the operator sets (FTBOT_PRICES, bot/core/prices.py) for a
    model the catalogue has no readable rate for (Azure: per region and training tier)."""

    backend: str
    model: str
    training_usd_per_1m: float
    source: str
    date: dt.date | None = None
    inference_input_usd_per_1m: float | None = None
    inference_output_usd_per_1m: float | None = None

    def applies_to(self, model: ModelInfo) -> bool:
        return model.backend == self.backend and self.model in (model.id, *model.aliases)


_prices: tuple[PriceOverride, ...] = ()


def use_prices(overrides: tuple[PriceOverride, ...]) -> None:
    """Make the operator's rates part of the catalogue (at start; () restores the file's)."""
    global _prices
    if overrides != _prices:
        _prices = tuple(overrides)
        catalogue.cache_clear()


def _priced(model: ModelInfo) -> ModelInfo:
    for price in _prices:
        if price.applies_to(model):
            return replace(
                model,
                training_usd_per_1m=price.training_usd_per_1m,
                billing="per_token",
                price_source=f"set by the operator in FTBOT_PRICES: {price.source}",
                price_date=price.date,
                inference_input_usd_per_1m=(
                    model.inference_input_usd_per_1m
                    if price.inference_input_usd_per_1m is None
                    else price.inference_input_usd_per_1m
                ),
                inference_output_usd_per_1m=(
                    model.inference_output_usd_per_1m
                    if price.inference_output_usd_per_1m is None
                    else price.inference_output_usd_per_1m
                ),
            )
    return model


@cache
def catalogue() -> tuple[ModelInfo, ...]:
    """Every model of the catalogue, in the file's order, with the operator's rates applied."""
    return tuple(_priced(m) for m in file_catalogue())


@cache
def file_catalogue() -> tuple[ModelInfo, ...]:
    """Every model of models.toml as written there."""
    raw = tomllib.loads(resources.files(__package__).joinpath("models.toml").read_text("utf-8"))
    return tuple(
        ModelInfo(
            id=m["id"],
            aliases=tuple(m.get("aliases", ())),
            training_usd_per_1m=float(m["training_usd_per_1m"]),
            example_limit=int(m["example_limit"]),
            encoding=m["encoding"],
            methods=tuple(m["methods"]),
            formats=tuple(m["formats"]),
            shutdown=m.get("shutdown"),
            inference_input_usd_per_1m=float(m.get("inference_input_usd_per_1m", 0.0)),
            inference_output_usd_per_1m=float(m.get("inference_output_usd_per_1m", 0.0)),
            backend=str(m.get("backend", "openai")),
            tokenizer=str(m.get("tokenizer", "exact")),
            billing=str(m.get("billing", "per_token")),
            epochs_rule=m.get("epochs_rule", "openai"),
            price_source=str(m.get("price_source", "")),
            price_date=m.get("price_date"),
            inference_family=m.get("inference_family"),
        )
        for m in raw["model"]
    )


def known_model_ids(backend: str | None = None) -> tuple[str, ...]:
    """The snapshot names users may ask for (on one backend, or on all)."""
    return tuple(m.id for m in catalogue() if backend is None or m.backend == backend)


def resolve_model(name: str, backend: str | None = None) -> ModelInfo:
    """Find a model by snapshot name, alias, or `ft:<base>:…` name; UnknownModelError if none
    (or if it is not a model of `backend`, when one is given)."""
    wanted = name.strip()
    if wanted.startswith("ft:"):
        # ft:<base>:<org>:<suffix>:<id> trains further on <base>'s terms.
        wanted = wanted.split(":")[1]
    for model in catalogue():
        if (wanted == model.id or wanted in model.aliases) and backend in (None, model.backend):
            return model
    raise UnknownModelError(name, known_model_ids(backend))


def backends_of_model(name: str) -> tuple[str, ...]:
    """Every backend whose catalogue holds `name` (OpenAI and Azure share the GPT ids)."""
    wanted = name.strip()
    if wanted.startswith("ft:"):
        wanted = wanted.split(":")[1]
    found = [m.backend for m in catalogue() if wanted == m.id or wanted in m.aliases]
    return tuple(dict.fromkeys(found))


def backend_of_model(name: str, configured: tuple[str, ...] | None = None) -> str | None:
    """The backend whose catalogue holds `name`; for an unknown name, Together when it has a `/`
    (Together's names are `org/model`), else None (product §9).

    A GPT id both OpenAI and Azure train belongs to the first of them that is `configured`
    (OpenAI before Azure; OpenAI when neither is, or when `configured` is not given)."""
    owners = backends_of_model(name)
    if not owners:
        return "together" if "/" in name else None
    if configured is not None:
        for owner in owners:
            if owner in configured:
                return owner
    return owners[0]


def trainable_models(today: dt.date, backend: str | None = None) -> tuple[ModelInfo, ...]:
    """Models that can still be fine-tuned on `today` (on one backend, or on all)."""
    return tuple(
        m
        for m in catalogue()
        if m.is_trainable(today) and (backend is None or m.backend == backend)
    )


# ---- inference: fine-tuned models answer until their family shuts down --------------------------

SOON = dt.timedelta(days=30)  # a shutdown this close is warned about


@dataclass(frozen=True, slots=True)
class InferenceFamily:
    """The models fine-tuned from some base models, and the day they stop answering."""

    id: str
    bases: tuple[str, ...]
    shutdown: dt.date | None
    source: str
    source_date: dt.date | None


@dataclass(frozen=True, slots=True)
class InferenceNotice:
    """A fine-tuned model's family is shut down (`ended`), or shuts down soon."""

    model: str
    family: str
    shutdown: dt.date
    ended: bool

    def words(self, today: dt.date) -> str:
        """'no longer answers since 23 Oct 2026 (family ft-gpt-3.5-turbo shut down)' or
        'stops answering on 23 Oct 2026 (in 12 days: family … shuts down)'."""
        day = f"{self.shutdown.day} {self.shutdown:%b %Y}"
        if self.ended:
            return f"no longer answers since {day} (family {self.family} shut down)"
        days = (self.shutdown - today).days
        when = "in 1 day" if days == 1 else f"in {days} days"
        return f"stops answering on {day} ({when}: family {self.family} shuts down)"


@cache
def inference_families() -> tuple[InferenceFamily, ...]:
    """Every fine-tuned model family of the catalogue."""
    raw = tomllib.loads(resources.files(__package__).joinpath("models.toml").read_text("utf-8"))
    return tuple(
        InferenceFamily(
            id=str(f["id"]),
            bases=tuple(str(b) for b in f.get("bases", ())),
            shutdown=f.get("shutdown"),
            source=str(f["source"]),
            source_date=f.get("source_date"),
        )
        for f in raw.get("inference_family", ())
    )


def base_of(name: str) -> str:
    """The base model of an OpenAI fine-tuned model or checkpoint (`ft:<base>:…`); a name
    that is not one is its own base."""
    wanted = name.strip()
    return wanted.split(":")[1] if wanted.startswith("ft:") and wanted.count(":") >= 1 else wanted


def inference_family_of(name: str, backend: str = "openai") -> InferenceFamily | None:
    """The family an OpenAI fine-tuned model (or checkpoint, or its base model) answers in;
    None when unknown or on another backend (their lifetimes are their backends' own)."""
    if backend != "openai":
        return None
    base = base_of(name)
    family_id = next(
        (
            m.inference_family
            for m in catalogue()
            if m.backend == "openai" and (base == m.id or base in m.aliases)
        ),
        None,
    )
    for family in inference_families():
        if family.id == family_id or (family_id is None and base in family.bases):
            return family
    return None


def inference_notice(
    name: str, today: dt.date, backend: str = "openai", *, base: str | None = None
) -> InferenceNotice | None:
    """A warning for a fine-tuned model whose family is shut down or shuts down within 30 days
    (`base`: its base model when known, else read from an `ft:` name)."""
    family = inference_family_of(base or name, backend)
    if family is None or family.shutdown is None or family.shutdown - today > SOON:
        return None
    return InferenceNotice(
        model=name, family=family.id, shutdown=family.shutdown, ended=today >= family.shutdown
    )
