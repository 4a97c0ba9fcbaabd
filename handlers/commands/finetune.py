"""`/finetune …`: parse, call one service, answer ephemerally (state changes go to the thread)."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond

from bot.app import Services
from bot.core import commands
from bot.services.jobs import UserError
from handlers.blocks.models import comparison_blocks, try_blocks
from handlers.commands.dispatch import run_command
from handlers.ids import SLASH_COMMAND

PROGRESS_EVERY_S = 2.0


def register(app: App, services: Services) -> None:
    """The slash command."""

    @app.command(SLASH_COMMAND)
    def handle_finetune(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            parsed = commands.parse(command.get("text") or "")
            if isinstance(parsed, commands.Compare):
                ack(
                    text=f"Comparing `{parsed.model}` with its base model…",
                    response_type="ephemeral",
                )
                services.background.submit(answer_compare, parsed, command, respond)
                return
            if isinstance(parsed, commands.Try):  # a model call can take longer than 3 s
                ack(
                    text=f"Asking `{parsed.model or 'this channel’s model'}`…",
                    response_type="ephemeral",
                )
                services.background.submit(answer_try, parsed, command, respond)
                return
            key = f"cmd:{command.get('trigger_id') or command.get('response_url')}"
            blocks, text = run_command(
                services, parsed, user=command["user_id"], channel=command["channel_id"], key=key
            )
        except (commands.UsageError, UserError) as error:
            ack(text=str(error), response_type="ephemeral")
            return
        ack(text=text, blocks=blocks, response_type="ephemeral")

    def answer_compare(parsed: commands.Compare, command: dict[str, Any], respond: Respond) -> None:
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done < total and now - last[0] >= PROGRESS_EVERY_S:
                last[0] = now
                respond(
                    text=f"Comparing `{parsed.model}` with its base model… {done}/{total} examples",
                    response_type="ephemeral",
                    replace_original=True,
                )

        try:
            result = services.compare.compare(
                model=parsed.model,
                dataset=parsed.dataset,
                channel_id=command["channel_id"],
                limit=parsed.n,
                progress=progress,
            )
        except UserError as error:
            respond(text=str(error), response_type="ephemeral", replace_original=True)
            return
        blocks, text = comparison_blocks(result)
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)

    def answer_try(parsed: commands.Try, command: dict[str, Any], respond: Respond) -> None:
        try:
            model, text = services.models.try_model(
                channel_id=command["channel_id"], model=parsed.model, prompt=parsed.prompt
            )
        except UserError as error:
            respond(text=str(error), response_type="ephemeral", replace_original=True)
            return
        blocks, fallback = try_blocks(model, parsed.prompt, text)
        respond(text=fallback, blocks=blocks, response_type="ephemeral", replace_original=True)
