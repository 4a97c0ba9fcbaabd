"""The next steps on a finished job: Try it, Compare, its checkpoints and its chart.

A button only names a model or a job; every click runs the same use case as the command,
as the clicking user, so it is checked again (channel membership, ownership) exactly as
`/finetune try|compare|checkpoints|chart` are. Answers are ephemeral, to the clicker.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core import commands
from bot.services.errors import UserError
from handlers import ids, payloads
from handlers.blocks.listing import try_form
from handlers.blocks.models import comparison_blocks
from handlers.commands.dispatch import run_command
from handlers.deps import Deps
from handlers.errors import SORRY
from handlers.text import code, error_text, from_inert_value, plain, render

log = logging.getLogger(__name__)


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
        # The form (the Home tab's, handlers/actions/listing.py answers it) names only what the
        # button carried; the answer is checked for the user who asks, as `/finetune try` is.
        model = from_inert_value(payloads.button_value(body))
        client.views_open(trigger_id=body["trigger_id"], view=try_form(model))

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
