"""The content check's button on a dataset report, and the pointer a second click gets. Pure."""

from __future__ import annotations

from slack_sdk.models.blocks import ButtonElement

from bot.core.message import Message
from handlers import ids
from handlers.text import render


def check_content_button(file_id: str) -> ButtonElement:
    """*Check content*: the dataset's text through OpenAI's moderation endpoint (product §11)."""
    return ButtonElement(text="Check content", action_id=ids.DATASET_MODERATE, value=file_id)


def pointer_text(message: Message, link: str) -> str:
    """The clicker's answer about a check that runs or ran, with a link to its message."""
    text = render(message)
    return f"{text} <{link}|Open it>" if link else text
