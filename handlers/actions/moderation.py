"""The report's *Check content* button (product §11): claimed once per dataset, run after the
ack; a click on a check that runs or ran gets a pointer to its message, for the clicker alone."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.services.errors import UserError
from handlers import ids, payloads
from handlers.blocks.listing import permalink
from handlers.blocks.moderation import pointer_text
from handlers.deps import Deps
from handlers.text import error_text


def register(app: App, services: Deps) -> None:
    """The listener of Check content."""

    @app.action(ids.DATASET_MODERATE)
    def handle_dataset_moderate(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        checks = services.content_check
        viewer = services.access.viewer(body["user"]["id"])
        try:
            asked = checks.request(viewer=viewer, slack_file_id=payloads.button_value(body))
        except UserError as error:
            payloads.tell_clicker(client, body, error_text(error))
            return
        if asked.started:
            services.background.submit(checks.run, asked)
            return
        dataset, check = asked.dataset, asked.check
        link = permalink(
            services.workspace_url, dataset.channel_id, check.message_ts, dataset.thread_ts
        )
        payloads.tell_clicker(client, body, pointer_text(checks.pointer(asked), link))
