"""`/finetune …`: parse, call one service, answer ephemerally (state changes go to the thread).

Slack wants the acknowledgement within 3 seconds whatever OpenAI does. Every command runs on a
worker: an answer ready within ACK_BUDGET_S goes in the acknowledgement itself; a later one
replaces a "Working on it…" line through the command's `response_url`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond

from bot.core import commands
from bot.services.errors import UserError
from handlers.blocks.models import comparison_blocks, try_blocks
from handlers.commands.dispatch import run_command
from handlers.deps import Deps
from handlers.errors import SORRY
from handlers.ids import SLASH_COMMAND
from handlers.text import code, error_text, render

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 2.0
ACK_BUDGET_S = 2.0  # leaves a second of Slack's three for the network
Answer = tuple[list[Any], str]


def register(app: App, services: Deps) -> None:
    """The slash command."""

    @app.command(SLASH_COMMAND)
    def handle_finetune(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            parsed = commands.parse(command.get("text") or "")
        except commands.UsageError as error:
            ack(text=error_text(error), response_type="ephemeral")
            return
        if isinstance(parsed, commands.Compare):
            ack(
                text=f"Comparing {code(parsed.model)} with its base model…",
                response_type="ephemeral",
            )
            services.background.submit(answer_compare, parsed, command, respond)
            return
        if isinstance(parsed, commands.Eval):  # many model calls: the thread shows progress
            ack(
                text=f"Evaluating {code(parsed.model)} on {code(parsed.dataset)}…",
                response_type="ephemeral",
            )
            services.background.submit(answer_eval, parsed, command, respond)
            return
        if isinstance(parsed, commands.Try):  # a model call can take longer than 3 s
            name = parsed.model or services.models.default_name(
                viewer=services.access.viewer(command["user_id"]), channel_id=command["channel_id"]
            )
            if name is None:  # nothing to ask: the refusal comes at once, without a model call
                services.background.submit(answer_try, parsed, command, respond)
                ack()
                return
            ack(text=f"Asking {code(name)}…", response_type="ephemeral")
            services.background.submit(answer_try, replace(parsed, model=name), command, respond)
            return
        key = f"cmd:{command.get('trigger_id') or command.get('response_url')}"

        def run() -> Answer:
            viewer = services.access.viewer(command["user_id"])
            return run_command(
                services, parsed, viewer=viewer, channel=command["channel_id"], key=key
            )

        answer_within_budget(services, run, ack=ack, respond=respond)

    def answer_compare(parsed: commands.Compare, command: dict[str, Any], respond: Respond) -> None:
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done < total and now - last[0] >= PROGRESS_EVERY_S:
                last[0] = now
                respond(
                    text=f"Comparing {code(parsed.model)} with its base model… "
                    f"{done}/{total} examples",
                    response_type="ephemeral",
                    replace_original=True,
                )

        try:
            result = services.compare.compare(
                viewer=services.access.viewer(command["user_id"]),
                model=parsed.model,
                dataset=parsed.dataset,
                channel_id=command["channel_id"],
                limit=parsed.n,
                progress=progress,
            )
        except UserError as error:
            respond(text=error_text(error), response_type="ephemeral", replace_original=True)
            return
        blocks, text = comparison_blocks(result)
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)

    def answer_eval(parsed: commands.Eval, command: dict[str, Any], respond: Respond) -> None:
        try:
            said = services.evaluation.evaluate(
                viewer=services.access.viewer(command["user_id"]),
                model=parsed.model,
                dataset=parsed.dataset,
                channel_id=command["channel_id"],
                backend=parsed.backend,
                limit=parsed.n,
            )
        except UserError as error:
            respond(text=error_text(error), response_type="ephemeral", replace_original=True)
            return
        except Exception:
            log.exception("an evaluation failed")
            respond(text=SORRY, response_type="ephemeral", replace_original=True)
            return
        respond(text=render(said), response_type="ephemeral", replace_original=True)

    def answer_try(parsed: commands.Try, command: dict[str, Any], respond: Respond) -> None:
        try:
            model, text = services.models.try_model(
                viewer=services.access.viewer(command["user_id"]),
                channel_id=command["channel_id"],
                model=parsed.model,
                prompt=parsed.prompt,
            )
        except UserError as error:
            respond(text=error_text(error), response_type="ephemeral", replace_original=True)
            return
        blocks, fallback = try_blocks(model, parsed.prompt, text)
        respond(text=fallback, blocks=blocks, response_type="ephemeral", replace_original=True)


def answer_within_budget(
    services: Deps, run: Callable[[], Answer], *, ack: Ack, respond: Respond
) -> None:
    """Run `run` on a worker; ack with its answer if it comes in time, else follow up later."""
    future: Future[Answer] = services.commands.submit(run)
    try:
        blocks, text = future.result(timeout=ACK_BUDGET_S)
    except FutureTimeout:
        ack(text=":hourglass_flowing_sand: Working on it…", response_type="ephemeral")
        future.add_done_callback(lambda done: _follow_up(done, respond))
        return
    except (commands.UsageError, UserError) as error:
        ack(text=error_text(error), response_type="ephemeral")
        return
    except Exception:
        log.exception("a /finetune command failed")
        ack(text=SORRY, response_type="ephemeral")
        return
    ack(text=text, blocks=blocks, response_type="ephemeral")


def _follow_up(done: Future[Answer], respond: Respond) -> None:
    try:
        blocks, text = done.result()
    except (commands.UsageError, UserError) as error:
        blocks, text = [], error_text(error)
    except Exception:
        log.exception("a slow /finetune command failed")
        blocks, text = [], SORRY
    try:
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)
    except Exception:
        log.exception("could not send a slow command's answer to its response_url")
