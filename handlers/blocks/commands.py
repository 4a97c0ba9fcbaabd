"""Block Kit for slash-command answers: help and the datasets listing. Pure builders."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.core.commands import help_lines
from bot.core.fmt import plural
from bot.core.wind_down import help_note
from bot.services.backends import OPENAI_CLOSES
from handlers.blocks.paging import footer, page
from handlers.text import channel, code, user
from storage.repositories import DatasetRecord


def help_blocks() -> tuple[list[Block], str]:
    """Every subcommand with its summary and one example (rendered from the command table)."""
    rows = [
        f"*`{usage}`*\n{summary} — e.g. `{example}`" for usage, summary, example in help_lines()
    ]
    blocks: list[Block] = [SectionBlock(text="*Finetune Bot commands*")]
    blocks += [SectionBlock(text=row) for row in rows]
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Drop a `.jsonl` dataset in a channel I'm in (or in a DM) and I'll "
                    "check it and estimate the cost in its thread."
                ),
                MarkdownTextObject(text=help_note(OPENAI_CLOSES)),
            ]
        )
    )
    text = "Finetune Bot commands: " + ", ".join(usage for usage, _, _ in help_lines())
    return blocks, text


def _verdict(record: DatasetRecord) -> str:
    if record.status == "processing":
        return "⏳ checking"
    if record.status == "failed":
        return "❌ could not be read"
    return "✅ ready" if record.valid else "⚠️ needs fixes"


def datasets_blocks(
    records: Sequence[DatasetRecord], *, channel_id: str, offset: int = 0
) -> tuple[list[Block], str]:
    """This channel's datasets: name, verdict, examples, tokens, uploader (newest first)."""
    if not records:
        text = "No datasets in this channel yet. Drop a `.jsonl` file here and I'll check it."
        return [SectionBlock(text=text)], text
    header = f"*Datasets in {channel(channel_id)}* ({len(records):,})"
    blocks: list[Block] = [SectionBlock(text=header)]
    for record in page(records, offset):
        examples = plural(record.examples, "example") if record.examples is not None else "—"
        tokens = plural(record.total_tokens, "token") if record.total_tokens is not None else "—"
        blocks.append(
            SectionBlock(
                text=f"{code(record.name)} · {_verdict(record)}\n{examples} · {tokens} · "
                f"uploaded by {user(record.uploader_id)} · {code(record.slack_file_id)}"
            )
        )
    blocks += footer(kind="datasets", scope=channel_id, total=len(records), offset=offset)
    text = f"{plural(len(records), 'dataset')} in this channel"
    return blocks, text
