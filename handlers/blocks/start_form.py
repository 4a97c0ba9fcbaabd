"""The *Start fine-tuning…* modal: a backend picker (when more than one backend is configured),
that backend's models and options, the method the dataset's data trains with, and one estimate
line for the chosen backend, model and epochs.

Each field's block id names what its value means, so a value typed on one backend's form is
carried to the other's only where it means the same there: `lr` is OpenAI's learning-rate
multiplier, `learning_rate` Together's absolute learning rate (never carried across). Numbers are
`number_input`s with the backend's limits (bot/core/start_rules.py); empty means "auto".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks.basic_components import DispatchActionConfig
from slack_sdk.models.views import View

from bot.core.backend_names import backend_name
from bot.core.billing import BillingLine
from bot.core.reports import FORMAT_NAMES, epochs_text, price_text
from bot.core.start_rules import METHOD_NAMES, Limit, limits, method_for
from handlers import ids
from handlers.text import OPTION_TEXT, OPTION_VALUE, clip, code, escape, money, plain
from storage.repositories import DatasetRecord

START_CALLBACK = "start_job"
BACKEND_BLOCK = "backend"
ESTIMATE_BLOCK = "estimate"
MAX_TEXT = 2900
MAX_INPUT = 3000  # Slack's longest plain_text_input value
TRAINING_TYPES = {"lora": "LoRA (default)", "full": "Full fine-tuning"}
TOGETHER_LR_DEFAULT = "1e-5"
# ASCII digits only (Python's float() also reads other scripts' digits, "1_0", "inf", "nan").
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[+-]?[0-9]+")
# Epochs update the estimate as they are typed (Slack waits for a pause) or on Enter.
_AS_TYPED = DispatchActionConfig(trigger_actions_on=["on_enter_pressed", "on_character_entered"])


@dataclass(frozen=True, slots=True)
class TextField:
    """An option of the form: its block id, label and placeholder (the hint); `option`, for a
    number, the Start field whose limits (per backend) bound it."""

    block_id: str
    label: str
    hint: str
    option: str | None = None


@dataclass(frozen=True, slots=True)
class BackendForm:
    """What the form shows for one backend: its fields (in order), the note on the learning
    rate, whether it offers LoRA/full training, and how it prices a job it quotes itself."""

    text_fields: tuple[TextField, ...]
    lr_note: str
    training_choice: bool = False
    quote_note: str = ""


_EPOCHS = TextField("epochs", "Epochs", "auto (1–50)", "epochs")
_BATCH = TextField("batch", "Batch size", "auto (1–256)", "batch")
_SUFFIX = TextField("suffix", "Model name suffix", "up to 64 of a-z 0-9 - _")
_HOLDOUT = TextField(
    "holdout", "Hold out for evaluation", "none (e.g. 20%: 1–50% kept back, never trained on)"
)
OPENAI_FORM = BackendForm(
    text_fields=(
        _EPOCHS,
        _BATCH,
        TextField("lr", "Learning-rate multiplier", "auto (multiplier 0.001–10; 0.02–0.2 usually works best)", "lr"),
        _SUFFIX,
        TextField("seed", "Seed", "random", "seed"),
        _HOLDOUT,
    ),
    lr_note="The learning rate is a *multiplier* of OpenAI's own rate (0.02–0.2 usually works best).",
)  # fmt: skip
TOGETHER_FORM = BackendForm(
    text_fields=(
        TextField("epochs", "Epochs", "1 by default (1–50)", "epochs"),
        _BATCH,
        TextField("learning_rate", "Learning rate (absolute)", f"{TOGETHER_LR_DEFAULT} by default (absolute, 0.0000001–0.01)", "lr"),
        _SUFFIX,
        TextField("checkpoints", "Number of checkpoints", "1 by default (1–20)", "checkpoints"),
        _HOLDOUT,
    ),
    lr_note=(
        f"The learning rate is *absolute* on Together AI (default {TOGETHER_LR_DEFAULT}), "
        "not OpenAI's multiplier."
    ),
    training_choice=True,
    quote_note="Together AI quotes each job's price after the upload; the quote is shown in the job post.",
)  # fmt: skip
FORMS = {"openai": OPENAI_FORM, "together": TOGETHER_FORM, "azure": OPENAI_FORM}


def backend_form(backend: str) -> BackendForm:
    """The form's fields for `backend` (Azure takes OpenAI's parameters)."""
    return FORMS.get(backend, OPENAI_FORM)


@dataclass(frozen=True, slots=True)
class StartFormData:
    """Everything the form shows: the dataset, the chosen and the configured backends, the
    chosen backend's models that can train this data and its default, the estimate for the
    chosen model and epochs (or why there is none), validation files, carried values."""

    dataset: DatasetRecord
    backend: str
    backends: Sequence[str]
    models: Sequence[str]
    default_model: str
    estimate: BillingLine | None = None
    no_estimate: str = ""  # mrkdwn: why there is no estimate (already escaped)
    validation_choices: Sequence[DatasetRecord] = ()
    values: Mapping[str, str] = field(default_factory=dict)
    closing: str | None = None  # OpenAI's countdown to its last day of new jobs, if any
    origin: str | None = None  # the refused request this form moves to another backend


def chosen_model(models: Sequence[str], default: str, values: Mapping[str, str]) -> str | None:
    """The model the form shows chosen: the one picked if listed, else the default if listed,
    else the first (None without models)."""
    for model in (values.get("model"), default):
        if model in models:
            return model
    return models[0] if models else None


def _decimal_text(number: float) -> str:
    """A number as Slack's number input writes it: plain digits, no exponent (1e-07 → 0.0000001)."""
    text = format(Decimal(repr(float(number))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def number_text(raw: str | None, limit: Limit) -> str | None:
    """`raw` as a number input's value when it is one within `limit` (plain digits), else None."""
    if raw is None or not (_NUMBER if limit.decimal else _WHOLE).fullmatch(raw):
        return None
    value = float(raw)
    if not limit.holds(value):
        return None
    return _decimal_text(value) if limit.decimal else str(int(value))


def typed_epochs(values: Mapping[str, str], backend: str) -> int | None:
    """The epochs typed on the form when they are a number `backend` takes, else None (auto)."""
    text = number_text(values.get("epochs"), limits(backend)["epochs"])
    return int(text) if text is not None else None


def _option(value: str, label: str | None = None) -> Option:
    return Option(
        value=plain(value, limit=OPTION_VALUE), label=plain(label or value, limit=OPTION_TEXT)
    )


def form_metadata(*, dataset: str, backend: str, origin: str | None = None) -> str:
    """The form's private_metadata: the dataset's Slack file id, the form's backend and, for a
    request OpenAI refused, that request's key (all re-checked on every action and submission)."""
    data = {"dataset": dataset, "backend": backend}
    if origin:
        data["origin"] = origin
    return json.dumps(data)


def read_values(state: Any) -> dict[str, str]:
    """A view's `state.values` as block id -> the value typed or chosen (blank ones left out)."""
    out: dict[str, str] = {}
    if not isinstance(state, dict):
        return out
    for block_id, actions in state.items():
        if not isinstance(block_id, str) or not isinstance(actions, dict):
            continue
        for element in actions.values():
            if not isinstance(element, dict):
                continue
            chosen = element.get("selected_option")
            raw = element.get("value")
            if raw is None and isinstance(chosen, dict):
                raw = chosen.get("value")
            if isinstance(raw, str) and raw.strip():
                out[block_id] = raw.strip()
                break
    return out


def estimate_text(data: StartFormData, form: BackendForm) -> str:
    """The one estimate line (mrkdwn) for the chosen model and epochs: dollars, or who quotes
    the price, or that nobody publishes one (never $0.00 for a price the bot doesn't know)."""
    line = data.estimate
    if line is None:
        return f"*Estimate*: {data.no_estimate}" if data.no_estimate else ""
    auto = " (auto)" if typed_epochs(data.values, data.backend) is None else ""
    epochs = f"{epochs_text(line.epochs)}{auto}"
    if line.billed_tokens_per_epoch:
        approx = "~" if line.tokens_estimated else ""
        count = " (estimated count)" if line.tokens_estimated else ""
        epochs = f"{approx}{line.billed_tokens_per_epoch:,} tokens{count} × {epochs}"
    if not line.quoted:
        price = money(line.cost_usd)
    elif form.quote_note:  # Together's own quote
        price = escape(form.quote_note.rstrip("."))
    else:
        price = escape(price_text(line))
    return f"*Estimate*: {code(line.model)} · {epochs} · {price}"


def _header(data: StartFormData) -> SectionBlock:
    dataset = data.dataset
    kind = FORMAT_NAMES.get(dataset.format or "", "")
    text = (
        f"{code(dataset.name)} · {dataset.examples or 0:,} examples · "
        f"{dataset.total_tokens or 0:,} tokens" + (f" · {escape(kind)}" if kind else "")
    )
    return SectionBlock(text=clip(text, MAX_TEXT))


def _select(
    block_id: str,
    label: str,
    options: Sequence[Option],
    chosen: str | None,
    *,
    optional: bool = False,
    action_id: str = "value",
    dispatch: bool = False,
) -> InputBlock:
    initial = next((o for o in options if o.value == chosen), None)
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        dispatch_action=dispatch or None,
        element=StaticSelectElement(
            action_id=action_id, options=list(options), initial_option=initial
        ),
    )


def _number(text_field: TextField, limit: Limit, typed: str | None) -> InputBlock:
    epochs = text_field.block_id == "epochs"
    initial = number_text(typed, limit)
    return InputBlock(
        block_id=text_field.block_id,
        label=text_field.label,
        optional=True,
        dispatch_action=epochs or None,
        element=NumberInputElement(
            action_id=ids.START_EPOCHS if epochs else "value",
            is_decimal_allowed=limit.decimal,
            min_value=_decimal_text(limit.low),
            max_value=_decimal_text(limit.high),
            initial_value=initial,
            placeholder=text_field.hint,
            dispatch_action_config=_AS_TYPED if epochs else None,
        ),
    )


def _field(text_field: TextField, backend: str, typed: str | None) -> InputBlock:
    limit = limits(backend).get(text_field.option or "")
    if limit is not None:
        return _number(text_field, limit, typed)
    return InputBlock(
        block_id=text_field.block_id,
        label=text_field.label,
        optional=True,
        element=PlainTextInputElement(
            action_id="value",
            placeholder=text_field.hint,
            initial_value=clip(typed, MAX_INPUT) if typed else None,
        ),
    )


def _method(data: StartFormData) -> InputBlock:
    """The method the dataset's data trains with, and only that one: chat or prompt–completion
    data supervised (SFT), preference pairs DPO (the value stays the contract's name)."""
    method = method_for(data.dataset.format)
    return _select("method", "Method", [_option(method, METHOD_NAMES[method])], method)


EVAL_BLOCK = "eval"
EVAL_CHOICES = {
    "on": "Post a scorecard on the held-out data when it succeeds",
    "off": "No scorecard (eval=off)",
}


def _scorecard(chosen: str | None) -> InputBlock:
    """Whether the job gets its automatic scorecard (`eval=on|off`, on by default)."""
    options = [_option(k, v) for k, v in EVAL_CHOICES.items()]
    return _select(EVAL_BLOCK, "Evaluation", options, chosen if chosen in EVAL_CHOICES else "on")


def start_form(data: StartFormData) -> View:
    """The *Start fine-tuning…* modal for `data.backend`."""
    form = backend_form(data.backend)
    values = data.values
    blocks: list[Block] = [_header(data)]
    if len(data.backends) > 1:
        blocks.append(
            _select(
                BACKEND_BLOCK,
                "Backend",
                [_option(b, backend_name(b)) for b in data.backends],
                data.backend,
                action_id=ids.START_BACKEND,
                dispatch=True,
            )
        )
    model = chosen_model(data.models, data.default_model, values)
    if model is not None:
        blocks.append(
            _select(
                "model",
                "Base model",
                [_option(m) for m in data.models[:100]],
                model,
                action_id=ids.START_MODEL,
                dispatch=True,
            )
        )
    else:
        name = backend_name(data.backend)
        kind = FORMAT_NAMES.get(data.dataset.format or "", "this")
        blocks.append(
            SectionBlock(
                text=f"No base model on {name} can be trained with {escape(kind)} data today."
            )
        )
    blocks.append(_method(data))
    estimate = estimate_text(data, form)
    if estimate and model is not None:
        blocks.append(SectionBlock(block_id=ESTIMATE_BLOCK, text=clip(estimate, MAX_TEXT)))
    if form.training_choice:
        options = [_option(k, v) for k, v in TRAINING_TYPES.items()]
        chosen_type = values.get("training", "lora")
        blocks.append(
            InputBlock(
                block_id="training",
                label="Training",
                element=RadioButtonsElement(
                    action_id="value",
                    options=options,
                    initial_option=next((o for o in options if o.value == chosen_type), options[0]),
                ),
            )
        )
    choices = list(data.validation_choices)[:100]
    if choices:
        blocks.append(
            _select(
                "validation",
                "Validation dataset",
                [_option(d.slack_file_id, d.name) for d in choices],
                values.get("validation"),
                optional=True,
            )
        )
    for text_field in form.text_fields:
        blocks.append(_field(text_field, data.backend, values.get(text_field.block_id)))
    blocks.append(_scorecard(values.get(EVAL_BLOCK)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=form.lr_note)]))
    if data.backend == "openai" and data.closing:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"⏳ {data.closing}.")]))
    return View(
        type="modal",
        callback_id=START_CALLBACK,
        title="Start fine-tuning",
        submit="Start",
        close="Cancel",
        private_metadata=form_metadata(
            dataset=data.dataset.slack_file_id, backend=data.backend, origin=data.origin
        ),
        blocks=blocks,
    )
