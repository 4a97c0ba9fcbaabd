"""The *Start fine-tuning…* modal: a backend picker (when more than one backend is configured),
that backend's models and options, and the fields both backends share.

Each field's block id names what its value means, so a value typed on one backend's form is
carried to the other's only where it means the same there: `lr` is OpenAI's learning-rate
multiplier, `learning_rate` Together's absolute learning rate (never carried across).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.core.backend_names import backend_name
from bot.core.billing import BillingLine
from bot.core.reports import epochs_text
from handlers import ids
from handlers.text import OPTION_TEXT, OPTION_VALUE, clip, code, money, plain
from storage.repositories import DatasetRecord

START_CALLBACK = "start_job"
BACKEND_BLOCK = "backend"
MAX_TEXT = 2900
MAX_INPUT = 3000  # Slack's longest plain_text_input value
TRAINING_TYPES = {"lora": "LoRA (default)", "full": "Full fine-tuning"}
TOGETHER_LR_DEFAULT = "1e-5"


@dataclass(frozen=True, slots=True)
class TextField:
    """A free-text option of the form: its block id, label and placeholder (the hint)."""

    block_id: str
    label: str
    hint: str


@dataclass(frozen=True, slots=True)
class BackendForm:
    """What the form shows for one backend: its text fields (in order), the note on the learning
    rate, and whether it offers LoRA/full training."""

    text_fields: tuple[TextField, ...]
    lr_note: str
    training_choice: bool = False
    quote_note: str = ""


_EPOCHS = TextField("epochs", "Epochs", "auto (1–50)")
_BATCH = TextField("batch", "Batch size", "auto (1–256)")
_SUFFIX = TextField("suffix", "Model name suffix", "up to 64 of a-z 0-9 - _")
_HOLDOUT = TextField(
    "holdout", "Hold out for evaluation", "none (e.g. 20%: 1–50% kept back, never trained on)"
)
OPENAI_FORM = BackendForm(
    text_fields=(
        _EPOCHS,
        _BATCH,
        TextField("lr", "Learning-rate multiplier", "auto (multiplier 0.001–10; 0.02–0.2 usually works best)"),
        _SUFFIX,
        TextField("seed", "Seed", "random"),
        _HOLDOUT,
    ),
    lr_note="The learning rate is a *multiplier* of OpenAI's own rate (0.02–0.2 usually works best).",
)  # fmt: skip
TOGETHER_FORM = BackendForm(
    text_fields=(
        TextField("epochs", "Epochs", "1 by default"),
        _BATCH,
        TextField("learning_rate", "Learning rate (absolute)", f"{TOGETHER_LR_DEFAULT} by default (absolute, 1e-7–1e-2)"),
        _SUFFIX,
        TextField("checkpoints", "Number of checkpoints", "1 by default (1–20)"),
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
    chosen backend's trainable models and default, estimates, validation files, carried values."""

    dataset: DatasetRecord
    backend: str
    backends: Sequence[str]
    models: Sequence[str]
    default_model: str
    estimates: Sequence[BillingLine] = ()
    validation_choices: Sequence[DatasetRecord] = ()
    values: Mapping[str, str] = field(default_factory=dict)
    closing: str | None = None  # OpenAI's countdown to its last day of new jobs, if any
    origin: str | None = None  # the refused request this form moves to another backend


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


def _cost_rows(data: StartFormData) -> str:
    lines = []
    for line in data.estimates:
        if line.quoted:
            approx = "≈" if line.tokens_estimated else ""
            note = " (estimated count)" if line.tokens_estimated else ""
            lines.append(
                f"• {code(line.model)}: {approx}{line.billed_tokens_per_epoch:,} tokens per "
                f"epoch{note}"
            )
        else:
            per_epoch = line.cost_usd / line.epochs if line.epochs else 0
            lines.append(
                f"• {code(line.model)}: {money(line.cost_usd)} for {epochs_text(line.epochs)} "
                f"({money(per_epoch)} per epoch)"
            )
    return "\n".join(lines)


def _header(data: StartFormData, form: BackendForm) -> SectionBlock:
    dataset = data.dataset
    text = (
        f"{code(dataset.name)} · {dataset.examples or 0:,} examples · "
        f"{dataset.total_tokens or 0:,} tokens"
    )
    rows = _cost_rows(data)
    if form.quote_note:
        text += f"\n*Cost*: {form.quote_note}"
        if rows:
            text += f"\n{rows}"
    else:
        text += f"\n*Estimated cost* (default epochs):\n{rows}"
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


def start_form(data: StartFormData) -> View:
    """The *Start fine-tuning…* modal for `data.backend`."""
    form = backend_form(data.backend)
    values = data.values
    blocks: list[Block] = [_header(data, form)]
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
    if data.models:
        model = values.get("model")
        chosen = model if model in data.models else data.default_model
        if chosen not in data.models:
            chosen = data.models[0]
        blocks.append(
            _select("model", "Base model", [_option(m) for m in data.models[:100]], chosen)
        )
    else:
        name = backend_name(data.backend)
        blocks.append(SectionBlock(text=f"No base model can be trained on {name} today."))
    method = "dpo" if data.dataset.format == "dpo" else "supervised"
    blocks.append(
        _select(
            "method",
            "Method",
            [_option("supervised"), _option("dpo")],
            values.get("method", method),
        )
    )
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
        typed = values.get(text_field.block_id)
        blocks.append(
            InputBlock(
                block_id=text_field.block_id,
                label=text_field.label,
                optional=True,
                element=PlainTextInputElement(
                    action_id="value",
                    placeholder=text_field.hint,
                    initial_value=clip(typed, MAX_INPUT) if typed else None,
                ),
            )
        )
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
