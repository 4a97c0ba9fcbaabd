"""Block Kit for the dataset doctor: the drop-or-trim choice of Fix it. Pure: data in, blocks out."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, SectionBlock

from bot.core.doctor import DROP, TRIM
from bot.core.fmt import plural
from handlers import ids
from handlers.text import code


def fix_choice_blocks(*, name: str, file_id: str, over_limit: int) -> tuple[list[Block], str]:
    """Ask what Fix does with the examples over the token limit: drop them or trim them."""
    text = (
        f"{code(name)} has {plural(over_limit, 'example')} over the model's token limit. "
        "Should *Fix it* drop them, or trim them to fit (oldest turns first, long messages "
        "shortened, the final assistant reply kept)? The other repairs happen either way."
    )
    return [
        SectionBlock(text=text),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Drop them", action_id=ids.DATASET_FIX_MODE, value=_value(file_id, DROP)
                ),
                ButtonElement(
                    text="Trim them", action_id=ids.DATASET_FIX_MODE, value=_value(file_id, TRIM)
                ),
            ]
        ),
    ], text


def _value(file_id: str, mode: str) -> str:
    return json.dumps({"f": file_id, "m": mode})
