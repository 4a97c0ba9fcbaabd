"""The start form's submission: field errors inline, else one job per submitted view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.app import Services
from bot.core import commands
from bot.services.jobs import UserError
from handlers import payloads
from handlers.blocks.jobs import START_CALLBACK

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


def register(app: App, services: Services) -> None:
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
        dataset = services.jobs.by_file(file_id)
        cmd = commands.Start(
            dataset=file_id,
            model=_value(values, "model"),
            method=_value(values, "method") or "supervised",
            validation=_value(values, "validation"),
            **options,
        )
        user = body["user"]["id"]
        channel = dataset.channel_id if dataset else ""
        try:
            services.jobs.plan(cmd, channel)
        except UserError as error:
            ack(response_action="errors", errors={"model": str(error).replace("`", "")})
            return
        ack()
        try:
            text = services.jobs.request_start(
                actor=user, channel_id=channel, cmd=cmd, request_key=f"view:{view['id']}"
            )
        except UserError as error:
            text = str(error)
        client.chat_postEphemeral(channel=channel, user=user, text=text)
