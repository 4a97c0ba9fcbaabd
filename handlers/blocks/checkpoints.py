"""Block Kit for a job's checkpoint list: one row per checkpoint and the final model, each with
its figures, "✅ current" on the default for `/finetune try` (no button there) and "⭐ lowest
validation loss"; the other rows carry the choice button (`checkpoint_choose`, contract)."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core.checkpoints import CheckpointList, CheckpointRow
from bot.core.fmt import loss, plural
from handlers import ids
from handlers.text import clip, code, escape, inert_value, user

MAX_ROWS = 45  # with the header and the legend, under Slack's 50 blocks
SECTION = 2900
USE_CHECKPOINT = "Use this checkpoint"
USE_FINAL = "Use the final model"
CURRENT = "✅ current"
LOWEST = "⭐ lowest validation loss"


def _loss(value: float | None) -> str | None:
    return None if value is None else loss(value)


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{value:.1%}"


def figures(row: CheckpointRow) -> str:
    """`training loss 0.20 · validation loss 0.22 · token accuracy 83.3% (validation 70.0%)`."""
    parts = []
    for label, shown in (
        ("training loss", _loss(row.train_loss)),
        ("validation loss", _loss(row.valid_loss)),
    ):
        if shown is not None:
            parts.append(f"{label} {shown}")
    train, valid = _percent(row.train_accuracy), _percent(row.valid_accuracy)
    if train and valid:
        parts.append(f"token accuracy {train} (validation {valid})")
    elif train or valid:
        parts.append(f"{'token' if train else 'validation token'} accuracy {train or valid}")
    return " · ".join(parts) if parts else "no figures reported"


def row_head(row: CheckpointRow, epochs: int | None) -> str:
    """`*Step 10* · epoch 1 of 2` or `*Final model* · step 20 · epoch 2 of 2`."""
    step = f"{row.step:,}" if row.step is not None else None
    if row.final:
        head = "*Final model*" + (f" · step {step}" if step else "")
    else:
        head = f"*Step {step or '?'}*"
    if row.epoch is not None:
        head += f" · epoch {row.epoch}" + (f" of {epochs}" if epochs else "")
    return head


def badges(row: CheckpointRow, listing: CheckpointList) -> str:
    """`✅ current (chosen by @who)` and `⭐ lowest validation loss`, as they apply."""
    shown = []
    if row.current:
        by = f" (chosen by {user(listing.chosen_by)})" if listing.chosen_by else ""
        shown.append(CURRENT + by)
    if row.lowest:
        shown.append(LOWEST)
    return "   ".join(shown)


def checkpoint_blocks(listing: CheckpointList) -> tuple[list[Block], str]:
    """The list: a header naming the job, one section per row (the button as its accessory,
    none on the current one), and what choosing does."""
    title = escape(listing.title, limit=150)
    head = f"*Checkpoints of {title}*"
    if listing.title != listing.job_id:  # a job started outside the bot: titled by its id
        head += f" · job {code(listing.job_id)}"
    blocks: list[Block] = [SectionBlock(text=clip(head, SECTION))]
    rows = listing.rows[-MAX_ROWS:]
    for row in rows:
        lines = [row_head(row, listing.epochs)]
        marks = badges(row, listing)
        if marks:
            lines[0] += f"   {marks}"
        lines += [figures(row), code(row.model)]
        accessory = None
        if not row.current:
            accessory = ButtonElement(
                text=USE_FINAL if row.final else USE_CHECKPOINT,
                action_id=ids.CHECKPOINT_CHOOSE,
                value=inert_value(row.model),
            )
        blocks.append(SectionBlock(text=clip("\n".join(lines), SECTION), accessory=accessory))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="The ✅ current one answers `/finetune try` in this channel. "
                    "The owner or an admin may choose another."
                )
            ]
        )
    )
    current = listing.current
    now = f"; current: {code(current.model)}" if current else ""
    text = (
        f"Checkpoints of {title} (job {code(listing.job_id)}): "
        f"{plural(len(listing.rows), 'model')}{now}"
    )
    return blocks, clip(text, SECTION)


def chart_comment(
    title: str, job_id: str, *, accuracy: bool, checkpoints: bool, epochs: bool
) -> str:
    """The chart's comment: what it draws, for which job (its id once: a job started outside
    the bot is titled by its id), and only the marks it has."""
    what = "Loss and token accuracy" if accuracy else "Loss"
    head = f"{what} by step for {escape(title, limit=200)}"
    if title != job_id:
        head += f" (job {code(job_id)})"
    notes = ["dashed lines mark checkpoints"] if checkpoints else []
    notes += ["every other epoch is shaded"] if epochs else []
    return head + (": " + ", ".join(notes) if notes else "") + "."
