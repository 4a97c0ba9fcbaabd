"""The start form's submission: field errors inline, else one job per submitted view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core import commands
from bot.services.errors import UserError
from handlers import payloads
from handlers.blocks.jobs import START_CALLBACK
from handlers.deps import Deps
from handlers.text import error_text, render

PARSERS: dict[str, Callable[[str], Any]] = {
    "epochs": commands.parse_epochs,
    "batch": commands.parse_batch,
    "lr": commands.parse_lr,
    "suffix": commands.parse_suffix,
    "seed": commands.parse_seed,
}


def _value(values: dict[str, Any], block: str) -> str | None:
    element = (values.get(block) or {}).get("value") or {}
    chosen = element.get("selected_option") or {}
    raw = element.get("value") if element.get("value") is not None else chosen.get("value")
    return raw.strip() if isinstance(raw, str) and raw.strip() else None


def register(app: App, services: Deps) -> None:
    """The view_submission listener of the start form."""

    @app.view(START_CALLBACK)
    def handle_start_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        values = view["state"]["values"]
        errors: dict[str, str] = {}
        options: dict[str, Any] = {}
        for name, parse in PARSERS.items():
            raw = _value(values, name)
            if raw is None:
                continue
            try:
                options[name] = parse(raw)
            except commands.UsageError as error:
                errors[name] = str(error).replace("`", "")
        if errors:
            ack(response_action="errors", errors=errors)
            return
        file_id = payloads.view_metadata(view, dataset=str)["dataset"]
        user = body["user"]["id"]
        viewer = services.access.viewer(user)
        # The form's metadata names the dataset but is not trusted: it must be one the
        # submitter may see, and the job goes to that dataset's own conversation.
        dataset = services.jobs.by_file(file_id, viewer)
        if dataset is None:
            ack(
                response_action="errors",
                errors={"model": "That dataset is no longer available to you."},
            )
            return
        cmd = commands.Start(
            dataset=dataset.slack_file_id,
            model=_value(values, "model"),
            method=_value(values, "method") or "supervised",
            validation=_value(values, "validation"),
            **options,
        )
        channel = dataset.channel_id
        try:
            services.jobs.plan(cmd, viewer, channel)
        except UserError as error:
            ack(response_action="errors", errors={"model": str(error).replace("`", "")})
            return
        ack()
        try:
            text = render(
                services.jobs.request_start(
                    viewer=viewer, channel_id=channel, cmd=cmd, request_key=f"view:{view['id']}"
                )
            )
        except UserError as error:
            text = error_text(error)
        client.chat_postEphemeral(channel=channel, user=user, text=text)
