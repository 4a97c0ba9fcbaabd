"""Confirmations of commands asked for in plain language: one message holding the question and
its two buttons (pure: data in, blocks out)."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, SectionBlock

from bot.core.message import Message, plain, say
from bot.services.conversation import Question
from handlers import ids
from handlers.text import BUTTON_TEXT, BUTTON_VALUE, SECTION_TEXT, clip, render, user


def confirmation_blocks(
    *, question: Question, requester: str, value: str | None
) -> tuple[list[Block], str]:
    """The question for `requester`; with `value` (the sealed request) its two buttons."""
    text = f"{user(requester)} {render(question.text, limit=SECTION_TEXT - 40)}"
    blocks: list[Block] = [SectionBlock(text=text)]
    if value is not None:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=clip(question.yes, BUTTON_TEXT),
                        action_id=ids.CONFIRM_COMMAND,
                        value=clip(value, BUTTON_VALUE),
                        style="primary",
                    ),
                    ButtonElement(
                        text=clip(question.no, BUTTON_TEXT),
                        action_id=ids.CONFIRM_DISMISS,
                        value=clip(value, BUTTON_VALUE),
                    ),
                ]
            )
        )
    return blocks, plain(question.text)


def settled_blocks(message: Message) -> tuple[list[Block], str]:
    """The confirmation once answered (no buttons any more)."""
    return [SectionBlock(text=render(message))], plain(say(message))
