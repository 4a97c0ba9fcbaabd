"""Buttons on dataset reports and job posts: start form, upload only, cancel, approve, retry."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.core.message import Code, say
from bot.services.errors import UserError
from handlers import ids, payloads
from handlers.blocks.checkpoints import checkpoint_blocks
from handlers.commands.dispatch import listing_page
from handlers.deps import Deps
from handlers.text import error_text, from_inert_value, render
from handlers.views.start_form import form_for

log = logging.getLogger(__name__)


def register(app: App, services: Deps) -> None:
    """Listeners for the job and dataset buttons."""

    @app.action(ids.DATASET_START)
    def handle_dataset_start(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        file_id = payloads.button_value(body)
        viewer = services.access.viewer(body["user"]["id"])
        dataset = services.jobs.by_file(file_id, viewer)
        if dataset is None or not dataset.valid:
            payloads.tell_clicker(client, body, "That dataset isn't ready to train.")
            return
        today = services.clock.now().date()
        configured = services.backends.configured()
        backend = services.backends.default(today)
        if backend not in configured and configured:
            backend = configured[0]
        view = form_for(services, dataset=dataset, viewer=viewer, backend=backend)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ids.DATASET_UPLOAD)
    def handle_dataset_upload(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            services.jobs.upload_only(
                viewer=services.access.viewer(body["user"]["id"]),
                slack_file_id=payloads.button_value(body),
            )
        except UserError as error:
            payloads.tell_clicker(client, body, error_text(error))

    @app.action(ids.JOB_CANCEL)
    def handle_job_cancel(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        _run(
            services,
            client,
            body,
            lambda viewer, value: services.jobs.act(
                viewer=viewer, action="cancel", reference=from_inert_value(value)
            ),
        )

    @app.action(ids.JOB_APPROVE)
    def handle_job_approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        _run(
            services,
            client,
            body,
            lambda viewer, value: services.jobs.approve(viewer=viewer, request_key=value),
        )

    @app.action(ids.JOB_DECLINE)
    def handle_job_decline(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        _run(
            services,
            client,
            body,
            lambda viewer, value: services.jobs.decline(viewer=viewer, request_key=value),
        )

    @app.action(ids.CHECKPOINT_CHOOSE)
    def handle_checkpoint_choose(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        _choose_checkpoint(services, client, body, respond)

    @app.action(ids.MODEL_DELETE)
    def handle_model_delete(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        _run(
            services,
            client,
            body,
            lambda viewer, value: services.models.delete(
                viewer=viewer, model=from_inert_value(value)
            ),
        )

    @app.action(ids.LIST_MORE)
    def handle_list_more(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        request = payloads.json_button(body, k=str, s=str, o=int)
        channel = (body.get("channel") or {}).get("id") or ""
        blocks, text = listing_page(
            services,
            kind=request["k"],
            scope=request["s"],
            viewer=services.access.viewer(body["user"]["id"]),
            channel=channel,
            offset=int(request["o"]),
        )
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)

    @app.action(ids.JOB_RETRY)
    def handle_job_retry(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        _run(
            services,
            client,
            body,
            lambda viewer, value: services.jobs.retry(viewer=viewer, request_key=value),
        )


def _choose_checkpoint(
    services: Deps, client: WebClient, body: dict[str, Any], respond: Respond
) -> None:
    """Make the clicked checkpoint the default (owner or admin; one the job made), then edit
    the thread's checkpoint list in place so its badge moves, and the clicked list too when it
    was the ephemeral answer to `/finetune checkpoints`. Anyone else is told, nothing changes."""
    viewer = services.access.viewer(body["user"]["id"])
    try:
        job, model = services.inspector.choose(
            viewer=viewer, model=from_inert_value(payloads.button_value(body))
        )
    except UserError as error:
        payloads.tell_clicker(client, body, error_text(error))
        return
    try:
        listing, edited = services.inspector.refresh_checkpoints(job)
    except UserError as error:
        log.warning("the checkpoint list of %s was not refreshed: %s", job.remote_id, error)
        listing, edited = None, False
    if listing is not None and (body.get("container") or {}).get("is_ephemeral"):
        blocks, text = checkpoint_blocks(listing)
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)
    elif not edited:
        chosen = say(Code(model), " is now the default for `/finetune try`.")
        payloads.tell_clicker(client, body, render(chosen))


def _run(services: Deps, client: WebClient, body: dict[str, Any], call: Any) -> None:
    """Run a button's use case as the clicking user; tell them the outcome ephemerally."""
    try:
        value = payloads.button_value(body)
        text = render(call(services.access.viewer(body["user"]["id"]), value))
    except UserError as error:
        text = error_text(error)
    payloads.tell_clicker(client, body, text)
