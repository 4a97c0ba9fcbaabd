"""Block Kit for reading jobs: status and events. Pure builders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.core.backend_names import backend_name
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


def events_blocks(job_id: str, events: Sequence[Event], backend: str) -> tuple[list[Block], str]:
    """`/finetune events`: oldest first, clipped to Slack's limits, with the job's backend."""
    on = f" on {escape(backend_name(backend), limit=40)}"
    if not events:
        text = f"{code(job_id)}{on} has no events yet."
        return [SectionBlock(text=text)], text
    lines = []
    for event in events:
        when = dt.datetime.fromtimestamp(event.created_at, dt.UTC).strftime("%H:%M:%S")
        lines.append(f"`{when}` {escape(event.message, limit=MAX_EVENT)}")
    body = "\n".join(lines)
    if len(body) > MAX_TEXT:
        body = "…\n" + body[-MAX_TEXT:].split("\n", 1)[-1]
    text = f"Last {len(events)} events of {code(job_id)}{on} (UTC)"
    return [SectionBlock(text=f"*{text}*"), SectionBlock(text=body)], text
