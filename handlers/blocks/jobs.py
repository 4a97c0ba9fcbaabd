"""Block Kit for jobs: the job post, approval requests, errors and cost (the start form is in
handlers/blocks/start_form.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core.backend_names import backend_name
from bot.core.billing import BillingLine
from bot.core.fmt import plural
from bot.core.jobs import JobSnapshot, status_text
from bot.core.message import Message
from bot.core.start_rules import price_words, quotes_price
from bot.core.status import JobFacts, settings
from handlers import ids
from handlers.blocks.start_form import START_CALLBACK as START_CALLBACK  # moved there
from handlers.text import (
    BUTTON_TEXT,
    BUTTON_VALUE,
    CONFIRM_TEXT,
    clip,
    code,
    escape,
    inert_value,
    money,
    plain,
    render,
    user,
)
from storage.evaluations import HoldoutRecord
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord

MAX_ADMIN_MENTIONS = 5  # more would be a roll call: "an admin" says the rest

MAX_TEXT = 2900


def cancel_actions(job_id: str) -> ActionsBlock:
    """The Cancel button of a job (with a confirmation dialog)."""
    return ActionsBlock(
        elements=[
            ButtonElement(
                text="Cancel",
                action_id=ids.JOB_CANCEL,
                value=inert_value(job_id),
                style="danger",
                confirm=ConfirmObject(
                    title="Cancel this job?",
                    text=clip(
                        f"Cancel {code(job_id)}? Training stops and cannot be resumed.",
                        CONFIRM_TEXT,
                    ),
                    confirm="Cancel job",
                    deny="Keep it",
                ),
            )
        ]
    )


def job_blocks(
    *,
    job: JobRecord,
    dataset: DatasetRecord,
    snapshot: JobSnapshot,
    epochs: int,
    holdout: HoldoutRecord | None = None,
) -> tuple[list[Block], str]:
    """The job's post in the dataset's thread, with a Cancel button (and the examples it holds
    out for evaluation, if any)."""
    cost = money(job.estimated_cost_usd or 0)
    head = (
        f"🚀 {user(job.owner_id)} started fine-tuning {code(job.model)}{_on(job)} on "
        f"{code(dataset.name)}: job {code(snapshot.id)} ({escape(status_text(snapshot.status), limit=100)})."
    )
    if quotes_price(job.model, job.backend):
        text = f"{head} {_price(job)} ({_epochs(epochs)})."
    else:
        text = (
            f"{head} Estimated cost {cost} for {_epochs(epochs)} "
            f"({job.estimated_tokens or 0:,} billed tokens)."
        )
    if holdout is not None and holdout.held_out_count is not None:
        text += (
            f" Holding out {holdout.percent}% = {plural(holdout.held_out_count, 'example')} for "
            f"evaluation (seed {holdout.seed}); training on {holdout.training_count or 0:,}."
        )
    # the settings line the status message keeps once the job is watched (no request keys)
    facts = JobFacts(
        owner_id=job.owner_id,
        model=job.model,
        backend=job.backend,
        remote_id=snapshot.id,
        method=job.method,
        suffix=job.suffix,
        requested=dict(job.hyperparameters or {}),
        planned_epochs=epochs,
    )
    details = render(settings(facts, snapshot))
    blocks: list[Block] = [
        SectionBlock(text=text),
        ContextBlock(elements=[MarkdownTextObject(text=clip(details, MAX_TEXT))]),
        cancel_actions(snapshot.id),
    ]
    return blocks, text


def _on(job: JobRecord) -> str:
    """` (Together)` after the model of a job on another backend than OpenAI (OpenAI's posts
    stay as they were)."""
    return "" if job.backend == "openai" else f" ({backend_name(job.backend)})"


def _epochs(epochs: int) -> str:
    return plural(epochs, "epoch")


def _price(job: JobRecord) -> str:
    """`estimated $1.23`, `Together's quote: $1.23 for 456 tokens` or that it gave none."""
    return escape(
        price_words(
            model=job.model,
            backend=job.backend,
            cost_usd=job.estimated_cost_usd,
            tokens=job.estimated_tokens,
        )
    )


def approval_blocks(
    *,
    job: JobRecord,
    dataset: DatasetRecord,
    threshold: float,
    epochs: int,
    admins: Sequence[str] = (),
) -> tuple[list[Block], str]:
    """A request waiting for an admin, with Approve and Decline buttons, mentioning the
    configured admins (else "an admin": Slack's workspace admins may answer it)."""
    who = ", ".join(user(admin) for admin in admins[:MAX_ADMIN_MENTIONS])
    ask = (
        f"An admin ({who}) must approve or decline it."
        if who
        else ("An admin must approve or decline it.")
    )
    text = (
        f"✋ {user(job.owner_id)} asks to fine-tune {code(job.model)}{_on(job)} on "
        f"{code(dataset.name)} for {_epochs(epochs)}: {_price(job)}, "
        f"{'above' if job.estimated_cost_usd is not None else 'with'} the "
        f"{money(threshold)} approval threshold. {ask}"
    )
    value = clip(job.request_key, BUTTON_VALUE)
    return [
        SectionBlock(text=text),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Approve", action_id=ids.JOB_APPROVE, value=value, style="primary"
                ),
                ButtonElement(
                    text="Decline", action_id=ids.JOB_DECLINE, value=value, style="danger"
                ),
            ]
        ),
    ], text


def declined_blocks(
    *, job: JobRecord, dataset: DatasetRecord | None, decliner_id: str
) -> tuple[list[Block], str]:
    """The approval request after it was declined (or withdrawn): the requester is told."""
    on = f" on {code(dataset.name)}" if dataset is not None else ""
    if decliner_id == job.owner_id:
        head = f"⏹ {user(job.owner_id)} withdrew the request to fine-tune {code(job.model)}"
    else:
        head = (
            f"❌ {user(decliner_id)} declined {user(job.owner_id)}'s request to fine-tune "
            f"{code(job.model)}"
        )
    text = f"{head}{_on(job)}{on} ({_price(job)}). Nothing was started."
    return [SectionBlock(text=text)], text


def approved_blocks(
    *, job: JobRecord, dataset: DatasetRecord, approver_id: str
) -> tuple[list[Block], str]:
    """The approval request after an admin approved it (no button any more)."""
    text = (
        f"✅ {user(approver_id)} approved {user(job.owner_id)}'s request to fine-tune "
        f"{code(job.model)}{_on(job)} on {code(dataset.name)} ({_price(job)})."
    )
    return [SectionBlock(text=text)], text


def elsewhere_value(*, request_key: str, backend: str) -> str:
    """A *Start on …* button's value: only the refused request's key and the backend (the
    rest is looked up when it is clicked)."""
    return json.dumps({"request": request_key, "backend": backend}, separators=(",", ":"))


def error_blocks(
    *, job: JobRecord, text: Message, retry: bool, elsewhere: Sequence[str] = ()
) -> tuple[list[Block], str]:
    """A failed start, with a Retry button when trying again can help, and a *Start on …*
    button for each backend in `elsewhere` (when OpenAI takes no new jobs)."""
    message = f"⚠️ {user(job.owner_id)} the job on {code(job.model)} didn't start. {render(text)}"
    blocks: list[Block] = [SectionBlock(text=clip(message, MAX_TEXT))]
    if retry:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Retry",
                        action_id=ids.JOB_RETRY,
                        value=clip(job.request_key, BUTTON_VALUE),
                    )
                ]
            )
        )
    # One actions block per button: Slack wants action ids unique within a block.
    for backend in elsewhere:
        value = elsewhere_value(request_key=job.request_key, backend=backend)
        if len(value) > BUTTON_VALUE:
            continue
        button = ButtonElement(
            text=plain(f"Start on {backend_name(backend)}", limit=BUTTON_TEXT),
            action_id=ids.JOB_START_ELSEWHERE,
            value=value,
            style="primary",
        )
        blocks.append(ActionsBlock(elements=[button]))
    return blocks, message


def cost_blocks(dataset: DatasetRecord, line: BillingLine) -> tuple[list[Block], str]:
    """`/finetune cost`: the billing part of the report for one model and epoch count."""
    if line.quoted:
        about = "about " if line.tokens_estimated else ""
        text = (
            f"{code(dataset.name)} on {code(line.model)}: {about}{line.billed_tokens_per_epoch:,} "
            f"tokens per epoch × {_epochs(line.epochs)} = {about}{line.billed_tokens:,} tokens"
            f"{' (an estimate: I count with an approximation of its tokenizer)' if line.tokens_estimated else ''}. "
            f"{backend_name(line.backend)} quotes the price when the job starts."
        )
        return [SectionBlock(text=text)], text
    text = (
        f"{code(dataset.name)} on {code(line.model)}: {line.billed_tokens_per_epoch:,} billed tokens per "
        f"epoch × {_epochs(line.epochs)} = {line.billed_tokens:,} tokens × "
        f"{money(line.usd_per_1m)}/1M = *{money(line.cost_usd)}*"
    )
    if not line.trainable:
        text += f" (this model was shut down on {line.shutdown})"
    return [SectionBlock(text=text)], text
