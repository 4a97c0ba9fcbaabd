"""The *Start on …* button of a request OpenAI refused (`job_start_elsewhere`, product §9):
the start form for the same dataset on another configured backend."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.services.errors import UserError
from handlers import ids, payloads
from handlers.deps import Deps
from handlers.text import error_text
from handlers.views.start_form import form_for


def register(app: App, services: Deps) -> None:
    """The listener of the *Start on …* buttons."""

    @app.action(ids.JOB_START_ELSEWHERE)
    def handle_job_start_elsewhere(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        # The value is hostile: only the request key and the backend are read from it.
        value = payloads.json_button(body, request=str, backend=str)
        viewer = services.access.viewer(body["user"]["id"])
        try:
            moved = services.jobs.elsewhere(
                viewer=viewer, request_key=value["request"], backend=value["backend"]
            )
        except UserError as error:
            payloads.tell_clicker(client, body, error_text(error))
            return
        view = form_for(
            services,
            dataset=moved.dataset,
            viewer=viewer,
            backend=moved.backend,
            values=moved.values,
            origin=moved.origin,
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)
