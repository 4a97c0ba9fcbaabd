"""The next steps on a finished job: Try it, Compare, its checkpoints and its chart.

A button only names a model or a job; every click runs the same use case as the command,
as the clicking user, so it is checked again (channel membership, ownership) exactly as
`/finetune try|compare|checkpoints|chart` are. Answers are ephemeral, to the clicker.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, SectionBlock
from slack_sdk.models.views import View

from bot.core import commands
from bot.services.errors import UserError
from handlers import ids, payloads
from handlers.blocks.models import comparison_blocks, try_blocks
from handlers.commands.dispatch import run_command
from handlers.deps import Deps
from handlers.errors import SORRY
from handlers.text import code, error_text, from_inert_value, plain, render

log = logging.getLogger(__name__)

PROMPT_BLOCK, PROMPT_INPUT = "prompt", "prompt_input"
MAX_PROMPT = 3000


def try_form(model: str, channel: str) -> View:
    """The Try it form: one prompt for the model (which answers in the conversation, to you)."""
    return View(
        type="modal",
        callback_id=ids.TRY_CALLBACK,
        title="Try the model",
        submit="Ask",
        close="Cancel",
        private_metadata=json.dumps({"m": model, "c": channel}, separators=(",", ":")),
        blocks=[
            SectionBlock(text=f"Ask {code(model)} something; only you see its answer."),
            InputBlock(
                block_id=PROMPT_BLOCK,
                label="Prompt",
                element=PlainTextInputElement(
                    action_id=PROMPT_INPUT, multiline=True, max_length=MAX_PROMPT
                ),
            ),
        ],
    )


def _channel(body: dict[str, Any]) -> str:
    for key, name in (("channel", "id"), ("container", "channel_id")):
        holder = body.get(key)
        value = holder.get(name) if isinstance(holder, dict) else None
        if isinstance(value, str) and value:
            return value
    return ""


def _tell(client: WebClient, channel: str, user: str, text: str, blocks: Any = None) -> None:
    if channel and user:
        client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)


def register(app: App, services: Deps) -> None:
    """Listeners for the next-step buttons and the Try it form."""

    @app.action(ids.JOB_TRY)
    def handle_job_try(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        # The form names only what the button carried; the answer is checked for the user
        # who asks (as `/finetune try` is) when the form is sent.
        model = from_inert_value(payloads.button_value(body))
        client.views_open(trigger_id=body["trigger_id"], view=try_form(model, _channel(body)))

    @app.view(ids.TRY_CALLBACK)
    def handle_try_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        metadata = payloads.view_metadata(view, m=str, c=str)
        values = (view.get("state") or {}).get("values") or {}
        prompt = ((values.get(PROMPT_BLOCK) or {}).get(PROMPT_INPUT) or {}).get("value") or ""
        if not prompt.strip():
            ack(response_action="errors", errors={PROMPT_BLOCK: "Write a prompt."})
            return
        ack()
        services.background.submit(
            answer_try, client, body["user"]["id"], metadata["c"], metadata["m"], prompt
        )

    def answer_try(client: WebClient, user: str, channel: str, model: str, prompt: str) -> None:
        try:
            name, answer = services.models.try_model(
                viewer=services.access.viewer(user), channel_id=channel, model=model, prompt=prompt
            )
            blocks, text = try_blocks(name, prompt, answer)
        except UserError as error:
            blocks, text = None, error_text(error)
        except Exception:
            log.exception("a Try it answer failed")
            blocks, text = None, SORRY
        _tell(client, channel, user, text, blocks)

    @app.action(ids.JOB_COMPARE)
    def handle_job_compare(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        model = from_inert_value(payloads.button_value(body))
        user, channel = body["user"]["id"], _channel(body)
        _tell(client, channel, user, f"Comparing {code(model)} with its base model…")
        services.background.submit(answer_compare, client, user, channel, model)

    def answer_compare(client: WebClient, user: str, channel: str, model: str) -> None:
        try:
            result = services.compare.compare(
                viewer=services.access.viewer(user),
                model=model,
                dataset=None,
                channel_id=channel,
                limit=commands.Compare(model=model).n,
                progress=lambda done, total: None,
            )
            blocks, text = comparison_blocks(result)
        except UserError as error:
            blocks, text = None, error_text(error)
        except Exception:
            log.exception("a Compare click failed")
            blocks, text = None, SORRY
        _tell(client, channel, user, text, blocks)

    @app.action(ids.JOB_CHECKPOINTS)
    def handle_job_checkpoints(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        job = from_inert_value(payloads.button_value(body))
        user, channel = body["user"]["id"], _channel(body)
        try:
            blocks, text = run_command(
                services,
                commands.JobQuery(what="checkpoints", job=job),
                viewer=services.access.viewer(user),
                channel=channel,
                key=f"click:{plain(job, limit=100)}",
            )
        except UserError as error:
            blocks, text = [], error_text(error)
        _tell(client, channel, user, text, blocks or None)

    @app.action(ids.JOB_CHART)
    def handle_job_chart(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        job = from_inert_value(payloads.button_value(body))
        viewer = services.access.viewer(body["user"]["id"])
        try:
            text = render(services.inspector.chart(reference=job, viewer=viewer))
        except UserError as error:
            text = error_text(error)
        payloads.tell_clicker(client, body, text)
