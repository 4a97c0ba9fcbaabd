"""Block Kit for jobs: the job post, approval requests, errors, cost, and the start form."""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.core.billing import BillingLine
from bot.core.jobs import JobSnapshot, status_text
from bot.core.reports import usd
from handlers import ids
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord

START_CALLBACK = "start_job"
FORM_FIELDS = ("epochs", "batch", "lr", "suffix", "seed")


def cancel_actions(job_id: str) -> ActionsBlock:
    """The Cancel button of a job (with a confirmation dialog)."""
    return ActionsBlock(
        elements=[
            ButtonElement(
                text="Cancel",
                action_id=ids.JOB_CANCEL,
                value=job_id,
                style="danger",
                confirm=ConfirmObject(
                    title="Cancel this job?",
                    text=f"Cancel `{job_id}`? Training stops and cannot be resumed.",
                    confirm="Cancel job",
                    deny="Keep it",
                ),
            )
        ]
    )


def job_blocks(
    *, job: JobRecord, dataset: DatasetRecord, snapshot: JobSnapshot, epochs: int
) -> tuple[list[Block], str]:
    """The job's post in the dataset's thread, with a Cancel button."""
    cost = usd(job.estimated_cost_usd or 0)
    text = (
        f"🚀 <@{job.owner_id}> started fine-tuning `{job.model}` on `{dataset.name}`: job "
        f"`{snapshot.id}` ({status_text(snapshot.status)}). Estimated cost {cost} for {epochs} "
        f"epochs ({job.estimated_tokens or 0:,} billed tokens)."
    )
    details = [f"method `{job.method}`"]
    details += [f"{k} `{v}`" for k, v in (job.hyperparameters or {}).items()]
    if job.suffix:
        details.append(f"suffix `{job.suffix}`")
    blocks: list[Block] = [
        SectionBlock(text=text),
        ContextBlock(elements=[MarkdownTextObject(text=" · ".join(details))]),
        cancel_actions(snapshot.id),
    ]
    return blocks, text


def approval_blocks(
    *, job: JobRecord, dataset: DatasetRecord, threshold: float, epochs: int
) -> tuple[list[Block], str]:
    """A request waiting for an admin, with an Approve button."""
    text = (
        f"✋ <@{job.owner_id}> asks to fine-tune `{job.model}` on `{dataset.name}` for {epochs} "
        f"epochs: estimated {usd(job.estimated_cost_usd or 0)}, above the "
        f"{usd(threshold)} approval threshold. An admin must approve it."
    )
    return [
        SectionBlock(text=text),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Approve",
                    action_id=ids.JOB_APPROVE,
                    value=job.request_key,
                    style="primary",
                )
            ]
        ),
    ], text


def approved_blocks(
    *, job: JobRecord, dataset: DatasetRecord, approver_id: str
) -> tuple[list[Block], str]:
    """The approval request after an admin approved it (no button any more)."""
    text = (
        f"✅ <@{approver_id}> approved <@{job.owner_id}>'s request to fine-tune `{job.model}` on "
        f"`{dataset.name}` (estimated {usd(job.estimated_cost_usd or 0)})."
    )
    return [SectionBlock(text=text)], text


def error_blocks(*, job: JobRecord, text: str, retry: bool) -> tuple[list[Block], str]:
    """A failed start, with a Retry button when trying again can help."""
    message = f"⚠️ <@{job.owner_id}> the job on `{job.model}` didn't start. {text}"
    blocks: list[Block] = [SectionBlock(text=message)]
    if retry:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(text="Retry", action_id=ids.JOB_RETRY, value=job.request_key)
                ]
            )
        )
    return blocks, message


def cost_blocks(dataset: DatasetRecord, line: BillingLine) -> tuple[list[Block], str]:
    """`/finetune cost`: the billing part of the report for one model and epoch count."""
    text = (
        f"`{dataset.name}` on `{line.model}`: {line.billed_tokens_per_epoch:,} billed tokens per "
        f"epoch × {line.epochs} epochs = {line.billed_tokens:,} tokens × "
        f"${line.usd_per_1m:,.2f}/1M = *{usd(line.cost_usd)}*"
    )
    if not line.trainable:
        text += f" (this model was shut down on {line.shutdown})"
    return [SectionBlock(text=text)], text


def _option(value: str, label: str | None = None) -> Option:
    return Option(value=value, label=(label or value)[:75])


def start_form(
    *,
    dataset: DatasetRecord,
    models: Sequence[str],
    default_model: str,
    estimates: Sequence[BillingLine],
    validation_choices: Sequence[DatasetRecord],
) -> View:
    """The *Start fine-tuning…* modal."""
    method = "dpo" if dataset.format == "dpo" else "supervised"
    rows = "\n".join(
        f"• `{line.model}`: {usd(line.cost_usd)} for {line.epochs} epochs "
        f"({usd(line.cost_usd / line.epochs if line.epochs else 0)} per epoch)"
        for line in estimates
    )
    blocks: list[Block] = [
        SectionBlock(
            text=f"*{dataset.name}* · {dataset.examples or 0:,} examples · "
            f"{dataset.total_tokens or 0:,} tokens\n*Estimated cost* (default epochs):\n{rows}"
        ),
        InputBlock(
            block_id="model",
            label="Base model",
            element=StaticSelectElement(
                action_id="value",
                options=[_option(m) for m in models],
                initial_option=_option(default_model),
            ),
        ),
        InputBlock(
            block_id="method",
            label="Method",
            element=StaticSelectElement(
                action_id="value",
                options=[_option("supervised"), _option("dpo")],
                initial_option=_option(method),
            ),
        ),
    ]
    if validation_choices:
        blocks.append(
            InputBlock(
                block_id="validation",
                label="Validation dataset",
                optional=True,
                element=StaticSelectElement(
                    action_id="value",
                    options=[
                        _option(d.slack_file_id, d.name) for d in list(validation_choices)[:100]
                    ],
                ),
            )
        )
    hints = {
        "epochs": "auto (1–50)",
        "batch": "auto (1–256)",
        "lr": "auto (multiplier 0.001–10; 0.02–0.2 usually works best)",
        "suffix": "up to 64 of a-z 0-9 - _",
        "seed": "random",
    }
    labels = {
        "epochs": "Epochs",
        "batch": "Batch size",
        "lr": "Learning-rate multiplier",
        "suffix": "Model name suffix",
        "seed": "Seed",
    }
    for name in FORM_FIELDS:
        blocks.append(
            InputBlock(
                block_id=name,
                label=labels[name],
                optional=True,
                element=PlainTextInputElement(action_id="value", placeholder=hints[name]),
            )
        )
    return View(
        type="modal",
        callback_id=START_CALLBACK,
        title="Start fine-tuning",
        submit="Start",
        close="Cancel",
        private_metadata=json.dumps({"dataset": dataset.slack_file_id}),
        blocks=blocks,
    )


def status_blocks(
    *, job: JobRecord, dataset_name: str, view: str, finished: bool
) -> tuple[list[Block], str]:
    """The job's status message: who, what, live status; Cancel while it runs."""
    head = (
        f"🚀 <@{job.owner_id}> fine-tuning `{job.model}` on `{dataset_name}`: job "
        f"`{job.openai_job_id}` · estimated {usd(job.estimated_cost_usd or 0)}"
    )
    blocks: list[Block] = [SectionBlock(text=head), SectionBlock(text=view)]
    if not finished and job.openai_job_id:
        blocks.append(cancel_actions(job.openai_job_id))
    return blocks, f"{head}\n{view}"


def _metric(metrics: dict[str, object], *names: str, percent: bool = False) -> str:
    for name in names:
        value = metrics.get(name)
        if isinstance(value, int | float):
            return f"{value:.1%}" if percent else f"{value:.4f}"
    return "—"


def checkpoint_blocks(
    *, job: JobRecord, checkpoints: Sequence[dict[str, object]], final_model: str
) -> tuple[list[Block], str]:
    """One entry per checkpoint plus the final model, each with *Use this checkpoint*."""
    text = f"Checkpoints of `{job.openai_job_id}`: pick the default model for `/finetune try`."
    blocks: list[Block] = [SectionBlock(text=f"*{text}*")]
    entries = [
        (
            f"Step {c['step']:,} · validation loss "
            f"{_metric(c.get('metrics') or {}, 'full_valid_loss', 'valid_loss')} · accuracy "  # type: ignore[arg-type]
            f"{_metric(c.get('metrics') or {}, 'full_valid_mean_token_accuracy', 'valid_mean_token_accuracy', percent=True)}",  # type: ignore[arg-type]
            str(c["model"]),
        )
        for c in checkpoints
    ]
    if final_model:
        entries.append(("Final model", final_model))
    for label, model in entries[:45]:
        blocks.append(
            SectionBlock(
                text=f"{label}\n`{model}`",
                accessory=ButtonElement(
                    text="Use this checkpoint", action_id=ids.CHECKPOINT_CHOOSE, value=model
                ),
            )
        )
    return blocks, text
