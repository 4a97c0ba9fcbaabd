"""`/finetune …`: parse, call one service, answer ephemerally (state changes go to the thread)."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond

from bot.app import Services
from bot.core import commands
from bot.services.jobs import UserError
from handlers.blocks.commands import datasets_blocks, help_blocks
from handlers.blocks.inspect import events_blocks, status_answer_blocks
from handlers.blocks.jobs import checkpoint_blocks, cost_blocks
from handlers.blocks.models import (
    comparison_blocks,
    delete_confirmation,
    jobs_blocks,
    models_blocks,
    try_blocks,
    usage_blocks,
)
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
            blocks, text = answer(parsed, command)
        except (commands.UsageError, UserError) as error:
            ack(text=str(error), response_type="ephemeral")
            return
        ack(text=text, blocks=blocks, response_type="ephemeral")

    def answer(parsed: commands.Command, command: dict[str, Any]) -> tuple[list[Any], str]:
        channel, user = command["channel_id"], command["user_id"]
        match parsed:
            case commands.Help():
                return help_blocks()
            case commands.Datasets():
                return datasets_blocks(
                    services.datasets.channel_datasets(channel), channel_id=channel
                )
            case commands.Cost():
                return cost_blocks(*services.jobs.cost(parsed, channel))
            case commands.Start():
                key = f"cmd:{command.get('trigger_id') or command.get('response_url')}"
                text = services.jobs.request_start(
                    actor=user, channel_id=channel, cmd=parsed, request_key=key
                )
                return [], text
            case commands.JobAction():
                text = services.jobs.act(actor=user, action=parsed.action, reference=parsed.job)
                return [], text
            case commands.Events():
                return events_blocks(*services.inspector.events(parsed.job, parsed.count))
            case commands.JobQuery(what="status"):
                return status_answer_blocks(services.inspector.status(parsed.job))
            case commands.JobQuery(what="checkpoints"):
                job, found, final = services.inspector.checkpoints(parsed.job)
                record = job or services.jobs.resolve(parsed.job)
                return checkpoint_blocks(job=record, checkpoints=found, final_model=final)
            case commands.JobQuery(what="chart"):
                return [], services.inspector.chart(reference=parsed.job)
            case commands.Jobs():
                lines = services.models.jobs(scope=parsed.scope, user_id=user, channel_id=channel)
                return jobs_blocks(lines, scope=parsed.scope, now=services.datasets.now())
            case commands.Models():
                return models_blocks(services.models.models())
            case commands.Usage():
                return usage_blocks(services.models.usage())
            case commands.DeleteModel():
                record = services.models.check_delete(actor=user, model=parsed.model)
                return delete_confirmation(record)
            case commands.JobQuery(what="watch"):
                job = services.inspector.adopt(actor=user, reference=parsed.job, channel_id=channel)
                return [], f"Watching `{job.openai_job_id}` in this channel now."
        raise commands.UsageError(commands.usage_line())

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
