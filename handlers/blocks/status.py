"""Block Kit for a watched job: its status message (edited in place for the job's whole life)
and its outcome notice, with the next step one click away."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core.message import Message
from bot.core.status import StatusView
from handlers import ids
from handlers.blocks.jobs import cancel_actions
from handlers.text import CONTEXT_TEXT, SECTION_TEXT, clip, inert_value, render
from storage.jobs import JobRecord

RESTART = "Start again…"


def _button(text: str, action_id: str, value: str, *, primary: bool = False) -> ButtonElement:
    return ButtonElement(
        text=text,
        action_id=action_id,
        value=inert_value(value),
        style="primary" if primary else None,
    )


def next_steps(
    job: JobRecord, model: str, *, checkpoints: str = "Checkpoints", chart: bool = True
) -> ActionsBlock:
    """Try it, Compare (when the job has data to compare on), the checkpoint choice, the chart.
    Each click is checked again for the clicking user, as the commands are."""
    buttons = [_button("Try it", ids.JOB_TRY, model, primary=True)]
    if job.dataset_id or job.validation_dataset_id:
        buttons.append(_button("Compare", ids.JOB_COMPARE, model))
    if job.remote_id:
        buttons.append(_button(checkpoints, ids.JOB_CHECKPOINTS, job.remote_id))
        if chart:
            buttons.append(_button("Chart", ids.JOB_CHART, job.remote_id))
    return ActionsBlock(elements=buttons)


def _lines(lines: tuple[Message, ...], limit: int) -> str:
    """Rendered lines joined, the last ones kept when they do not all fit."""
    shown = [render(line, limit=limit) for line in lines]
    while len(shown) > 1 and len("\n".join(shown)) > limit:
        shown.pop(0)
    return "\n".join(shown)


def status_blocks(*, job: JobRecord, view: StatusView) -> tuple[list[Block], str]:
    """The status message: state, who trains what, settings, progress and figures, cost and
    times, the timeline; Cancel while it runs, the next steps once it succeeded, Start again
    (the start form for its dataset) after a failure or a cancel."""
    head = clip(f"{render(view.header)}\n{render(view.subject)}", SECTION_TEXT)
    blocks: list[Block] = [
        SectionBlock(text=head),
        ContextBlock(elements=[MarkdownTextObject(text=render(view.settings, limit=CONTEXT_TEXT))]),
    ]
    if view.body:
        blocks.append(SectionBlock(text=_lines(view.body, SECTION_TEXT)))
    if view.timeline:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=_lines(view.timeline, CONTEXT_TEXT))])
        )
    if view.state == "active" and job.remote_id:
        blocks.append(cancel_actions(job.remote_id))
    elif view.state == "succeeded" and view.model:
        blocks.append(next_steps(job, view.model))
    elif view.restart:  # failed or cancelled: the start form for the same data, one click away
        blocks.append(ActionsBlock(elements=[_button(RESTART, ids.DATASET_START, view.restart)]))
    return blocks, head


def outcome_blocks(*, job: JobRecord, text: Message, model: str | None) -> tuple[list[Block], str]:
    """The outcome reply; after a success, Try it / Compare / Pick a checkpoint."""
    shown = render(text, limit=SECTION_TEXT)
    blocks: list[Block] = [SectionBlock(text=shown)]
    if model:
        blocks.append(next_steps(job, model, checkpoints="Pick a checkpoint", chart=False))
    return blocks, shown
