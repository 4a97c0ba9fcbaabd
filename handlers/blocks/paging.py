"""Paging long listings within Block Kit's 50-block limit: a page, then *Show more*."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeVar

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
)

from handlers import ids

PAGE = 40
T = TypeVar("T")


def page(rows: Sequence[T], offset: int) -> Sequence[T]:
    """The rows of the page starting at `offset`."""
    return rows[offset : offset + PAGE]


def footer(*, kind: str, scope: str, total: int, offset: int) -> list[Block]:
    """`showing 41–80 of 300` and a *Show more* button while rows remain."""
    end = min(offset + PAGE, total)
    if total <= PAGE and offset == 0:
        return []
    blocks: list[Block] = [
        ContextBlock(
            elements=[MarkdownTextObject(text=f"showing {offset + 1:,}–{end:,} of {total:,}")]
        )
    ]
    if end < total:
        value = json.dumps({"k": kind, "s": scope, "o": end})
        blocks.append(
            ActionsBlock(
                elements=[ButtonElement(text="Show more", action_id=ids.LIST_MORE, value=value)]
            )
        )
    return blocks
