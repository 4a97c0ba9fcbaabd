"""`/finetune …`: parse, call one service, answer ephemerally (read-only) or in the channel."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.app import Services
from bot.core import commands
from handlers.blocks.commands import datasets_blocks, help_blocks
from handlers.ids import SLASH_COMMAND


def register(app: App, services: Services) -> None:
    """The slash command."""

    @app.command(SLASH_COMMAND)
    def handle_finetune(ack: Ack, command: dict[str, Any]) -> None:
        try:
            parsed = commands.parse(command.get("text") or "")
        except commands.UsageError as error:
            ack(text=str(error), response_type="ephemeral")
            return
        if isinstance(parsed, commands.Help):
            blocks, text = help_blocks()
        else:
            records = services.datasets.channel_datasets(command["channel_id"])
            blocks, text = datasets_blocks(records, channel_id=command["channel_id"])
        ack(text=text, blocks=blocks, response_type="ephemeral")
