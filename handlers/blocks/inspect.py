"""Block Kit for reading jobs: status and events. Pure builders."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.core.backend_names import backend_name
from bot.core.fmt import moment
from bot.core.message import say
from bot.core.watch import Event
from bot.services.inspect import StatusAnswer
from handlers.text import code, escape, render, user

MAX_TEXT = 2900
MAX_EVENT = 500


def status_answer_blocks(answer: StatusAnswer) -> tuple[list[Block], str]:
    """`/finetune status`."""
    owner = f" · owner {user(answer.owner_id)}" if answer.owner_id else ""
    head = (
        f"*{code(answer.job_id)}* · {code(answer.model)} · "
        f"{escape(backend_name(answer.backend), limit=40)}{owner}"
    )
    view = render(answer.view, limit=MAX_TEXT)
    blocks: list[Block] = [SectionBlock(text=head), SectionBlock(text=view)]
    if answer.fine_tuned_model:
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=f"Model: {code(answer.fine_tuned_model)}")]
            )
        )
    return blocks, f"{head}\n{view}"


def events_blocks(
    job_id: str, events: Sequence[Event], backend: str, *, now: int | None = None
) -> tuple[list[Block], str]:
    """`/finetune events`: oldest first, clipped to Slack's limits, with the job's backend; each
    event's time in the reader's time zone (Slack's date markup, UTC where it can't), with its
    day when it isn't `now`'s (default: the newest event's day)."""
    on = f" on {escape(backend_name(backend), limit=40)}"
    if not events:
        text = f"{code(job_id)}{on} has no events yet."
        return [SectionBlock(text=text)], text
    today = now if now is not None else max(event.created_at for event in events)
    lines = []
    for event in events:
        when = render(say(moment(event.created_at, today, seconds=True)))
        lines.append(f"{when} {escape(event.message, limit=MAX_EVENT)}")
    body = "\n".join(lines)
    if len(body) > MAX_TEXT:
        body = "…\n" + body[-MAX_TEXT:].split("\n", 1)[-1]
    last = "Last event" if len(events) == 1 else f"Last {len(events):,} events"
    text = f"{last} of {code(job_id)}{on}"
    return [SectionBlock(text=f"*{text}*"), SectionBlock(text=body)], text
