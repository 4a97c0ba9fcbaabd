"""The dataset doctor's buttons on a report: Fix it (with its drop-or-trim choice) and Split."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core.access import Viewer
from bot.core.doctor import DROP, OVER_LIMIT_CHOICES
from bot.core.message import Message
from bot.services.doctor import over_limit_count
from bot.services.errors import UserError
from handlers import ids, payloads
from handlers.blocks.doctor import fix_choice_blocks
from handlers.deps import Deps
from handlers.text import error_text, render

log = logging.getLogger(__name__)

FAILED = (
    "Sorry, something went wrong while {doing} that dataset. Try again in a minute; if it keeps "
    "failing, tell an admin."
)


def register(app: App, services: Deps) -> None:
    """Listeners for Fix it, its drop-or-trim choice, and Split train/validation."""

    @app.action(ids.DATASET_FIX)
    def handle_dataset_fix(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        file_id = payloads.button_value(body)
        viewer = services.access.viewer(body["user"]["id"])
        try:
            dataset = services.doctor.dataset(viewer=viewer, slack_file_id=file_id)
        except UserError as error:
            payloads.tell_clicker(client, body, error_text(error))
            return
        over = over_limit_count(dataset)
        if over:  # the user picks: drop or trim (a small ephemeral choice)
            blocks, text = fix_choice_blocks(name=dataset.name, file_id=file_id, over_limit=over)
            client.chat_postEphemeral(
                channel=dataset.channel_id, user=viewer.user_id, text=text, blocks=blocks
            )
            return
        _in_background(services, client, body, "fixing", lambda: _fix(services, viewer, file_id))

    @app.action(ids.DATASET_FIX_MODE)
    def handle_dataset_fix_mode(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        choice = payloads.json_button(body, f=str, m=str)
        if choice["m"] not in OVER_LIMIT_CHOICES:
            raise payloads.StaleButton("unknown choice")
        viewer = services.access.viewer(body["user"]["id"])
        _in_background(
            services,
            client,
            body,
            "fixing",
            lambda: _fix(services, viewer, choice["f"], choice["m"]),
        )

    @app.action(ids.DATASET_SPLIT)
    def handle_dataset_split(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        file_id = payloads.button_value(body)
        viewer = services.access.viewer(body["user"]["id"])
        _in_background(
            services,
            client,
            body,
            "splitting",
            lambda: services.doctor.split(viewer=viewer, slack_file_id=file_id),
        )


def _fix(services: Deps, viewer: Viewer, file_id: str, mode: str = DROP) -> Message | None:
    return services.doctor.fix(viewer=viewer, slack_file_id=file_id, over_limit=mode)


def _in_background(
    services: Deps,
    client: WebClient,
    body: dict[str, Any],
    doing: str,
    work: Callable[[], Message | None],
) -> None:
    """Run the work after the ack (a large file takes a while); the clicker hears of refusals
    and failures, everyone else sees the result in the thread."""

    def run() -> None:
        try:
            answer = work()
        except UserError as error:
            payloads.tell_clicker(client, body, error_text(error))
            return
        except Exception:
            log.exception("dataset doctor: %s failed", doing)
            payloads.tell_clicker(client, body, FAILED.format(doing=doing))
            return
        if answer is not None:
            payloads.tell_clicker(client, body, render(answer))

    services.background.submit(run)
