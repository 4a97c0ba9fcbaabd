"""Clicks on listings and the Home tab: a `jobs` row's menu (Status, Cancel, Chart), and the Home
tab's Cancel and Try. Every click is re-checked like the command it stands for (product §6)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, SectionBlock

from bot.core.access import Viewer
from bot.services.errors import UserError
from handlers import ids, payloads
from handlers.blocks.inspect import status_answer_blocks
from handlers.blocks.listing import (
    MENU,
    TRY_PROMPT_ACTION,
    TRY_PROMPT_BLOCK,
    try_form,
    try_waiting,
)
from handlers.blocks.models import try_blocks
from handlers.deps import Deps
from handlers.events.home import publish_home
from handlers.text import error_text, from_inert_value, render

log = logging.getLogger(__name__)
Answer = tuple[list[Any], str]


def menu_answer(services: Deps, viewer: Viewer, action: str, job_id: str) -> Answer:
    """What a menu option answers, as the command it stands for would (UserError: a refusal)."""
    if action == "status":
        return status_answer_blocks(services.inspector.status(job_id, viewer))
    if action == "cancel":
        return [], render(services.jobs.act(viewer=viewer, action="cancel", reference=job_id))
    return [], render(services.inspector.chart(reference=job_id, viewer=viewer))


def register(app: App, services: Deps) -> None:
    """Listeners for the listing menu and the Home tab's buttons and form."""

    @app.action(ids.JOB_MENU)
    def handle_job_menu(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        choice = payloads.selected_json(body, a=str, j=str)
        if choice["a"] not in dict(MENU):
            raise payloads.StaleButton("unknown menu action")
        viewer = services.access.viewer(body["user"]["id"])
        try:
            blocks, text = menu_answer(services, viewer, choice["a"], choice["j"])
        except UserError as error:
            blocks, text = [], error_text(error)
        channel = (body.get("channel") or {}).get("id")
        if channel:
            client.chat_postEphemeral(
                channel=channel, user=viewer.user_id, text=text, blocks=blocks
            )

    @app.action(ids.HOME_JOB_CANCEL)
    def handle_home_job_cancel(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        job_id = from_inert_value(payloads.button_value(body))
        user = body["user"]["id"]
        try:
            done = services.jobs.act(
                viewer=services.access.viewer(user), action="cancel", reference=job_id
            )
            notice = render(done)
        except UserError as error:
            notice = error_text(error)
        publish_home(services, client, user, notice=notice)

    @app.action(ids.HOME_MODEL_TRY)
    def handle_home_model_try(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        model = from_inert_value(payloads.button_value(body))
        user = body["user"]["id"]
        try:
            record = services.models.visible_model(model, services.access.viewer(user))
        except UserError as error:
            publish_home(services, client, user, notice=error_text(error))
            return
        if record is None:  # not one of ours (any more): the Home tab only offers ours
            publish_home(services, client, user, notice="That model is no longer available.")
            return
        client.views_open(trigger_id=body["trigger_id"], view=try_form(record.name))

    @app.view(ids.TRY_CALLBACK)
    def handle_try_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        model = payloads.view_metadata(view, m=str)["m"]
        values = view["state"]["values"].get(TRY_PROMPT_BLOCK, {})
        prompt = (values.get(TRY_PROMPT_ACTION) or {}).get("value") or ""
        if not isinstance(prompt, str) or not prompt.strip():
            ack(response_action="errors", errors={TRY_PROMPT_BLOCK: "Write a prompt first."})
            return
        ack(response_action="update", view=try_waiting(model))
        services.background.submit(
            answer_try, client, body["user"]["id"], view["id"], model, prompt
        )

    def answer_try(client: WebClient, user: str, view_id: str, model: str, prompt: str) -> None:
        try:
            name, answer = services.models.try_model(
                viewer=services.access.viewer(user), channel_id="", model=model, prompt=prompt
            )
            blocks: list[Block] = try_blocks(name, prompt, answer)[0]
        except UserError as error:
            blocks = [SectionBlock(text=error_text(error))]
        try:
            client.views_update(view_id=view_id, view=try_form(model, blocks=blocks, done=True))
        except SlackApiError:
            log.exception("could not show a Home tab try answer")
