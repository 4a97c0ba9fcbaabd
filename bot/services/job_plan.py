"""Planning a start: which backend, which model, what it costs (product §9). Every refusal is a
UserError naming what was refused, raised before anything is uploaded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.core.backend_names import KEY_VARIABLES, backend_name
from bot.core.billing import BillingLine, billing_line, model_default_epochs
from bot.core.command_types import Start
from bot.core.fmt import usd
from bot.core.message import Code, Message, Part, Text, say
from bot.core.models import (
    ModelInfo,
    UnknownModelError,
    backend_of_model,
    backends_of_model,
    resolve_model,
    trainable_models,
)
from bot.core.start_rules import (
    OPENAI,
    TOGETHER,
    method_formats,
    quotes_price,
    refusal_of,
)
from bot.services.backends import Backends
from bot.services.errors import UserError
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord

DEFAULT_TOGETHER_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
MAX_LISTED = 12


@dataclass(frozen=True, slots=True)
class Plan:
    """What a start request would do."""

    dataset: DatasetRecord
    validation: DatasetRecord | None
    model: ModelInfo
    epochs: int
    estimate: BillingLine
    backend: str = OPENAI


@dataclass(frozen=True, slots=True)
class JobPolicy:
    """Settings the job service needs."""

    admins: tuple[str, ...]
    approval_usd: float | None
    default_model: str  # OpenAI's and Azure's (FTBOT_DEFAULT_MODEL)
    together_model: str = DEFAULT_TOGETHER_MODEL  # FTBOT_TOGETHER_MODEL

    def default_model_of(self, backend: str) -> str:
        """The model a job on `backend` trains when none is named."""
        return self.together_model if backend == TOGETHER else self.default_model


def choose_backend(
    *, named: str | None, model: str | None, backends: Backends, today: dt.date
) -> str:
    """`backend=`, else the backend whose catalogue holds `model=`, else the default; a model of
    another backend than the one named is refused by name.

    A GPT id both OpenAI and Azure train goes to the default backend when it is one of them,
    else to the first of them that is configured (OpenAI before Azure)."""
    owners = backends_of_model(model) if model else ()
    if named:
        if owners and named not in owners:
            owner = owners[0]
            raise UserError(
                say(
                    Code(model or ""),
                    f" is a {backend_name(owner)} model, not one of {backend_name(named)}'s: drop ",
                    Code(f"backend={named}"),
                    f" or pick one of {backend_name(named)}'s models.",
                )
            )
        return named
    if model and not owners and "/" in model:
        return TOGETHER
    if not owners:
        return backends.default(today)
    default = backends.default(today)
    if default in owners:
        return default
    return backend_of_model(model or "", backends.configured()) or owners[0]


def require_configured(backends: Backends, backend: str) -> None:
    """Refuse a backend that can't take new jobs, naming it and its key variable."""
    if not backends.get(backend).configured:
        raise UserError(
            say(
                f"{backend_name(backend)} is not configured ({KEY_VARIABLES[backend]} is not set). "
                "Ask an admin."
            )
        )


def choose_model(name: str, backend: str, today: dt.date) -> ModelInfo:
    """The catalogue's model `name` on `backend`; refused by name, listing that backend's models."""
    try:
        return resolve_model(name, backend)
    except UnknownModelError:
        pass
    known = [m.id for m in trainable_models(today, backend)]
    listed: list[Part] = []
    for model_id in known[:MAX_LISTED]:
        listed += [", " if listed else "", Code(model_id)]
    more = " …" if len(known) > MAX_LISTED else ""
    raise UserError(
        say(
            Code(name),
            f" is not a model {backend_name(backend)} fine-tunes here. {backend_name(backend)}'s models: ",
            *listed,
            more,
            ".",
        )
    )


def default_epochs_of(dataset: DatasetRecord, model: ModelInfo) -> int:
    """The epochs `model`'s backend picks for `dataset` when none are given: the model's own
    rule (the report's top-level `default_epochs` is its default backend's model's, not this one's)."""
    examples = dataset.examples or (dataset.report or {}).get("examples") or 0
    return model_default_epochs(model, int(examples))


def tokens_per_epoch(dataset: DatasetRecord, model: ModelInfo) -> int | None:
    """The report's billed tokens per epoch of `dataset` on `model`, if it counted them."""
    report = dataset.report or {}
    per_epoch = None

    def same(line: dict[str, object]) -> bool:
        # OpenAI and Azure share model ids: a line counts for (backend, id). Reports stored
        # before lines carried a backend were OpenAI's.
        return line.get("model") == model.id and line.get("backend", "openai") == model.backend

    if same(report):
        per_epoch = report.get("billed_tokens_per_epoch")
    for line in report.get("other_models") or []:
        if isinstance(line, dict) and same(line):
            per_epoch = line.get("billed_tokens_per_epoch")
    return int(per_epoch) if isinstance(per_epoch, int | float) else None


def estimate(
    dataset: DatasetRecord,
    model: ModelInfo,
    epochs: int | None,
    today: dt.date,
    *,
    need_count: bool = True,
) -> BillingLine:
    """The cost line of training `model` on `dataset`; a quoted model's price is the backend's
    own quote, so a missing token count only blocks when `need_count` and it is not quoted."""
    per_epoch = tokens_per_epoch(dataset, model)
    if per_epoch is None and (need_count or not model.quoted):
        raise UserError(
            say("I have no token count of ", Code(dataset.name), " for ", Code(model.id), ".")
        )
    chosen = epochs or default_epochs_of(dataset, model)
    return billing_line(model, per_epoch or 0, chosen, today)


def quotes(job: JobRecord) -> bool:
    """True when the job's backend quotes its price itself (the catalogue's billing rule)."""
    return quotes_price(job.model, job.backend)


def job_epochs(job: JobRecord, dataset: DatasetRecord) -> int:
    """The epochs the job trains: as asked, else its backend's default for the dataset."""
    given = (job.hyperparameters or {}).get("n_epochs")
    if given:
        return int(given)
    try:
        return default_epochs_of(dataset, resolve_model(job.model, job.backend))
    except UnknownModelError:
        return int((dataset.report or {}).get("default_epochs") or 3)


def start_answer(plan: Plan, threshold: float | None) -> Message:
    """What the requester reads when the job is on its way."""
    epochs = f"{plan.epochs} epoch{'s' if plan.epochs != 1 else ''}"
    if plan.model.unpriced:
        return say(
            "Starting fine-tuning of ",
            Code(plan.model.id),
            f" on {backend_name(plan.backend)} with ",
            Code(plan.dataset.name),
            f" ({epochs}; price unknown: {backend_name(plan.backend)} publishes no rate the bot can "
            "read). I'll post the job in the dataset's thread.",
        )
    if plan.model.quoted:
        name = backend_name(plan.backend)
        gate = (
            say(
                " If the quote is above the ",
                Text(usd(threshold)),
                " approval threshold, an admin approves it first.",
            )
            if threshold is not None
            else say()
        )
        return say(
            "Starting fine-tuning of ",
            Code(plan.model.id),
            f" on {name} with ",
            Code(plan.dataset.name),
            f" ({epochs}). {name} will quote the price after the upload; I'll post the job "
            "and the quote in the dataset's thread.",
            gate,
        )
    return say(
        "Starting fine-tuning of ",
        Code(plan.model.id),
        " on ",
        Code(plan.dataset.name),
        f" ({epochs}, estimated ",
        Text(usd(plan.estimate.cost_usd)),
        "). I'll post the job in the dataset's thread.",
    )


def check_start(
    cmd: Start, backend: str, dataset: DatasetRecord, model: ModelInfo, today: dt.date
) -> tuple[str, ...]:
    """Refuse a model that can't train, a method it lacks, options `backend` lacks and data the
    method can't read; returns the dataset formats the job reads."""
    if not model.is_trainable(today):
        raise UserError(
            say(Code(model.id), f" was shut down on {model.shutdown} and can't be trained."),
            field="model",
        )
    if cmd.method not in model.methods:
        raise UserError(
            say(Code(model.id), " can't be trained with method ", Code(cmd.method), "."),
            field="method",
        )
    refused = refusal_of(cmd, backend)
    if refused is not None:
        raise UserError(refused[1], field=refused[0])
    wanted = method_formats(cmd.method, model)
    if dataset.format not in wanted:
        raise UserError(
            say(
                Code(dataset.name),
                f" is {dataset.format} data; method ",
                Code(cmd.method),
                " on ",
                Code(model.id),
                f" needs {' or '.join(wanted)} data.",
            ),
            field="method",
        )
    return wanted


def check_validation(validation: DatasetRecord, wanted: tuple[str, ...]) -> None:
    """Refuse a validation file that is invalid or of a format the job doesn't read."""
    if not validation.valid or validation.format not in wanted:
        raise UserError(
            say(Code(validation.name), " can't be the validation file for this job."),
            field="validation",
        )
