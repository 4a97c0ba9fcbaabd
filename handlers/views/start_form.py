"""The start form: opened from a dataset report, re-rendered (`views.update`, with the view's
hash) when its backend, model or epochs change (a new backend swaps the fields, each change the
estimate line), submitted as one job per view. Field errors come back under their field.

The form's private_metadata (dataset and backend) and every value are hostile input: the dataset
must be one the user may see, the backend a configured one, the model one of that backend's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.core import commands
from bot.core.access import Viewer
from bot.core.backend_names import BACKEND_NAMES
from bot.core.billing import BillingLine
from bot.core.fmt import number
from bot.core.models import ModelInfo, backend_of_model, trainable_models
from bot.core.reports import FORMAT_NAMES
from bot.core.split import validation_partner
from bot.core.start_rules import (
    METHOD_NAMES,
    OPENAI_LR,
    TOGETHER_DEFAULT_LR,
    TOGETHER_LR,
    method_for,
    model_fits,
)
from bot.core.wind_down import closing_notice
from bot.services import job_plan
from bot.services.backends import OPENAI_CLOSES
from bot.services.errors import UserError
from handlers import ids, payloads
from handlers.blocks.start_form import (
    BACKEND_BLOCK,
    START_CALLBACK,
    StartFormData,
    chosen_model,
    read_values,
    start_form,
    typed_epochs,
)
from handlers.deps import Deps
from handlers.text import error_text, render
from storage.repositories import DatasetRecord

log = logging.getLogger(__name__)

# Each backend's learning rate has its own field, checked against that backend's range at once
# (the plan checks it again, as it does for `/finetune start … lr=`): OpenAI's multiplier,
# Together's absolute rate.
LR_ABSOLUTE_MIN, LR_ABSOLUTE_MAX = TOGETHER_LR


def _lr_parser(low: float, high: float, what: str, example: str) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            lr = commands.parse_lr(value)
        except commands.UsageError:
            lr = None
        if lr is None or not low <= lr <= high:
            raise commands.UsageError(
                f"{what} must be a number like {example}, between {number(low)} and {number(high)}; "
                f"got {value[:24]}"
            )
        return lr

    return parse


parse_multiplier = _lr_parser(
    *OPENAI_LR, "the learning-rate multiplier (0.02–0.2 usually works best)", "0.1"
)
parse_absolute_lr = _lr_parser(
    *TOGETHER_LR,
    f"the learning rate (absolute on Together AI, default {number(TOGETHER_DEFAULT_LR)})",
    "1e-5",
)


def parse_training(value: str) -> str:
    """LoRA or full training (the radio buttons' values)."""
    if value not in commands.TRAINING:
        raise commands.UsageError("training must be LoRA or full")
    return value


# Block id -> (the Start field it fills, its parser), per backend.
Parsers = dict[str, tuple[str, Callable[[str], Any]]]
_SHARED: Parsers = {
    "method": ("method", commands.parse_method),
    "epochs": ("epochs", commands.parse_epochs),
    "batch": ("batch", commands.parse_batch),
    "suffix": ("suffix", commands.parse_suffix),
    "holdout": ("holdout", commands.parse_holdout),
    "eval": ("evaluate", commands.parse_eval),
}
PARSERS: dict[str, Parsers] = {
    "openai": {**_SHARED, "lr": ("lr", parse_multiplier), "seed": ("seed", commands.parse_seed)},
    "together": {
        **_SHARED,
        "learning_rate": ("lr", parse_absolute_lr),
        "checkpoints": ("checkpoints", commands.parse_checkpoints),
        "training": ("training", parse_training),
    },
}
PARSERS["azure"] = PARSERS["openai"]


def _name(backend: object) -> str:
    return (
        BACKEND_NAMES.get(backend, "That backend") if isinstance(backend, str) else "That backend"
    )


def parse_submission(
    *,
    values: Mapping[str, str],
    dataset: str,
    backend: object,
    configured: Sequence[str],
    default_backend: str,
    default_models: Mapping[str, str],
    today: dt.date,
    file_format: str | None = None,
) -> commands.Start | dict[str, str]:
    """The form's values as a Start for its backend, or errors keyed by block id.

    `backend` comes from the form's metadata (absent on forms opened before the picker: then
    the model's backend, else the default) and is only taken when it is configured; the model
    must be one this backend trains today; the method, given the dataset's `file_format`, the
    one its data trains with."""
    where = BACKEND_BLOCK if len(configured) > 1 else "model"
    if backend is None:
        backend = backend_of_model(values.get("model") or "") or default_backend
    if not isinstance(backend, str) or backend not in configured:
        return {where: f"{_name(backend)} isn't configured here: close this form and start again."}
    picked = values.get(BACKEND_BLOCK)
    if picked is not None and picked != backend and len(configured) > 1:
        return {BACKEND_BLOCK: f"The form still shows {_name(backend)}'s models: pick again."}
    errors: dict[str, str] = {}
    model = values.get("model") or default_models.get(backend, "")
    if model not in {m.id for m in trainable_models(today, backend)}:
        shown = model[:64] or "That model"
        errors["model"] = (
            f"{shown} is not one of {_name(backend)}'s models: pick one from the list."
        )
    options: dict[str, Any] = {}
    for block_id, (name, parse) in PARSERS.get(backend, PARSERS["openai"]).items():
        raw = values.get(block_id)
        if raw is None:
            continue
        try:
            options[name] = parse(raw)
        except commands.UsageError as error:
            errors[block_id] = str(error).replace("`", "")
    method = method_for(file_format)
    if file_format and "method" not in errors and options.get("method", method) != method:
        kind = FORMAT_NAMES.get(file_format, file_format)
        errors["method"] = f"This dataset is {kind} data: it trains with {METHOD_NAMES[method]}."
    if errors:
        return errors
    if backend == "together":
        options.setdefault("training", "lora")
    return commands.Start(
        dataset=dataset,
        backend=backend,
        model=model,
        validation=values.get("validation"),
        **options,
    )


def moved_key(origin: str, backend: str) -> str:
    """The request key of a start moved from request `origin` to `backend` (within the store's
    64 characters, whatever the origin's length)."""
    digest = hashlib.sha256(f"{backend}\n{origin}".encode()).hexdigest()[:40]
    return f"elsewhere:{digest}"


def fitting_models(today: dt.date, backend: str, file_format: str | None) -> list[ModelInfo]:
    """`backend`'s models trainable today that can train data of `file_format`."""
    models = trainable_models(today, backend)
    return [m for m in models if not file_format or model_fits(m, file_format)]


def form_estimate(
    dataset: DatasetRecord, model: ModelInfo, epochs: int | None, today: dt.date
) -> tuple[BillingLine | None, str]:
    """The estimate of training `model` on `dataset` for `epochs` (None: the backend's default),
    or why there is none (mrkdwn). A model whose backend quotes the price needs no token count."""
    try:
        return job_plan.estimate(dataset, model, epochs, today, need_count=False), ""
    except UserError as error:
        return None, render(error.message)


def form_for(
    services: Deps,
    *,
    dataset: DatasetRecord,
    viewer: Viewer,
    backend: str,
    values: Mapping[str, str] | None = None,
    origin: str | None = None,
) -> View:
    """The start form of `dataset` for `backend` (assumed configured), keeping `values`, with
    the estimate for the model and epochs they choose (`origin`: the key of a request OpenAI
    refused, which this form moves)."""
    today = services.clock.now().date()
    typed = dict(values or {})
    models = fitting_models(today, backend, dataset.format)
    default_model = services.default_models.get(backend, services.default_model)
    chosen = chosen_model([m.id for m in models], default_model, typed)
    estimate, no_estimate = None, ""
    for model in models:
        if model.id == chosen:
            estimate, no_estimate = form_estimate(
                dataset, model, typed_epochs(typed, backend), today
            )
    choices = [
        d
        for d in services.datasets.channel_datasets(dataset.channel_id, viewer)
        if d.valid and d.id != dataset.id and d.format == dataset.format
    ]
    if values is None:  # first opened: the validation part of the same split, if any
        partner = validation_partner(dataset.name)
        pair = next(
            (
                d
                for d in choices
                if partner and d.name == partner and d.thread_ts == dataset.thread_ts
            ),
            None,
        )
        if pair is not None:
            typed["validation"] = pair.slack_file_id
    return start_form(
        StartFormData(
            dataset=dataset,
            backend=backend,
            backends=services.backends.configured(),
            models=[m.id for m in models],
            default_model=default_model,
            estimate=estimate,
            no_estimate=no_estimate,
            validation_choices=choices,
            values=typed,
            closing=closing_notice(today, OPENAI_CLOSES),
            origin=origin,
        )
    )


def plan_error_block(error: UserError, backend: str) -> str:
    """The block a refusal of the plan is shown under: the field it names (the learning rate's
    block is the backend's), else the model."""
    fields = {"method", "lr", "suffix", "training", "checkpoints", "validation", "model"}
    if error.field not in fields:
        return "model"
    if error.field == "lr":
        return "learning_rate" if backend == "together" else "lr"
    return error.field


def register(app: App, services: Deps) -> None:
    """The start form's listeners: the backend picker and the submission."""

    def refresh(body: dict[str, Any], client: WebClient) -> None:
        """Re-render the form for the backend picked (the picker) or shown (its metadata), with
        what was typed and the estimate it makes; the dataset and backend are re-checked."""
        view = body.get("view") or {}
        metadata = payloads.view_metadata(view, dataset=str)
        origin = metadata.get("origin")
        action = (body.get("actions") or [{}])[0]
        backend = metadata.get("backend")
        if action.get("action_id") == ids.START_BACKEND:
            backend = (action.get("selected_option") or {}).get("value")
        viewer = services.access.viewer(body["user"]["id"])
        dataset = services.jobs.by_file(metadata["dataset"], viewer)
        configured = services.backends.configured()
        if not view.get("id") or dataset is None or backend not in configured:
            log.info("start form: ignored a change (dataset or backend not available)")
            return
        form = form_for(
            services,
            dataset=dataset,
            viewer=viewer,
            backend=backend,
            values=read_values((view.get("state") or {}).get("values")),
            origin=origin if isinstance(origin, str) else None,
        )
        try:
            client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=form)
        except SlackApiError as error:
            if error.response.get("error") != "hash_conflict":
                raise
            # the view changed meanwhile (another choice): the later update wins
            log.info("start form: views.update lost a race (hash_conflict)")

    @app.action(ids.START_BACKEND)
    @app.action(ids.START_MODEL)
    @app.action(ids.START_EPOCHS)
    def handle_start_change(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        refresh(body, client)

    @app.view(START_CALLBACK)
    def handle_start_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        metadata = payloads.view_metadata(view, dataset=str)
        values = read_values(view["state"]["values"])
        user = body["user"]["id"]
        viewer = services.access.viewer(user)
        # The form's metadata names the dataset but is not trusted: it must be one the
        # submitter may see, and the job goes to that dataset's own conversation.
        dataset = services.jobs.by_file(metadata["dataset"], viewer)
        if dataset is None:
            ack(
                response_action="errors",
                errors={"model": "That dataset is no longer available to you."},
            )
            return
        today = services.clock.now().date()
        cmd = parse_submission(
            values=values,
            dataset=dataset.slack_file_id,
            backend=metadata.get("backend"),
            configured=services.backends.configured(),
            default_backend=services.backends.default(today),
            default_models=services.default_models,
            today=today,
            file_format=dataset.format,
        )
        if not isinstance(cmd, commands.Start):
            ack(response_action="errors", errors=cmd)
            return
        channel = dataset.channel_id
        try:
            services.jobs.plan(cmd, viewer, channel)
        except UserError as error:
            block = plan_error_block(error, cmd.backend or "")
            ack(response_action="errors", errors={block: str(error).replace("`", "")})
            return
        ack()
        # A start moved from a request OpenAI refused is one job per request and backend,
        # however many forms were opened from its button; any other form is one job per view.
        origin = metadata.get("origin")
        moved = (
            services.jobs.origin_key(viewer=viewer, origin=origin, dataset=dataset)
            if isinstance(origin, str)
            else None
        )
        key = moved_key(moved, cmd.backend or "") if moved else f"view:{view['id']}"
        try:
            text = render(
                services.jobs.request_start(
                    viewer=viewer, channel_id=channel, cmd=cmd, request_key=key
                )
            )
        except UserError as error:
            text = error_text(error)
        client.chat_postEphemeral(channel=channel, user=user, text=text)
